import type { Health } from '../db/deployments.ts';
import type { KubeObject } from '../recipes/index.ts';
import { DEPLOYMENT_ID } from '../recipes/index.ts';
import type { Kube } from './kube.ts';

export interface HealthStatus {
  health: Health;
  /** Stable text: no counters or timestamps, so an unchanged state writes no new event. */
  message: string;
}

/** Container states that do not fix themselves; kubectl shows them as the pod's status. */
const STUCK = new Set(['CrashLoopBackOff', 'ImagePullBackOff', 'ErrImagePull', 'CreateContainerConfigError', 'InvalidImageName', 'RunContainerError']);

type Any = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Health as `kubectl rollout status` and Argo CD judge it, from the workload, its pods and its PVCs. */
export function assess(workload: KubeObject | null, pods: KubeObject[], pvcs: KubeObject[], ref: { kind: string; name: string }): HealthStatus {
  if (!workload) return { health: 'Missing', message: `${ref.kind} ${ref.name} not found` };
  for (const pod of [...pods].sort(byName)) {
    for (const cs of ((pod.status as Any | undefined)?.containerStatuses ?? []) as Any[]) {
      const reason = cs.state?.waiting?.reason as string | undefined;
      if (reason && STUCK.has(reason)) return { health: 'Degraded', message: `pod ${pod.metadata.name}: ${reason}` };
    }
  }
  for (const pvc of [...pvcs].sort(byName)) {
    const phase = (pvc.status as Any | undefined)?.phase as string | undefined;
    if (phase === 'Lost') return { health: 'Degraded', message: `PersistentVolumeClaim ${pvc.metadata.name} is Lost` };
    if (phase !== 'Bound') return { health: 'Progressing', message: `PersistentVolumeClaim ${pvc.metadata.name} is ${phase ?? 'not bound yet'}` };
  }
  const spec = (workload.spec ?? {}) as Any;
  const status = (workload.status ?? {}) as Any;
  const replicas = typeof spec.replicas === 'number' ? spec.replicas : 1;
  if (replicas === 0) return { health: 'Suspended', message: `${ref.kind} ${ref.name} is scaled to zero` };
  const generation = (workload.metadata.generation as number | undefined) ?? 0;
  if ((status.observedGeneration ?? 0) < generation) {
    return { health: 'Progressing', message: `waiting for the ${ref.kind} controller to observe generation ${generation}` };
  }
  if (ref.kind === 'Deployment') {
    const progressing = ((status.conditions ?? []) as Any[]).find((c) => c.type === 'Progressing');
    if (progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded') {
      return { health: 'Degraded', message: `Deployment ${ref.name}: ProgressDeadlineExceeded` };
    }
  }
  const updated = status.updatedReplicas ?? 0;
  const ready = status.readyReplicas ?? 0;
  if (updated < replicas || (ref.kind === 'StatefulSet' && status.updateRevision && status.currentRevision !== status.updateRevision && updated < replicas)) {
    return { health: 'Progressing', message: `rolling out: ${updated} of ${replicas} replicas updated` };
  }
  if (ready < replicas) return { health: 'Progressing', message: `${ready} of ${replicas} replicas ready` };
  if (ref.kind === 'Deployment' && (status.availableReplicas ?? 0) < replicas) {
    return { health: 'Progressing', message: `${status.availableReplicas ?? 0} of ${replicas} replicas available` };
  }
  return { health: 'Healthy', message: `${replicas} of ${replicas} replicas ready` };
}

function byName(a: KubeObject, b: KubeObject): number {
  return a.metadata.name.localeCompare(b.metadata.name);
}

/** Reads the workload, its pods and (for a StatefulSet) its claims, and assesses them. */
export async function observeHealth(
  kube: Kube,
  deploymentId: string,
  namespace: string,
  workload: { apiVersion: string; kind: string; name: string },
): Promise<HealthStatus> {
  const selector = `${DEPLOYMENT_ID}=${deploymentId}`;
  const [live, pods, pvcs] = await Promise.all([
    kube.get({ ...workload, namespace }),
    kube.list('v1', 'Pod', namespace, selector),
    workload.kind === 'StatefulSet' ? kube.list('v1', 'PersistentVolumeClaim', namespace, selector) : Promise.resolve([]),
  ]);
  return assess(live, pods, pvcs, workload);
}
