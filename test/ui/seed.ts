import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { createApiKey, type KeyScope } from '../../src/db/api-keys.ts';
import { withActor } from '../../src/db/actor.ts';
import { getDeployment, recordReconcileResult, type Health } from '../../src/db/deployments.ts';
import { finishRun, insertRun, type ChangeSetEntry } from '../../src/db/runs.ts';
import type { TestApi } from '../api/harness.ts';

/*
 * A history as the API and the reconciler write it: deployments made and changed through
 * the API with people's and services' keys, and reconcile runs recorded with the db layer's
 * functions the reconciler itself calls (run row, result, events carrying the run's id).
 */

export const hostile = {
  reason: '<img src=x onerror=alert(1)> </script><script>alert(2)</script>',
  env: '"><svg onload=alert(3)>',
  correlation: "<script>alert('c')</script>",
};

export interface Seeded {
  keys: { alice: string; bot: string; auditor: string; reader: string; deployOnly: string; globex: string; global: string };
  ordersDb: string;
  cache: string;
  storefront: string;
  hostileApp: string;
  globexDb: string;
}

async function key(api: TestApi, name: string, tenant: string | null, scopes: KeyScope[], actorType: 'user' | 'service' = 'service') {
  return (await createApiKey(api.t.db, { name, tenant, scopes, actorType })).key;
}

async function ok(res: Response | Promise<Response>, status = 200): Promise<{ id: string }> {
  const r = await res;
  const body = (await r.json()) as { id: string };
  expect(r.status, JSON.stringify(body)).toBe(status);
  return body;
}

/** One reconcile run of the deployment's current generation, recorded as the reconciler does. */
export async function reconcile(
  api: TestApi,
  id: string,
  r: { outcome: 'Applied' | 'Failed'; health?: Health; healthMessage?: string; failure?: [string, string]; changeSet?: ChangeSetEntry[] },
): Promise<string> {
  const d = await getDeployment(api.t.db, id);
  if (!d) throw new Error(`no deployment ${id}`);
  const runId = randomUUID();
  await insertRun(api.t.db, {
    id: runId, deploymentId: id, tenant: d.tenant, name: d.name, generation: d.generation,
    configHash: `sha256:${'ab'.repeat(32)}`, target: `prod-eu/${d.tenant}`, phase: 'Running', workerId: 'worker-1', correlationId: runId,
  });
  const failed = r.outcome === 'Failed';
  const changeSet = r.changeSet ?? [
    { kind: 'StatefulSet', name: d.name, namespace: d.tenant, action: 'configured' },
    { kind: 'Service', name: d.name, namespace: d.tenant, action: 'unchanged' },
  ];
  await finishRun(api.t.db, runId, {
    phase: failed ? 'Failed' : 'Completed', outcome: r.outcome,
    failureReason: r.failure?.[0] ?? null, failureMessage: r.failure?.[1] ?? null, changeSet,
  });
  await withActor(
    api.t.db,
    // As the reconciler writes them: the run's id as request id (src/reconciler/run.ts).
    { actor: 'reconciler/worker-1', actorType: 'system', correlationId: runId, requestId: runId, reason: r.failure ? `${r.failure[0]}: ${r.failure[1]}` : undefined },
    (tx) => recordReconcileResult(tx, id, {
      status: failed ? 'failed' : 'applied',
      statusMessage: failed ? `generation ${d.generation}: ${r.failure?.[0] ?? 'failed'}` : `generation ${d.generation} applied`,
      managedResources: changeSet.map((c) => ({ apiVersion: 'v1', kind: c.kind, name: c.name, namespace: c.namespace })),
      observedGeneration: d.generation,
      health: r.health ? { health: r.health, message: r.healthMessage ?? '' } : undefined,
    }),
  );
  return runId;
}

export async function seedHistory(api: TestApi): Promise<Seeded> {
  const keys = {
    alice: await key(api, 'alice@acme.example', 'acme', ['read', 'deploy'], 'user'),
    bot: await key(api, 'deploy-bot', 'acme', ['read', 'deploy']),
    auditor: await key(api, 'auditor@acme.example', 'acme', ['read', 'audit'], 'user'),
    reader: await key(api, 'reader', 'acme', ['read']),
    deployOnly: await key(api, 'ci-deployer', 'acme', ['deploy']),
    globex: await key(api, 'globex-ops', 'globex', ['read', 'deploy', 'audit'], 'user'),
    global: await key(api, 'platform-admin', null, ['admin'], 'user'),
  };
  const call = (k: string, method: string, path: string, body?: unknown, headers?: Record<string, string>) => api.call(k, method, path, body, headers);

  const ordersDb = (await ok(call(keys.alice, 'POST', '/v1/deployments', {
    name: 'orders-db', recipe: 'postgresql', app_version: '16.4', config: { storage: '8Gi', replicas: 1 },
    reason: 'database for the new orders service (PLAT-311)',
  }), 201)).id;
  await reconcile(api, ordersDb, { outcome: 'Applied', health: 'Healthy', healthMessage: '1/1 replicas ready', changeSet: [
    { kind: 'StatefulSet', name: 'orders-db', namespace: 'acme', action: 'created' },
    { kind: 'Service', name: 'orders-db', namespace: 'acme', action: 'created' },
  ] });
  await ok(call(keys.alice, 'PATCH', `/v1/deployments/${ordersDb}`, { config: { storage: '16Gi' }, reason: 'disk 91% full' }, { 'x-correlation-id': 'INC-1042' }));
  await reconcile(api, ordersDb, { outcome: 'Applied' });
  await ok(call(keys.bot, 'POST', `/v1/deployments/${ordersDb}/upgrade`, { app_version: '17.2', reason: 'security fixes in 17.2' }));
  await reconcile(api, ordersDb, {
    outcome: 'Failed', health: 'Degraded', healthMessage: '0/1 replicas ready',
    failure: ['ApplyFailed', 'StatefulSet orders-db: image postgres:17.2 could not be pulled'],
  });
  await ok(call(keys.alice, 'POST', `/v1/deployments/${ordersDb}/restart`, { reason: 'retry after the registry outage' }));
  await reconcile(api, ordersDb, { outcome: 'Applied', health: 'Healthy', healthMessage: '1/1 replicas ready' });

  const cache = (await ok(call(keys.bot, 'POST', '/v1/deployments', {
    name: 'sessions-cache', recipe: 'redis', app_version: '7.4', reason: 'session store for the web shop',
  }), 201)).id;
  await reconcile(api, cache, { outcome: 'Applied', health: 'Progressing', healthMessage: '0/1 replicas ready' });

  const storefront = (await ok(call(keys.alice, 'POST', '/v1/deployments', {
    name: 'storefront', recipe: 'web', app_version: '2.8.1', environment: 'staging', config: { image: 'registry.example/shop/storefront' },
    reason: 'staging for the spring sale',
  }), 201)).id;

  // Hostile text everywhere a caller can put free text: the reason, a config value and the
  // correlation id header (names are DNS labels and key names a strict pattern: never markup).
  const hostileApp = (await ok(call(keys.bot, 'POST', '/v1/deployments', {
    name: 'guestbook', recipe: 'web', app_version: '1.0', config: { image: 'registry.example/guestbook', env: { GREETING: 'hello' } },
    reason: hostile.reason,
  }, { 'x-correlation-id': hostile.correlation }), 201)).id;
  await ok(call(keys.bot, 'PATCH', `/v1/deployments/${hostileApp}`, { config: { env: { GREETING: hostile.env } }, reason: hostile.reason }));

  const globexDb = (await ok(call(keys.globex, 'POST', '/v1/deployments', {
    name: 'ledger-db', recipe: 'postgresql', app_version: '16', config: { storage: '8Gi' }, reason: 'globex secret ledger',
  }), 201)).id;

  return { keys, ordersDb, cache, storefront, hostileApp, globexDb };
}
