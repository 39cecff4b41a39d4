import { setActorContext } from '../db/actor.ts';
import type { Db } from '../db/client.ts';
import type { Log } from '../log.ts';
import { render } from '../recipes/index.ts';
import { describeError } from './apply.ts';
import { observeHealth, type HealthStatus } from './health.ts';
import type { Kube } from './kube.ts';
import { recipeInput } from './run.ts';
import type { DeploymentRow } from './queue.ts';

type HealthRow = Pick<DeploymentRow, 'id' | 'tenant' | 'name' | 'environment' | 'recipe' | 'appVersion' | 'config' | 'secretsRef' | 'secretsFingerprint' | 'restartedAt' | 'health' | 'healthMessage'>;

/**
 * Polls the health of applied deployments not checked within intervalMs, up to `batch` at a
 * time. Replicas share the work through the same claim rows (SKIP LOCKED). A deployment's
 * health is written only when it changed, so each transition is one health_changed event.
 */
export async function checkHealthBatch(db: Db, kube: Kube, log: Log, workerId: string, intervalMs: number, batch = 20): Promise<number> {
  return db.begin(async (tx) => {
    const rows = await tx<HealthRow[]>`
      select d.id, d.tenant, d.name, d.environment, d.recipe, d.app_version as "appVersion", d.config,
             d.secrets_ref as "secretsRef", d.secrets_fingerprint as "secretsFingerprint", d.restarted_at as "restartedAt", d.health, d.health_message as "healthMessage"
      from shipslog.deployments as d
      join shipslog.reconcile_queue as q
        on q.deployment_id = d.id
      where d.status = 'applied'
        and d.deletion_requested_at is null
        and d.observed_generation = d.generation
        and (q.health_checked_at is null or q.health_checked_at < now() - make_interval(secs => ${intervalMs / 1000}))
      order by q.health_checked_at nulls first
      limit ${batch}
      for update of q skip locked
    `;
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
      if (status.health === d.health && status.message === d.healthMessage) continue;
      await tx`
        update shipslog.deployments
        set health = ${status.health},
            health_message = ${status.message.slice(0, 2000)}
        where id = ${d.id}
      `;
      changed++;
      log.info({ deploymentId: d.id, from: d.health, to: status.health, message: status.message }, 'health changed');
    }
    await tx`
      update shipslog.reconcile_queue
      set health_checked_at = now()
      where deployment_id in ${tx(rows.map((r) => r.id))}
    `;
    return changed;
  });
}
