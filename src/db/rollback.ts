import type { Queryable } from './client.ts';

/** What shipslog.start_rollback (sql/compliance/60_rollback.sql) did. */
export interface RollbackStarted {
  deployment_id: string;
  generation: number;
  target_seq: number;
  target_chain_index: number;
  rolled_back_seq: number;
  rollback_started_seq: number;
}

/**
 * Starts a rollback to the desired state at one event of the deployment (by seq or chain
 * index): a new generation, never a rewrite. Refusals (SL450: cannot be rebuilt, e.g. secrets
 * rotated since; SL451: no such event) come from SQL with the reason.
 */
export async function startRollback(db: Queryable, deploymentId: string, target: { seq?: number | undefined; chainIndex?: number | undefined }): Promise<RollbackStarted> {
  const [row] = await db<RollbackStarted[]>`
    select ${deploymentId}::uuid as deployment_id, r.generation::int as generation, r.target_seq::float8 as target_seq,
           r.target_chain_index, r.rolled_back_seq::float8 as rolled_back_seq, r.rollback_started_seq::float8 as rollback_started_seq
    from shipslog.start_rollback(${deploymentId}, ${target.seq ?? null}::bigint, ${target.chainIndex ?? null}::integer) as r`;
  return row!;
}

/** The live deployment an agent names: an id, "tenant/name" or a name in the caller's tenant. */
export async function resolveAppId(db: Queryable, callerTenant: string | null, appId: string): Promise<string | null> {
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(appId)) return appId.toLowerCase();
  const slash = appId.indexOf('/');
  const tenant = slash >= 0 ? appId.slice(0, slash) : callerTenant;
  const name = slash >= 0 ? appId.slice(slash + 1) : appId;
  if (!tenant) return null;
  const [row] = await db<{ id: string }[]>`select id from shipslog.deployments where tenant = ${tenant} and name = ${name}`;
  return row?.id ?? null;
}
