import type { Db, Queryable, Tx } from './client.ts';
import { deploymentColumns, type Deployment } from './deployments.ts';

/**
 * shipslog.reconcile_queue (the table: migrations/0001_baseline.sql, its lease columns
 * 0005_reconcile-leases.sql; its triggers and NOTIFY: sql/reconciler/30_queue_and_notify.sql;
 * the lease guard and hold_reconcile_lease(): 35_leases.sql): one row per deployment, the
 * reconciler's claim and back-off state. A claim is a lease written on the row in a short
 * transaction (who holds it, until when); the rows are chosen with FOR UPDATE SKIP LOCKED, so
 * many replicas share the work without coordinating, and no transaction stays open while the
 * holder works.
 */

/** A deployment with its queue state: consecutive failures of its current generation. */
export type QueuedDeployment = Deployment & { failures: number };

// Work: a generation not yet observed (unless held back awaiting approval or gates:
// sql/compliance/50_release_check.sql), or a removal request. Back-off holds a failed
// generation back until not_before; a newer generation is tried at once.
const pending = (tx: Queryable) => tx`(
  (d.observed_generation < d.generation and q.held_generation is distinct from d.generation)
  or d.deletion_requested_at is not null)`;
const notBackingOff = (tx: Queryable) => tx`(q.not_before is null or q.not_before <= now() or q.failed_generation is distinct from d.generation)`;
// Nobody holds it: never leased, released, or its holder let it run out (crashed, stalled).
const unleased = (tx: Queryable) => tx`(q.lease_expires_at is null or q.lease_expires_at <= now())`;

/** A lease to write: a fresh id per claim, the worker that holds it, and how long it lasts unextended. */
export interface LeaseRequest {
  id: string;
  holder: string;
  ttlMs: number;
}

// clock_timestamp(), not now(): the expiry counts from this statement, which runs after the
// caller noted the time it sent it (its own, conservative, idea of when the lease ends).
const leaseColumns = (tx: Queryable, lease: LeaseRequest) => tx`
  lease_holder = ${lease.holder},
  lease_id = ${lease.id},
  lease_expires_at = clock_timestamp() + make_interval(secs => ${lease.ttlMs / 1000})
`;

/**
 * Leases the oldest pending deployment nobody holds; other replicas skip its row while this
 * transaction decides (SKIP LOCKED) and its lease afterwards. Returns its id, or null when
 * there is nothing to do. The caller commits at once and works with no transaction open.
 */
export async function claimNext(tx: Tx, lease: LeaseRequest): Promise<string | null> {
  const [row] = await tx<{ id: string }[]>`
    update shipslog.reconcile_queue
    set ${leaseColumns(tx, lease)}
    where deployment_id = (
      select d.id
      from shipslog.deployments as d
      join shipslog.reconcile_queue as q
        on q.deployment_id = d.id
      where ${pending(tx)}
        and ${notBackingOff(tx)}
        and ${unleased(tx)}
      order by d.updated_at
      limit 1
      for update of q skip locked
    )
    returning deployment_id as id
  `;
  return row?.id ?? null;
}

export type ClaimOutcome = 'claimed' | 'busy' | 'backoff' | 'idle';

/** Leases one named deployment (a NOTIFY wake-up), or says why not ('busy': another holder). */
export async function claimOne(tx: Tx, id: string, lease: LeaseRequest): Promise<ClaimOutcome> {
  const [row] = await tx`
    update shipslog.reconcile_queue
    set ${leaseColumns(tx, lease)}
    where deployment_id = (
      select d.id
      from shipslog.deployments as d
      join shipslog.reconcile_queue as q
        on q.deployment_id = d.id
      where d.id = ${id}
        and ${pending(tx)}
        and ${notBackingOff(tx)}
        and ${unleased(tx)}
      for update of q skip locked
    )
    returning deployment_id
  `;
  if (row) return 'claimed';
  const [state] = await tx<{ pending: boolean; backoff: boolean }[]>`
    select ${pending(tx)} as pending, not ${notBackingOff(tx)} as backoff
    from shipslog.deployments as d
    join shipslog.reconcile_queue as q
      on q.deployment_id = d.id
    where d.id = ${id}
  `;
  if (!state || !state.pending) return 'idle';
  return state.backoff ? 'backoff' : 'busy';
}

/**
 * Reads the claimed deployment in a new statement: under READ COMMITTED this sees a commit
 * that happened while the claim statement ran (the previous holder's result, committed after
 * the claim's snapshot but before it reached the row), so a generation is never applied
 * twice. Null when there is no work left: then release the lease (releaseLease).
 */
export async function loadClaimed(tx: Tx, id: string): Promise<QueuedDeployment | null> {
  return readQueued(tx, id, true);
}

/** The deployment with its queue state; with onlyPending, null unless there is work. */
export async function readQueued(db: Queryable, id: string, onlyPending = false): Promise<QueuedDeployment | null> {
  const [row] = await db<QueuedDeployment[]>`
    select ${deploymentColumns(db)}, q.failures
    from shipslog.deployments as d
    join shipslog.reconcile_queue as q
      on q.deployment_id = d.id
    where d.id = ${id}
      ${onlyPending ? db`and ${pending(db)}` : db``}
  `;
  return row ?? null;
}

/**
 * Extends a lease (every row it holds) to ttlMs from now. Returns the rows extended: 0 when
 * the lease is gone (expired, released, taken over), which an expired lease never comes back
 * from. One autocommit statement: no transaction stays open between extensions.
 */
export async function extendLease(db: Queryable, leaseId: string, ttlMs: number): Promise<number> {
  const rows = await db`
    update shipslog.reconcile_queue
    set lease_expires_at = clock_timestamp() + make_interval(secs => ${ttlMs / 1000})
    where lease_id = ${leaseId}
      and lease_expires_at > clock_timestamp()
  `;
  return rows.count;
}

/** Gives a lease up (no work after all; the end of a health batch). Harmless when it is gone already. */
export async function releaseLease(db: Queryable, leaseId: string): Promise<void> {
  await db`
    update shipslog.reconcile_queue
    set lease_holder = null,
        lease_id = null,
        lease_expires_at = null
    where lease_id = ${leaseId}
  `;
}

/**
 * First statement of a run's result transaction: locks the queue row and raises SL220 unless
 * the lease still holds it (sql/reconciler/35_leases.sql). Pipeline the writes after it: if
 * it fails, they fail with the transaction.
 */
export async function holdLease(tx: Tx, deploymentId: string, leaseId: string): Promise<void> {
  await tx`select shipslog.hold_reconcile_lease(${deploymentId}, ${leaseId})`;
}

/** The rows a lease still holds, locked until the transaction ends (a health batch writes only these). */
export async function heldByLease(tx: Tx, leaseId: string): Promise<string[]> {
  const rows = await tx<{ id: string }[]>`
    select deployment_id as id
    from shipslog.reconcile_queue
    where lease_id = ${leaseId}
      and lease_expires_at > clock_timestamp()
    order by deployment_id
    for update
  `;
  return rows.map((r) => r.id);
}

const released = (tx: Queryable) => tx`
  lease_holder = null,
  lease_id = null,
  lease_expires_at = null
`;

/** A run succeeded: back-off state cleared, health counts as just checked, the lease released. */
export async function recordSuccess(tx: Tx, id: string, leaseId: string): Promise<void> {
  await tx`
    update shipslog.reconcile_queue
    set failures = 0,
        not_before = null,
        failed_generation = null,
        health_checked_at = now(),
        ${released(tx)}
    where deployment_id = ${id}
      and lease_id = ${leaseId}
  `;
}

/** Back-off: the next attempt at this generation waits delayMs (it grows with failures); the lease is released. */
export async function recordFailure(tx: Tx, id: string, generation: number, delayMs: number, leaseId: string): Promise<void> {
  await tx`
    update shipslog.reconcile_queue
    set failures = failures + 1,
        not_before = now() + make_interval(secs => ${delayMs / 1000}),
        failed_generation = ${generation},
        ${released(tx)}
    where deployment_id = ${id}
      and lease_id = ${leaseId}
  `;
}

/** Deployments with work that back-off holds back now, the soonest due first. */
export async function heldBackByBackoff(db: Queryable, limit = 20): Promise<string[]> {
  const rows = await db<{ id: string }[]>`
    select d.id
    from shipslog.deployments as d
    join shipslog.reconcile_queue as q
      on q.deployment_id = d.id
    where ${pending(db)}
      and q.not_before > now()
      and q.failed_generation = d.generation
    order by q.not_before
    limit ${limit}
  `;
  return rows.map((r) => r.id);
}

/**
 * Leases up to `batch` applied deployments whose health was not checked within intervalMs,
 * least recently checked first, and marks them checked. The same lease as a run's (one id over
 * the batch), so replicas share the polling and never check a deployment that a run holds.
 */
export async function claimHealthChecks(tx: Tx, intervalMs: number, batch: number, lease: LeaseRequest): Promise<Deployment[]> {
  const claimed = await tx<{ id: string }[]>`
    update shipslog.reconcile_queue
    set ${leaseColumns(tx, lease)},
        health_checked_at = now()
    where deployment_id in (
      select q.deployment_id
      from shipslog.deployments as d
      join shipslog.reconcile_queue as q
        on q.deployment_id = d.id
      where d.status = 'applied'
        and d.deletion_requested_at is null
        and d.observed_generation = d.generation
        and (q.health_checked_at is null or q.health_checked_at < now() - make_interval(secs => ${intervalMs / 1000}))
        and ${unleased(tx)}
      order by q.health_checked_at nulls first
      limit ${batch}
      for update of q skip locked
    )
    returning deployment_id as id
  `;
  if (claimed.length === 0) return [];
  // A new statement: a run that finished while this one waited is seen (as in loadClaimed);
  // rows no longer applied go back at once.
  const rows = await tx<Deployment[]>`
    select ${deploymentColumns(tx)}
    from shipslog.deployments as d
    where d.id in ${tx(claimed.map((r) => r.id))}
      and d.status = 'applied'
      and d.deletion_requested_at is null
      and d.observed_generation = d.generation
  `;
  const dropped = claimed.map((r) => r.id).filter((id) => !rows.some((d) => d.id === id));
  if (dropped.length > 0) {
    await tx`
      update shipslog.reconcile_queue
      set ${released(tx)}
      where deployment_id in ${tx(dropped)}
        and lease_id = ${lease.id}
    `;
  }
  return [...rows];
}

/**
 * LISTEN on the channel the queue trigger notifies (payload: the deployment id).
 * onConnect runs after every (re)connect: notifications sent while it was down are lost.
 */
export async function listenForWork(db: Db, onWork: (id: string) => void, onConnect: () => void): Promise<{ unlisten: () => Promise<void> }> {
  const sub = await db.listen('shipslog_reconcile', onWork, onConnect);
  return { unlisten: sub.unlisten };
}
