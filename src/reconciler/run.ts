import { createHash, randomUUID } from 'node:crypto';
import { setActorContext } from '../db/actor.ts';
import type { Db, Tx } from '../db/client.ts';
import { deleteDeployment, recordReconcileResult, type Deployment, type InventoryItem } from '../db/deployments.ts';
import { holdLease, recordFailure, recordSuccess, type QueuedDeployment } from '../db/reconcile-queue.ts';
import { beginRollout, finishRollout, setRunContext } from '../db/rollouts.ts';
import { abandonRuns, failOwnRun, finishRun, insertRun, type ChangeSetEntry, type RunOutcome } from '../db/runs.ts';
import type { Log } from '../log.ts';
import { render, type RecipeInput, type Rendered } from '../recipes/index.ts';
import type { HealthStatus } from './health.ts';
import type { Kube } from './kube.ts';
import { fencedKube, LeaseLostError, type Lease } from './lease.ts';
import type { ReconcilerMetrics } from './metrics.ts';
import { applyPath, planPath, removalPath } from './paths.ts';

export interface RunDeps {
  db: Db;
  kube: Kube | null;
  log: Log;
  workerId: string;
  metrics: ReconcilerMetrics;
  backoff: { baseMs: number; maxMs: number };
}

/** What a path decided: the run's result and what to write to the deployment row. */
export interface Decision {
  phase: 'Completed' | 'Failed';
  outcome: RunOutcome;
  failureReason?: string;
  failureMessage?: string;
  changeSet: ChangeSetEntry[];
  /** 'delete' removes the row (-> removed event); otherwise these columns are written. */
  deployment:
    | 'delete'
    | {
        status: 'pending' | 'applied' | 'failed' | 'removing';
        statusMessage: string;
        managedResources: InventoryItem[];
        observed: boolean;
        health?: HealthStatus;
        service?: { name: string; port: number; url: string };
      };
}

/**
 * restarted_at as JavaScript prints a Date (milliseconds): the text that has always gone into
 * the pod template's restarted-at annotation, the config hash and the run parameters. The
 * row's microsecond text would change all three for every restarted deployment, and a
 * changed annotation rolls its pods.
 */
function restartedAtMs(d: Pick<Deployment, 'restarted_at'>): string | null {
  return d.restarted_at === null ? null : new Date(d.restarted_at).toISOString();
}

export function recipeInput(
  d: Pick<Deployment, 'id' | 'tenant' | 'name' | 'environment' | 'app_version' | 'config' | 'secrets_ref' | 'secrets_fingerprint' | 'restarted_at'>,
): RecipeInput {
  return {
    id: d.id, tenant: d.tenant, name: d.name, environment: d.environment, appVersion: d.app_version,
    config: d.config, secretsRef: d.secrets_ref, secretsFingerprint: d.secrets_fingerprint,
    restartedAt: restartedAtMs(d),
  };
}

/** The desired state a run works from, hashed for the run record (equal hash: same inputs). */
export function configHash(d: Deployment): string {
  // Keys as before the row type became snake_case: the same inputs keep the same hash.
  const desired = {
    recipe: d.recipe, appVersion: d.app_version, environment: d.environment, config: d.config, secretsRef: d.secrets_ref,
    secretsFingerprint: d.secrets_fingerprint, restartedAt: restartedAtMs(d), removal: d.deletion_requested_at !== null,
  };
  return `sha256:${createHash('sha256').update(stableJson(desired)).digest('hex')}`;
}

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(v ?? null);
}

/** What the claim's transaction prepared for a run. */
export interface StartedRun {
  runId: string;
  /** What caused the generation (its request's X-Correlation-Id or request id), else the run's id. */
  correlationId: string;
  started: number;
  rendered: Rendered | null;
  renderError: unknown;
  /** Runs a previous holder left Running, failed here as WorkerLost (each one a run-audit record once the claim commits). */
  abandoned: number;
}

/**
 * In the claim's transaction, right after the lease was written: render, insert the run as
 * Running and fail the runs a previous holder left Running (its lease ran out: only the
 * current holder may do that). All of it commits with the claim, so the run is visible at once.
 */
export async function startRun(deps: RunDeps, tx: Tx, d: QueuedDeployment): Promise<StartedRun> {
  const runId = randomUUID();
  const started = performance.now();
  const removal = d.deletion_requested_at !== null;
  let rendered: Rendered | null = null;
  let renderError: unknown;
  if (!removal) {
    try {
      rendered = render(d.recipe, recipeInput(d));
    } catch (err) {
      renderError = err;
    }
  }
  const namespace = rendered?.namespace ?? d.tenant;
  // Pipelined on the claim's connection: one round trip, as short as the claim was before. The
  // actor context (with the generation's correlation id, found in SQL) comes first: the run
  // row takes its correlation id from it, and the rollout's events (deployment_started, or
  // deployment_cancelled of a superseded generation) carry it with the run's id as request id.
  const [abandonedRuns, context, inserted, rollout] = await Promise.allSettled([
    abandonRuns(tx, d.id, runId),
    setRunContext(tx, { actor: `reconciler/${deps.workerId}`, deploymentId: d.id, runId }),
    insertRun(tx, {
      id: runId, deploymentId: d.id, tenant: d.tenant, name: d.name, generation: d.generation, configHash: configHash(d),
      target: `${deps.kube?.target ?? 'no-cluster'}/${namespace}`, image: rendered?.image ?? null,
      parameters: { recipe: d.recipe, appVersion: d.app_version, environment: d.environment, config: d.config, secretsRef: d.secrets_ref, restartedAt: restartedAtMs(d), removal },
      phase: 'Running', dryRun: deps.kube === null, workerId: deps.workerId, correlationId: null,
    }),
    // A removal ends in the removed event; it is no rollout.
    removal ? Promise.resolve(null) : beginRollout(tx, d.id, d.generation, runId),
  ]);
  for (const step of [context, inserted, rollout]) {
    if (step.status === 'rejected') {
      deps.metrics.auditRecordErrors.inc({ stage: 'start' });
      throw step.reason;
    }
  }
  if (abandonedRuns.status === 'rejected') throw abandonedRuns.reason;
  const correlationId = (context as PromiseFulfilledResult<string>).value;
  if (abandonedRuns.value > 0) deps.log.warn({ deploymentId: d.id, abandoned: abandonedRuns.value }, 'took over a deployment whose previous run never finished');
  return { runId, correlationId, started, rendered, renderError, abandoned: abandonedRuns.value };
}

/** The actor context of a run's writes: its events carry the generation's correlation id and the run's id. */
function runContext(deps: RunDeps, correlationId: string, runId: string, reason?: string) {
  return { actor: `reconciler/${deps.workerId}`, actorType: 'system' as const, correlationId, requestId: runId, reason };
}

/**
 * The rest of a run, with no transaction open: the work (Kubernetes calls through the lease's
 * fence), then the result, the deployment's new state (one audit event), the back-off and the
 * lease's release in one short transaction that first checks the lease still holds
 * (shipslog.hold_reconcile_lease). A run whose lease ran out records nothing but its own run's
 * end (Failed / LeaseLost); the next holder applies the generation. The caller extends the
 * lease meanwhile and stops extending before this records.
 */
export async function workUnderLease(
  deps: RunDeps, d: QueuedDeployment, run: StartedRun, lease: Lease, stopExtending: () => Promise<void>,
): Promise<{ runId: string; outcome: RunOutcome | 'LeaseLost' }> {
  const { runId, rendered, renderError } = run;
  // The claim has committed: the WorkerLost results it wrote are recorded.
  if (run.abandoned > 0) deps.metrics.auditRecords.inc({ phase: 'Failed', outcome: 'Failed' }, run.abandoned);
  const kube = deps.kube ? fencedKube(deps.kube, lease) : null;
  let decision: Decision;
  if (d.deletion_requested_at !== null) decision = await removalPath(kube, d);
  else if (!rendered) {
    const message = renderError instanceof Error ? renderError.message : String(renderError);
    decision = {
      phase: 'Failed', outcome: 'Failed', failureReason: 'InvalidConfig', failureMessage: message, changeSet: [],
      // Rendering is deterministic: retrying the same generation cannot help, so it counts as observed.
      deployment: { status: 'failed', statusMessage: `cannot render generation ${d.generation}: ${message}`, managedResources: d.managed_resources, observed: true },
    };
  } else if (!kube) decision = planPath(d, rendered);
  else decision = await applyPath(kube, d, rendered);

  // An extension racing the result's transaction would wait for its row lock and then find the
  // lease released: stop extending first (the lease still has >= ttl - renew to run).
  await stopExtending();
  const logFields = { deploymentId: d.id, tenant: d.tenant, name: d.name, generation: d.generation, runId };
  try {
    // Known lost (an extension found it gone, or the reconciler is stopping): the database
    // would refuse the result, or (stopping) the replica is going away; record nothing.
    if (lease.lost) throw new LeaseLostError(`the reconcile lease is lost: ${lease.lost}`);
    const recording = performance.now();
    await record(deps, d, run, decision, lease.id);
    deps.metrics.auditRecordDuration.observe((performance.now() - recording) / 1000);
    deps.metrics.auditRecords.inc({ phase: decision.phase, outcome: decision.outcome });
  } catch (err) {
    if (!(err instanceof LeaseLostError)) {
      deps.metrics.auditRecordErrors.inc({ stage: 'result' });
      throw err;
    }
    deps.metrics.leasesLost.inc();
    deps.log.warn({ ...logFields, err: err.message }, 'reconcile lease lost before the result was recorded: recorded nothing, the next holder applies this generation');
    const recording = performance.now();
    await failOwnRun(deps.db, runId, 'LeaseLost', `the lease on this deployment ran out before the run could record its result (${err.message}); the next holder applies generation ${d.generation}`)
      .then((failed) => {
        if (!failed) return; // the next holder failed it already (WorkerLost) and counted it
        deps.metrics.auditRecordDuration.observe((performance.now() - recording) / 1000);
        deps.metrics.auditRecords.inc({ phase: 'Failed', outcome: 'Failed' });
      })
      .catch((e: unknown) => {
        deps.metrics.auditRecordErrors.inc({ stage: 'result' });
        deps.log.warn({ ...logFields, err: String(e) }, 'could not mark the run LeaseLost');
      });
    return { runId, outcome: 'LeaseLost' };
  }
  const seconds = (performance.now() - run.started) / 1000;
  deps.metrics.runs.inc({ outcome: decision.outcome });
  deps.metrics.runDuration.observe({ outcome: decision.outcome }, seconds);
  const fields = { ...logFields, outcome: decision.outcome, ms: Math.round(seconds * 1000) };
  if (decision.phase === 'Failed') deps.log.warn({ ...fields, reason: decision.failureReason, message: decision.failureMessage }, 'reconcile run failed');
  else if (!deps.kube) deps.log.info({ ...fields, objects: decision.changeSet.length }, 'no cluster configured: rendered and recorded the plan, applied nothing');
  else deps.log.info(fields, 'reconcile run completed');
  return { runId, outcome: decision.outcome };
}

async function record(deps: RunDeps, d: QueuedDeployment, run: StartedRun, decision: Decision, leaseId: string): Promise<void> {
  const { runId } = run;
  const target = decision.deployment;
  await deps.db.begin(async (tx) => {
    // All pipelined on the transaction's connection, in this order (one round trip): the lease
    // check locks the queue row and fails unless the lease still holds it, which fails every
    // statement after it; the actor context comes before the row's write (the audit trigger
    // reads it). The writes are independent; any failure rolls all of it back.
    const hold = holdLease(tx, d.id, leaseId);
    const writes = Promise.all([
      setActorContext(tx, runContext(
        deps, run.correlationId, runId,
        decision.phase === 'Failed' ? `${decision.failureReason}: ${decision.failureMessage ?? ''}`.slice(0, 1000) : undefined,
      )),
      target === 'delete'
        ? deleteDeployment(tx, d.id)
        : recordReconcileResult(tx, d.id, {
            status: target.status,
            statusMessage: target.statusMessage,
            managedResources: target.managedResources,
            observedGeneration: target.observed ? d.generation : d.observed_generation,
            health: target.health,
            service: target.service,
          }),
      decision.phase === 'Completed'
        ? recordSuccess(tx, d.id, leaseId)
        : recordFailure(tx, d.id, d.generation, backoffMs(d.failures + 1, deps.backoff.baseMs, deps.backoff.maxMs), leaseId),
      finishRun(tx, runId, {
        phase: decision.phase, outcome: decision.outcome, failureReason: decision.failureReason ?? null,
        failureMessage: decision.failureMessage ?? null, changeSet: decision.changeSet,
      }),
      // After the row's write: deployment_completed, or deployment_failed when no retry follows.
      target === 'delete'
        ? Promise.resolve(null)
        : finishRollout(tx, d.id, d.generation, runId, {
            completed: decision.phase === 'Completed', outcome: decision.outcome,
            failureReason: decision.failureReason ?? null, terminal: target.observed,
          }),
    ]);
    try {
      await hold;
    } catch (err) {
      await writes.catch(() => {}); // they fail with the transaction
      if ((err as { code?: string }).code === 'SL220') throw new LeaseLostError((err as Error).message);
      throw err;
    }
    await writes;
  });
}

/** The back-off after the nth consecutive failure: base * 2^(n-1), capped, with 10% jitter. */
export function backoffMs(failures: number, baseMs: number, maxMs: number): number {
  const raw = Math.min(maxMs, baseMs * 2 ** Math.max(0, failures - 1));
  return Math.round(raw * (0.9 + Math.random() * 0.2));
}
