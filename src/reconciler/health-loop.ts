import { setActorContext } from '../db/actor.ts';
import type { Db } from '../db/client.ts';
import { writeHealth } from '../db/deployments.ts';
import { claimHealthChecks, markHealthChecked } from '../db/reconcile-queue.ts';
import type { Log } from '../log.ts';
import { render } from '../recipes/index.ts';
import { describeError } from './apply.ts';
import { observeHealth, type HealthStatus } from './health.ts';
import type { Kube } from './kube.ts';
import { recipeInput } from './run.ts';

/**
 * Polls the health of applied deployments not checked within intervalMs, up to `batch` at a
 * time. Replicas share the work through the same claim rows (SKIP LOCKED). A deployment's
 * health is written only when it changed, so each transition is one health_changed event.
 */
export async function checkHealthBatch(db: Db, kube: Kube, log: Log, workerId: string, intervalMs: number, batch = 20): Promise<number> {
  return db.begin(async (tx) => {
    const rows = await claimHealthChecks(tx, intervalMs, batch);
    if (rows.length === 0) return 0;
    await setActorContext(tx, { actor: `reconciler/${workerId}`, actorType: 'system', correlationId: `health/${workerId}` });
    let changed = 0;
    for (const d of rows) {
      let status: HealthStatus;
      try {
        const r = render(d.recipe, recipeInput(d));
        status = await observeHealth(kube, d.id, r.namespace, r.workload);
      } catch (err) {
        log.warn({ deploymentId: d.id, err: describeError(err) }, 'health check failed');
        continue; // keep the last known health; an unreachable API server is not the app's health
      }
      if (status.health === d.health && status.message === d.health_message) continue;
      await writeHealth(tx, d.id, status.health, status.message);
      changed++;
      log.info({ deploymentId: d.id, from: d.health, to: status.health, message: status.message }, 'health changed');
    }
    await markHealthChecked(tx, rows.map((r) => r.id));
    return changed;
  });
}
