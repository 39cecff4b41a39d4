import type { Db, Queryable, Tx } from './client.ts';
import { deploymentColumns, type Deployment } from './deployments.ts';

/**
 * shipslog.reconcile_queue (the table: migrations/0001_baseline.sql; its triggers and NOTIFY:
 * sql/reconciler/30_queue_and_notify.sql): one row per deployment, the reconciler's claim
 * and back-off state. A claim is the queue row's lock (FOR UPDATE ... SKIP LOCKED), held by
 * the caller's transaction, so many replicas share the work without coordinating.
 */

/** A deployment with its queue state: consecutive failures of its current generation. */
export type QueuedDeployment = Deployment & { failures: number };

// Work: a generation not yet observed, or a removal request. Back-off holds a failed
// generation back until not_before; a newer generation is tried at once.
const pending = (tx: Queryable) => tx`(d.observed_generation < d.generation or d.deletion_requested_at is not null)`;
const notBackingOff = (tx: Queryable) => tx`(q.not_before is null or q.not_before <= now() or q.failed_generation is distinct from d.generation)`;

/**
 * Claims the oldest pending deployment: its queue row stays locked until tx ends, and other
 * replicas skip it (SKIP LOCKED). Returns its id, or null when there is nothing to do.
 */
export async function claimNext(tx: Tx): Promise<string | null> {
  const [row] = await tx<{ id: string }[]>`
    select d.id
    from shipslog.deployments as d
    join shipslog.reconcile_queue as q
      on q.deployment_id = d.id
    where ${pending(tx)}
      and ${notBackingOff(tx)}
    order by d.updated_at
    limit 1
    for update of q skip locked
  `;
  return row?.id ?? null;
}

export type ClaimOutcome = 'claimed' | 'busy' | 'backoff' | 'idle';

/** Claims one named deployment (a NOTIFY wake-up), or says why not. */
export async function claimOne(tx: Tx, id: string): Promise<ClaimOutcome> {
  const [row] = await tx`
    select d.id
    from shipslog.deployments as d
    join shipslog.reconcile_queue as q
      on q.deployment_id = d.id
    where d.id = ${id}
      and ${pending(tx)}
      and ${notBackingOff(tx)}
    for update of q skip locked
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
 * that happened while we waited for the claim (the previous holder's result), so a
 * generation is never applied twice. Null when there is no work left.
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

export async function recordSuccess(tx: Tx, id: string): Promise<void> {
  await tx`
    update shipslog.reconcile_queue
    set failures = 0,
        not_before = null,
        failed_generation = null,
        health_checked_at = now()
    where deployment_id = ${id}
  `;
}

/** Back-off: the next attempt at this generation waits delayMs (it grows with failures). */
export async function recordFailure(tx: Tx, id: string, generation: number, delayMs: number): Promise<void> {
  await tx`
    update shipslog.reconcile_queue
    set failures = failures + 1,
        not_before = now() + make_interval(secs => ${delayMs / 1000}),
        failed_generation = ${generation}
    where deployment_id = ${id}
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
 * Claims up to `batch` applied deployments whose health was not checked within intervalMs,
 * least recently checked first. The same queue rows as the work claims (SKIP LOCKED), so
 * replicas share the polling and never check a deployment that a run holds.
 */
export async function claimHealthChecks(tx: Tx, intervalMs: number, batch: number): Promise<Deployment[]> {
  const rows = await tx<Deployment[]>`
    select ${deploymentColumns(tx)}
    from shipslog.deployments as d
    join shipslog.reconcile_queue as q
      on q.deployment_id = d.id
    where d.status = 'applied'
      and d.deletion_requested_at is null
      and d.observed_generation = d.generation
      and (q.health_checked_at is null or q.health_checked_at < now() - make_interval(secs => ${intervalMs / 1000}))
    order by q.health_checked_at nulls first
    limit ${batch}
    for update of q skip locked
  `;
  return [...rows];
}

export async function markHealthChecked(tx: Tx, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await tx`
    update shipslog.reconcile_queue
    set health_checked_at = now()
    where deployment_id in ${tx(ids)}
  `;
}

/**
 * LISTEN on the channel the queue trigger notifies (payload: the deployment id).
 * onConnect runs after every (re)connect: notifications sent while it was down are lost.
 */
export async function listenForWork(db: Db, onWork: (id: string) => void, onConnect: () => void): Promise<{ unlisten: () => Promise<void> }> {
  const sub = await db.listen('shipslog_reconcile', onWork, onConnect);
  return { unlisten: sub.unlisten };
}
