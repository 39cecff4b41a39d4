import { randomUUID } from 'node:crypto';
import type { Tx } from '../db/client.ts';
import type { QueuedDeployment } from '../db/reconcile-queue.ts';
import { releaseCheck, setRunContext } from '../db/rollouts.ts';
import { insertRun } from '../db/runs.ts';
import { configHash, type RunDeps } from './run.ts';

/**
 * In the claim's transaction: when the deployment's environment requires approvals or gates the
 * generation does not have yet (shipslog.release_check, which opens the approval request and
 * holds the generation on the queue row), records a Skipped run (AwaitingApproval or
 * AwaitingGates) and returns true; the caller releases the lease. An approval or a passed gate
 * releases the generation and wakes the reconcilers. Removals are never held.
 */
export async function holdUnreleased(deps: RunDeps, tx: Tx, d: QueuedDeployment): Promise<boolean> {
  if (d.deletion_requested_at !== null) return false;
  const runId = randomUUID();
  // Pipelined (one round trip): the approval request it may open is recorded with the
  // generation's correlation id.
  const [, why] = await Promise.all([
    setRunContext(tx, { actor: `reconciler/${deps.workerId}`, deploymentId: d.id, runId }),
    releaseCheck(tx, d.id, d.generation),
  ]);
  if (!why) return false;
  await insertRun(tx, {
    id: runId, deploymentId: d.id, tenant: d.tenant, name: d.name, generation: d.generation, configHash: configHash(d),
    target: `${deps.kube?.target ?? 'no-cluster'}/${d.tenant}`, phase: 'Skipped', skipReason: why,
    workerId: deps.workerId, correlationId: null,
  });
  deps.metrics.runs.inc({ outcome: 'Skipped' });
  deps.log.info({ deploymentId: d.id, generation: d.generation, reason: why }, 'generation held back');
  return true;
}
