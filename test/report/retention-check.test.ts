import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyIdOf, type CheckpointKeys } from '../../src/audit/checkpoints.ts';
import { purgeAuditEvents } from '../../src/audit/retention.ts';
import type { Tx } from '../../src/db/client.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { insertDeployment } from '../support/fixtures.ts';

// The compliance report's retention_met check (shipslog.compliance_check_retention(),
// sql/audit/80_compliance_checks.sql) against the real retention (sql/audit/85_retention.sql):
// it fails on an event left past its period beyond the purge's grace, on a purge whose records
// show it removed what was still inside its period, and on a period set below the
// specification's minimum; it passes on a sound trail after a real purge, and never fails for
// an expired event that a purge legitimately keeps behind a retained one of its chain.

let t: TestDatabase;
const pair = generateKeyPairSync('ed25519');
const keys: CheckpointKeys = { privateKey: pair.privateKey, publicKey: pair.publicKey, keyId: keyIdOf(pair.publicKey) };
let young: string; // 2 years old: its expired health changes are held behind its created event (7 years)
let stale: string; // 8 years old: every event past its 7 years, far beyond the grace
let due: string; // 7 years and 1 day old: expired, inside the 2 days grace of the daily purge

interface Check {
  status: string;
  summary: string;
  evidence: {
    overdue: number;
    held: number;
    awaiting_purge: number;
    overdue_events: { name: string; chain_index: number; category: string }[];
    purges: { id: number; anchors: { deployment_id: string }[]; problems: string[] }[];
    unsealed_anchors: unknown[];
    changes: { category: string; new_keep_for: string; below_minimum: boolean }[];
    categories: Record<string, { keep_for: string | null; minimum: string | null; held: number; overdue: number }>;
  };
}

async function retention(db: Tx | TestDatabase['db'] = t.db, scope: { tenant?: string; deployment?: string } = {}): Promise<Check> {
  const [c] = await db<Check[]>`
    select status, summary, evidence
    from shipslog.compliance_check_retention('2000-01-01', '2100-01-01', ${scope.tenant ?? null}, ${scope.deployment ?? null}::uuid, null)`;
  return c!;
}

class Rollback extends Error {
  readonly value: unknown;
  constructor(value: unknown) {
    super('rollback');
    this.value = value;
  }
}

/** Runs fn as the superuser in a transaction that is always rolled back; returns what fn returned. */
async function rolledBack<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
  try {
    await t.db.begin(async (tx) => {
      throw new Rollback(await fn(tx));
    });
  } catch (err) {
    if (err instanceof Rollback) return err.value as T;
    throw err;
  }
  throw new Error('unreachable');
}

/** A chain as it would be had it been written `age` ago: events moved back and re-hashed, triggers bypassed (as test/retention.test.ts does). */
async function backdate(id: string, age: string) {
  await t.db.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    await tx`update shipslog.deployment_events set occurred_at = occurred_at - ${age}::interval where deployment_id = ${id}`;
    const events = await tx<{ chain_index: number }[]>`
      select chain_index from shipslog.deployment_events where deployment_id = ${id} order by chain_index`;
    let prev: Buffer | null = null;
    for (const e of events) {
      const [h]: { hash: Buffer }[] = await tx<{ hash: Buffer }[]>`
        update shipslog.deployment_events as e set hash = shipslog.event_hash(${prev}::bytea, e)
        where deployment_id = ${id} and chain_index = ${e.chain_index} returning hash`;
      prev = h!.hash;
    }
    await tx`update shipslog.deployments set chain_head = ${prev} where id = ${id}`;
  });
}

beforeAll(async () => {
  t = await createTestDatabase();
  await insertDeployment(t.db, { tenant: 'acme', name: 'fresh' });
  young = (await insertDeployment(t.db, { tenant: 'acme', name: 'young' })).id;
  await t.db`update shipslog.deployments set health = 'Healthy' where id = ${young}`;
  await t.db`update shipslog.deployments set health = 'Degraded' where id = ${young}`;
  await backdate(young, '2 years');
  stale = (await insertDeployment(t.db, { tenant: 'globex', name: 'stale' })).id;
  await t.db`update shipslog.deployments set config = config || '{"storage": "20Gi"}' where id = ${stale}`;
  await t.db`update shipslog.deployments set app_version = '17' where id = ${stale}`;
  await backdate(stale, '8 years');
  due = (await insertDeployment(t.db, { tenant: 'acme', name: 'due' })).id;
  await backdate(due, '7 years 1 day');
});

afterAll(async () => {
  await t?.drop();
});

describe('retention_met', () => {
  it('fails on events left past their period beyond the grace, and names them', async () => {
    const c = await retention();
    expect(c.status).toBe('fail');
    expect(c.summary).toMatch(/^3 event\(s\) past their retention period by more than the 2 days grace remain at the front of their chains/);
    expect(c.evidence).toMatchObject({ overdue: 3, held: 2, awaiting_purge: 1 });
    expect(c.evidence.overdue_events.map((e) => [e.name, e.chain_index, e.category])).toEqual([
      ['stale', 1, 'deployment_lifecycle'], ['stale', 2, 'configuration'], ['stale', 3, 'configuration'],
    ]);
    expect(c.evidence.categories.state_change).toMatchObject({ keep_for: '1 year', minimum: '1 year', held: 2, overdue: 0 });
    // Scoped to a tenant, only that tenant's chains count: acme has the held and the awaiting ones.
    expect(await retention(t.db, { tenant: 'acme' })).toMatchObject({ status: 'pass', evidence: { overdue: 0, held: 2, awaiting_purge: 1 } });
    // The grace is a setting: a longer one (a weekly purge, say) lets the stale chain wait.
    const lenient = await rolledBack(async (tx) => {
      await tx`select set_config('shipslog.retention_grace', '3650 days', true)`;
      return retention(tx);
    });
    expect(lenient).toMatchObject({ status: 'pass', evidence: { overdue: 0 } });
  });

  it('passes after a real purge: the expired prefixes gone under anchors, the held events kept', async () => {
    const purge = await purgeAuditEvents(t.db, keys, 'manual');
    expect(purge).toMatchObject({ chains: 2, events: 4 });
    const c = await retention();
    expect(c.status).toBe('pass');
    expect(c.summary).toMatch(/2 expired event\(s\) held behind retained ones of their chains, 0 awaiting the next purge\); 1 purge\(s\) in the window applied the periods in force/);
    expect(c.evidence).toMatchObject({ overdue: 0, held: 2, awaiting_purge: 0, unsealed_anchors: [] });
    expect(c.evidence.purges).toHaveLength(1);
    expect(c.evidence.purges[0]!.problems).toEqual([]);
    expect(c.evidence.purges[0]!.anchors.map((a) => a.deployment_id).sort()).toEqual([stale, due].sort());
  });

  it('fails when a purge\'s records show it removed events still inside their period', async () => {
    // A superuser cuts the young chain's created event (kept 7 years) and forges the records a
    // purge would leave: an anchor, and a purge that says it applied one day.
    const forged = await rolledBack(async (tx) => {
      await tx`set local session_replication_role = replica`;
      const [last] = await tx<{ hash: Buffer }[]>`select hash from shipslog.deployment_events where deployment_id = ${young} and chain_index = 1`;
      await tx`delete from shipslog.deployment_events where deployment_id = ${young} and chain_index = 1`;
      await tx`
        insert into shipslog.audit_purges (id, chain_count, event_count, retention, event_chain_index, event_hash)
        overriding system value
        select 1000, 1, 1, retention || '{"deployment_lifecycle": "1 day"}', 99, ${Buffer.alloc(32)}
        from shipslog.audit_purges where id = 1`;
      await tx`
        insert into shipslog.audit_chain_anchors (deployment_id, chain_index, hash, state, removed, judged_at, key_id, signature, purge_id)
        values (${young}, 1, ${last!.hash}, '{}', false, now(), ${keys.keyId}, ${Buffer.alloc(64)}, 1000)`;
      return retention(tx);
    });
    expect(forged.status).toBe('fail');
    const problems = forged.evidence.purges.find((p) => p.id === 1000)!.problems;
    expect(problems).toEqual(expect.arrayContaining([
      'purge #1000 applied 1 day to deployment_lifecycle while 7 years was in force (shipslog.audit_retention_changes)',
      'purge #1000 applied 1 day to deployment_lifecycle, below the specification\'s minimum (7 years)',
      'purge #1000: its events_purged event #99 is missing from the system chain',
    ]));
    expect(forged.summary).toContain('purge #1000 applied 1 day to deployment_lifecycle while 7 years was in force');

    // The periods in force are replayed from the changes: a purge after configuration went to
    // 10 years may not apply 7, while the real purge, before that change, rightly applied 7.
    const lengthened = await rolledBack(async (tx) => {
      await tx`update shipslog.audit_retention set keep_for = interval '10 years' where category = 'configuration'`;
      await tx`set local session_replication_role = replica`;
      await tx`
        insert into shipslog.audit_purges (id, chain_count, event_count, retention, event_chain_index, event_hash)
        overriding system value
        select 1001, 0, 0, retention, 98, ${Buffer.alloc(32)} from shipslog.audit_purges where id = 1`;
      return retention(tx);
    });
    expect(lengthened.evidence.purges.find((p) => p.id === 1)!.problems).toEqual([]);
    expect(lengthened.evidence.purges.find((p) => p.id === 1001)!.problems).toContain(
      'purge #1001 applied 7 years to configuration while 10 years was in force (shipslog.audit_retention_changes)');

    // An anchor slipped in under the real purge: the purge's record no longer accounts for it.
    const slipped = await rolledBack(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`
        insert into shipslog.audit_chain_anchors (deployment_id, chain_index, hash, state, removed, judged_at, key_id, signature, purge_id)
        select ${young}, 1, e.hash, '{}', false, a.judged_at, a.key_id, a.signature, a.purge_id
        from shipslog.audit_chain_anchors as a, shipslog.deployment_events as e
        where e.deployment_id = ${young} and e.chain_index = 1 and a.purge_id = 1 limit 1`;
      return retention(tx);
    });
    expect(slipped).toMatchObject({ status: 'fail', summary: 'purge #1 records 2 chain(s) but 3 anchor(s) name it' });

    // An anchor that no purge record stands behind.
    const orphan = await rolledBack(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`
        insert into shipslog.audit_chain_anchors (deployment_id, chain_index, hash, state, removed, judged_at, key_id, signature, purge_id)
        values (${young}, 1, ${Buffer.alloc(32)}, '{}', false, now(), ${keys.keyId}, ${Buffer.alloc(64)}, 2000)`;
      return retention(tx);
    });
    expect(orphan.status).toBe('fail');
    expect(orphan.summary).toMatch(new RegExp(`^1 anchor\\(s\\) name no recorded purge \\(the first: anchor #\\d+ of ${young} at event #1, purge #2000\\)$`));
    // And the trail as it is still passes.
    expect((await retention()).status).toBe('pass');
  });

  it('fails when the purge\'s event on the system chain disagrees with its record', async () => {
    const c = await rolledBack(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`update shipslog.audit_purges set retention = retention || '{"state_change": "2 years"}' where id = 1`;
      return retention(tx);
    });
    expect(c).toMatchObject({ status: 'fail', summary: 'purge #1: its events_purged event #1 on the system chain does not match its record' });
  });

  it('lists changes of the periods in the window; fails only for one below the specification\'s minimum', async () => {
    const longer = await rolledBack(async (tx) => {
      await tx`select set_config('shipslog.actor', 'dpo@example.com', true), set_config('shipslog.reason', 'legal hold', true)`;
      await tx`update shipslog.audit_retention set keep_for = interval '10 years' where category = 'configuration'`;
      return retention(tx);
    });
    expect(longer.status).toBe('pass');
    expect(longer.summary).toMatch(/1 change\(s\) of the periods in the window, none below them$/);
    expect(longer.evidence.changes).toEqual([expect.objectContaining({ category: 'configuration', new_keep_for: '10 years', below_minimum: false, actor: 'dpo@example.com', reason: 'legal hold' })]);

    // Shortened below the minimum and put back within the window: the change still fails it.
    const shortened = await rolledBack(async (tx) => {
      await tx`update shipslog.audit_retention set keep_for = interval '6 mons' where category = 'state_change'`;
      const now = await retention(tx);
      await tx`update shipslog.audit_retention set keep_for = interval '1 year' where category = 'state_change'`;
      return { now, after: await retention(tx) };
    });
    expect(shortened.now.status).toBe('fail');
    expect(shortened.now.summary).toContain('state_change is kept 6 mons, below the specification\'s minimum (1 year)');
    expect(shortened.after.status).toBe('fail');
    expect(shortened.after.summary).toMatch(/^change #\d+ set state_change to 6 mons at .+, below the specification's minimum \(1 year\)$/);
    expect(shortened.after.evidence.changes.map((x) => [x.new_keep_for, x.below_minimum])).toEqual([['6 mons', true], ['1 year', false]]);

    // A category kept forever by the specification may not be given an end.
    const ended = await rolledBack(async (tx) => {
      await tx`update shipslog.audit_retention set keep_for = interval '50 years' where category = 'security'`;
      return retention(tx);
    });
    expect(ended.summary).toContain('security is kept 50 years, below the specification\'s minimum (forever)');
  });
});
