import { heldBackByBackoff, readQueued } from '../db/reconcile-queue.ts';
import { insertRun, latestFailedRun, runningRunOf, skipRecorded } from '../db/runs.ts';
import { configHash, type RunDeps } from './run.ts';

// One skip record per (deployment, conflicting run) and worker: a burst of notifications
// about one busy deployment is one fact, not many.
const noted = new WeakMap<RunDeps, Set<string>>();

/**
 * Records a Skipped run when a wake-up for a deployment finds it held by another replica
 * (ResourceBusy, naming that replica's Running run) or in back-off after a failure
 * (RecentlyRemediated, naming the failed run). A claim released before its run row was
 * visible is a harmless race, not a skip: nothing is recorded then.
 */
export async function noteSkip(deps: RunDeps, deploymentId: string, why: 'busy' | 'backoff'): Promise<void> {
  const run = why === 'busy' ? await runningRunOf(deps.db, deploymentId) : await latestFailedRun(deps.db, deploymentId);
  // Our own run (another loop of this instance) is no conflict between replicas.
  if (!run || (why === 'busy' && run.workerId === deps.workerId)) return;
  const conflicting = run.id;
  const seen = noted.get(deps) ?? new Set<string>();
  noted.set(deps, seen);
  const key = `${deploymentId}/${conflicting}`;
  if (seen.has(key)) return;
  if (seen.size > 10_000) seen.clear();
  seen.add(key);
  const skipReason = why === 'busy' ? 'ResourceBusy' : 'RecentlyRemediated';
  // Another replica may have noted the same fact already.
  if (await skipRecorded(deps.db, deploymentId, skipReason, conflicting)) return;
  const d = await readQueued(deps.db, deploymentId);
  if (!d) return;
  const recording = performance.now();
  try {
    await insertRun(deps.db, {
      deploymentId, tenant: d.tenant, name: d.name, generation: d.generation, configHash: configHash(d),
      target: `${deps.kube?.target ?? 'no-cluster'}/${d.tenant}`, phase: 'Skipped',
      skipReason, conflictingRunId: conflicting,
      workerId: deps.workerId, correlationId: `skip/${conflicting}`,
    });
  } catch (err) {
    deps.metrics.auditRecordErrors.inc({ stage: 'skip' });
    throw err;
  }
  deps.metrics.auditRecordDuration.observe((performance.now() - recording) / 1000);
  deps.metrics.auditRecords.inc({ phase: 'Skipped', outcome: 'Skipped' });
  deps.metrics.runs.inc({ outcome: 'Skipped' });
}

/**
 * When idle: deployments with work that back-off holds back get one RecentlyRemediated
 * record per failed run, so auditors see why a pending change is waiting and until when.
 */
export async function noteBackoffs(deps: RunDeps): Promise<void> {
  for (const id of await heldBackByBackoff(deps.db, 20)) await noteSkip(deps, id, 'backoff');
}
