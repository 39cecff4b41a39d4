import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyChains } from '../src/audit/verify.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { insertDeployment } from './support/fixtures.ts';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

// shipslog.deployment_diff() compares columns one by one for speed; it must say exactly what
// the generic diff of the two whole audited states says.
describe('deployment_diff', () => {
  const changes = [
    "config = (config || '{\"storage\": \"16Gi\", \"tuning\": {\"work_mem\": \"8MB\"}}') - 'replicas'",
    "environment = 'staging', app_version = '17'",
    "secrets_ref = 'orders-db-creds', secrets_fingerprint = 'hmac-sha256:' || repeat('b', 64)",
    "depends_on = '{cache,queue}', restarted_at = now(), deletion_requested_at = now()",
    "status = 'failed', status_message = 'ImagePullBackOff', health = 'Degraded', health_message = 'CrashLoopBackOff'",
    "url = 'postgres://orders-db.acme:5432', local_port = 15432, service_port = 5432, service_name = 'orders-db'",
    `managed_resources = '[{"kind":"Service","name":"orders-db","namespace":"acme"}]', observed_generation = 1`,
    "status_message = null, url = null, restarted_at = null",
  ];

  it.each(changes)('agrees with jsonb_diff over the whole audited states: %s', async (set) => {
    const d = await insertDeployment(t.db, { name: `diff-${changes.indexOf(set)}`, config: { storage: '8Gi', replicas: 1, tuning: { work_mem: '4MB' } } });
    await t.db.unsafe(`update shipslog.deployments set status_message = 'x', url = 'y', restarted_at = now() where id = $1`, [d.id]);
    const [row] = await t.db.begin(async (tx) => {
      await tx`create temp table before on commit drop as select * from shipslog.deployments where id = ${d.id}`;
      await tx.unsafe(`update shipslog.deployments set ${set} where id = $1`, [d.id]); // fixed test strings above
      return tx<{ columnwise: unknown; generic: unknown }[]>`
        select to_jsonb(shipslog.deployment_diff(b.row, n)) as columnwise,
               to_jsonb(shipslog.jsonb_diff(shipslog.audited_state(b.row), shipslog.audited_state(n))) as generic
        from (select row(before.*)::shipslog.deployments as row from before) as b, shipslog.deployments as n
        where n.id = ${d.id}`;
    });
    expect(row!.columnwise).toEqual(row!.generic);
    expect(row!.columnwise).not.toEqual({ old_part: {}, new_part: {} });
    // Replaying the stored events gives back exactly the row (key removal included).
    expect(await verifyChains(t.db, d.id)).toEqual([]);
  });

  // The audit trigger diffs a config-only change in one statement of its own (the common
  // write's fast path, issue 10); what it stores must be what jsonb_diff says.
  const configChanges = [
    "config = jsonb_set(config, '{storage}', '\"16Gi\"')",
    "config = config - 'replicas'",
    "config = config || '{\"extra\": [1, 2], \"tuning\": {\"work_mem\": \"4MB\", \"shared_buffers\": \"1GB\"}}'",
    "config = jsonb_set(config, '{tuning,work_mem}', '\"64MB\"')",
    "config = jsonb_set(config, '{tuning}', '\"none\"') || '{\"storage\": \"9Gi\"}'",
    "config = jsonb_set(config, '{label}', '{\"min\": 1}')",
    "config = jsonb_set(config, '{tuning}', '{\"work_mem\": {\"min\": \"4MB\"}}')",
    "config = '{}'",
  ];

  it.each(configChanges)('a config-only change stores exactly jsonb_diff of the audited states: %s', async (set) => {
    const d = await insertDeployment(t.db, { name: `cfg-${configChanges.indexOf(set)}`, config: { storage: '8Gi', replicas: 1, tuning: { work_mem: '4MB' }, label: 'x' } });
    const [row] = await t.db.begin(async (tx) => {
      await tx`create temp table before on commit drop as select * from shipslog.deployments where id = ${d.id}`;
      await tx.unsafe(`update shipslog.deployments set ${set} where id = $1`, [d.id]); // fixed test strings above
      return tx<{ stored: unknown; generic: unknown; action: string }[]>`
        select jsonb_build_object('old_part', e.previous_state, 'new_part', e.new_state) as stored, e.action,
               to_jsonb(shipslog.jsonb_diff(shipslog.audited_state(b.row), shipslog.audited_state(n))) as generic
        from (select row(before.*)::shipslog.deployments as row from before) as b, shipslog.deployments as n,
             shipslog.deployment_events as e
        where n.id = ${d.id} and e.deployment_id = n.id and e.chain_index = n.chain_length`;
    });
    expect(row!.stored).toEqual(row!.generic);
    expect(row!.action).toBe('config_changed');
    expect(await verifyChains(t.db, d.id)).toEqual([]);
  });

  it('refuses a change to a column it does not know, instead of recording an event without it', async () => {
    const d = await insertDeployment(t.db, { name: 'new-column' });
    await t.db`alter table shipslog.deployments add column owner_team text`;
    try {
      await expect(t.db`update shipslog.deployments set owner_team = 'payments' where id = ${d.id}`).rejects.toMatchObject({
        code: 'SL011',
        hint: expect.stringContaining('re-issuing shipslog.deployment_diff()'),
      });
    } finally {
      await t.db`alter table shipslog.deployments drop column owner_team`;
    }
  });
});
