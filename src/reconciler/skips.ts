import { insertRun, runningRunOf } from '../db/runs.ts';
import { readDeployment } from './queue.ts';
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
  const run =
    why === 'busy'
      ? await runningRunOf(deps.db, deploymentId)
      : ((
          await deps.db<{ id: string; workerId: string }[]>`
            select id, worker_id as "workerId"
            from shipslog.reconcile_runs
            where deployment_id = ${deploymentId}
              and phase = 'Failed'
            order by started_at desc
            limit 1
          `
        )[0] ?? null);
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
  const [dup] = await deps.db`
    select 1
    from shipslog.reconcile_runs
    where deployment_id = ${deploymentId}
      and skip_reason = ${skipReason}
      and conflicting_run_id = ${conflicting}
    limit 1
  `;
  if (dup) return;
  const d = await readDeployment(deps.db, deploymentId);
  if (!d) return;
  await insertRun(deps.db, {
    deploymentId, tenant: d.tenant, name: d.name, generation: d.generation, configHash: configHash(d),
    target: `${deps.kube?.target ?? 'no-cluster'}/${d.tenant}`, phase: 'Skipped',
    skipReason, conflictingRunId: conflicting,
    workerId: deps.workerId, correlationId: `skip/${conflicting}`,
  });
  deps.metrics.runs.inc({ outcome: 'Skipped' });
}

/**
 * When idle: deployments with work that back-off holds back get one RecentlyRemediated
 * record per failed run, so auditors see why a pending change is waiting and until when.
 */
export async function noteBackoffs(deps: RunDeps): Promise<void> {
  const rows = await deps.db<{ id: string }[]>`
    select d.id
    from shipslog.deployments as d
    join shipslog.reconcile_queue as q
      on q.deployment_id = d.id
    where (d.observed_generation < d.generation or d.deletion_requested_at is not null)
      and q.not_before > now()
      and q.failed_generation = d.generation
    order by q.not_before
    limit 20
  `;
  for (const { id } of rows) await noteSkip(deps, id, 'backoff');
}
