import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createDb } from '../../src/db/client.ts';
import { freePort } from '../../src/db/embedded.ts';
import { createTestApi, type TestApi } from './harness.ts';

let api: TestApi;
let key: string;
beforeAll(async () => {
  api = await createTestApi();
  key = await api.key('acme', ['read', 'deploy'], 'ops');
});
afterAll(async () => {
  await api?.drop();
});

describe('operations', () => {
  it('/openapi.json lists every route; /docs serves the reference', async () => {
    const doc = await (await api.app.request('/openapi.json')).json() as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toBe('3.1.0');
    const routes = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
    for (const r of [
      'GET /healthz', 'GET /readyz', 'GET /metrics', 'POST /v1/deployments', 'GET /v1/deployments', 'GET /v1/deployments/{id}',
      'PATCH /v1/deployments/{id}', 'DELETE /v1/deployments/{id}', 'POST /v1/deployments/{id}/upgrade',
      'POST /v1/deployments/{id}/restart', 'GET /v1/deployments/{id}/history', 'GET /v1/events', 'GET /v1/events/feed',
      'POST /v1/tools/get-app-history', 'POST /mcp',
    ]) expect(routes).toContain(r);
    const docs = await api.app.request('/docs');
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('/openapi.json');
  });

  it('/metrics has request durations by route and status, and audit events by action', async () => {
    const d = await (await api.call(key, 'POST', '/v1/deployments', { name: 'm', recipe: 'redis', app_version: '7' })).json();
    await api.call(key, 'POST', `/v1/deployments/${d.id}/upgrade`, { app_version: '7.4' });
    await api.call(key, 'GET', `/v1/deployments/${d.id}`);
    const text = await (await api.app.request('/metrics')).text();
    expect(text).toMatch(/shipslog_http_request_duration_seconds_count\{method="GET",route="\/v1\/deployments\/:id",status="200"\} 1/);
    expect(text).toMatch(/shipslog_audit_events_written_total\{action="created"\} 1/);
    expect(text).toMatch(/shipslog_audit_events_written_total\{action="upgraded"\} 1/);
  });

  it('logs one JSON line per request with its request id, and no secret', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({ write: (chunk, _e, cb) => { lines.push(JSON.parse(String(chunk))); cb(); } });
    const log = pino({ level: 'info' }, sink);
    const app = createApp({ db: api.t.db, config: loadConfig({ LOG_LEVEL: 'info' }), log, fingerprintKey: Buffer.alloc(32, 1) });
    const res = await app.request('/v1/deployments', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'x-request-id': 'req-123' },
      body: JSON.stringify({ name: 'logged', recipe: 'redis', app_version: '7', secrets: { REDIS_PASSWORD: 'topsecret-value' } }),
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-request-id')).toBe('req-123');
    const line = lines.find((l) => l.requestId === 'req-123');
    expect(line).toMatchObject({ method: 'POST', route: '/v1/deployments', status: 201 });
    expect(JSON.stringify(lines)).not.toContain('topsecret-value');
    expect(JSON.stringify(lines)).not.toContain(key);
  });

  it('/readyz answers 503 while the database is unreachable, and API calls 503 problem+json', async () => {
    const port = await freePort();
    const dead = createDb(`postgres://nobody:x@127.0.0.1:${port}/none`, { max: 1 });
    const app = createApp({ db: dead, config: loadConfig({}), log: pino({ level: 'silent' }), fingerprintKey: Buffer.alloc(32) });
    try {
      const ready = await app.request('/readyz');
      expect(ready.status).toBe(503);
      expect((await app.request('/healthz')).status).toBe(200);
      const call = await app.request('/v1/deployments', { headers: { authorization: `Bearer ${key}` } });
      expect(call.status).toBe(503);
      expect(call.headers.get('content-type')).toContain('application/problem+json');
    } finally {
      await dead.end({ timeout: 1 });
    }
    expect((await api.app.request('/readyz')).status).toBe(200);
  });

  it('over real HTTP, records the source IP, user agent and correlation id of a change', async () => {
    const { serve } = await import('@hono/node-server');
    const port = await freePort();
    const server = serve({ fetch: api.app.fetch, port, hostname: '127.0.0.1' });
    try {
      await new Promise((r) => server.once('listening', r));
      const res = await fetch(`http://127.0.0.1:${port}/v1/deployments`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'user-agent': 'agent/1.0', 'x-correlation-id': 'chat-77' },
        body: JSON.stringify({ name: 'over-http', recipe: 'redis', app_version: '7', reason: 'asked in chat' }),
      });
      expect(res.status).toBe(201);
      const { id } = (await res.json()) as { id: string };
      const [e] = await api.t.db`
        select host(source_ip) as ip, user_agent, correlation_id, reason, request_id
        from shipslog.deployment_events where deployment_id = ${id}`;
      expect(e).toMatchObject({ ip: '127.0.0.1', user_agent: 'agent/1.0', correlation_id: 'chat-77', reason: 'asked in chat' });
      expect(e?.request_id).toBe(res.headers.get('x-request-id'));
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('runs request transactions as shipslog_app with the tenant, actor and a 10 s statement timeout', async () => {
    const { inTenantTx } = await import('../../src/api/tx.ts');
    const { createMetrics } = await import('../../src/api/metrics.ts');
    const { noClusterSecretWriter } = await import('../../src/secrets.ts');
    const deps = {
      db: api.t.db, config: loadConfig({}), log: pino({ level: 'silent' }), secretWriter: noClusterSecretWriter,
      fingerprintKey: async () => Buffer.alloc(32), metrics: createMetrics(), reconciler: null,
    };
    const app = createApp({ db: api.t.db, config: loadConfig({}), log: pino({ level: 'silent' }), fingerprintKey: Buffer.alloc(32) });
    app.get('/v1/probe-context', async (c) =>
      c.json(await inTenantTx(c, deps, async (tx) => (await tx`
        select current_user as role, current_setting('shipslog.tenant') as tenant,
               current_setting('shipslog.actor') as actor, current_setting('statement_timeout') as timeout`)[0])),
    );
    const res = await app.request('/v1/probe-context', { headers: { authorization: `Bearer ${key}` } });
    expect(await res.json()).toEqual({ role: 'shipslog_app', tenant: 'acme', actor: 'ops', timeout: '10s' });
  });
});
