import type { Queryable, Tx } from '../db/client.ts';
import type { InventoryItem } from './inventory.ts';

/** The deployment as the reconciler reads it, fresh, after taking its claim. */
export interface DeploymentRow {
  id: string;
  tenant: string;
  name: string;
  environment: string;
  recipe: string;
  appVersion: string;
  config: Record<string, unknown>;
  secretsRef: string | null;
  secretsFingerprint: string | null;
  generation: number;
  observedGeneration: number;
  restartedAt: Date | null;
  deletionRequestedAt: Date | null;
  managedResources: InventoryItem[];
  status: string;
  health: string;
  healthMessage: string | null;
  failures: number;
}

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
export async function loadClaimed(tx: Tx, id: string): Promise<DeploymentRow | null> {
  return readDeployment(tx, id, true);
}

/** The deployment with its queue state; with onlyPending, null unless there is work. */
export async function readDeployment(db: Queryable, id: string, onlyPending = false): Promise<DeploymentRow | null> {
  const [row] = await db<DeploymentRow[]>`
    select d.id, d.tenant, d.name, d.environment, d.recipe, d.app_version as "appVersion", d.config,
           d.secrets_ref as "secretsRef", d.secrets_fingerprint as "secretsFingerprint",
           d.generation::int as generation, d.observed_generation::int as "observedGeneration",
           d.restarted_at as "restartedAt", d.deletion_requested_at as "deletionRequestedAt",
           d.managed_resources as "managedResources", d.status, d.health, d.health_message as "healthMessage",
           q.failures
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

/** The back-off after the nth consecutive failure: base * 2^(n-1), capped, with 10% jitter. */
export function backoffMs(failures: number, baseMs: number, maxMs: number): number {
  const raw = Math.min(maxMs, baseMs * 2 ** Math.max(0, failures - 1));
  return Math.round(raw * (0.9 + Math.random() * 0.2));
}
