import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKube, KubeError, type Kube } from '../../src/reconciler/kube.ts';
import type { KubeObject } from '../../src/recipes/index.ts';
import { startKubeApiTestServer, type KubeApiTestServer } from '../support/kube-api-server.ts';

let server: KubeApiTestServer;
let kube: Kube;
beforeAll(async () => {
  server = await startKubeApiTestServer();
  kube = createKube(server.kubeConfig());
});
afterAll(async () => server?.stop());

const svc = (name: string, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'acme', labels: { team: 'a', 'app.kubernetes.io/managed-by': 'shipslog' } },
  spec: { ports: [{ port: 80 }], ...extra },
});

describe('Kubernetes API test server through the real client', () => {
  it('creates and updates with server-side apply; generation and resourceVersion move only on change', async () => {
    const created = await kube.apply(svc('web'), { dryRun: false });
    expect(created.metadata.uid).toBeTruthy();
    const rv = created.metadata.resourceVersion;
    const same = await kube.apply(svc('web'), { dryRun: false });
    expect(same.metadata.resourceVersion).toBe(rv);
    const changed = await kube.apply(svc('web', { ports: [{ port: 81 }] }), { dryRun: false });
    expect(changed.metadata.resourceVersion).not.toBe(rv);
    const patch = server.requests.filter((r) => r.method === 'PATCH').at(-1)!;
    expect(patch.contentType).toBe('application/apply-patch+yaml');
    expect(patch.query).toMatchObject({ fieldManager: 'shipslog', force: 'true' });
  });

  it('dry run returns the result without storing it', async () => {
    const dry = await kube.apply(svc('dry'), { dryRun: true });
    expect(dry.metadata.name).toBe('dry');
    expect(await kube.get({ apiVersion: 'v1', kind: 'Service', name: 'dry', namespace: 'acme' })).toBeNull();
  });

  it('sends fields the generated models do not know, and a field we stop sending disappears', async () => {
    await kube.apply(svc('unknown', { futureField: { enabled: true } }), { dryRun: false });
    const wire = JSON.parse(server.requests.filter((r) => r.method === 'PATCH').at(-1)!.raw) as { spec: Record<string, unknown> };
    expect(wire.spec.futureField).toEqual({ enabled: true });
    const live = await kube.get({ apiVersion: 'v1', kind: 'Service', name: 'unknown', namespace: 'acme' });
    expect((live!.spec as Record<string, unknown>).futureField).toEqual({ enabled: true });
    await kube.apply(svc('unknown'), { dryRun: false });
    const after = await kube.get({ apiVersion: 'v1', kind: 'Service', name: 'unknown', namespace: 'acme' });
    expect((after!.spec as Record<string, unknown>).futureField).toBeUndefined();
  });

  it('lists with label selectors and deletes; a missing object is 404 (gone)', async () => {
    await kube.apply({ ...svc('other'), metadata: { name: 'other', namespace: 'acme', labels: { team: 'b' } } }, { dryRun: false });
    const a = await kube.list('v1', 'Service', 'acme', 'team=a');
    expect(a.map((o) => o.metadata.name)).not.toContain('other');
    expect((await kube.list('v1', 'Service', 'acme', 'team in (b),!missing')).map((o) => o.metadata.name)).toEqual(['other']);
    expect(await kube.delete({ apiVersion: 'v1', kind: 'Service', name: 'other', namespace: 'acme' })).toBe('deleted');
    expect(await kube.delete({ apiVersion: 'v1', kind: 'Service', name: 'other', namespace: 'acme' })).toBe('gone');
  });

  it('answers injected faults with Status errors the client turns into KubeError', async () => {
    for (const status of [500, 409, 422] as const) {
      const f = server.inject({ match: { method: 'PATCH', name: 'faulty' }, status, times: 1 });
      const err = await kube.apply(svc('faulty'), { dryRun: false }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KubeError);
      expect((err as KubeError).status).toBe(status);
      f.remove();
    }
    const slow = server.inject({ match: { method: 'GET', name: 'web' }, delayMs: 150 });
    const t0 = Date.now();
    await kube.get({ apiVersion: 'v1', kind: 'Service', name: 'web', namespace: 'acme' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    slow.remove();
    const nth = server.inject({ match: { method: 'PATCH', dryRun: false }, status: 500, nth: 2 });
    await kube.apply(svc('n1'), { dryRun: false });
    await expect(kube.apply(svc('n2'), { dryRun: false })).rejects.toThrow(KubeError);
    await kube.apply(svc('n3'), { dryRun: false });
    nth.remove();
  });

  it('holds a request until the test releases it (a hung API server), then serves it', async () => {
    const hung = server.inject({ match: { method: 'PATCH', name: 'held', dryRun: false }, hold: true, times: 1 });
    let done = false;
    const applying = kube.apply(svc('held'), { dryRun: false }).then((o) => {
      done = true;
      return o;
    });
    while (hung.held === 0) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 100));
    expect(done).toBe(false);
    expect(await kube.get({ apiVersion: 'v1', kind: 'Service', name: 'held', namespace: 'acme' })).toBeNull();
    hung.release();
    expect((await applying).metadata.name).toBe('held');
    expect(hung).toMatchObject({ hits: 1, held: 0 });
    hung.remove();
  });

  it('refuses invalid objects (422) like the API server: immutable StatefulSet claim templates', async () => {
    const sts = (storage: string): KubeObject => ({
      apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db', namespace: 'acme' },
      spec: {
        replicas: 1, selector: { matchLabels: { app: 'db' } },
        template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'c', image: 'postgres:16' }] } },
        volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { resources: { requests: { storage } } } }],
      },
    });
    await kube.apply(sts('1Gi'), { dryRun: false });
    const pvc = await kube.get({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', name: 'data-db-0', namespace: 'acme' });
    expect((pvc!.status as { phase: string }).phase).toBe('Bound');
    const err = (await kube.apply(sts('2Gi'), { dryRun: true }).catch((e: unknown) => e)) as KubeError;
    expect(err.status).toBe(422);
    expect(err.message).toMatch(/Forbidden/);
  });

  it('reuses connections (the stock client opens one per request)', async () => {
    const before = server.connections;
    for (let i = 0; i < 20; i++) await kube.get({ apiVersion: 'v1', kind: 'Service', name: 'web', namespace: 'acme' });
    expect(server.connections - before).toBeLessThanOrEqual(2);
  });

  it('the stock client drops fields its models do not know: why kube.ts sends plain JSON', async () => {
    const { KubernetesObjectApi, PatchStrategy } = await import('@kubernetes/client-node');
    const stock = KubernetesObjectApi.makeApiClient(server.kubeConfig());
    await stock.patch(svc('stock', { futureField: { enabled: true } }) as never, undefined, undefined, 'shipslog', true, PatchStrategy.ServerSideApply);
    const wire = JSON.parse(server.requests.filter((r) => r.method === 'PATCH').at(-1)!.raw) as { spec: Record<string, unknown> };
    expect(wire.spec.futureField).toBeUndefined();
  });

  it('gives up on a request the API server does not answer in time', async () => {
    const impatient = createKube(server.kubeConfig(), { requestTimeoutMs: 150 });
    const hang = server.inject({ match: { method: 'GET', name: 'web' }, delayMs: 1000, times: 1 });
    const err = (await impatient.get({ apiVersion: 'v1', kind: 'Service', name: 'web', namespace: 'acme' }).catch((e: unknown) => e)) as KubeError;
    expect(err).toBeInstanceOf(KubeError);
    expect(err).toMatchObject({ status: 504, reason: 'Timeout' });
    hang.remove();
  });
});
