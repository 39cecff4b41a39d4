import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from './harness.ts';
import { mcpCall } from './mcp-client.ts';

let api: TestApi;
let keyA: string;
let keyB: string;
let global: string;
let idA: string;
let idB: string;

beforeAll(async () => {
  api = await createTestApi();
  keyA = await api.key('acme', ['read', 'deploy', 'audit'], 'acme-bot');
  keyB = await api.key('beta', ['read', 'deploy', 'audit'], 'beta-bot');
  global = await api.key(null, ['admin'], 'root');
  const body = { name: 'orders-db', recipe: 'postgresql', app_version: '16', config: { storage: '8Gi' } };
  idA = (await (await api.call(keyA, 'POST', '/v1/deployments', body)).json()).id;
  idB = (await (await api.call(keyB, 'POST', '/v1/deployments', body)).json()).id;
  await api.call(keyB, 'PATCH', `/v1/deployments/${idB}`, { config: { storage: '16Gi' } });
});
afterAll(async () => {
  await api?.drop();
});

describe('tenant isolation through every route', () => {
  it('tenant A cannot read, change or remove tenant B deployments (404, as if absent)', async () => {
    const attempts: [string, string, unknown?][] = [
      ['GET', `/v1/deployments/${idB}`],
      ['PATCH', `/v1/deployments/${idB}`, { config: { storage: '1Gi' } }],
      ['POST', `/v1/deployments/${idB}/upgrade`, { app_version: '17' }],
      ['POST', `/v1/deployments/${idB}/restart`, {}],
      ['DELETE', `/v1/deployments/${idB}`],
      ['GET', `/v1/deployments/${idB}/history`],
      ['GET', `/v1/deployments/${idB}/history?format=raw`],
      ['POST', '/v1/tools/get-app-history', { appId: idB }],
      ['POST', '/v1/tools/get-app-history', { appId: 'beta/orders-db' }],
    ];
    for (const [method, path, body] of attempts) {
      const res = await api.call(keyA, method, path, body);
      expect(res.status, `${method} ${path}`).toBe(404);
    }
    const [b] = await api.t.db`select version, config, deletion_requested_at from shipslog.deployments where id = ${idB}`;
    expect(b).toMatchObject({ version: '2', config: { storage: '16Gi' }, deletion_requested_at: null });
  });

  it('tenant A lists, queries and tails only its own rows', async () => {
    const list = await (await api.call(keyA, 'GET', '/v1/deployments')).json();
    expect(list.items.map((d: { id: string }) => d.id)).toEqual([idA]);
    for (const q of [`deployment_id=${idB}`, 'tenant=beta', 'name=orders-db', '']) {
      const events = await (await api.call(keyA, 'GET', `/v1/events?${q}`)).json();
      expect(events.items.every((e: { tenant: string }) => e.tenant === 'acme'), q).toBe(true);
    }
    // The feed holds events back while any older transaction on the server is open (xmin is
    // cluster-wide, and parallel test files share the server): poll until they show.
    let feed = { events: [] as { tenant: string }[] };
    for (const deadline = Date.now() + 20_000; feed.events.length === 0 && Date.now() < deadline; ) {
      feed = await (await api.call(keyA, 'GET', '/v1/events/feed?limit=1000')).json();
      if (feed.events.length === 0) await new Promise((r) => setTimeout(r, 50));
    }
    expect(feed.events.length).toBeGreaterThan(0);
    expect(feed.events.every((e: { tenant: string }) => e.tenant === 'acme')).toBe(true);
    // The bare name resolves in the caller's own tenant.
    const own = await (await api.call(keyA, 'POST', '/v1/tools/get-app-history', { appId: 'orders-db' })).json();
    expect(own).toHaveLength(1);
  });

  it('a tenant key cannot create in another tenant; a global key sees and acts in all', async () => {
    const res = await api.call(keyA, 'POST', '/v1/deployments', { tenant: 'beta', name: 'sneaky', recipe: 'redis', app_version: '7' });
    expect(res.status).toBe(403);
    const all = await (await api.call(global, 'GET', '/v1/deployments')).json();
    expect(all.items.map((d: { tenant: string }) => d.tenant).sort()).toEqual(['acme', 'beta']);
    const noTenant = await api.call(global, 'POST', '/v1/deployments', { name: 'x', recipe: 'redis', app_version: '7' });
    expect(noTenant.status).toBe(400);
    const made = await api.call(global, 'POST', '/v1/deployments', { tenant: 'gamma', name: 'cache', recipe: 'redis', app_version: '7' });
    expect(made.status).toBe(201);
  });

  it('over MCP, tenant A gets no history of B', async () => {
    const mine = await mcpCall(api.app, keyA, 'get-app-history', { appId: idA });
    expect(mine.isError).toBeFalsy();
    const theirs = await mcpCall(api.app, keyA, 'get-app-history', { appId: idB });
    expect(theirs.isError).toBe(true);
  });
});

describe('row-level security in the database itself', () => {
  it('a session as shipslog_app scoped to tenant A sees, changes and creates no row of B', async () => {
    await api.t.db.begin(async (tx) => {
      await tx`select set_config('role', 'shipslog_app', true), set_config('shipslog.tenant', 'acme', true)`;
      const d = await tx`select tenant from shipslog.deployments`;
      expect(d.map((r) => r.tenant)).toEqual(['acme']);
      const e = await tx`select distinct tenant from shipslog.deployment_events`;
      expect(e.map((r) => r.tenant)).toEqual(['acme']);
      const byId = await tx`select 1 from shipslog.deployment_events where deployment_id = ${idB}`;
      expect(byId).toHaveLength(0);
      const hist = await tx`select * from shipslog.history('beta', 'orders-db')`;
      expect(hist).toHaveLength(0);
      const upd = await tx`update shipslog.deployments set app_version = '99' where tenant = 'beta'`;
      expect(upd.count).toBe(0);
      const del = await tx`delete from shipslog.deployments where id = ${idB}`;
      expect(del.count).toBe(0);
    });
    await expect(
      api.t.db.begin(async (tx) => {
        await tx`select set_config('role', 'shipslog_app', true), set_config('shipslog.tenant', 'acme', true)`;
        await tx`insert into shipslog.deployments (tenant, name, recipe, app_version) values ('beta', 'planted', 'redis', '7')`;
      }),
    ).rejects.toMatchObject({ code: '42501' });
  });

  it('without a tenant setting shipslog_app sees nothing; auditors see everything', async () => {
    const none = await api.t.db.begin(async (tx) => {
      await tx`select set_config('role', 'shipslog_app', true)`;
      return tx`select 1 from shipslog.deployments union all select 1 from shipslog.deployment_events`;
    });
    expect(none).toHaveLength(0);
    const audited = await api.t.db.begin(async (tx) => {
      await tx`select set_config('role', 'shipslog_auditor', true)`;
      return tx`select distinct tenant from shipslog.deployments order by tenant`;
    });
    expect(audited.map((r) => r.tenant)).toEqual(['acme', 'beta', 'gamma']);
  });
});
