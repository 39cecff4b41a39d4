import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyChains } from '../../src/audit/verify.ts';
import { createKube, createReconciler, type Reconciler } from '../../src/reconciler/index.ts';
import { createTestApi, type TestApi } from '../api/harness.ts';
import { startKubeApiTestServer, type KubeApiTestServer } from '../support/kube-api-server.ts';
import { converged, quietLog, rolloutEventsOf, runsOf, waitFor } from '../reconciler/helpers.ts';

// Rollout events from reconcile runs (sql/compliance/10_rollout.sql) and correlation end to end
// (20_correlation.sql): a request's X-Correlation-Id reaches the run it causes and the events
// that run writes, through the API, the reconciler and the Kubernetes API test server.
let api: TestApi;
let server: KubeApiTestServer;
let r: Reconciler;
let key: string;
beforeAll(async () => {
  [api, server] = await Promise.all([createTestApi(), startKubeApiTestServer()]);
  key = await api.key('acme', ['read', 'deploy', 'audit'], 'alice');
  r = createReconciler({
    db: api.t.connect(5, 'shipslog reconciler test'),
    kube: createKube(server.kubeConfig()),
    log: quietLog,
    config: { pollIntervalMs: 200, healthIntervalMs: 100_000, backoffBaseMs: 100, backoffMaxMs: 400 },
  });
  await r.start();
});
afterAll(async () => {
  await r?.stop();
  await server?.stop();
  await api?.drop();
});

const create = (name: string, headers: Record<string, string> = {}) =>
  api.call(key, 'POST', '/v1/deployments', { name, recipe: 'redis', app_version: '7.2', config: {} }, headers);

describe('rollout events', () => {
  it('records deployment_started on the first attempt and deployment_completed, with generation and run', async () => {
    const d = await (await create('rollout-ok')).json();
    await converged(api.t.db, d.id);
    await waitFor('deployment_completed', async () => (await rolloutEventsOf(api.t.db, d.id)).find((e) => e.action === 'deployment_completed'));
    const [run] = await runsOf(api.t.db, d.id);
    const events = await rolloutEventsOf(api.t.db, d.id);
    expect(events.map((e) => e.action)).toEqual(['deployment_started', 'deployment_completed']);
    expect(events[0]!.details).toEqual({ generation: 1, run_id: run!.id });
    expect(events[1]!.details).toMatchObject({ generation: 1, run_id: run!.id, outcome: 'Applied' });
    expect(events.every((e) => e.request_id === run!.id && e.actor.startsWith('reconciler/'))).toBe(true);
    expect(await verifyChains(api.t.db, d.id)).toEqual([]);
  });

  it('cancels a started generation that a newer one supersedes, and fails a generation terminally', async () => {
    const d = await (await create('rollout-superseded')).json();
    await converged(api.t.db, d.id);
    // As the reconciler would, in SQL: generation 2 started, then generation 3 arrives.
    const run2 = '11111111-1111-4111-8111-111111111111';
    const run3 = '33333333-3333-4333-8333-333333333333';
    await api.t.db`select shipslog.begin_rollout(${d.id}, 2, ${run2})`;
    expect(await api.t.db`select shipslog.begin_rollout(${d.id}, 2, ${run2}) as seq`).toEqual([{ seq: null }]);
    await api.t.db`select shipslog.begin_rollout(${d.id}, 3, ${run3})`;
    // A retryable failure does not end the rollout; a terminal one does.
    await api.t.db`select shipslog.finish_rollout(${d.id}, 3, ${run3}, false, 'Failed', 'ApplyFailed', false)`;
    await api.t.db`select shipslog.finish_rollout(${d.id}, 3, ${run3}, false, 'Failed', 'InvalidConfig', true)`;
    const events = (await rolloutEventsOf(api.t.db, d.id)).slice(2);
    expect(events.map((e) => [e.action, e.details.generation])).toEqual([
      ['deployment_started', 2], ['deployment_cancelled', 2], ['deployment_started', 3], ['deployment_failed', 3],
    ]);
    expect(events[1]!.details).toMatchObject({ superseded_by_generation: 3, run_id: run2 });
    expect(events[3]!.details).toMatchObject({ failure_reason: 'InvalidConfig', run_id: run3 });
    expect(await verifyChains(api.t.db, d.id)).toEqual([]);
  });
});

describe('correlation end to end', () => {
  it('an X-Correlation-Id finds the request\'s events, its run and the run\'s events, in the API and in SQL', async () => {
    const d = await (await create('correlated', { 'x-correlation-id': 'deploy-ticket-7' })).json();
    await converged(api.t.db, d.id);
    await waitFor('deployment_completed', async () => (await rolloutEventsOf(api.t.db, d.id)).find((e) => e.action === 'deployment_completed'));
    const patched = await api.call(key, 'PATCH', `/v1/deployments/${d.id}`, { config: { maxmemory: '128Mi' } }, { 'x-correlation-id': 'change-8' });
    expect(patched.status).toBe(200);
    await waitFor('generation 2 converged', async () => {
      const [row] = await api.t.db`select observed_generation::int as g from shipslog.deployments where id = ${d.id}`;
      return row!.g === 2;
    });
    await waitFor('deployment_completed of generation 2', async () =>
      (await rolloutEventsOf(api.t.db, d.id)).find((e) => e.action === 'deployment_completed' && e.details.generation === 2));
    const runs = await runsOf(api.t.db, d.id);
    const run1 = runs.find((x) => x.generation === 1 && x.phase === 'Completed')!;
    const run2 = runs.find((x) => x.generation === 2 && x.phase === 'Completed')!;
    const [corr] = await api.t.db`select correlation_id from shipslog.reconcile_runs where id = ${run1.id}`;
    expect(corr!.correlation_id).toBe('deploy-ticket-7');

    const res = await api.call(key, 'GET', '/v1/events?correlation_id=deploy-ticket-7');
    expect(res.status).toBe(200);
    const items: { action: string; request_id: string; category: string }[] = (await res.json()).items;
    const actions = items.map((e) => e.action).reverse();
    expect(actions[0]).toBe('created');
    expect(actions).toContain('deployment_started');
    expect(actions).toContain('deployment_completed');
    // ... and the row change the run's result wrote (status, inventory).
    expect(actions).toContain('resources_changed');
    // Everything the run wrote carries its id; nothing of the later change is there.
    expect(items.filter((e) => e.action !== 'created').every((e) => e.request_id === run1.id)).toBe(true);
    expect(items.some((e) => e.request_id === run2.id)).toBe(false);

    const caused = await api.t.db<{ kind: string; action: string | null; run_id: string | null }[]>`
      select kind, action, run_id from shipslog.caused_by('deploy-ticket-7')`;
    expect(caused.filter((c) => c.kind === 'run').map((c) => c.run_id)).toEqual([run1.id]);
    expect(caused.filter((c) => c.kind === 'event').length).toBe(items.length);
    expect(caused.find((c) => c.action === 'deployment_completed')!.run_id).toBe(run1.id);

    // Without X-Correlation-Id, the request id correlates.
    const restart = await api.call(key, 'POST', `/v1/deployments/${d.id}/restart`, {});
    expect(restart.status).toBeLessThan(300);
    const requestId = restart.headers.get('x-request-id')!;
    await waitFor('the restart\'s run', async () => {
      const [row] = await api.t.db`select count(*)::int as n from shipslog.reconcile_runs where correlation_id = ${requestId} and phase = 'Completed'`;
      return row!.n === 1;
    });
    const byRequest = await (await api.call(key, 'GET', `/v1/events?correlation_id=${requestId}&category=deployment_lifecycle`)).json();
    expect(byRequest.items.map((e: { action: string }) => e.action)).toEqual(expect.arrayContaining(['restarted', 'deployment_started']));
    expect(byRequest.items.every((e: { category: string }) => e.category === 'deployment_lifecycle')).toBe(true);
    // Another tenant's key sees nothing of it.
    const other = await api.key('other', ['read']);
    expect((await (await api.call(other, 'GET', '/v1/events?correlation_id=deploy-ticket-7')).json()).items).toEqual([]);
  });

  it('filters by category and severity, and refuses unknown ones with 400', async () => {
    const d = await (await create('filtered')).json();
    await converged(api.t.db, d.id);
    const lifecycle = await (await api.call(key, 'GET', `/v1/deployments/${d.id}/history?category=deployment_lifecycle`)).json();
    expect(lifecycle.items.length).toBeGreaterThan(0);
    expect(lifecycle.items.every((e: { category: string }) => e.category === 'deployment_lifecycle')).toBe(true);
    await api.t.db`select shipslog.finish_rollout(${d.id}, 1, gen_random_uuid(), false, 'Failed', 'X', true)`;
    await api.t.db`select shipslog.begin_rollout(${d.id}, 2, gen_random_uuid())`;
    await api.t.db`select shipslog.finish_rollout(${d.id}, 2, gen_random_uuid(), false, 'Failed', 'ImagePullBackOff', true)`;
    const errors = await (await api.call(key, 'GET', `/v1/events?deployment_id=${d.id}&severity=error`)).json();
    expect(errors.items.map((e: { action: string; severity: string }) => [e.action, e.severity])).toEqual([['deployment_failed', 'error']]);
    expect((await api.call(key, 'GET', '/v1/events?category=nope')).status).toBe(400);
    expect((await api.call(key, 'GET', '/v1/events?severity=loud')).status).toBe(400);
    // The feed holds an event back while an older transaction anywhere on the server is open:
    // tail it as a consumer does.
    let cursor = '0:0';
    const failed = await waitFor('deployment_failed in the feed', async () => {
      const page = await (await api.call(key, 'GET', `/v1/events/feed?after=${cursor}&limit=1000`)).json();
      cursor = page.next_cursor;
      return page.events.find((e: { action: string; deployment_id: string }) => e.action === 'deployment_failed' && e.deployment_id === d.id);
    }, 30_000);
    expect(failed).toMatchObject({ category: 'deployment_lifecycle', severity: 'error' });
  });
});
