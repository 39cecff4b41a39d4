import { insertRun, runningRunOf } from '../db/runs.ts';
import type { RunDeps } from './run.ts';

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
  const [d] = await deps.db<{ tenant: string; name: string; generation: number }[]>`
    select tenant, name, generation::int as generation
    from shipslog.deployments
    where id = ${deploymentId}
  `;
  if (!d) return;
  await insertRun(deps.db, {
    deploymentId, tenant: d.tenant, name: d.name, generation: d.generation, configHash: `sha256:${'0'.repeat(64)}`,
    target: `${deps.kube?.target ?? 'no-cluster'}/${d.tenant}`, phase: 'Skipped',
    skipReason: why === 'busy' ? 'ResourceBusy' : 'RecentlyRemediated', conflictingRunId: conflicting,
    workerId: deps.workerId, correlationId: `skip/${conflicting}`,
  });
  deps.metrics.runs.inc({ outcome: 'Skipped' });
}
