import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from './harness.ts';

let api: TestApi;
let key: string;
beforeAll(async () => {
  api = await createTestApi();
  key = await api.key('acme', ['read', 'deploy'], 'alice');
});
afterAll(async () => {
  await api?.drop();
});

const create = (name: string, extra: Record<string, unknown> = {}) =>
  api.call(key, 'POST', '/v1/deployments', { name, recipe: 'postgresql', app_version: '16', config: { storage: '8Gi' }, ...extra });

describe('deployment lifecycle', () => {
  it('creates a deployment: 201, Location, ETag, defaults filled in by the recipe', async () => {
    const res = await create('orders-db', { reason: 'new service' });
    expect(res.status).toBe(201);
    const d = await res.json();
    expect(res.headers.get('location')).toBe(`/v1/deployments/${d.id}`);
    expect(res.headers.get('etag')).toBe('"1"');
    expect(d).toMatchObject({ tenant: 'acme', name: 'orders-db', recipe: 'postgresql', app_version: '16', status: 'pending', version: 1 });
    expect(d.config.storage).toBe('8Gi');
    const [e] = await api.t.db`select action, actor, actor_type, reason, db_role, request_id from shipslog.deployment_events where deployment_id = ${d.id}`;
    expect(e).toMatchObject({ action: 'created', actor: 'alice', actor_type: 'service', reason: 'new service', db_role: 'shipslog_app' });
    expect(e?.request_id).toBe(res.headers.get('x-request-id'));
  });

  it('gets, lists, patches with If-Match, upgrades, restarts and requests removal', async () => {
    const d = await (await create('shop-db')).json();
    const got = await api.call(key, 'GET', `/v1/deployments/${d.id}`);
    expect(got.status).toBe(200);
    expect(got.headers.get('etag')).toBe('"1"');
    const unchanged = await api.call(key, 'GET', `/v1/deployments/${d.id}`, undefined, { 'if-none-match': '"1"' });
    expect(unchanged.status).toBe(304);

    const list = await (await api.call(key, 'GET', '/v1/deployments?limit=200')).json();
    expect(list.items.map((x: { name: string }) => x.name)).toContain('shop-db');

    const patched = await api.call(key, 'PATCH', `/v1/deployments/${d.id}`, { config: { storage: '16Gi' }, reason: 'disk full' }, {
      'if-match': '"1"',
      'x-correlation-id': 'INC-42',
    });
    expect(patched.status).toBe(200);
    expect(patched.headers.get('etag')).toBe('"2"');
    expect((await api.call(key, 'GET', `/v1/deployments/${d.id}`, undefined, { 'if-none-match': '"1"' })).status).toBe(200);
    expect((await patched.json()).config.storage).toBe('16Gi');

    const stale = await api.call(key, 'PATCH', `/v1/deployments/${d.id}`, { config: { storage: '32Gi' } }, { 'if-match': '"1"' });
    expect(stale.status).toBe(412);
    expect(stale.headers.get('content-type')).toContain('application/problem+json');
    expect((await stale.json()).type).toBe('https://shipslog.dev/problems/precondition-failed');

    const up = await api.call(key, 'POST', `/v1/deployments/${d.id}/upgrade`, { app_version: '17', reason: 'security fix' });
    expect(up.status).toBe(200);
    expect((await up.json()).app_version).toBe('17');

    const rs = await api.call(key, 'POST', `/v1/deployments/${d.id}/restart`);
    expect(rs.status).toBe(200);

    const del = await api.call(key, 'DELETE', `/v1/deployments/${d.id}`, undefined, { 'x-reason': 'decommissioned' });
    expect(del.status).toBe(202);
    expect((await del.json()).deletion_requested_at).not.toBeNull();
    const again = await api.call(key, 'DELETE', `/v1/deployments/${d.id}`);
    expect(again.status).toBe(202);

    const after = await api.call(key, 'PATCH', `/v1/deployments/${d.id}`, { config: { storage: '64Gi' } });
    expect(after.status).toBe(409);

    const events = await api.t.db<{ action: string; reason: string | null; correlation_id: string | null }[]>`
      select action, reason, correlation_id from shipslog.deployment_events where deployment_id = ${d.id} order by chain_index`;
    expect(events.map((e) => e.action)).toEqual(['created', 'config_changed', 'upgraded', 'restarted', 'removal_requested']);
    expect(events[1]).toMatchObject({ reason: 'disk full', correlation_id: 'INC-42' });
    expect(events[4]?.reason).toBe('decommissioned');
  });

  it('rejects a duplicate name with 409 and an unknown recipe or bad config with 400', async () => {
    await create('dup-db');
    const dup = await create('dup-db');
    expect(dup.status).toBe(409);
    const badRecipe = await api.call(key, 'POST', '/v1/deployments', { name: 'x', recipe: 'oracle', app_version: '1' });
    expect(badRecipe.status).toBe(400);
    const badConfig = await create('bad-cfg', { config: { storage: 'lots' } });
    expect(badConfig.status).toBe(400);
    const body = await badConfig.json();
    expect(body.errors[0].path).toBe('config.storage');
  });

  it('fingerprints secrets, hands the values to the SecretWriter and stores none of them', async () => {
    const res = await create('with-secret', { secrets: { POSTGRES_PASSWORD: 'hunter2-very-secret' } });
    expect(res.status).toBe(201);
    const d = await res.json();
    expect(d.secrets_ref).toBe('with-secret-secrets');
    expect(d.secrets_fingerprint).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(api.secretWrites).toContainEqual({ namespace: 'acme', name: 'with-secret-secrets', keys: ['POSTGRES_PASSWORD'] });
    const [dump] = await api.t.db<{ n: number }[]>`
      select count(*)::int as n from shipslog.deployment_events e where e::text like '%hunter2%'`;
    expect(dump?.n).toBe(0);
    const rotated = await api.call(key, 'PATCH', `/v1/deployments/${d.id}`, { secrets: { POSTGRES_PASSWORD: 'new-one' } });
    expect(rotated.status).toBe(200);
    const [e] = await api.t.db`select action from shipslog.deployment_events where deployment_id = ${d.id} and chain_index = 2`;
    expect(e?.action).toBe('secrets_rotated');
  });

  it('merges concurrent config patches (none lost), and a no-op patch writes no event', async () => {
    const d = await (await create('merge-db')).json();
    // Five callers change five different keys at once: each merge sees the others' results.
    const patches = [{ storage: '20Gi' }, { resources: { cpu: '500m' } }, { resources: { memory: '1Gi' } }, { database: 'orders' }, { storageClassName: 'fast' }];
    const answers = await Promise.all(patches.map((config) => api.call(key, 'PATCH', `/v1/deployments/${d.id}`, { config })));
    expect(answers.map((r) => r.status)).toEqual(patches.map(() => 200));
    const [row] = await api.t.db`select version, chain_length, config from shipslog.deployments where id = ${d.id}`;
    expect(row).toMatchObject({ version: '6', chain_length: 6 });
    expect(row?.config).toEqual({ storage: '20Gi', replicas: 1, resources: { cpu: '500m', memory: '1Gi' }, database: 'orders', storageClassName: 'fast' });
    const before = await api.t.db`select count(*)::int as n from shipslog.deployment_events where deployment_id = ${d.id}`;
    const noop = await api.call(key, 'PATCH', `/v1/deployments/${d.id}`, { config: { storage: (await (await api.call(key, 'GET', `/v1/deployments/${d.id}`)).json()).config.storage } });
    expect(noop.status).toBe(200);
    const after = await api.t.db`select count(*)::int as n from shipslog.deployment_events where deployment_id = ${d.id}`;
    expect(after).toEqual(before);
  });

  it('a patch that makes the merged config invalid is a 400 and changes nothing', async () => {
    const d = await (await create('strict-db')).json();
    for (const config of [{ storage: 'lots' }, { replicas: 3 }, { unknown_knob: true }]) {
      const res = await api.call(key, 'PATCH', `/v1/deployments/${d.id}`, { config });
      expect(res.status).toBe(400);
      expect((await res.json()).errors[0].path).toMatch(/^config/);
    }
    const [row] = await api.t.db`select version, config from shipslog.deployments where id = ${d.id}`;
    expect(row).toMatchObject({ version: '1', config: { storage: '8Gi' } });
    const removed = await api.call(key, 'PATCH', `/v1/deployments/${d.id}`, { config: { storage: null } }, { 'content-type': 'application/merge-patch+json' });
    expect(removed.status).toBe(200);
    expect((await removed.json()).config).toEqual({ replicas: 1 });
  });
});
