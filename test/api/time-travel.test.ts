import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from './harness.ts';

/*
 * GET /v1/deployments/{id}/state and /diff (src/api/time-travel.ts): a deployment changed
 * through the API in every way a client can (nested config, upgrade, secret rotation, restart,
 * key removal, removal request), then read back at each of its events as the API answers.
 */

type State = Record<string, unknown>;

let api: TestApi;
let key: string;
let reader: string;
let deployer: string;
let other: string;
let global: string;
let id: string;
const secretValue = 's3cret-never-in-postgres';
/** After each event (by chain_index - 1): the row's audited state, read from PostgreSQL. */
const rows: (State | null)[] = [];
/** Each event's instant as history reports it (microseconds, UTC). */
let instants: string[] = [];

async function rowState(): Promise<State | null> {
  const [r] = await api.t.db<{ s: State }[]>`select shipslog.audited_state(d) as s from shipslog.deployments as d where d.id = ${id}`;
  return r?.s ?? null;
}

async function change(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<void> {
  const res = await api.call(key, method, path, body, headers);
  expect(res.status, `${method} ${path}`).toBeLessThan(300);
  rows.push(await rowState());
}

beforeAll(async () => {
  api = await createTestApi();
  key = await api.key('acme', ['read', 'deploy', 'audit'], 'acme-bot');
  reader = await api.key('acme', ['read'], 'acme-reader');
  deployer = await api.key('acme', ['deploy'], 'acme-deployer');
  other = await api.key('globex', ['read', 'deploy', 'audit'], 'globex-bot');
  global = await api.key(null, ['read'], 'ops');
  const created = await api.call(key, 'POST', '/v1/deployments', {
    name: 'orders-db', recipe: 'postgresql', app_version: '16',
    config: { storage: '8Gi', tuning: { work_mem: '4MB' } }, secrets: { POSTGRES_PASSWORD: secretValue },
  });
  id = (await created.json()).id;
  rows.push(await rowState());
  const at = `/v1/deployments/${id}`;
  const merge = { 'content-type': 'application/merge-patch+json' };
  await change('PATCH', at, { config: { tuning: { shared_buffers: '256MB', work_mem: '8MB' } } }, merge);
  await change('POST', `${at}/upgrade`, { app_version: '17', reason: 'security fix' });
  await change('PATCH', at, { secrets: { POSTGRES_PASSWORD: `${secretValue}-2` } });
  await change('POST', `${at}/restart`, { reason: 'stuck' });
  await change('PATCH', at, { config: { storage: '16Gi', tuning: { work_mem: null } } }, merge);
  await change('DELETE', at);
  const history = await (await api.call(key, 'GET', `${at}/history`)).json();
  instants = history.items.map((e: { at: string }) => e.at).reverse();
});
afterAll(async () => {
  await api?.drop();
});

const isObject = (v: unknown): v is State => typeof v === 'object' && v !== null && !Array.isArray(v);
function diffStates(a: State, b: State, prefix: string[] = []): { path: string; from: unknown; to: unknown }[] {
  const out: { path: string; from: unknown; to: unknown }[] = [];
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (isObject(a[k]) && isObject(b[k])) out.push(...diffStates(a[k], b[k], [...prefix, k]));
    else if (!isDeepStrictEqual(a[k], b[k])) out.push({ path: [...prefix, k].join('.'), from: a[k] ?? null, to: b[k] ?? null });
  }
  return out.sort((p, q) => (p.path < q.path ? -1 : 1));
}

describe('GET /v1/deployments/{id}/state', () => {
  it('at each event, the state is the row as it was; the present is checked against the row', async () => {
    expect(instants).toHaveLength(rows.length);
    expect(rows.length).toBe(7);
    for (const [k, at] of instants.entries()) {
      const res = await api.call(reader, 'GET', `/v1/deployments/${id}/state?at=${encodeURIComponent(at)}`);
      expect(res.status).toBe(200);
      const body = await res.json();
      expect({ k, event: body.event.chain_index, state: body.state }).toEqual({ k, event: k + 1, state: rows[k] });
      expect(body).toMatchObject({ deployment_id: id, tenant: 'acme', name: 'orders-db', at, head_chain_index: 7 });
      expect(body.reaches_head).toBe(k === 6);
      expect(body.matches_current).toBe(k === 6 ? true : null);
    }
    const now = await (await api.call(reader, 'GET', `/v1/deployments/${id}/state`)).json();
    expect(now).toMatchObject({ reaches_head: true, matches_current: true, event: { chain_index: 7, action: 'removal_requested' } });
    expect(now.state).toEqual(rows[6]);
    // What the history says happened is what the states show.
    expect(rows[3]!.secrets_fingerprint).not.toEqual(rows[2]!.secrets_fingerprint);
    expect(rows[4]!.restarted_at).not.toBeNull();
    expect(rows[5]!.config).toEqual({ storage: '16Gi', replicas: 1, tuning: { shared_buffers: '256MB' } });
  });

  it('a moment is a moment whatever its offset', async () => {
    const t = Date.parse(instants[2]!) + 1; // within event #3's millisecond, after it
    for (const at of [new Date(t).toISOString(), new Date(t + 2 * 3600_000).toISOString().replace('Z', '+02:00'), new Date(t - 5 * 3600_000).toISOString().replace('Z', '-05:00')]) {
      const body = await (await api.call(reader, 'GET', `/v1/deployments/${id}/state?at=${encodeURIComponent(at)}`)).json();
      expect({ at, event: body.event.chain_index, utc: body.at }).toEqual({ at, event: 3, utc: new Date(t).toISOString().replace('Z', '000Z') });
    }
  });

  it('never returns a secret value: the state holds the Secret\'s name and a fingerprint', async () => {
    for (const path of [`state?at=${encodeURIComponent(instants[3]!)}`, 'state', 'diff?from=1&to=7', 'diff?from=1']) {
      const text = await (await api.call(key, 'GET', `/v1/deployments/${id}/${path}`)).text();
      expect(text).not.toContain(secretValue);
    }
    const body = await (await api.call(key, 'GET', `/v1/deployments/${id}/state?at=${encodeURIComponent(instants[3]!)}`)).json();
    expect(body.state.secrets_ref).toBe('orders-db-secrets');
    expect(body.state.secrets_fingerprint).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
  });

  it('a moment before creation is 404 saying when it was created; bad input is 400 naming the field', async () => {
    const before = new Date(Date.parse(instants[0]!) - 1000).toISOString();
    const res = await api.call(reader, 'GET', `/v1/deployments/${id}/state?at=${before}`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect((await res.json()).detail).toBe(`deployment acme/orders-db (${id}) did not exist yet at ${before.replace('Z', '000Z')}: it was created at ${instants[0]}`);
    for (const q of ['at=yesterday', 'at=2026-01-01T00:00:00', 'at=0000-12-31T23:00:00Z', 'when=2026-01-01T00:00:00Z']) {
      const bad = await api.call(reader, 'GET', `/v1/deployments/${id}/state?${q}`);
      expect(bad.status, q).toBe(400);
      expect((await bad.json()).errors[0].path, q).toBe(q.startsWith('when') ? '(root)' : 'at');
    }
    expect((await api.call(reader, 'GET', '/v1/deployments/00000000-0000-4000-8000-000000000000/state')).status).toBe(404);
    expect((await api.call(reader, 'GET', '/v1/deployments/not-a-uuid/state')).status).toBe(400);
  });
});

describe('GET /v1/deployments/{id}/diff', () => {
  it('between any two events, it is the difference of the states there (the events between, composed)', async () => {
    const states: (State | null)[] = [];
    for (const at of instants) states.push((await (await api.call(reader, 'GET', `/v1/deployments/${id}/state?at=${encodeURIComponent(at)}`)).json()).state);
    for (let from = 1; from <= 7; from++) {
      for (let to = 1; to <= 7; to++) {
        const res = await api.call(reader, 'GET', `/v1/deployments/${id}/diff?from=${from}&to=${to}`);
        expect(res.status).toBe(200);
        const body = await res.json();
        expect(body.from.chain_index).toBe(from);
        expect(body.to.chain_index).toBe(to);
        const got = body.changes.map((c: { path: string; from: unknown; to: unknown }) => ({ path: c.path, from: c.from, to: c.to }));
        expect({ from, to, got }).toEqual({ from, to, got: diffStates(states[from - 1] ?? {}, states[to - 1] ?? {}) });
      }
    }
    const whole = await (await api.call(reader, 'GET', `/v1/deployments/${id}/diff?from=1`)).json();
    expect(whole.to).toMatchObject({ chain_index: 7, action: 'removal_requested' });
    expect(whole.changes.map((c: { description: string }) => c.description)).toEqual(expect.arrayContaining([
      'upgraded 16 -> 17', 'secrets rotated', 'storage: 8Gi -> 16Gi', 'tuning.work_mem: 4MB -> none', 'tuning.shared_buffers: none -> 256MB',
    ]));
  });

  it('an index outside the chain or malformed is 400 naming the parameter', async () => {
    for (const [q, field] of [['from=1&to=8', 'to'], ['from=9', 'from'], ['from=0', 'from'], ['from=x', 'from'], ['to=2', 'from'], ['from=1&to=2147483648', 'to']] as const) {
      const res = await api.call(reader, 'GET', `/v1/deployments/${id}/diff?${q}`);
      expect(res.status, q).toBe(400);
      const body = await res.json();
      expect(body.errors[0].path, q).toBe(field);
      if (q === 'from=1&to=8') expect(body.detail).toBe(`deployment ${id} has events #1 to #7: #8 is not one of them`);
    }
  });
});

describe('tenants and scopes', () => {
  it('another tenant\'s deployment is 404 for both, as if absent; a global key sees it', async () => {
    for (const path of ['state', `state?at=${encodeURIComponent(instants[2]!)}`, 'diff?from=1&to=2']) {
      const res = await api.call(other, 'GET', `/v1/deployments/${id}/${path}`);
      expect(res.status, path).toBe(404);
      expect(await res.text()).not.toContain('orders-db');
      expect((await api.call(global, 'GET', `/v1/deployments/${id}/${path}`)).status, path).toBe(200);
    }
  });

  it('needs the read scope', async () => {
    expect((await api.call(deployer, 'GET', `/v1/deployments/${id}/state`)).status).toBe(403);
    expect((await api.call(deployer, 'GET', `/v1/deployments/${id}/diff?from=1`)).status).toBe(403);
    expect((await api.call(null, 'GET', `/v1/deployments/${id}/state`)).status).toBe(401);
  });
});
