import { setActorContext } from '../db/actor.ts';
import type { Db } from '../db/client.ts';
import { writeHealth, type Deployment } from '../db/deployments.ts';
import { claimHealthChecks, extendLease, heldByLease, releaseLease } from '../db/reconcile-queue.ts';
import type { Log } from '../log.ts';
import { render } from '../recipes/index.ts';
import { describeError } from './apply.ts';
import { observeHealth, type HealthStatus } from './health.ts';
import type { Kube } from './kube.ts';
import { defaultLeaseTimes, Lease, type LeaseTimes } from './lease.ts';
import { recipeInput } from './run.ts';

/**
 * Polls the health of applied deployments not checked within intervalMs, up to `batch` at a
 * time. Replicas share the work through the same leases as runs: one lease over the batch,
 * taken in a short transaction and extended while the Kubernetes API is asked (no transaction
 * open meanwhile). A deployment's health is written only when it changed (so each transition
 * is one health_changed event) and only while the lease still holds it.
 */
export async function checkHealthBatch(
  db: Db, kube: Kube, log: Log, workerId: string, intervalMs: number, batch = 20, leaseTimes: LeaseTimes = defaultLeaseTimes,
): Promise<number> {
  const lease: Lease = new Lease(leaseTimes, async () => (await extendLease(db, lease.id, leaseTimes.ttlMs)) > 0);
  lease.claiming();
  const rows = await db.begin((tx) => claimHealthChecks(tx, intervalMs, batch, { id: lease.id, holder: workerId, ttlMs: leaseTimes.ttlMs }));
  if (rows.length === 0) return 0;
  lease.claimed();
  lease.start();
  const changes: { d: Deployment; status: HealthStatus }[] = [];
  try {
    for (const d of rows) {
      if (lease.lost) break;
      let status: HealthStatus;
      try {
        const r = render(d.recipe, recipeInput(d));
        status = await observeHealth(kube, d.id, r.namespace, r.workload);
      } catch (err) {
        log.warn({ deploymentId: d.id, err: describeError(err) }, 'health check failed');
        continue; // keep the last known health; an unreachable API server is not the app's health
      }
      if (status.health !== d.health || status.message !== d.health_message) changes.push({ d, status });
    }
  } finally {
    await lease.stop();
  }
  return db.begin(async (tx) => {
    const held = new Set(changes.length > 0 ? await heldByLease(tx, lease.id) : []);
    const mine = changes.filter((c) => held.has(c.d.id));
    if (mine.length < changes.length) log.warn({ lost: changes.length - mine.length }, 'health lease ran out before the changes were written: dropped them (the next check sees them again)');
    if (mine.length > 0) await setActorContext(tx, { actor: `reconciler/${workerId}`, actorType: 'system', correlationId: `health/${workerId}` });
    for (const { d, status } of mine) {
      await writeHealth(tx, d.id, status.health, status.message);
      log.info({ deploymentId: d.id, from: d.health, to: status.health, message: status.message }, 'health changed');
    }
    await releaseLease(tx, lease.id);
    return mine.length;
  });
}
