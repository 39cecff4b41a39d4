import { isObj, resourceTypes, type Json, type Obj, type Store } from './kube-api-server-store.ts';

/**
 * Workload simulator: plays the StatefulSet, Deployment and PVC controllers and the kubelet
 * closely enough for health assessment. Per workload a mode says how its pods behave:
 *   ready      - pods run and become ready, PVCs bind (default)
 *   progressing - pods are created but not ready yet (rollout in progress)
 *   crashloop  - containers crash: waiting reason CrashLoopBackOff, restarts counting up
 *   pvc-pending - like progressing, with the StatefulSet's PVCs stuck in Pending
 */
export type WorkloadMode = 'ready' | 'progressing' | 'crashloop' | 'pvc-pending';

const type = (kind: string) => resourceTypes.find((t) => t.kind === kind)!;

export class WorkloadSimulator {
  private modes = new Map<string, WorkloadMode>();
  defaultMode: WorkloadMode = 'ready';
  private readonly store: Store;

  constructor(store: Store) {
    this.store = store;
  }

  /** Sets how a workload behaves and updates its status, pods and PVCs at once. */
  set(namespace: string, name: string, mode: WorkloadMode): void {
    this.modes.set(`${namespace}/${name}`, mode);
    for (const kind of ['StatefulSet', 'Deployment']) {
      if (this.store.get(type(kind), namespace, name)) this.sync(kind, namespace, name);
    }
  }

  modeOf(namespace: string, name: string): WorkloadMode {
    return this.modes.get(`${namespace}/${name}`) ?? this.defaultMode;
  }

  /** Called after every stored write of a workload. */
  sync(kind: string, namespace: string, name: string): void {
    const obj = this.store.get(type(kind), namespace, name);
    if (!obj) return;
    const mode = this.modeOf(namespace, name);
    const spec = obj.spec as Obj;
    const replicas = typeof spec.replicas === 'number' ? spec.replicas : 1;
    const generation = (obj.metadata as Obj).generation as number;
    const revision = `${name}-${generation}`;
    const template = spec.template as Obj;
    const podLabels = (((template.metadata as Obj | undefined)?.labels ?? {}) as Obj);
    const readyPods = mode === 'ready' ? replicas : 0;

    if (kind === 'StatefulSet') {
      for (const t of (spec.volumeClaimTemplates ?? []) as Obj[]) {
        const meta = (t.metadata ?? {}) as Obj;
        for (let i = 0; i < replicas; i++) {
          const pvcName = `${String(meta.name)}-${name}-${i}`;
          // Like the controller: the claim template's labels plus the selector's.
          const labels = { ...((meta.labels ?? {}) as Obj), ...(((spec.selector as Obj).matchLabels ?? {}) as Obj) };
          const existing = this.store.get(type('PersistentVolumeClaim'), namespace, pvcName);
          const base = existing ? { ...existing, status: undefined } : { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: pvcName, namespace, labels }, spec: t.spec as Json };
          delete (base as Obj).status;
          this.store.put(type('PersistentVolumeClaim'), namespace, pvcName, stripSystem(base as Obj), { phase: mode === 'pvc-pending' ? 'Pending' : 'Bound' });
        }
      }
    }

    const podNames = Array.from({ length: replicas }, (_, i) => (kind === 'StatefulSet' ? `${name}-${i}` : `${name}-${generation}-${i}`));
    for (const pod of this.store.list(type('Pod'), namespace, (l) => l['shipslog.io/owner'] === `${kind}/${name}`)) {
      const podName = String((pod.metadata as Obj).name);
      if (!podNames.includes(podName)) this.store.delete(type('Pod'), namespace, podName);
    }
    for (const podName of podNames) {
      const container = ((template.spec as Obj).containers as Obj[])[0]!;
      const previous = this.store.get(type('Pod'), namespace, podName)?.status as Obj | undefined;
      const prevRestarts = ((previous?.containerStatuses as Obj[] | undefined)?.[0]?.restartCount as number | undefined) ?? 0;
      const state: Obj =
        mode === 'crashloop'
          ? { waiting: { reason: 'CrashLoopBackOff', message: `back-off 5m0s restarting failed container=${String(container.name)} pod=${podName}` } }
          : mode === 'ready'
            ? { running: { startedAt: new Date().toISOString() } }
            : { waiting: { reason: 'ContainerCreating' } };
      this.store.put(
        type('Pod'),
        namespace,
        podName,
        { apiVersion: 'v1', kind: 'Pod', metadata: { name: podName, namespace, labels: { ...podLabels, 'shipslog.io/owner': `${kind}/${name}` } }, spec: template.spec as Json },
        {
          phase: mode === 'ready' || mode === 'crashloop' ? 'Running' : 'Pending',
          conditions: [{ type: 'Ready', status: mode === 'ready' ? 'True' : 'False' }],
          containerStatuses: [{ name: container.name as Json, image: container.image as Json, ready: mode === 'ready', restartCount: mode === 'crashloop' ? prevRestarts + 1 : prevRestarts, state }],
        },
      );
    }

    const updated = mode === 'progressing' || mode === 'pvc-pending' ? 0 : replicas;
    if (kind === 'StatefulSet') {
      this.store.setStatus(type(kind), namespace, name, {
        observedGeneration: generation, replicas, readyReplicas: readyPods, currentReplicas: replicas, updatedReplicas: updated,
        currentRevision: updated === replicas ? revision : `${name}-${generation - 1}`, updateRevision: revision, availableReplicas: readyPods,
      });
    } else {
      this.store.setStatus(type(kind), namespace, name, {
        observedGeneration: generation, replicas, readyReplicas: readyPods, updatedReplicas: updated, availableReplicas: readyPods,
        conditions: [
          { type: 'Available', status: readyPods >= replicas ? 'True' : 'False', reason: readyPods >= replicas ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable' },
          { type: 'Progressing', status: 'True', reason: updated === replicas ? 'NewReplicaSetAvailable' : 'ReplicaSetUpdated' },
        ],
      });
    }
  }

  /** Deleting a workload deletes its pods; PVCs stay, as in Kubernetes. */
  deleted(kind: string, namespace: string, name: string): void {
    for (const pod of this.store.list(type('Pod'), namespace, (l) => l['shipslog.io/owner'] === `${kind}/${name}`)) {
      this.store.delete(type('Pod'), namespace, String((pod.metadata as Obj).name));
    }
  }
}

function stripSystem(o: Obj): Obj {
  const meta = { ...(o.metadata as Obj) };
  for (const k of ['uid', 'resourceVersion', 'creationTimestamp', 'managedFields', 'generation']) delete meta[k];
  const out: Obj = { ...o, metadata: meta };
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return isObj(out) ? out : {};
}
