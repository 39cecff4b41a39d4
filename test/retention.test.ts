import { generateKeyPairSync, createPublicKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAnchors } from '../src/audit/anchors.ts';
import { keyIdOf, verifyCheckpoints, type CheckpointKeys } from '../src/audit/checkpoints.ts';
import { purgeAuditEvents } from '../src/audit/retention.ts';
import { verifyAll, verifyChains } from '../src/audit/verify.ts';
import type { Tx } from '../src/db/client.ts';
import { historyEntrySchema } from '../src/api/schemas.ts';
import { queryEvents } from '../src/db/events.ts';
import { asRole } from './agent/support.ts';
import { shipslog } from './support/cli.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { insertDeployment } from './support/fixtures.ts';

// Issue 12, item 1: retention by category that keeps the trail provable. Purges remove whole
// chain prefixes past their retention, each sealed first by a signed anchor; verification
// starts each chain from its anchor, passes, and still catches a tampered retained event.

let t: TestDatabase;
const pair = generateKeyPairSync('ed25519');
const keys: CheckpointKeys = { privateKey: pair.privateKey, publicKey: pair.publicKey, keyId: keyIdOf(pair.publicKey) };
const systemChain = '00000000-0000-0000-0000-000000000000';

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

function asSuperuserBypassingTriggers<T>(fn: (tx: Tx) => Promise<T>) {
  return t.db.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    return fn(tx);
  });
}

/**
 * Moves a chain's events (all, or those from chain index `from` on) `age` into the past and
 * re-hashes the chain and the row's head: a chain as it would be had it been written then.
 */
async function backdate(id: string, age: string, upTo = 1_000_000) {
  await asSuperuserBypassingTriggers(async (tx) => {
    await tx`update shipslog.deployment_events set occurred_at = occurred_at - ${age}::interval
             where deployment_id = ${id} and chain_index <= ${upTo}`;
    const events = await tx<{ chain_index: number }[]>`
      select chain_index from shipslog.deployment_events where deployment_id = ${id} order by chain_index`;
    let prev: Buffer | null = null;
    for (const e of events) {
      const [h]: { hash: Buffer }[] = await tx<{ hash: Buffer }[]>`
        update shipslog.deployment_events as e set hash = shipslog.event_hash(${prev}::bytea, e)
        where deployment_id = ${id} and chain_index = ${e.chain_index}
        returning hash`;
      prev = h!.hash;
    }
    await tx`update shipslog.deployments set chain_head = ${prev} where id = ${id}`;
  });
}

async function chain(name: string, changes: number): Promise<string> {
  const d = await insertDeployment(t.db, { tenant: 'keep', name });
  for (let i = 0; i < changes; i++) {
    await t.db`update shipslog.deployments set config = config || ${t.db.json({ storage: `${10 + i}Gi` })} where id = ${d.id}`;
  }
  return d.id;
}

const indexes = async (id: string) =>
  (await t.db<{ i: number }[]>`select chain_index as i from shipslog.deployment_events where deployment_id = ${id} order by 1`).map((r) => r.i);

async function sqlFindings(id?: string) {
  return t.db<{ chain_index: number; problem: string }[]>`select chain_index, problem from shipslog.verify_chains(${id ?? null}::uuid)`;
}

describe('retention settings', () => {
  it('holds the specification\'s defaults per category', async () => {
    const rows = await t.db<{ category: string; keep_for: string | null }[]>`
      select category, keep_for::text as keep_for from shipslog.audit_retention order by category`;
    expect(Object.fromEntries(rows.map((r) => [r.category, r.keep_for]))).toEqual({
      approval_workflow: null,
      compliance_gate: '7 years',
      configuration: '7 years',
      deployment_lifecycle: '7 years',
      rollback: '7 years',
      security: null,
      state_change: '1 year',
      system: '90 days',
    });
  });

  it('records every change with who made it, keeps that record append-only, and lets no runtime role change it', async () => {
    await t.db.begin(async (tx) => {
      await tx`select set_config('shipslog.actor', 'dpo@example.com', true), set_config('shipslog.reason', 'legal hold', true)`;
      await tx`update shipslog.audit_retention set keep_for = interval '2 years' where category = 'state_change'`;
    });
    const [c] = await t.db<{ category: string; operation: string; previous_keep_for: string; new_keep_for: string; actor: string; reason: string; db_user: string }[]>`
      select category, operation, previous_keep_for::text, new_keep_for::text, actor, reason, db_user
      from shipslog.audit_retention_changes order by id desc limit 1`;
    expect(c).toMatchObject({
      category: 'state_change', operation: 'update', previous_keep_for: '1 year', new_keep_for: '2 years',
      actor: 'dpo@example.com', reason: 'legal hold',
    });
    await t.db`update shipslog.audit_retention set keep_for = interval '1 year' where category = 'state_change'`;
    await expect(t.db`update shipslog.audit_retention_changes set actor = 'x'`).rejects.toMatchObject({ code: 'SL461' });
    await expect(t.db`delete from shipslog.audit_retention_changes`).rejects.toMatchObject({ code: 'SL461' });
    await expect(t.db`insert into shipslog.audit_retention_changes (category, operation, db_role, db_user) values ('system', 'update', 'x', 'x')`)
      .rejects.toMatchObject({ code: 'SL461' });
    await expect(t.db`update shipslog.audit_retention set keep_for = interval '1 hour' where category = 'system'`).rejects.toMatchObject({ code: '23514' });
    for (const role of ['shipslog_app', 'shipslog_reconciler', 'shipslog_auditor'] as const) {
      await expect(asRole(t.db, role, {}, (tx) => tx`update shipslog.audit_retention set keep_for = null`)).rejects.toMatchObject({ code: '42501' });
    }
  });
});

describe('purge', () => {
  let old: string; // 8 years old, then one change now: all but the last event expired
  let young: string; // 2 years old, state changes only past their year: its created event (7 years) holds them
  let gone: string; // removed 8 years ago: the whole chain goes
  let dormant: string; // 8 years old, untouched since: every event goes, the row stays

  beforeAll(async () => {
    old = await chain('old', 3);
    await backdate(old, '8 years');
    await t.db`update shipslog.deployments set app_version = '17' where id = ${old}`;
    young = await chain('young', 0);
    await t.db`update shipslog.deployments set health = 'Healthy' where id = ${young}`;
    await t.db`update shipslog.deployments set health = 'Degraded' where id = ${young}`;
    await backdate(young, '2 years');
    gone = await chain('gone', 2);
    await t.db`delete from shipslog.deployments where id = ${gone}`;
    await backdate(gone, '8 years');
    dormant = await chain('dormant', 1);
    await backdate(dormant, '8 years');
    expect(await verifyChains(t.db)).toEqual([]);
  });

  it('never cuts into a retention period: a cut beyond the computed one, or judged in the future, is refused and removes nothing', async () => {
    const [cut] = await t.db<{ chain_index: number }[]>`select chain_index from shipslog.audit_retention_cuts(now()) where deployment_id = ${old}`;
    expect(cut!.chain_index).toBe(4);
    const sig = Buffer.alloc(64, 1);
    await expect(t.db`select * from shipslog.purge_audit_events(now(), array[${old}]::uuid[], array[5], ${keys.keyId}, array[${sig}]::bytea[])`)
      .rejects.toMatchObject({ code: 'SL464' });
    await expect(t.db`select * from shipslog.purge_audit_events(now() + interval '1 year', array[${old}]::uuid[], array[4], ${keys.keyId}, array[${sig}]::bytea[])`)
      .rejects.toMatchObject({ code: 'SL462' });
    await expect(t.db`select * from shipslog.purge_audit_events(now(), array[${old}]::uuid[], array[4], ${keys.keyId}, array[${Buffer.alloc(8)}]::bytea[])`)
      .rejects.toMatchObject({ code: 'SL463' });
    const young_ = await t.db`select chain_index from shipslog.audit_retention_cuts(now()) where deployment_id = ${young}`;
    expect(young_).toHaveLength(0); // created (7 years) is first, and holds back the expired health changes
    await expect(
      t.db`select * from shipslog.purge_audit_events(now(), array[${young}]::uuid[], array[2]::int[], ${keys.keyId}, array[${sig}]::bytea[])`,
    ).rejects.toMatchObject({ code: 'SL464' });
    expect(await indexes(old)).toEqual([1, 2, 3, 4, 5]);
  });

  it('DELETE of events stays refused for every role outside the purge function', async () => {
    await expect(t.db`delete from shipslog.deployment_events where deployment_id = ${old} and chain_index = 1`).rejects.toMatchObject({ code: 'SL001' });
    for (const role of ['shipslog_app', 'shipslog_reconciler', 'shipslog_auditor'] as const) {
      await expect(asRole(t.db, role, { tenant: '*' }, (tx) => tx`delete from shipslog.deployment_events where deployment_id = ${old}`))
        .rejects.toMatchObject({ code: '42501' });
    }
    // The role the purge runs as cannot log in, and no login but a superuser is a member of it.
    const [r] = await t.db<{ login: boolean; members: number }[]>`
      select r.rolcanlogin as login,
             (select count(*)::int from pg_auth_members as m join pg_roles as u on u.oid = m.member
              where m.roleid = r.oid and not u.rolsuper) as members
      from pg_roles as r where r.rolname = 'shipslog_audit_retention'`;
    expect(r).toEqual({ login: false, members: 0 });
    expect(await indexes(old)).toEqual([1, 2, 3, 4, 5]);
  });

  it('removes whole expired prefixes under signed anchors, records the purge as an event, and verification still passes', async () => {
    const r = await purgeAuditEvents(t.db, keys, 'manual');
    expect(r).toMatchObject({ chains: 3, events: 4 + 4 + 2 });
    expect(await indexes(old)).toEqual([5]);
    expect(await indexes(young)).toEqual([1, 2, 3]);
    expect(await indexes(gone)).toEqual([]);
    expect(await indexes(dormant)).toEqual([]);
    const anchors = await t.db<{ deployment_id: string; chain_index: number; removed: boolean }[]>`
      select deployment_id, chain_index, removed from shipslog.audit_chain_anchors order by chain_index`;
    expect(anchors).toEqual(expect.arrayContaining([
      { deployment_id: old, chain_index: 4, removed: false },
      { deployment_id: gone, chain_index: 4, removed: true },
      { deployment_id: dormant, chain_index: 2, removed: false },
    ]));
    const [ev] = await t.db<{ action: string; chain_index: number; new_state: { chain_count: number; event_count: number } }[]>`
      select action, chain_index, new_state from shipslog.deployment_events where deployment_id = ${systemChain}`;
    expect(ev).toMatchObject({ action: 'events_purged', chain_index: 1, new_state: { chain_count: 3, event_count: 10 } });
    const [cat] = await t.db<{ c: string }[]>`select shipslog.event_category('events_purged') as c`;
    expect(cat!.c).toBe('system');

    const all = await verifyAll(t.db);
    expect(all.findings).toEqual([]);
    expect(await sqlFindings()).toEqual([]);
    expect(await verifyAnchors(t.db, keys.publicKey)).toMatchObject({ checked: 3, findings: [] });
    const cp = await verifyCheckpoints(t.db, keys.publicKey, true);
    expect(cp.findings).toEqual([]);
    expect(cp.recomputed).toBe(1); // the one taken right after the purge
  });

  it('the purge event reads like any event in the API\'s listings for a global key, within its schema', async () => {
    const [entry] = await queryEvents(t.db, { actions: ['events_purged'], limit: 10 });
    expect(entry).toMatchObject({ deployment_id: systemChain, tenant: '_system', name: 'audit-retention', action: 'events_purged' });
    expect(() => historyEntrySchema.parse(entry)).not.toThrow();
  });

  it('a chain goes on from its anchor: a new change of a dormant deployment links to it', async () => {
    await t.db`update shipslog.deployments set app_version = '18' where id = ${dormant}`;
    expect(await indexes(dormant)).toEqual([3]);
    expect(await verifyChains(t.db, dormant)).toEqual([]);
    expect(await sqlFindings(dormant)).toEqual([]);
  });

  it('a second purge finds nothing more, and leaves everything as it was', async () => {
    const r = await purgeAuditEvents(t.db, keys, 'manual');
    expect(r.purgeId).toBeNull();
    expect(await indexes(old)).toEqual([5]);
  });

  it('still catches a tampered retained event, in Node and in SQL', async () => {
    await asSuperuserBypassingTriggers((tx) => tx`
      update shipslog.deployment_events set new_state = '{"health": "Healthy"}' where deployment_id = ${young} and chain_index = 3`);
    const [f] = await verifyChains(t.db, young);
    expect(f).toMatchObject({ chainIndex: 3, problem: expect.stringMatching(/event #3 \(health_changed\) does not match its hash/) });
    expect((await sqlFindings(young))[0]).toMatchObject({ chain_index: 3, problem: f!.problem });
  });

  it('catches a retained event deleted after the anchor', async () => {
    await asSuperuserBypassingTriggers((tx) => tx`delete from shipslog.deployment_events where deployment_id = ${old} and chain_index = 5`);
    const [f] = await verifyChains(t.db, old);
    expect(f!.problem).toMatch(/chain head is #5 but the chain ends at #4/);
    expect((await sqlFindings(old))[0]!.problem).toBe(f!.problem);
  });

  it('catches an anchor altered or forged: its signature no longer matches', async () => {
    await asSuperuserBypassingTriggers((tx) => tx`
      update shipslog.audit_chain_anchors set state = state || '{"name": "forged"}' where deployment_id = ${dormant}`);
    const report = await verifyAnchors(t.db, keys.publicKey);
    expect(report.findings).toEqual([expect.objectContaining({ deploymentId: dormant, problem: expect.stringMatching(/signature does not match/) })]);
    const other = createPublicKey(generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));
    expect((await verifyAnchors(t.db, other)).findings.map((x) => x.problem)).toEqual(Array(3).fill(expect.stringMatching(/unknown key/)));
    // The altered state no longer replays to the row, too.
    expect((await verifyChains(t.db, dormant))[0]!.problem).toMatch(/differs from the state its events replay to/);
  });

  it('catches a forged purge event appended to the system chain', async () => {
    await asSuperuserBypassingTriggers((tx) => tx`
      insert into shipslog.deployment_events overriding system value
      select e.seq + 1000000, e.deployment_id, 2, e.tenant, e.name, e.action, e.occurred_at, e.txid, e.actor, e.actor_type, e.reason,
             e.correlation_id, e.request_id, e.source_ip, e.user_agent, e.db_role, e.db_user, e.application_name, e.client_addr,
             e.previous_state, e.new_state, e.hash
      from shipslog.deployment_events as e where e.deployment_id = ${systemChain}`);
    const [f] = await verifyChains(t.db, systemChain);
    expect(f!.problem).toMatch(/event #2 \(events_purged\) does not match its hash|system chain/);
  });

  it('`shipslog purge` and `shipslog verify` on the command line: nothing left to purge; the altered anchor is named', async () => {
    const env = {
      DATABASE_URL: t.url,
      LOG_LEVEL: 'error',
      SHIPSLOG_CHECKPOINT_KEY: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      SHIPSLOG_CHECKPOINT_PUBLIC_KEY: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    };
    const purge = await shipslog(['purge'], env);
    expect(purge).toMatchObject({ code: 0, stdout: 'nothing to purge: no chain starts with events past their retention\n' });
    const verify = await shipslog(['verify'], env);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toMatch(new RegExp(`BROKEN anchor #\\d+ of ${dormant} at event #2: signature does not match`));
    expect(verify.stdout).toMatch(/BROKEN keep\/young \(.+\) at event #3: event #3 \(health_changed\) does not match its hash/);
  });
});
