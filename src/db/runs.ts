import { randomUUID } from 'node:crypto';
import type { Queryable } from './client.ts';

/** Reconcile runs: written by the reconciler, read by the API and auditors. See sql/reconciler/. */

// The values the CHECK constraints of reconcile_runs allow (migrations/0001_baseline.sql).
export const runPhases = ['Pending', 'Running', 'Completed', 'Failed', 'Skipped'] as const;
export type RunPhase = (typeof runPhases)[number];
export const runOutcomes = ['Applied', 'Unchanged', 'Planned', 'Removed', 'Removing', 'Failed', 'Skipped'] as const;
export type RunOutcome = (typeof runOutcomes)[number];
export const skipReasons = ['ResourceBusy', 'RecentlyRemediated', 'AwaitingApproval', 'AwaitingGates'] as const;
export type SkipReason = (typeof skipReasons)[number];

export interface ChangeSetEntry {
  kind: string;
  name: string;
  namespace: string | null;
  action: 'created' | 'configured' | 'unchanged' | 'deleted' | 'delete-failed' | 'skipped-not-owned' | 'planned' | 'failed';
  message?: string;
}

export interface Run {
  id: string;
  deploymentId: string;
  tenant: string;
  name: string;
  generation: number;
  configHash: string;
  target: string;
  image: string | null;
  parameters: Record<string, unknown>;
  phase: RunPhase;
  outcome: RunOutcome | null;
  failureReason: string | null;
  failureMessage: string | null;
  skipReason: SkipReason | null;
  conflictingRunId: string | null;
  changeSet: ChangeSetEntry[];
  dryRun: boolean;
  startedAt: Date;
  completedAt: Date | null;
  durationMs: number | null;
  workerId: string;
  correlationId: string;
}

export interface NewRun {
  /** Chosen by the caller when it must know the id first (it is also the correlation id). */
  id?: string;
  deploymentId: string;
  tenant: string;
  name: string;
  generation: number;
  configHash: string;
  target: string;
  image?: string | null;
  parameters?: Record<string, unknown>;
  phase: 'Pending' | 'Running' | 'Skipped';
  skipReason?: SkipReason;
  conflictingRunId?: string | null;
  dryRun?: boolean;
  workerId: string;
  /** null: the transaction's shipslog.correlation_id (set by setRunContext). */
  correlationId: string | null;
}

const columns = (db: Queryable) => db`
  id, deployment_id as "deploymentId", tenant, name, generation::int as generation, config_hash as "configHash",
  target, image, parameters, phase, outcome, failure_reason as "failureReason", failure_message as "failureMessage",
  skip_reason as "skipReason", conflicting_run_id as "conflictingRunId", change_set as "changeSet", dry_run as "dryRun",
  started_at as "startedAt", completed_at as "completedAt", duration_ms as "durationMs", worker_id as "workerId",
  correlation_id as "correlationId"
`;

export async function insertRun(db: Queryable, run: NewRun): Promise<Run> {
  const skipped = run.phase === 'Skipped';
  const [row] = await db<Run[]>`
    insert into shipslog.reconcile_runs
      (id, deployment_id, tenant, name, generation, config_hash, target, image, parameters, phase, outcome,
       skip_reason, conflicting_run_id, dry_run, worker_id, correlation_id)
    values
      (${run.id ?? randomUUID()}, ${run.deploymentId}, ${run.tenant}, ${run.name}, ${run.generation}, ${run.configHash}, ${run.target},
       ${run.image ?? null}, ${JSON.stringify(run.parameters ?? {})}::text::jsonb, ${run.phase}, ${skipped ? 'Skipped' : null},
       ${run.skipReason ?? null}, ${run.conflictingRunId ?? null}, ${run.dryRun ?? false}, ${run.workerId},
       coalesce(${run.correlationId}, shipslog.context_setting('shipslog.correlation_id')))
    returning ${columns(db)}
  `;
  return row!;
}

export interface RunResult {
  phase: 'Completed' | 'Failed';
  outcome: RunOutcome;
  failureReason?: string | null;
  failureMessage?: string | null;
  changeSet?: ChangeSetEntry[];
  image?: string | null;
}

export async function finishRun(db: Queryable, runId: string, result: RunResult): Promise<Run> {
  const [row] = await db<Run[]>`
    update shipslog.reconcile_runs
    set phase = ${result.phase},
        outcome = ${result.outcome},
        failure_reason = ${result.failureReason ?? null},
        failure_message = ${result.failureMessage?.slice(0, 4000) ?? null},
        change_set = ${JSON.stringify(result.changeSet ?? [])}::text::jsonb,
        image = coalesce(${result.image ?? null}, image)
    where id = ${runId}
    returning ${columns(db)}
  `;
  if (!row) throw new Error(`reconcile run ${runId} not found`);
  return row;
}

/**
 * Fails the Running runs of a deployment left behind by a worker that died or stalled. Only
 * safe in the transaction that took the deployment's lease: a previous holder's lease has run
 * out then, so it can no longer record (it may still be running, but records nothing).
 */
export async function abandonRuns(db: Queryable, deploymentId: string, exceptRunId: string): Promise<number> {
  const rows = await db`
    update shipslog.reconcile_runs
    set phase = 'Failed',
        outcome = 'Failed',
        failure_reason = 'WorkerLost',
        failure_message = 'the worker running this stopped before finishing; a later run took over'
    where deployment_id = ${deploymentId}
      and phase in ('Pending', 'Running')
      and id <> ${exceptRunId}
    returning id
  `;
  return rows.length;
}

/**
 * Ends a worker's own run that will record no result (its lease ran out: LeaseLost; its
 * replica stopped: WorkerLost). Only while it is still Running: the next holder may have
 * failed it already (abandonRuns).
 */
export async function failOwnRun(db: Queryable, runId: string, reason: 'LeaseLost' | 'WorkerLost', message: string): Promise<boolean> {
  const rows = await db`
    update shipslog.reconcile_runs
    set phase = 'Failed',
        outcome = 'Failed',
        failure_reason = ${reason},
        failure_message = ${message.slice(0, 4000)}
    where id = ${runId}
      and phase = 'Running'
  `;
  return rows.count > 0;
}

export async function runningRunOf(db: Queryable, deploymentId: string): Promise<{ id: string; workerId: string } | null> {
  const [row] = await db<{ id: string; workerId: string }[]>`
    select id, worker_id as "workerId"
    from shipslog.reconcile_runs
    where deployment_id = ${deploymentId}
      and phase = 'Running'
    order by started_at desc
    limit 1
  `;
  return row ?? null;
}

/** The deployment's latest Failed run: the one a back-off waits after. */
export async function latestFailedRun(db: Queryable, deploymentId: string): Promise<{ id: string; workerId: string } | null> {
  const [row] = await db<{ id: string; workerId: string }[]>`
    select id, worker_id as "workerId"
    from shipslog.reconcile_runs
    where deployment_id = ${deploymentId}
      and phase = 'Failed'
    order by started_at desc
    limit 1
  `;
  return row ?? null;
}

/** Whether a Skipped run already records this conflict (another replica may have noted it). */
export async function skipRecorded(db: Queryable, deploymentId: string, skipReason: SkipReason, conflictingRunId: string): Promise<boolean> {
  const rows = await db`
    select 1
    from shipslog.reconcile_runs
    where deployment_id = ${deploymentId}
      and skip_reason = ${skipReason}
      and conflicting_run_id = ${conflictingRunId}
    limit 1
  `;
  return rows.length > 0;
}

/** Monthly partitions of the run tables, monthsAhead into the future (sql/reconciler/10_partitions.sql). */
export async function ensureRunPartitions(db: Queryable, monthsAhead: number): Promise<void> {
  await db`select shipslog.ensure_reconcile_run_partitions(${monthsAhead})`;
}

export interface ListRunsOptions {
  limit?: number;
  /** Runs started before this run (keyset pagination, newest first; exact to the microsecond). */
  beforeRunId?: string | undefined;
}

export async function listRuns(db: Queryable, deploymentId: string, options: ListRunsOptions = {}): Promise<Run[]> {
  const limit = Math.min(Math.max(options.limit ?? 50, 1), 500);
  const before = options.beforeRunId;
  const rows = await db<Run[]>`
    select ${columns(db)}
    from shipslog.reconcile_runs
    where deployment_id = ${deploymentId}
      ${before
        ? db`and (started_at, id) < (
              select c.started_at, c.id
              from shipslog.reconcile_runs as c
              where c.id = ${before}
                and c.deployment_id = ${deploymentId})`
        : db``}
    order by started_at desc, id desc
    limit ${limit}
  `;
  return [...rows];
}

/** The run, or null when it does not exist or is not this deployment's (the API answers 404). */
export async function getRun(db: Queryable, deploymentId: string, runId: string): Promise<Run | null> {
  const [row] = await db<Run[]>`
    select ${columns(db)}
    from shipslog.reconcile_runs
    where id = ${runId}
      and deployment_id = ${deploymentId}
  `;
  return row ?? null;
}

/** The runs of this deployment among these ids (events a run wrote carry its id as correlation id). */
export async function runsByIds(db: Queryable, deploymentId: string, runIds: string[]): Promise<Run[]> {
  if (runIds.length === 0) return [];
  const rows = await db<Run[]>`
    select ${columns(db)}
    from shipslog.reconcile_runs
    where id = any(${runIds}::uuid[])
      and deployment_id = ${deploymentId}
  `;
  return [...rows];
}

export interface RunTransition {
  id: number;
  fromPhase: RunPhase | null;
  toPhase: RunPhase;
  outcome: RunOutcome | null;
  failureReason: string | null;
  skipReason: SkipReason | null;
  durationMs: number | null;
  workerId: string;
  correlationId: string;
  occurredAt: Date;
  /** Present for transitions into a result state: the run-audit row. */
  audit: { id: number; success: boolean; executionMs: number | null; recordedAt: Date } | null;
}

/** The run's transitions with their audit rows (null when the run is not the deployment's). */
export async function getRunAudit(db: Queryable, deploymentId: string, runId: string): Promise<RunTransition[] | null> {
  const run = await getRun(db, deploymentId, runId);
  if (!run) return null;
  const rows = await db<RunTransition[]>`
    select t.id::int as id, t.from_phase as "fromPhase", t.to_phase as "toPhase", t.outcome,
           t.failure_reason as "failureReason", t.skip_reason as "skipReason", t.duration_ms as "durationMs",
           t.worker_id as "workerId", t.correlation_id as "correlationId", t.occurred_at as "occurredAt",
           case when a.id is null then null else jsonb_build_object(
             'id', a.id, 'success', a.success, 'executionMs', a.execution_ms, 'recordedAt', a.recorded_at) end as audit
    from shipslog.reconcile_run_transitions as t
    left join shipslog.reconcile_run_audit as a
      on a.transition_id = t.id
    where t.run_id = ${runId}
      and t.deployment_id = ${deploymentId}
    order by t.id
  `;
  return rows.map((r) => (r.audit ? { ...r, audit: { ...r.audit, recordedAt: new Date(r.audit.recordedAt) } } : r));
}
