import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  claimNext, claimOne, extendLease, heldByLease, holdLease, loadClaimed, recordSuccess, releaseLease, type LeaseRequest,
} from '../../src/db/reconcile-queue.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { insertDeployment } from '../support/fixtures.ts';

// The queue's leases in SQL, as the reconciler's group role (what a replica logs in as).
let t: TestDatabase;
let rec: postgres.Sql;
beforeAll(async () => {
  t = await createTestDatabase();
  rec = postgres(t.url, { max: 3, onnotice: () => {}, connection: { application_name: 'leases as reconciler', role: 'shipslog_reconciler' } as never });
});
afterAll(async () => {
  await rec?.end({ timeout: 5 });
  await t?.drop();
});

const lease = (holder: string, ttlMs = 60_000): LeaseRequest => ({ id: randomUUID(), holder, ttlMs });

async function failure(p: Promise<unknown>): Promise<postgres.PostgresError | undefined> {
  try {
    await p;
  } catch (err) {
    if (err instanceof postgres.PostgresError) return err;
    throw err;
  }
  return undefined;
}

const queueRow = async (id: string) =>
  (await t.db<{ lease_holder: string | null; lease_id: string | null; left: number | null }[]>`
    select lease_holder, lease_id, extract(epoch from lease_expires_at - clock_timestamp())::float8 as left
    from shipslog.reconcile_queue
    where deployment_id = ${id}`)[0]!;

/** Ends a lease as if its holder had stalled past it (the database clock decides). */
const expire = (id: string) => t.db`update shipslog.reconcile_queue set lease_expires_at = clock_timestamp() - interval '1 ms' where deployment_id = ${id}`;

describe('reconciler leases in SQL', () => {
  it('a claim is a lease that commits at once; other replicas skip it until it runs out, then take it over', async () => {
    const d = await insertDeployment(t.db, { tenant: 'leases', name: 'claim-me' });
    const a = lease('replica-a', 30_000);
    expect(await rec.begin((tx) => claimNext(tx, a))).toBe(d.id);
    const row = await queueRow(d.id);
    expect(row).toMatchObject({ lease_holder: 'replica-a', lease_id: a.id });
    expect(row.left).toBeGreaterThan(29);
    expect(row.left).toBeLessThanOrEqual(30);
    // No transaction stayed open: another replica sees the lease and skips the deployment.
    const b = lease('replica-b');
    expect(await rec.begin((tx) => claimNext(tx, b))).toBeNull();
    expect(await rec.begin((tx) => claimOne(tx, d.id, b))).toBe('busy');
    // Its holder extends it; an extension by anyone else's lease id touches nothing.
    expect(await extendLease(rec, a.id, 45_000)).toBe(1);
    expect((await queueRow(d.id)).left).toBeGreaterThan(44);
    expect(await extendLease(rec, b.id, 45_000)).toBe(0);
    // It runs out (a stalled holder): an extension cannot bring it back, and B takes over.
    await expire(d.id);
    expect(await extendLease(rec, a.id, 45_000)).toBe(0);
    expect(await rec.begin((tx) => claimOne(tx, d.id, b))).toBe('claimed');
    expect(await queueRow(d.id)).toMatchObject({ lease_holder: 'replica-b', lease_id: b.id });
    expect(await rec.begin((tx) => loadClaimed(tx, d.id))).toMatchObject({ id: d.id, failures: 0 });
    await releaseLease(rec, b.id);
    expect(await queueRow(d.id)).toMatchObject({ lease_holder: null, lease_id: null, left: null });
  });

  it('a holder whose lease ran out cannot record: hold_reconcile_lease fails (SL220) and takes the writes after it down', async () => {
    const d = await insertDeployment(t.db, { tenant: 'leases', name: 'late-writer' });
    const a = lease('replica-a');
    expect(await rec.begin((tx) => claimOne(tx, d.id, a))).toBe('claimed');
    // Held: the check passes.
    await rec.begin(async (tx) => {
      await holdLease(tx, d.id, a.id);
    });
    await expire(d.id);
    const expired = await failure(rec.begin(async (tx) => {
      await Promise.all([holdLease(tx, d.id, a.id), recordSuccess(tx, d.id, a.id)]);
    }));
    expect(expired).toMatchObject({ code: 'SL220' });
    expect(expired!.message).toMatch(/is no longer held: it expired at/);
    expect(expired!.hint).toMatch(/next holder applies the generation/);
    const b = lease('replica-b');
    expect(await rec.begin((tx) => claimOne(tx, d.id, b))).toBe('claimed');
    const taken = await failure(rec.begin((tx) => holdLease(tx, d.id, a.id)));
    expect(taken!.message).toMatch(/replica-b holds the deployment now/);
    // A stale holder's result writes name its own lease: they miss the new holder's row.
    await rec.begin((tx) => recordSuccess(tx, d.id, a.id));
    expect(await queueRow(d.id)).toMatchObject({ lease_holder: 'replica-b', lease_id: b.id });
    await rec.begin(async (tx) => {
      await holdLease(tx, d.id, b.id);
      await recordSuccess(tx, d.id, b.id);
    });
    expect(await queueRow(d.id)).toMatchObject({ lease_id: null });
    expect((await failure(rec.begin((tx) => holdLease(tx, d.id, b.id))))!.message).toMatch(/the lease was released/);
  });

  it('the database keeps one live lease per deployment and none beyond an hour, whoever writes the row (SL221)', async () => {
    const d = await insertDeployment(t.db, { tenant: 'leases', name: 'guarded' });
    const a = lease('replica-a');
    expect(await rec.begin((tx) => claimOne(tx, d.id, a))).toBe('claimed');
    const steal = await failure(t.db`
      update shipslog.reconcile_queue
      set lease_id = gen_random_uuid(), lease_holder = 'psql', lease_expires_at = clock_timestamp() + interval '1 minute'
      where deployment_id = ${d.id}`);
    expect(steal).toMatchObject({ code: 'SL221' });
    expect(steal!.message).toMatch(/is leased to replica-a until/);
    const far = await failure(rec`
      update shipslog.reconcile_queue
      set lease_expires_at = clock_timestamp() + interval '2 hours'
      where deployment_id = ${d.id}`);
    expect(far).toMatchObject({ code: 'SL221' });
    // All three lease columns or none.
    expect(await failure(t.db`update shipslog.reconcile_queue set lease_id = null where deployment_id = ${d.id}`)).toMatchObject({ code: '23514' });
    await releaseLease(rec, a.id);
  });

  it('a health batch holds one lease over its rows and writes only the rows it still holds', async () => {
    const ids = await Promise.all(['h1', 'h2'].map(async (name) => (await insertDeployment(t.db, { tenant: 'leases-health', name })).id));
    const a = lease('replica-a');
    // Leased by hand as claimHealthChecks does (these are not applied, so it would not pick them).
    await t.db`
      update shipslog.reconcile_queue
      set lease_holder = ${a.holder}, lease_id = ${a.id}, lease_expires_at = clock_timestamp() + interval '1 minute'
      where deployment_id = any(${ids}::uuid[])`;
    expect(await extendLease(rec, a.id, 60_000)).toBe(2);
    await expire(ids[0]!);
    expect(await rec.begin((tx) => heldByLease(tx, a.id))).toEqual([ids[1]]);
    await releaseLease(rec, a.id);
    expect(await rec.begin((tx) => heldByLease(tx, a.id))).toEqual([]);
  });
});
