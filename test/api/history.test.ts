import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from './harness.ts';
import { mcpCall } from './mcp-client.ts';

let api: TestApi;
let key: string;
let id: string;
beforeAll(async () => {
  api = await createTestApi();
  key = await api.key('acme', ['read', 'deploy', 'audit'], 'alice');
  const res = await api.call(key, 'POST', '/v1/deployments', { name: 'orders-db', recipe: 'postgresql', app_version: '16', config: { storage: '8Gi' } });
  id = (await res.json()).id;
  await api.call(key, 'PATCH', `/v1/deployments/${id}`, { config: { storage: '16Gi' }, reason: 'disk 91% full' }, { 'x-correlation-id': 'INC-7' });
  await api.call(key, 'POST', `/v1/deployments/${id}/upgrade`, { app_version: '17', reason: 'CVE-2026-1' });
  await api.call(key, 'POST', `/v1/deployments/${id}/restart`, { reason: 'stuck connections' });
  // The reconciler (here: plain SQL as the owner) reports a failure.
  await api.t.db`update shipslog.deployments set status = 'failed', status_message = 'ImagePullBackOff' where id = ${id}`;
});
afterAll(async () => {
  await api?.drop();
});

describe('GET /v1/deployments/{id}/history', () => {
  it('answers "what happened?" newest first with readable changes, actor, reason and when', async () => {
    const res = await api.call(key, 'GET', `/v1/deployments/${id}/history`);
    expect(res.status).toBe(200);
    const { items, next_cursor } = await res.json();
    expect(next_cursor).toBeNull();
    expect(items.map((e: { action: string }) => e.action)).toEqual(['status_changed', 'restarted', 'upgraded', 'config_changed', 'created']);
    const cfg = items[3];
    expect(cfg).toMatchObject({ actor: 'alice', actor_type: 'service', reason: 'disk 91% full', correlation_id: 'INC-7', when: 'just now' });
    expect(cfg.changes).toEqual(['storage: 8Gi -> 16Gi']);
    expect(cfg.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(items[2].changes).toEqual(['upgraded 16 -> 17']);
    expect(items[4].changes).toEqual(['created postgresql 16']);
  });

  it('pages with a cursor and filters by action, actor and time', async () => {
    const p1 = await (await api.call(key, 'GET', `/v1/deployments/${id}/history?limit=2`)).json();
    expect(p1.items).toHaveLength(2);
    const p2 = await (await api.call(key, 'GET', `/v1/deployments/${id}/history?limit=2&cursor=${p1.next_cursor}`)).json();
    const p3 = await (await api.call(key, 'GET', `/v1/deployments/${id}/history?limit=2&cursor=${p2.next_cursor}`)).json();
    expect([...p1.items, ...p2.items, ...p3.items].map((e: { chain_index: number }) => e.chain_index)).toEqual([5, 4, 3, 2, 1]);
    const upgrades = await (await api.call(key, 'GET', `/v1/deployments/${id}/history?action=upgraded,created`)).json();
    expect(upgrades.items.map((e: { action: string }) => e.action)).toEqual(['upgraded', 'created']);
    const byAlice = await (await api.call(key, 'GET', `/v1/deployments/${id}/history?actor=alice`)).json();
    expect(byAlice.items).toHaveLength(4);
    const future = new Date(Date.now() + 60_000).toISOString();
    const none = await (await api.call(key, 'GET', `/v1/deployments/${id}/history?since=${future}`)).json();
    expect(none.items).toEqual([]);
    expect((await api.call(key, 'GET', `/v1/deployments/${id}/history?action=exploded`)).status).toBe(400);
  });

  it('format=raw returns the stored events with hashes that chain', async () => {
    const { items } = await (await api.call(key, 'GET', `/v1/deployments/${id}/history?format=raw`)).json();
    const [login] = await api.t.db<{ u: string }[]>`select session_user as u`;
    expect(items[0]).toMatchObject({ chain_index: 5, tenant: 'acme', db_role: login?.u });
    expect(items[1]).toMatchObject({ chain_index: 4, db_role: 'shipslog_app', actor: 'alice' });
    expect(items[0].hash).toMatch(/^[0-9a-f]{64}$/);
    const { createHash } = await import('node:crypto');
    // hash = SHA-256(previous hash || payload text): recomputed here from the stored payload.
    const [row] = await api.t.db<{ payload: string }[]>`
      select shipslog.event_payload(e)::text as payload from shipslog.deployment_events e where deployment_id = ${id} and chain_index = 5`;
    const expected = createHash('sha256').update(Buffer.from(items[1].hash, 'hex')).update(row?.payload ?? '').digest('hex');
    expect(items[0].hash).toBe(expected);
  });

  it('keeps answering after the deployment row is gone, and 404s an unknown id', async () => {
    const res = await api.call(key, 'POST', '/v1/deployments', { name: 'gone-soon', recipe: 'redis', app_version: '7' });
    const gone = (await res.json()).id;
    await api.call(key, 'DELETE', `/v1/deployments/${gone}`);
    await api.t.db`delete from shipslog.deployments where id = ${gone}`;
    const h = await (await api.call(key, 'GET', `/v1/deployments/${gone}/history`)).json();
    expect(h.items.map((e: { action: string }) => e.action)).toEqual(['removed', 'removal_requested', 'created']);
    expect((await api.call(key, 'GET', `/v1/deployments/${crypto.randomUUID()}/history`)).status).toBe(404);
    expect((await api.call(key, 'GET', '/v1/deployments/not-a-uuid/history')).status).toBe(400);
  });
});

describe('GET /v1/events', () => {
  it('combines filters: every failed production change in the last 24 hours', async () => {
    const since = new Date(Date.now() - 24 * 3600_000).toISOString();
    const res = await api.call(key, 'GET', `/v1/events?status=failed&environment=production&since=${since}`);
    const { items } = await res.json();
    expect(items).toHaveLength(1);
    const [login] = await api.t.db<{ u: string }[]>`select session_user as u`;
    expect(items[0]).toMatchObject({ name: 'orders-db', action: 'status_changed', actor: login?.u, actor_type: 'database' });
    const staging = await (await api.call(key, 'GET', `/v1/events?status=failed&environment=staging`)).json();
    expect(staging.items).toEqual([]);
  });

  it('filters by deployment, action and actor, sorted newest first, with a cursor', async () => {
    const all = await (await api.call(key, 'GET', `/v1/events?deployment_id=${id}`)).json();
    expect(all.items.map((e: { chain_index: number }) => e.chain_index)).toEqual([5, 4, 3, 2, 1]);
    const p1 = await (await api.call(key, 'GET', `/v1/events?deployment_id=${id}&limit=3`)).json();
    const p2 = await (await api.call(key, 'GET', `/v1/events?deployment_id=${id}&limit=3&cursor=${p1.next_cursor}`)).json();
    expect([...p1.items, ...p2.items].map((e: { chain_index: number }) => e.chain_index)).toEqual([5, 4, 3, 2, 1]);
    const ups = await (await api.call(key, 'GET', '/v1/events?action=upgraded&actor=alice')).json();
    expect(ups.items).toHaveLength(1);
    expect((await api.call(key, 'GET', '/v1/events?cursor=garbage')).status).toBe(400);
    expect((await api.call(key, 'GET', '/v1/events?since=yesterday')).status).toBe(400);
  });
});

describe('the agent tool get-app-history', () => {
  it('answers over REST by id or tenant/name with [{ action, when, reason, changes }]', async () => {
    for (const appId of [id, 'acme/orders-db', 'orders-db']) {
      const res = await api.call(key, 'POST', '/v1/tools/get-app-history', { appId });
      expect(res.status).toBe(200);
      const items = await res.json();
      expect(items[3]).toMatchObject({ action: 'config_changed', when: 'just now', reason: 'disk 91% full', changes: ['storage: 8Gi -> 16Gi'] });
    }
    expect((await api.call(key, 'POST', '/v1/tools/get-app-history', { appId: 'acme/nothing' })).status).toBe(404);
    expect((await api.call(key, 'POST', '/v1/tools/get-app-history', { appId: "x'; drop table--" })).status).toBe(400);
  });

  it('answers the same over MCP (streamable HTTP) and refuses a missing key', async () => {
    const result = await mcpCall(api.app, key, 'get-app-history', { appId: 'acme/orders-db' });
    const items = JSON.parse(result.content[0]?.text ?? '[]');
    expect(items[3]).toMatchObject({ action: 'config_changed', changes: ['storage: 8Gi -> 16Gi'] });
    const list = await api.app.request('/mcp', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(JSON.stringify(await list.json())).toContain('get-app-history');
    const anon = await api.app.request('/mcp', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(anon.status).toBe(401);
  });
});
