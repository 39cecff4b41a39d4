import type { Queryable } from './client.ts';

/**
 * A rollout's events (sql/compliance/10_rollout.sql): the rules of which run starts, ends or
 * cancels a generation's rollout live there; the reconciler calls them in its claim's and its
 * result's transactions.
 */

/**
 * The actor context of a run's claim: the reconciler as a system actor, the run's id as
 * request id, and as correlation id what made the deployment's current generation (its
 * request's X-Correlation-Id or request id; the run's id when nothing did). Returns the
 * correlation id; insertRun with correlationId null takes it from the context.
 */
export async function setRunContext(db: Queryable, c: { actor: string; deploymentId: string; runId: string }): Promise<string> {
  const [row] = await db<{ correlation_id: string }[]>`
    select
      set_config('shipslog.actor', ${c.actor}, true),
      set_config('shipslog.actor_type', 'system', true),
      set_config('shipslog.request_id', ${c.runId}, true),
      set_config('shipslog.reason', '', true),
      set_config('shipslog.action', '', true),
      set_config('shipslog.correlation_id', coalesce(shipslog.generation_correlation_id(${c.deploymentId}), ${c.runId}), true) as correlation_id`;
  return row!.correlation_id;
}

/** deployment_started on a generation's first attempt (and deployment_cancelled of a superseded one). */
export async function beginRollout(db: Queryable, deploymentId: string, generation: number, runId: string): Promise<string | null> {
  const [row] = await db<{ seq: string | null }[]>`select shipslog.begin_rollout(${deploymentId}, ${generation}, ${runId}) as seq`;
  return row?.seq ?? null;
}

export interface RolloutEnd {
  completed: boolean;
  outcome: string;
  failureReason: string | null;
  /** The generation will not be retried (a failure that back-off retries does not end the rollout). */
  terminal: boolean;
}

/** deployment_completed, or deployment_failed when the failure is terminal. */
export async function finishRollout(db: Queryable, deploymentId: string, generation: number, runId: string, end: RolloutEnd): Promise<string | null> {
  const [row] = await db<{ seq: string | null }[]>`
    select shipslog.finish_rollout(${deploymentId}, ${generation}, ${runId}, ${end.completed}, ${end.outcome}, ${end.failureReason}, ${end.terminal}) as seq`;
  return row?.seq ?? null;
}

/** Why a generation may not be applied yet (null: apply it); holds it on the queue row if so. */
export async function releaseCheck(db: Queryable, deploymentId: string, generation: number): Promise<'AwaitingApproval' | 'AwaitingGates' | null> {
  const [row] = await db<{ why: 'AwaitingApproval' | 'AwaitingGates' | null }[]>`
    select shipslog.release_check(${deploymentId}, ${generation}) as why`;
  return row?.why ?? null;
}
