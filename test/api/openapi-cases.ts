import { createApp } from '../../src/api/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createDb } from '../../src/db/client.ts';
import { createLog } from '../../src/log.ts';
import { createReconciler } from '../../src/reconciler/index.ts';
import { complianceCases } from './openapi-cases-compliance.ts';
import { historyCases } from './openapi-cases-history.ts';
import { timeTravelCases } from './openapi-cases-time-travel.ts';
import type { RouteKey } from './openapi-check.ts';
import { missing, newDeployment, type Cases, type Ctx } from './openapi-fixtures.ts';

export type { Ctx } from './openapi-fixtures.ts';

/*
 * One case per route of the OpenAPI document: requests that make the route answer with its
 * success status and with the errors a client meets in practice. openapi-responses.test.ts
 * fails when a route of the document has no case here, and checks every response.
 */

const operationCases: Cases = {
  'GET /healthz': async (x) => [await x.api.call(null, 'GET', '/healthz')],

  'GET /readyz': async (x) => {
    const config = loadConfig({ DATABASE_URL: x.api.t.url, LOG_LEVEL: 'silent' });
    const log = createLog('silent');
    // As in `shipslog serve`: the reconciler's state is part of the body.
    const reconciler = createReconciler({ db: x.api.t.db, kube: null, log });
    const serve = createApp({ db: x.api.t.db, config, log, reconciler, fingerprintKey: Buffer.alloc(32) });
    // Nothing listens on port 1: the database is unreachable.
    const gone = createDb('postgres://nobody@127.0.0.1:1/none', { max: 1 });
    try {
      const down = createApp({ db: gone, config, log, fingerprintKey: Buffer.alloc(32) });
      return [await x.api.call(null, 'GET', '/readyz'), await serve.request('/readyz'), await down.request('/readyz')];
    } finally {
      await gone.end({ timeout: 1 });
    }
  },

  'GET /metrics': async (x) => [await x.api.call(null, 'GET', '/metrics')],

  'POST /v1/deployments': async (x) => {
    const body = { name: 'create-me', recipe: 'postgresql', app_version: '16', secrets: { password: 'hunter2' } };
    const headers = { 'idempotency-key': 'create-me-1' };
    return [
      await x.api.call(x.keys.acme, 'POST', '/v1/deployments', body, headers),
      await x.api.call(x.keys.acme, 'POST', '/v1/deployments', body, headers), // replayed
      await x.api.call(x.keys.acme, 'POST', '/v1/deployments', { ...body, app_version: '17' }, headers), // key reused: 422
      await x.api.call(x.keys.acme, 'POST', '/v1/deployments', { ...body, secrets: undefined }), // same name: 409
      await x.api.call(x.keys.global, 'POST', '/v1/deployments', { ...body, tenant: 'globex' }),
      await x.api.call(x.keys.acme, 'POST', '/v1/deployments', { ...body, name: 'Bad Name' }),
      await x.api.call(x.keys.acme, 'POST', '/v1/deployments', { ...body, name: 'bad-config', config: { storage: 'lots' } }),
      await x.api.call(x.keys.reader, 'POST', '/v1/deployments', body),
      await x.api.call(x.keys.acme, 'POST', '/v1/deployments', JSON.stringify(body), { 'content-type': 'text/plain' }),
      await x.api.call(x.keys.acme, 'POST', '/v1/deployments', { ...body, config: { blob: 'x'.repeat(300_000) } }),
    ];
  },

  'GET /v1/deployments': async (x) => {
    await newDeployment(x, 'listed-1');
    await newDeployment(x, 'listed-2');
    const first = await x.api.call(x.keys.acme, 'GET', '/v1/deployments?limit=1');
    const { next_cursor } = (await first.clone().json()) as { next_cursor: string };
    return [
      first,
      await x.api.call(x.keys.acme, 'GET', `/v1/deployments?limit=1&cursor=${next_cursor}`),
      await x.api.call(x.keys.acme, 'GET', '/v1/deployments?cursor=nonsense'),
      await x.api.call(x.keys.deployer, 'GET', '/v1/deployments'),
    ];
  },

  'GET /v1/deployments/{id}': async (x) => {
    const { id } = await newDeployment(x, 'get-me');
    return [
      await x.api.call(x.keys.reader, 'GET', `/v1/deployments/${id}`),
      await x.api.call(x.keys.reader, 'GET', `/v1/deployments/${id}`, undefined, { 'if-none-match': '"1"' }),
      await x.api.call(x.keys.reader, 'GET', `/v1/deployments/${missing}`),
      await x.api.call(x.keys.reader, 'GET', '/v1/deployments/not-a-uuid'),
      await x.api.call(x.keys.deployer, 'GET', `/v1/deployments/${id}`),
    ];
  },

  'PATCH /v1/deployments/{id}': async (x) => {
    const { id } = await newDeployment(x, 'patch-me');
    const removed = await newDeployment(x, 'patch-removed');
    await x.api.call(x.keys.acme, 'DELETE', `/v1/deployments/${removed.id}`);
    const path = `/v1/deployments/${id}`;
    return [
      await x.api.call(x.keys.acme, 'PATCH', path, { config: { storage: '16Gi' } }, { 'if-match': '"1"', 'content-type': 'application/merge-patch+json' }),
      await x.api.call(x.keys.acme, 'PATCH', path, { secrets: { password: 'rotated' } }),
      await x.api.call(x.keys.acme, 'PATCH', path, { config: { storage: '32Gi' } }, { 'if-match': '"1"' }),
      await x.api.call(x.keys.acme, 'PATCH', path, { config: { storage: 'lots' } }),
      await x.api.call(x.keys.acme, 'PATCH', path, {}),
      await x.api.call(x.keys.acme, 'PATCH', `/v1/deployments/${removed.id}`, { environment: 'staging' }),
      await x.api.call(x.keys.acme, 'PATCH', `/v1/deployments/${missing}`, { environment: 'staging' }),
      await x.api.call(x.keys.reader, 'PATCH', path, { environment: 'staging' }),
      await x.api.call(x.keys.acme, 'PATCH', path, 'environment=staging', { 'content-type': 'text/plain' }),
      await x.api.call(x.keys.acme, 'PATCH', path, { config: { blob: 'x'.repeat(300_000) } }),
    ];
  },

  'DELETE /v1/deployments/{id}': async (x) => {
    const { id } = await newDeployment(x, 'delete-me');
    return [
      await x.api.call(x.keys.acme, 'DELETE', `/v1/deployments/${id}`, undefined, { 'if-match': '"1"', 'x-reason': 'not needed' }),
      await x.api.call(x.keys.acme, 'DELETE', `/v1/deployments/${id}`), // again: no change
      await x.api.call(x.keys.acme, 'DELETE', `/v1/deployments/${id}`, undefined, { 'if-match': '"1"' }),
      await x.api.call(x.keys.acme, 'DELETE', `/v1/deployments/${missing}`),
      await x.api.call(x.keys.reader, 'DELETE', `/v1/deployments/${id}`),
    ];
  },

  'POST /v1/deployments/{id}/upgrade': async (x) => {
    const { id } = await newDeployment(x, 'upgrade-me');
    const removed = await newDeployment(x, 'upgrade-removed');
    await x.api.call(x.keys.acme, 'DELETE', `/v1/deployments/${removed.id}`);
    const path = `/v1/deployments/${id}/upgrade`;
    const headers = { 'idempotency-key': 'upgrade-me-1' };
    return [
      await x.api.call(x.keys.acme, 'POST', path, { app_version: '17', reason: 'security fix' }, headers),
      await x.api.call(x.keys.acme, 'POST', path, { app_version: '17', reason: 'security fix' }, headers), // replayed
      await x.api.call(x.keys.acme, 'POST', path, { app_version: '18' }, headers), // key reused: 422
      await x.api.call(x.keys.acme, 'POST', path, { app_version: '18' }, { 'if-match': '"1"' }),
      await x.api.call(x.keys.acme, 'POST', `/v1/deployments/${removed.id}/upgrade`, { app_version: '17' }),
      await x.api.call(x.keys.acme, 'POST', `/v1/deployments/${missing}/upgrade`, { app_version: '17' }),
      await x.api.call(x.keys.acme, 'POST', path, { app_version: '!' }),
      await x.api.call(x.keys.reader, 'POST', path, { app_version: '17' }),
      await x.api.call(x.keys.acme, 'POST', path, 'app_version=17', { 'content-type': 'text/plain' }),
    ];
  },

  'POST /v1/deployments/{id}/restart': async (x) => {
    const { id } = await newDeployment(x, 'restart-me');
    const path = `/v1/deployments/${id}/restart`;
    return [
      await x.api.call(x.keys.acme, 'POST', path),
      await x.api.call(x.keys.acme, 'POST', path, { reason: 'stuck' }, { 'idempotency-key': 'restart-1' }),
      await x.api.call(x.keys.acme, 'POST', path, { reason: 'other' }, { 'idempotency-key': 'restart-1' }), // key reused: 422
      await x.api.call(x.keys.acme, 'POST', path, {}, { 'if-match': '"1"' }),
      await x.api.call(x.keys.acme, 'POST', `/v1/deployments/${missing}/restart`),
      await x.api.call(x.keys.acme, 'POST', path, { unknown: true }),
      await x.api.call(x.keys.reader, 'POST', path),
    ];
  },
};

export const cases = { ...operationCases, ...historyCases, ...timeTravelCases, ...complianceCases } as Record<RouteKey, (x: Ctx) => Promise<Response[]>>;
