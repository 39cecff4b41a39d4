import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAll, verifyChains } from '../src/audit/verify.ts';
import type { Tx } from '../src/db/client.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { insertDeployment } from './support/fixtures.ts';

const run = promisify(execFile);
let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

/** A deployment with 5 events: created, 3 config changes, an upgrade. */
async function chain(name: string): Promise<string> {
  const d = await insertDeployment(t.db, { tenant: 'tamper', name });
  for (const size of ['10Gi', '12Gi', '14Gi']) {
    await t.db`update shipslog.deployments set config = config || ${t.db.json({ storage: size })} where id = ${d.id}`;
  }
  await t.db`update shipslog.deployments set app_version = '17' where id = ${d.id}`;
  return d.id;
}

/** What a superuser can do: bypass every ordinary trigger for this transaction. */
function asSuperuserBypassingTriggers(fn: (tx: Tx) => Promise<unknown>) {
  return t.db.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    await fn(tx);
  });
}

/**
 * The finding of `shipslog verify` (src/audit/verify.ts, events streamed to Node), which must
 * be the reference's too: shipslog.verify_chains() in SQL names the same link and problem. The
 * walk in a worker thread (as on a large trail) and the walk of every chain at once name it too.
 */
async function findingFor(id: string) {
  const findings = await verifyChains(t.db, id);
  expect(findings).toHaveLength(1);
  expect((await verifyAll(t.db, { deploymentId: id, workers: true })).findings).toEqual(findings);
  expect((await verifyAll(t.db, { workers: true, parallel: 2 })).findings.filter((f) => f.deploymentId === id)).toEqual(findings);
  const [reference] = await t.db<{ chain_index: number; problem: string }[]>`
    select chain_index, problem from shipslog.verify_chains(${id}::uuid)`;
  expect({ chainIndex: reference?.chain_index, problem: reference?.problem }).toEqual({ chainIndex: findings[0]!.chainIndex, problem: findings[0]!.problem });
  return findings[0]!;
}

describe('tamper evidence: shipslog.verify_chains names the first broken link', () => {
  it('finds nothing wrong with untouched chains, including removed deployments', async () => {
    const id = await chain('clean');
    const gone = await chain('clean-removed');
    await t.db`delete from shipslog.deployments where id = ${gone}`;
    expect(await verifyChains(t.db, id)).toEqual([]);
    expect(await verifyChains(t.db, gone)).toEqual([]);
  });

  it('detects an edited payload', async () => {
    const id = await chain('edited');
    await asSuperuserBypassingTriggers((tx) =>
      tx`update shipslog.deployment_events set new_state = '{"config": {"storage": "9Gi"}}'
         where deployment_id = ${id} and chain_index = 2`,
    );
    const f = await findingFor(id);
    expect(f.chainIndex).toBe(2);
    expect(f.problem).toMatch(/event #2 \(config_changed\) does not match its hash/);
  });

  it('detects an edited payload even when the attacker recomputes that event\'s hash', async () => {
    const id = await chain('rehashed');
    await asSuperuserBypassingTriggers(async (tx) => {
      await tx`update shipslog.deployment_events set actor = 'someone-else' where deployment_id = ${id} and chain_index = 3`;
      await tx`
        update shipslog.deployment_events as e
        set hash = shipslog.event_hash(p.hash, e)
        from shipslog.deployment_events as p
        where e.deployment_id = ${id} and e.chain_index = 3 and p.deployment_id = e.deployment_id and p.chain_index = 2`;
    });
    const f = await findingFor(id);
    expect(f.chainIndex).toBe(4); // #3 is self-consistent now; #4 no longer links to it
  });

  it('detects a deleted event', async () => {
    const id = await chain('deleted');
    await asSuperuserBypassingTriggers((tx) => tx`delete from shipslog.deployment_events where deployment_id = ${id} and chain_index = 3`);
    const f = await findingFor(id);
    expect(f).toMatchObject({ chainIndex: 4, problem: 'event #4 follows #2: 1 event(s) missing' });
  });

  it('detects two swapped events', async () => {
    const id = await chain('swapped');
    await asSuperuserBypassingTriggers(async (tx) => {
      await tx`update shipslog.deployment_events set chain_index = 1000 where deployment_id = ${id} and chain_index = 2`;
      await tx`update shipslog.deployment_events set chain_index = 2 where deployment_id = ${id} and chain_index = 3`;
      await tx`update shipslog.deployment_events set chain_index = 3 where deployment_id = ${id} and chain_index = 1000`;
    });
    const f = await findingFor(id);
    expect(f.chainIndex).toBe(2);
    expect(f.problem).toMatch(/does not match its hash/);
  });

  it('detects a forged event appended with a correctly computed hash', async () => {
    const id = await chain('forged');
    // Build the forged row from the last real one, then give it a hash that links correctly.
    await asSuperuserBypassingTriggers((tx) => tx`
      insert into shipslog.deployment_events
        (seq, deployment_id, chain_index, tenant, name, action, occurred_at, txid, actor, actor_type,
         db_role, db_user, previous_state, new_state, hash)
      overriding system value
      select nextval('shipslog.deployment_events_seq'), deployment_id, chain_index + 1, tenant, name, 'config_changed',
             now(), txid, 'mallory', 'user', db_role, db_user, '{}', '{}', ''::bytea
      from shipslog.deployment_events
      where deployment_id = ${id} and chain_index = 5`);
    await asSuperuserBypassingTriggers((tx) => tx`
      update shipslog.deployment_events as e
      set hash = shipslog.event_hash(p.hash, e)
      from shipslog.deployment_events as p
      where e.deployment_id = ${id} and e.chain_index = 6 and p.deployment_id = e.deployment_id and p.chain_index = 5`);
    const f = await findingFor(id);
    expect(f.chainIndex).toBe(7);
    expect(f.problem).toMatch(/chain head is #5 but the chain ends at #6/);
  });

  it('detects a truncated tail', async () => {
    const id = await chain('truncated');
    await asSuperuserBypassingTriggers((tx) => tx`delete from shipslog.deployment_events where deployment_id = ${id} and chain_index >= 4`);
    const f = await findingFor(id);
    expect(f.problem).toMatch(/chain head is #5 but the chain ends at #3/);
  });

  it('detects a truncated tail of a removed deployment (its removed event gone)', async () => {
    const id = await chain('truncated-removed');
    await t.db`delete from shipslog.deployments where id = ${id}`;
    await asSuperuserBypassingTriggers((tx) => tx`delete from shipslog.deployment_events where deployment_id = ${id} and chain_index = 6`);
    const f = await findingFor(id);
    expect(f.problem).toMatch(/chain ends at #5 \(upgraded\) but the deployment row is gone/);
  });

  it('detects a deployment changed with its triggers disabled (superuser, replica role)', async () => {
    const id = await chain('bypassed');
    await asSuperuserBypassingTriggers((tx) => tx`update shipslog.deployments set config = config || '{"storage": "1Ti"}' where id = ${id}`);
    const f = await findingFor(id);
    expect(f.problem).toBe('deployment row differs from the state its events replay to: changed while audit triggers were bypassed');
  });

  it('detects a deployment changed after ALTER TABLE ... DISABLE TRIGGER', async () => {
    const id = await chain('disabled');
    await t.db.begin(async (tx) => {
      await tx`alter table shipslog.deployments disable trigger deployments_audit`;
      await tx`update shipslog.deployments set app_version = '18' where id = ${id}`;
      await tx`alter table shipslog.deployments enable trigger deployments_audit`;
    });
    expect((await findingFor(id)).problem).toMatch(/changed while audit triggers were bypassed/);
  });

  it('detects a deployment inserted or deleted with triggers bypassed', async () => {
    let inserted = '';
    await asSuperuserBypassingTriggers(async (tx) => {
      const [row] = await tx<{ id: string }[]>`
        insert into shipslog.deployments (tenant, name, recipe, app_version) values ('tamper', 'smuggled', 'redis', '7') returning id`;
      inserted = row!.id;
    });
    expect((await findingFor(inserted)).problem).toMatch(/has no audit events/);
    const id = await chain('vanished');
    await asSuperuserBypassingTriggers((tx) => tx`delete from shipslog.deployments where id = ${id}`);
    expect((await findingFor(id)).problem).toMatch(/deployment row is gone/);
  });

  it('`shipslog verify` exits non-zero and names each broken chain', async () => {
    const env = { ...process.env, DATABASE_URL: t.url, LOG_LEVEL: 'error' };
    const result = await run(process.execPath, ['bin/shipslog.js', 'verify'], { env }).then(
      () => ({ code: 0, stdout: '' }),
      (err: { code: number; stdout: string }) => ({ code: err.code, stdout: err.stdout }),
    );
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/BROKEN tamper\/edited \(.+\) at event #2: event #2 \(config_changed\) does not match its hash/);
    expect(result.stdout).toMatch(/BROKEN tamper\/bypassed/);
    expect(result.stdout).not.toMatch(/tamper\/clean /);
  });
});
