import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKube, createReconciler, type Reconciler } from '../../src/reconciler/index.ts';
import { createTestApi, type TestApi } from '../api/harness.ts';
import { startKubeApiTestServer, type KubeApiTestServer } from '../support/kube-api-server.ts';
import { converged, quietLog } from './helpers.ts';

let api: TestApi;
let server: KubeApiTestServer;
let reconciler: Reconciler;
let key: string;
let id: string;
beforeAll(async () => {
  [api, server] = await Promise.all([createTestApi(), startKubeApiTestServer()]);
  reconciler = createReconciler({
    db: api.t.connect(5), kube: createKube(server.kubeConfig()), log: quietLog,
    config: { pollIntervalMs: 200, healthIntervalMs: 60_000, backoffBaseMs: 50, backoffMaxMs: 100, workerId: 'api-test' },
  });
  await reconciler.start();
  key = await api.key('acme', ['read', 'deploy'], 'alice');
  const res = await api.call(key, 'POST', '/v1/deployments', { name: 'orders-db', recipe: 'postgresql', app_version: '16', config: { storage: '1Gi' } });
  expect(res.status).toBe(201);
  id = (await res.json()).id;
  await converged(api.t.db, id);
  server.inject({ match: { method: 'PATCH', kind: 'StatefulSet', dryRun: false }, status: 500, times: 1 });
  await api.call(key, 'POST', `/v1/deployments/${id}/upgrade`, { app_version: '17' });
  await converged(api.t.db, id);
});
afterAll(async () => {
  await reconciler?.stop();
  await server?.stop();
  await api?.drop();
});

describe('GET /v1/deployments/{id}/runs', () => {
  it('lists runs newest first with outcome, failure reason and change set, and pages', async () => {
    const res = await api.call(key, 'GET', `/v1/deployments/${id}/runs`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.next_cursor).toBeNull();
    // Back-off waits may add Skipped (RecentlyRemediated) runs; the work itself is three runs.
    const items = body.items.filter((r: { phase: string }) => r.phase !== 'Skipped');
    expect(items.map((r: { generation: number; phase: string }) => [r.generation, r.phase])).toEqual([[2, 'Completed'], [2, 'Failed'], [1, 'Completed']]);
    expect(items[1]).toMatchObject({ failure_reason: 'ApplyFailed', worker_id: 'api-test', image: 'postgres:17', target: expect.stringMatching(/\/acme$/) });
    expect(items[2].change_set.map((c: { kind: string; action: string }) => `${c.kind}:${c.action}`)).toContain('StatefulSet:created');
    const pages: { id: string }[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: { id: string }[]; next_cursor: string | null } = await (await api.call(key, 'GET', `/v1/deployments/${id}/runs?limit=2${cursor ? `&cursor=${cursor}` : ''}`)).json();
      pages.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor);
    expect(pages.map((r) => r.id)).toEqual(body.items.map((r: { id: string }) => r.id));
  });

  it('returns one run and its audited transitions; 404 for another deployment\'s run or another tenant', async () => {
    const { items } = await (await api.call(key, 'GET', `/v1/deployments/${id}/runs`)).json();
    const failed = items.find((r: { phase: string }) => r.phase === 'Failed');
    const one = await api.call(key, 'GET', `/v1/deployments/${id}/runs/${failed.id}`);
    expect((await one.json()).id).toBe(failed.id);
    const audit = await (await api.call(key, 'GET', `/v1/deployments/${id}/runs/${failed.id}/audit`)).json();
    expect(audit.transitions.map((t: { from_phase: string | null; to_phase: string }) => [t.from_phase, t.to_phase])).toEqual([[null, 'Running'], ['Running', 'Failed']]);
    expect(audit.transitions[1].audit).toMatchObject({ success: false, execution_ms: expect.any(Number) });
    const other = (await (await api.call(key, 'POST', '/v1/deployments', { name: 'other', recipe: 'redis', app_version: '7', config: {} })).json()).id;
    expect((await api.call(key, 'GET', `/v1/deployments/${other}/runs/${failed.id}`)).status).toBe(404);
    expect((await api.call(key, 'GET', `/v1/deployments/${other}/runs/${failed.id}/audit`)).status).toBe(404);
    const stranger = await api.key('globex', ['read'], 'mallory');
    expect((await api.call(stranger, 'GET', `/v1/deployments/${id}/runs`)).status).toBe(404);
    expect((await api.call(stranger, 'GET', `/v1/deployments/${id}/runs/${failed.id}`)).status).toBe(404);
    expect((await api.call(key, 'GET', `/v1/deployments/${id}/runs/not-a-uuid`)).status).toBe(400);
  });
});
