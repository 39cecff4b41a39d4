import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi, type TestResponse } from './harness.ts';
import { postgresText } from './hostile.ts';

// Issue 9, "Hostile input": every class a reliability tester found answering 500, echoing
// PostgreSQL's message, or silently changing what it was sent. Each request below must get
// a 4xx problem+json whose text is shipslog's own, and change no table (the fuzz suites,
// fuzz.test.ts and ../agent/api-fuzz.test.ts, throw the same classes in at random).

let api: TestApi;
let acme: string;
let globex: string;
let global: string;
let ownId: string;

beforeAll(async () => {
  api = await createTestApi();
  acme = await api.key('acme', ['read', 'deploy', 'audit'], 'acme-agent');
  globex = await api.key('globex', ['read', 'deploy', 'audit'], 'globex-agent');
  global = await api.key(null, ['admin'], 'ops');
  const created = await api.call(acme, 'POST', '/v1/deployments', { name: 'target', recipe: 'postgresql', app_version: '16', config: { storage: '8Gi' } });
  ownId = (await created.json()).id;
  expect((await api.call(acme, 'POST', '/v1/agent-messages', { message_id: 'placeholder', project_id: 'shop', model: 'm' })).status).toBe(201);
});
afterAll(async () => {
  await api?.drop();
});

async function tables(): Promise<string> {
  const [row] = await api.t.db<{ f: string }[]>`
    select md5(concat_ws('|',
      (select string_agg(d::text, ',' order by id) from shipslog.deployments as d),
      (select string_agg(e.seq::text, ',' order by seq) from shipslog.deployment_events as e),
      (select string_agg(m::text, ',' order by tenant, message_id) from shipslog.agent_messages as m),
      (select string_agg(p::text, ',' order by id) from shipslog.projects as p),
      (select count(*) from shipslog.idempotency_keys))) as f`;
  return row!.f;
}

/** Checks each answer: the expected 4xx, problem+json, no PostgreSQL text. Returns the failures. */
async function refused(cases: [string, Promise<TestResponse>, number][]): Promise<string[]> {
  const failures: string[] = [];
  for (const [name, pending, status] of cases) {
    const res = await pending;
    const text = await res.text();
    const type = res.headers.get('content-type') ?? '';
    if (res.status !== status) failures.push(`${name}: ${res.status} (want ${status}) ${text.slice(0, 160)}`);
    else if (!type.includes('application/problem+json')) failures.push(`${name}: ${type}, not problem+json`);
    if (postgresText.test(text)) failures.push(`${name}: echoes PostgreSQL: ${text.slice(0, 200)}`);
  }
  return failures;
}

/** A fresh deployment name per request: a refusal must not hide behind "name taken". */
let names = 0;
const fresh = () => `hostile-${++names}`;
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const json = (text: string, headers: Record<string, string> = {}) => ({ body: text, headers: { 'content-type': 'application/json', ...headers } });
const send = (key: string, method: string, path: string, init?: { body?: string | Uint8Array; headers?: Record<string, string> }) =>
  api.app.request(path, { method, ...init, headers: { authorization: `Bearer ${key}`, ...init?.headers } }) as Promise<TestResponse>;

describe('hostile input: 4xx problem+json, never PostgreSQL text, nothing written', () => {
  it('bodies nested 10,000 (and 100,000) levels anywhere', async () => {
    const before = await tables();
    const objects = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
    const arrays = (n: number) => '['.repeat(n) + ']'.repeat(n);
    const cases: [string, Promise<TestResponse>, number][] = [];
    for (const [label, deep] of [['objects 10k', objects(10_000)], ['arrays 10k', arrays(10_000)], ['arrays 100k', arrays(100_000)]] as const) {
      const create = (field: string) => `{"name":"${fresh()}","recipe":"postgresql","app_version":"16","${field}":${deep}}`;
      cases.push(
        [`${label}: create config`, send(acme, 'POST', '/v1/deployments', json(create('config'))), 400],
        [`${label}: create config.tuning`, send(acme, 'POST', '/v1/deployments', json(`{"name":"${fresh()}","recipe":"postgresql","app_version":"16","config":{"tuning":{"x":${deep}}}}`)), 400],
        [`${label}: create secrets`, send(acme, 'POST', '/v1/deployments', json(create('secrets'))), 400],
        [`${label}: create depends_on`, send(acme, 'POST', '/v1/deployments', json(create('depends_on'))), 400],
        [`${label}: create unknown field`, send(acme, 'POST', '/v1/deployments', json(create('x'))), 400],
        [`${label}: whole body`, send(acme, 'POST', '/v1/deployments', json(deep)), 400],
        [`${label}: patch config`, send(acme, 'PATCH', `/v1/deployments/${ownId}`, json(`{"config":{"x":${deep}}}`)), 400],
        [`${label}: merge patch`, send(acme, 'PATCH', `/v1/deployments/${ownId}`, json(`{"config":${deep}}`, { 'content-type': 'application/merge-patch+json' })), 400],
        [`${label}: upgrade`, send(acme, 'POST', `/v1/deployments/${ownId}/upgrade`, json(`{"app_version":${deep}}`)), 400],
        [`${label}: restart`, send(acme, 'POST', `/v1/deployments/${ownId}/restart`, json(`{"reason":${deep}}`)), 400],
        [`${label}: tool`, send(acme, 'POST', '/v1/tools/get-app-history', json(`{"appId":${deep}}`)), 400],
        [`${label}: agent start`, send(acme, 'POST', '/v1/agent-messages', json(`{"message_id":"deep","project_id":"shop","model":"m","context_layers":${deep}}`)), 400],
        [`${label}: agent finalise`, send(acme, 'PATCH', '/v1/agent-messages/placeholder', json(`{"reasoning":${deep},"tokens":{"prompt":1,"completion":1,"total":2},"cost":{"prompt":"0","completion":"0","total":"0"}}`)), 400],
        [`${label}: mcp`, send(acme, 'POST', '/mcp', json(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get-app-history","arguments":{"appId":"target","x":${deep}}}}`, { accept: 'application/json, text/event-stream' })), 400],
      );
    }
    expect(await refused(cases)).toEqual([]);
    expect(await tables()).toBe(before);
  });

  it('dates outside what PostgreSQL stores, in since, until, from, to, created_at and cursors', async () => {
    const before = await tables();
    const outside = ['0000-01-01T00:00:00Z', '0001-01-01T00:00:00+14:00', '9999-12-31T23:59:59-14:00'];
    const cases: [string, Promise<TestResponse>, number][] = [];
    for (const at of outside) {
      const q = encodeURIComponent(at);
      cases.push(
        [`history since=${at}`, send(acme, 'GET', `/v1/deployments/${ownId}/history?since=${q}`), 400],
        [`history until=${at}`, send(acme, 'GET', `/v1/deployments/${ownId}/history?until=${q}`), 400],
        [`events since=${at}`, send(acme, 'GET', `/v1/events?since=${q}`), 400],
        [`events until=${at}`, send(acme, 'GET', `/v1/events?until=${q}`), 400],
        [`analytics from=${at}`, send(acme, 'GET', `/v1/projects/shop/agent-analytics?from=${q}&to=2026-01-01T00:00:00Z`), 400],
        [`analytics to=${at}`, send(acme, 'GET', `/v1/projects/shop/agent-analytics?from=2026-01-01T00:00:00Z&to=${q}`), 400],
        [`agent created_at=${at}`, send(acme, 'POST', '/v1/agent-messages', json(JSON.stringify({ message_id: 'dated', project_id: 'shop', model: 'm', created_at: at }))), 400],
      );
    }
    // The events cursor holds [occurred_at, seq]: a date PostgreSQL cannot read, or one that is not ISO 8601.
    for (const at of ['0000-01-01T00:00:00.000Z', '+275760-09-13T00:00:00.000Z', '-000001-01-01T00:00:00.000Z', '1', 'Tue, 01 Jan 2030 00:00:00 GMT', '2026-02-30T00:00:00Z']) {
      cases.push([`events cursor at ${at}`, send(acme, 'GET', `/v1/events?cursor=${b64([at, 5])}`), 400]);
    }
    expect(await refused(cases)).toEqual([]);
    expect(await tables()).toBe(before);
    // The edges of the range are fine.
    expect((await send(acme, 'GET', `/v1/events?since=0001-01-01T00:00:00Z&until=9999-12-31T23:59:59Z`)).status).toBe(200);
  });

  it('numeric cursors beyond their column type', async () => {
    const cases: [string, Promise<TestResponse>, number][] = [
      ['history cursor 9999999999 (chain_index is integer)', send(acme, 'GET', `/v1/deployments/${ownId}/history?cursor=9999999999`), 400],
      ['history cursor 2147483648', send(acme, 'GET', `/v1/deployments/${ownId}/history?cursor=2147483648`), 400],
      ['feed txid 2^64 (xid8)', send(acme, 'GET', '/v1/events/feed?after=18446744073709551616:0'), 400],
      ['feed txid 20 nines', send(acme, 'GET', '/v1/events/feed?after=99999999999999999999:0'), 400],
      ['events cursor seq 2^63 (bigint)', send(acme, 'GET', `/v1/events?cursor=${b64(['2026-01-01T00:00:00.000Z', 2 ** 63])}`), 400],
      ['events cursor seq -1', send(acme, 'GET', `/v1/events?cursor=${b64(['2026-01-01T00:00:00.000Z', -1])}`), 400],
      // Not digits at all: the range checks must not choke on them either.
      ['history cursor x', send(acme, 'GET', `/v1/deployments/${ownId}/history?cursor=x1`), 400],
      ['feed after nonsense', send(acme, 'GET', '/v1/events/feed?after=nonsense'), 400],
      ['feed after x:1', send(acme, 'GET', '/v1/events/feed?after=x:1'), 400],
      ['since yesterday', send(acme, 'GET', '/v1/events?since=yesterday'), 400],
    ];
    expect(await refused(cases)).toEqual([]);
    expect((await send(acme, 'GET', `/v1/deployments/${ownId}/history?cursor=2147483647`)).status).toBe(200);
    expect((await send(acme, 'GET', '/v1/events/feed?after=18446744073709551615:0')).status).toBe(200);
  });

  it('NUL in query parameters, cursors and JSON strings', async () => {
    const before = await tables();
    const create = (patch: Record<string, unknown>) => json(JSON.stringify({ name: fresh(), recipe: 'postgresql', app_version: '16', ...patch }));
    const cases: [string, Promise<TestResponse>, number][] = [
      ['events actor', send(acme, 'GET', '/v1/events?actor=a%00b'), 400],
      ['history actor', send(acme, 'GET', `/v1/deployments/${ownId}/history?actor=%00`), 400],
      ['events action', send(acme, 'GET', '/v1/events?action=%00'), 400],
      ['query key', send(acme, 'GET', '/v1/events?a%00=1'), 400],
      ['deployments cursor', send(acme, 'GET', `/v1/deployments?cursor=${b64(['acme', 'a\u0000'])}`), 400],
      ['events cursor', send(acme, 'GET', `/v1/events?cursor=${b64(['2026-01-01T00:00:00\u0000Z', 1])}`), 400],
      ['path', send(acme, 'GET', '/v1/agent-messages/a%00b'), 400],
      ['config value', send(acme, 'POST', '/v1/deployments', create({ config: { tuning: { search_path: 'a\u0000b' } } })), 400],
      ['config key', send(acme, 'POST', '/v1/deployments', create({ config: { tuning: { 'a\u0000': 1 } } })), 400],
      ['reason', send(acme, 'POST', '/v1/deployments', create({ reason: 'a\u0000' })), 400],
      ['secret', send(acme, 'POST', '/v1/deployments', create({ secrets: { password: 'a\u0000' } })), 400],
      ['agent reasoning', send(acme, 'PATCH', '/v1/agent-messages/placeholder', json(JSON.stringify({ reasoning: ['\u0000'], tokens: { prompt: 1, completion: 1, total: 2 }, cost: { prompt: '0', completion: '0', total: '0' } }))), 400],
      ['tool appId', send(acme, 'POST', '/v1/tools/get-app-history', json(JSON.stringify({ appId: 'tar\u0000get' }))), 400],
      ['mcp argument', send(acme, 'POST', '/mcp', json(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'get-app-history', arguments: { appId: 'a\u0000' } } }), { accept: 'application/json, text/event-stream' })), 400],
    ];
    expect(await refused(cases)).toEqual([]);
    expect(await tables()).toBe(before);
  });

  it('lone surrogates, as JSON escapes and as raw bytes, and bad percent-encoding', async () => {
    const before = await tables();
    const create = (rest: string) => json(`{"name":"${fresh()}","recipe":"postgresql","app_version":"16",${rest}}`);
    const bytes = (...parts: (string | number[])[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));
    const cases: [string, Promise<TestResponse>, number][] = [
      ['config value', send(acme, 'POST', '/v1/deployments', create('"config":{"tuning":{"search_path":"\\ud800"}}')), 400],
      ['config key', send(acme, 'POST', '/v1/deployments', create('"config":{"tuning":{"\\udfff":1}}')), 400],
      ['reason', send(acme, 'POST', '/v1/deployments', create('"reason":"why \\ud83d"')), 400],
      ['secret value', send(acme, 'POST', '/v1/deployments', create('"secrets":{"password":"\\udc00x"}')), 400],
      ['patch config', send(acme, 'PATCH', `/v1/deployments/${ownId}`, json('{"config":{"tuning":{"search_path":"\\ud800"}}}')), 400],
      ['restart reason', send(acme, 'POST', `/v1/deployments/${ownId}/restart`, json('{"reason":"\\ud800"}')), 400],
      ['agent reasoning', send(acme, 'PATCH', '/v1/agent-messages/placeholder', json('{"reasoning":["\\ud800"],"tokens":{"prompt":1,"completion":1,"total":2},"cost":{"prompt":"0","completion":"0","total":"0"}}')), 400],
      // The UTF-8 of a surrogate (ED A0 80) and bytes that are no UTF-8 at all: not JSON text (RFC 8259: UTF-8).
      ['raw surrogate bytes', send(acme, 'POST', '/v1/deployments', { body: bytes(`{"name":"${fresh()}","recipe":"postgresql","app_version":"16","reason":"`, [0xed, 0xa0, 0x80], '"}'), headers: { 'content-type': 'application/json' } }), 400],
      ['raw bad bytes in config', send(acme, 'PATCH', `/v1/deployments/${ownId}`, { body: bytes('{"config":{"tuning":{"search_path":"', [0xff, 0xfe], '"}}}'), headers: { 'content-type': 'application/json' } }), 400],
      ['query: encoded surrogate', send(acme, 'GET', '/v1/events?actor=%ED%A0%80'), 400],
      ['query: bad percent-encoding', send(acme, 'GET', '/v1/events?actor=%ff%fe'), 400],
    ];
    expect(await refused(cases)).toEqual([]);
    expect(await tables()).toBe(before);
  });

  it('__proto__, constructor and prototype keys in secrets or config: refused, never dropped', async () => {
    const before = await tables();
    const writes = api.secretWrites.length;
    const cases: [string, Promise<TestResponse>, number][] = [];
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      const create = (rest: string) => json(`{"name":"${fresh()}","recipe":"postgresql","app_version":"16",${rest}}`);
      cases.push(
        [`secrets.${key}`, send(acme, 'POST', '/v1/deployments', create(`"secrets":{"${key}":"pw"}`)), 400],
        [`secrets.${key} beside another`, send(acme, 'POST', '/v1/deployments', create(`"secrets":{"password":"pw","${key}":"pw2"}`)), 400],
        [`config.${key}`, send(acme, 'POST', '/v1/deployments', create(`"config":{"${key}":{"storage":"1Gi"}}`)), 400],
        [`config.tuning.${key}`, send(acme, 'POST', '/v1/deployments', create(`"config":{"tuning":{"${key}":"x"}}`)), 400],
        [`patch secrets.${key}`, send(acme, 'PATCH', `/v1/deployments/${ownId}`, json(`{"secrets":{"${key}":"pw"}}`)), 400],
        [`patch config.${key}`, send(acme, 'PATCH', `/v1/deployments/${ownId}`, json(`{"config":{"${key}":{"storage":"1Gi"}}}`)), 400],
        [`body ${key}`, send(acme, 'POST', '/v1/agent-messages', json(`{"message_id":"proto","project_id":"shop","model":"m","${key}":{"x":1}}`)), 400],
      );
    }
    // Spelled with an escape, it is the same key.
    cases.push(['secrets.__proto__ escaped', send(acme, 'POST', '/v1/deployments', json(`{"name":"${fresh()}","recipe":"postgresql","app_version":"16","secrets":{"__pro\\u0074o__":"pw"}}`)), 400]);
    expect(await refused(cases)).toEqual([]);
    expect(await tables()).toBe(before);
    expect(api.secretWrites.length).toBe(writes);
  });

  it('integers beyond 2^53 in config are refused, never rounded', async () => {
    const before = await tables();
    const cases: [string, Promise<TestResponse>, number][] = [];
    for (const n of ['9007199254740993', '-9007199254740993', '12345678901234567890', '9007199254740992']) {
      cases.push(
        [`create tuning ${n}`, send(acme, 'POST', '/v1/deployments', json(`{"name":"${fresh()}","recipe":"postgresql","app_version":"16","config":{"tuning":{"max_wal_senders":${n}}}}`)), 400],
        [`patch tuning ${n}`, send(acme, 'PATCH', `/v1/deployments/${ownId}`, json(`{"config":{"tuning":{"max_wal_senders":${n}}}}`)), 400],
        [`agent tokens ${n}`, send(acme, 'PATCH', '/v1/agent-messages/placeholder', json(`{"reasoning":[],"tokens":{"prompt":${n},"completion":0,"total":${n}},"cost":{"prompt":"0","completion":"0","total":"0"}}`)), 400],
      );
    }
    expect(await refused(cases)).toEqual([]);
    expect(await tables()).toBe(before);
    // The largest exact integer, and floats (inexact by nature), are kept as sent.
    const ok = await send(acme, 'PATCH', `/v1/deployments/${ownId}`, json('{"config":{"tuning":{"max_wal_senders":9007199254740991,"random_page_cost":1.1,"x":1e300}}}'));
    expect(ok.status).toBe(200);
    expect((await ok.json()).config.tuning).toEqual({ max_wal_senders: 9007199254740991, random_page_cost: 1.1, x: 1e300 });
    const [row] = await api.t.db<{ t: string }[]>`select config->'tuning'->>'max_wal_senders' as t from shipslog.deployments where id = ${ownId}`;
    expect(row!.t).toBe('9007199254740991');
  });

  it('a method a path does not serve answers 405 with Allow (not 404)', async () => {
    const cases: [string, string, string][] = [
      ['PUT', '/v1/deployments', 'GET, HEAD, POST'],
      ['DELETE', '/v1/deployments', 'GET, HEAD, POST'],
      ['PUT', `/v1/deployments/${ownId}`, 'DELETE, GET, HEAD, PATCH'],
      ['POST', `/v1/deployments/${ownId}`, 'DELETE, GET, HEAD, PATCH'],
      ['GET', `/v1/deployments/${ownId}/upgrade`, 'POST'],
      ['DELETE', `/v1/deployments/${ownId}/history`, 'GET, HEAD'],
      ['POST', '/v1/events', 'GET, HEAD'],
      ['PATCH', '/v1/events/feed', 'GET, HEAD'],
      ['GET', '/v1/tools/get-app-history', 'POST'],
      ['PUT', '/v1/agent-messages/placeholder', 'GET, HEAD, PATCH'],
      ['GET', '/v1/agent-messages', 'POST'],
      ['OPTIONS', '/v1/deployments', 'GET, HEAD, POST'],
      ['POST', '/healthz', 'GET, HEAD'],
      ['DELETE', '/openapi.json', 'GET, HEAD'],
    ];
    const failures: string[] = [];
    for (const [method, path, allow] of cases) {
      const res = await send(acme, method, path, method === 'GET' || method === 'DELETE' || method === 'OPTIONS' ? {} : json('{}'));
      const body = await res.text();
      const got = [res.status, res.headers.get('allow'), res.headers.get('content-type')];
      const want = [405, allow, 'application/problem+json'];
      if (JSON.stringify(got) !== JSON.stringify(want)) failures.push(`${method} ${path}: ${JSON.stringify(got)} ${body.slice(0, 120)}`);
      else if (JSON.parse(body).type !== 'https://shipslog.dev/problems/method-not-allowed') failures.push(`${method} ${path}: ${body}`);
    }
    expect(failures).toEqual([]);
    // A path that does not exist at all is still 404; without a key, 401 as before.
    expect((await send(acme, 'PUT', '/v1/nothing')).status).toBe(404);
    expect((await api.app.request('/v1/deployments', { method: 'PUT' })).status).toBe(401);
  });

  it("another tenant's agent message id is indistinguishable from a free one", async () => {
    const start = (id: string, tenant?: string) => ({ message_id: id, project_id: tenant === 'globex' ? 'globex-shop' : 'shop', model: 'm', ...(tenant ? { tenant } : {}) });
    expect((await api.call(acme, 'POST', '/v1/agent-messages', start('taken-by-acme'))).status).toBe(201);
    const taken = await api.call(globex, 'POST', '/v1/agent-messages', { ...start('taken-by-acme'), project_id: 'globex-shop' });
    const free = await api.call(globex, 'POST', '/v1/agent-messages', { ...start('free-id'), project_id: 'globex-shop' });
    expect([taken.status, free.status]).toEqual([201, 201]);
    const [t, f] = [await taken.json(), await free.json()];
    expect(Object.keys(t).sort()).toEqual(Object.keys(f).sort());
    expect([t.tenant, t.message_id]).toEqual(['globex', 'taken-by-acme']);
    // Each tenant sees its own message under the id; reads and finalises never cross.
    const finalise = { reasoning: ['globex'], tokens: { prompt: 1, completion: 1, total: 2 }, cost: { prompt: '0.1', completion: '0.1', total: '0.2' } };
    expect((await api.call(globex, 'PATCH', '/v1/agent-messages/taken-by-acme', finalise)).status).toBe(200);
    expect((await (await api.call(acme, 'GET', '/v1/agent-messages/taken-by-acme')).json())).toMatchObject({ tenant: 'acme', status: 'started' });
    expect((await (await api.call(globex, 'GET', '/v1/agent-messages/taken-by-acme')).json())).toMatchObject({ tenant: 'globex', status: 'finalised' });
    // A global key sees both: it names the tenant, or is told to.
    expect((await (await api.call(global, 'GET', '/v1/agent-messages/taken-by-acme?tenant=acme')).json()).tenant).toBe('acme');
    const ambiguous = await api.call(global, 'GET', '/v1/agent-messages/taken-by-acme');
    expect(ambiguous.status).toBe(409);
    expect((await ambiguous.json()).errors).toEqual([{ path: 'tenant', message: expect.stringContaining('acme, globex') }]);
    expect((await api.call(global, 'PATCH', '/v1/agent-messages/taken-by-acme', finalise)).status).toBe(409);
    expect((await api.call(global, 'PATCH', '/v1/agent-messages/taken-by-acme?tenant=acme', finalise)).status).toBe(200);
    // A tenant key may not name another tenant.
    expect((await api.call(globex, 'GET', '/v1/agent-messages/taken-by-acme?tenant=acme')).status).toBe(403);
  });
});
