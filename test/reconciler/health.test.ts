import { describe, expect, it } from 'vitest';
import { assess } from '../../src/reconciler/health.ts';
import { retainedClaims, deleteOrder, isOwned } from '../../src/reconciler/inventory.ts';
import type { KubeObject } from '../../src/recipes/index.ts';

const sts = (spec: Record<string, unknown>, status: Record<string, unknown>, generation = 2): KubeObject => ({
  apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db', generation }, spec: { replicas: 1, ...spec }, status,
});
const pod = (name: string, waiting?: string): KubeObject => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name },
  status: { containerStatuses: [{ name: 'c', restartCount: 7, state: waiting ? { waiting: { reason: waiting } } : { running: {} } }] },
});
const pvc = (name: string, phase?: string): KubeObject => ({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name }, status: phase ? { phase } : {} });
const ref = { kind: 'StatefulSet', name: 'db' };
const ready = { observedGeneration: 2, replicas: 1, readyReplicas: 1, updatedReplicas: 1, currentRevision: 'db-2', updateRevision: 'db-2' };

describe('health assessment', () => {
  it('follows what kubectl rollout status and Argo CD would say', () => {
    expect(assess(null, [], [], ref)).toEqual({ health: 'Missing', message: 'StatefulSet db not found' });
    expect(assess(sts({}, ready), [pod('db-0')], [pvc('data-db-0', 'Bound')], ref)).toEqual({ health: 'Healthy', message: '1 of 1 replicas ready' });
    expect(assess(sts({}, ready), [pod('db-0', 'CrashLoopBackOff')], [pvc('data-db-0', 'Bound')], ref)).toEqual({ health: 'Degraded', message: 'pod db-0: CrashLoopBackOff' });
    expect(assess(sts({}, ready), [pod('db-0', 'ImagePullBackOff')], [], ref).health).toBe('Degraded');
    expect(assess(sts({}, ready), [pod('db-0', 'ContainerCreating')], [pvc('data-db-0', 'Pending')], ref)).toEqual({ health: 'Progressing', message: 'PersistentVolumeClaim data-db-0 is Pending' });
    expect(assess(sts({}, ready), [], [pvc('data-db-0', 'Lost')], ref).health).toBe('Degraded');
    expect(assess(sts({}, { ...ready, observedGeneration: 1 }), [], [], ref)).toEqual({ health: 'Progressing', message: 'waiting for the StatefulSet controller to observe generation 2' });
    expect(assess(sts({}, { ...ready, updatedReplicas: 0, currentRevision: 'db-1' }), [], [], ref).message).toBe('rolling out: 0 of 1 replicas updated');
    expect(assess(sts({}, { ...ready, readyReplicas: 0 }), [], [], ref).message).toBe('0 of 1 replicas ready');
    expect(assess(sts({ replicas: 0 }, ready), [], [], ref).health).toBe('Suspended');
    const dep: KubeObject = {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', generation: 3 }, spec: { replicas: 2 },
      status: { observedGeneration: 3, updatedReplicas: 1, readyReplicas: 1, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }] },
    };
    expect(assess(dep, [], [], { kind: 'Deployment', name: 'web' })).toEqual({ health: 'Degraded', message: 'Deployment web: ProgressDeadlineExceeded' });
  });

  it('messages carry no counters, so a pod that keeps crashing is one state, not a stream', () => {
    const a = assess(sts({}, ready), [pod('db-0', 'CrashLoopBackOff')], [], ref);
    const crashing = pod('db-0', 'CrashLoopBackOff');
    ((crashing.status as { containerStatuses: { restartCount: number }[] }).containerStatuses[0]!).restartCount = 99;
    expect(assess(sts({}, ready), [crashing], [], ref)).toEqual(a);
  });
});

describe('inventory rules', () => {
  const item = (kind: string, name: string) => ({ apiVersion: 'v1', kind, name, namespace: 'acme' });
  it('keeps the claims of a StatefulSet that is still rendered (scale-down), not of one that is gone', () => {
    const stale = [item('PersistentVolumeClaim', 'data-db-2'), item('PersistentVolumeClaim', 'data-old-0'), item('ConfigMap', 'x')];
    expect(retainedClaims(stale, [{ ...item('StatefulSet', 'db'), apiVersion: 'apps/v1' }]).map((i) => i.name)).toEqual(['data-db-2']);
  });
  it('deletes workloads before services, claims and secrets', () => {
    const order = deleteOrder([item('Secret', 's'), item('PersistentVolumeClaim', 'p'), item('Service', 'v'), item('StatefulSet', 'w')]);
    expect(order.map((i) => i.kind)).toEqual(['StatefulSet', 'Service', 'PersistentVolumeClaim', 'Secret']);
  });
  it('owns an object only when both labels say so', () => {
    const o = (labels: Record<string, string>): KubeObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'v', labels } });
    expect(isOwned(o({ 'app.kubernetes.io/managed-by': 'shipslog', 'shipslog.io/deployment-id': 'd1' }), 'd1')).toBe(true);
    expect(isOwned(o({ 'app.kubernetes.io/managed-by': 'helm', 'shipslog.io/deployment-id': 'd1' }), 'd1')).toBe(false);
    expect(isOwned(o({ 'app.kubernetes.io/managed-by': 'shipslog', 'shipslog.io/deployment-id': 'd2' }), 'd1')).toBe(false);
  });
});
