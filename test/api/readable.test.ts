import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { relativeTime } from '../../src/db/readable-text.ts';
import { deploymentHistory, type HistoryEntry } from '../../src/db/events.ts';
import { insertDeployment } from '../support/fixtures.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

// The API renders `when` and the summary in TypeScript (cheaper than per-row SQL calls);
// psql users get them from shipslog.relative_time and shipslog.describe_event. They must agree.

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

describe('readable history matches the SQL functions', () => {
  it('relativeTime equals shipslog.relative_time at every threshold and between', async () => {
    const seconds = [-5, 0, 1, 44, 44.9, 45, 89, 90, 91, 149, 150, 151, 2699, 2700, 5399, 5400, 5401, 9000, 79199, 79200,
      129599, 129600, 172800, 216000, 2591999, 2592000, 3887999, 3888000, 31535999, 31536000, 47303999, 47304000,
      63072000, 78840000, 1e9];
    for (let s = 0; s < 4e8; s = s * 1.7 + 13) seconds.push(s);
    const rows = await t.db<{ s: number; sql: string }[]>`
      select s::float8 as s, shipslog.relative_time(now() - make_interval(secs => s), now()) as sql
      from unnest(${seconds}::float8[]) as s`;
    for (const r of rows) expect(relativeTime(r.s), `${r.s} s`).toBe(r.sql);
  });

  it('summary and change lines equal shipslog.describe_event and describe_change for every kind of event', async () => {
    const d = await insertDeployment(t.db, { name: 'every-kind', config: { storage: '8Gi', tuning: { a: 1, b: [1, 2] } } });
    const steps = [
      `config = config || '{"storage": "16Gi", "extra": 2}'`,
      `config = jsonb_set(config, '{tuning,a}', '2')`,
      `config = config - 'extra'`,
      `config = config || jsonb_build_object('long', repeat('x', 200), 'list', (select jsonb_agg(g) from generate_series(1, 50) g))`,
      `config = jsonb_set(config, '{tuning}', '"flat"')`,
      `config = config || jsonb_build_object('emoji', repeat('🚀', 100), 'n', 1.50, 'flag', true, 'obj', '{"10": 1, "a": [1, 2]}'::jsonb)`,
      `config = config || '{"n": 2, "flag": false, "obj": [3]}'`,
      `app_version = '17'`,
      `secrets_fingerprint = 'hmac-sha256:' || repeat('b', 64)`,
      `restarted_at = now()`,
      `managed_resources = '[{"kind":"StatefulSet","name":"every-kind","namespace":"acme"}]'`,
      `health = 'Degraded', health_message = 'pod crash looping'`,
      `status = 'failed', status_message = 'ImagePullBackOff'`,
      `environment = 'staging', depends_on = '{orders-db}'`,
      `deletion_requested_at = now()`,
    ];
    for (const set of steps) await t.db.unsafe(`update shipslog.deployments set ${set} where id = $1`, [d.id]); // fixed test SQL
    await t.db.begin(async (tx) => {
      await tx`select set_config('shipslog.action', 'rolled_back', true)`;
      await tx`update shipslog.deployments set app_version = '16' where id = ${d.id}`;
    });
    await t.db`delete from shipslog.deployments where id = ${d.id}`;

    const api = (await deploymentHistory(t.db, { deploymentId: d.id, limit: 100 }, 'readable')) as HistoryEntry[];
    const sql = await t.db<{ chain_index: number; summary: string; lines: string[] }[]>`
      select e.chain_index,
             shipslog.describe_event(e.action, shipslog.event_changes(e.previous_state, e.new_state), e.previous_state, e.new_state) as summary,
             array(select shipslog.describe_change(c) from jsonb_array_elements(shipslog.event_changes(e.previous_state, e.new_state)) as c) as lines
      from shipslog.deployment_events e
      where deployment_id = ${d.id}
      order by chain_index desc`;
    expect(api).toHaveLength(steps.length + 3);
    for (const [i, row] of sql.entries()) {
      const entry = api[i];
      expect(entry?.chain_index).toBe(row.chain_index);
      expect(entry?.summary, `event #${row.chain_index}`).toBe(row.summary);
      expect(entry?.changes).toEqual(row.lines.length > 0 ? row.lines : [row.summary]);
      expect(entry?.when).toBe('just now');
    }
    expect(api.map((e) => e.action)).toContain('rolled_back');
  });
});
