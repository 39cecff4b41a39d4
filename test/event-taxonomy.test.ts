import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { insertDeployment } from './support/fixtures.ts';

// The event types the trail knows (sql/audit/05_event_taxonomy.sql) and the audit trigger's
// shipslog.action setting: every action a row change can be recorded under has a category and
// a severity, and no event type that is not a row change can be claimed through the setting
// (an UPDATE with shipslog.action = 'approval_granted' would forge an approval).
let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

const rowChangeActions = [
  'created', 'config_changed', 'upgraded', 'downgraded', 'secrets_rotated', 'restarted', 'health_changed',
  'status_changed', 'resources_changed', 'removal_requested', 'removed', 'rolled_back',
];
const otherEventTypes = [
  'deployment_started', 'deployment_completed', 'deployment_failed', 'deployment_cancelled',
  'approval_requested', 'approval_granted', 'approval_denied', 'approval_expired', 'approval_cancelled',
  'gate_started', 'gate_passed', 'gate_failed', 'gate_warned', 'gate_skipped',
  'rollback_started', 'rollback_completed', 'rollback_failed', 'access_denied', 'security_violation', 'events_purged',
];
const categories = [
  'deployment_lifecycle', 'configuration', 'state_change', 'approval_workflow', 'compliance_gate', 'rollback', 'security', 'system',
];

/** Whether the audit trigger accepts `action` as the shipslog.action of an UPDATE. */
async function triggerAccepts(id: string, action: string): Promise<boolean> {
  try {
    await t.db.begin(async (sql) => {
      await sql`select set_config('shipslog.action', ${action}, true)`;
      await sql`update shipslog.deployments set config = config || jsonb_build_object('marker', gen_random_uuid()::text) where id = ${id}`;
      throw new Error('rollback');
    });
  } catch (error) {
    if ((error as Error).message === 'rollback') return true;
    if ((error as { code?: string }).code === '22023') return false;
    throw error;
  }
  return true;
}

describe('event taxonomy', () => {
  it('gives every event type one of the categories and a severity, and nothing to an unknown action', async () => {
    const all = [...rowChangeActions, ...otherEventTypes];
    const rows = await t.db<{ action: string; category: string | null; severity: string | null }[]>`
      select a as action, shipslog.event_category(a) as category, shipslog.action_severity(a) as severity
      from unnest(${all}::text[]) as a`;
    for (const row of rows) {
      expect(categories, row.action).toContain(row.category);
      expect(['info', 'warning', 'error', 'critical'], row.action).toContain(row.severity);
    }
    const [unknown] = await t.db`select shipslog.event_category('made_up') as c, shipslog.action_severity('made_up') as s`;
    expect(unknown).toEqual({ c: null, s: null });
  });

  it('accepts as shipslog.action exactly the row-change actions, each of which has a category', async () => {
    const d = await insertDeployment(t.db, { name: 'taxonomy' });
    for (const action of rowChangeActions.filter((a) => a !== 'created' && a !== 'removed')) {
      expect(await triggerAccepts(d.id, action), action).toBe(true);
    }
    for (const action of [...otherEventTypes, 'made_up']) {
      expect(await triggerAccepts(d.id, action), action).toBe(false);
    }
  });
});
