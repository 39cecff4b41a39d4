import { createHash, randomUUID } from 'node:crypto';
import { setActorContext } from '../db/actor.ts';
import type { Db, Tx } from '../db/client.ts';
import { deleteDeployment, recordReconcileResult, type Deployment, type InventoryItem } from '../db/deployments.ts';
import { recordFailure, recordSuccess, type QueuedDeployment } from '../db/reconcile-queue.ts';
import { abandonRuns, finishRun, insertRun, type ChangeSetEntry, type RunOutcome } from '../db/runs.ts';
import type { Log } from '../log.ts';
import { render, type RecipeInput, type Rendered } from '../recipes/index.ts';
import type { HealthStatus } from './health.ts';
import type { Kube } from './kube.ts';
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

/**
 * One run for a claimed deployment: record it as Running (visible at once, on its own
 * connection), do the work, then write the result, the deployment's new state (one audit
 * event) and the back-off in the claim's transaction, which commits them together and
 * releases the claim.
 */
export async function runClaimed(deps: RunDeps, tx: Tx, d: QueuedDeployment): Promise<{ runId: string; outcome: RunOutcome }> {
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
  // The run row goes in on its own connection (visible to other replicas at once) while the
  // claim's transaction fails runs a dead worker left Running: both in one round trip.
  const [inserted, abandonedRuns] = await Promise.allSettled([
    insertRun(deps.db, {
      id: runId, deploymentId: d.id, tenant: d.tenant, name: d.name, generation: d.generation, configHash: configHash(d),
      target: `${deps.kube?.target ?? 'no-cluster'}/${namespace}`, image: rendered?.image ?? null,
      parameters: { recipe: d.recipe, appVersion: d.app_version, environment: d.environment, config: d.config, secretsRef: d.secrets_ref, restartedAt: restartedAtMs(d), removal },
      phase: 'Running', dryRun: deps.kube === null, workerId: deps.workerId, correlationId: runId,
    }),
    abandonRuns(tx, d.id, runId),
  ]);
  if (inserted.status === 'rejected') {
    deps.metrics.auditRecordErrors.inc({ stage: 'start' });
    throw inserted.reason;
  }
  if (abandonedRuns.status === 'rejected') throw abandonedRuns.reason;
  const abandoned = abandonedRuns.value;
  if (abandoned > 0) deps.log.warn({ deploymentId: d.id, abandoned }, 'took over a deployment whose previous run never finished');

  let decision: Decision;
  if (removal) decision = await removalPath(deps.kube, d);
  else if (!rendered) {
    const message = renderError instanceof Error ? renderError.message : String(renderError);
    decision = {
      phase: 'Failed', outcome: 'Failed', failureReason: 'InvalidConfig', failureMessage: message, changeSet: [],
      // Rendering is deterministic: retrying the same generation cannot help, so it counts as observed.
      deployment: { status: 'failed', statusMessage: `cannot render generation ${d.generation}: ${message}`, managedResources: d.managed_resources, observed: true },
    };
  } else if (!deps.kube) decision = planPath(d, rendered);
  else decision = await applyPath(deps.kube, d, rendered);

  try {
    await record(deps, tx, d, runId, decision);
  } catch (err) {
    deps.metrics.auditRecordErrors.inc({ stage: 'result' });
    throw err;
  }
  const seconds = (performance.now() - started) / 1000;
  deps.metrics.runs.inc({ outcome: decision.outcome });
  deps.metrics.runDuration.observe({ outcome: decision.outcome }, seconds);
  const logFields = { deploymentId: d.id, tenant: d.tenant, name: d.name, generation: d.generation, runId, outcome: decision.outcome, ms: Math.round(seconds * 1000) };
  if (decision.phase === 'Failed') deps.log.warn({ ...logFields, reason: decision.failureReason, message: decision.failureMessage }, 'reconcile run failed');
  else if (!deps.kube) deps.log.info({ ...logFields, objects: decision.changeSet.length }, 'no cluster configured: rendered and recorded the plan, applied nothing');
  else deps.log.info(logFields, 'reconcile run completed');
  return { runId, outcome: decision.outcome };
}

async function record(deps: RunDeps, tx: Tx, d: QueuedDeployment, runId: string, decision: Decision): Promise<void> {
  const target = decision.deployment;
  // The actor context first (the audit trigger reads it); then the three writes are issued
  // together, pipelined on the transaction's connection (one round trip instead of three).
  // They are independent; a failure aborts the transaction.
  await setActorContext(tx, {
    actor: `reconciler/${deps.workerId}`,
    actorType: 'system',
    correlationId: runId,
    reason: decision.phase === 'Failed' ? `${decision.failureReason}: ${decision.failureMessage ?? ''}`.slice(0, 1000) : undefined,
  });
  await Promise.all([
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
      ? recordSuccess(tx, d.id)
      : recordFailure(tx, d.id, d.generation, backoffMs(d.failures + 1, deps.backoff.baseMs, deps.backoff.maxMs)),
    finishRun(tx, runId, {
      phase: decision.phase, outcome: decision.outcome, failureReason: decision.failureReason ?? null,
      failureMessage: decision.failureMessage ?? null, changeSet: decision.changeSet,
    }),
  ]);
}

/** The back-off after the nth consecutive failure: base * 2^(n-1), capped, with 10% jitter. */
export function backoffMs(failures: number, baseMs: number, maxMs: number): number {
  const raw = Math.min(maxMs, baseMs * 2 ** Math.max(0, failures - 1));
  return Math.round(raw * (0.9 + Math.random() * 0.2));
}
