import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from './harness.ts';
import { postgresText } from './hostile.ts';

// >= 1,000 malformed or hostile requests: each is broken in at least one way that must be
// refused (auth, body, id, content type, header), so none may answer 5xx or change a table.

let api: TestApi;
let key: string;
let readOnly: string;
let ownId: string;
let otherId: string;

beforeAll(async () => {
  api = await createTestApi();
  key = await api.key('acme', ['read', 'deploy', 'audit'], 'fuzzer');
  readOnly = await api.key('acme', ['read'], 'reader');
  const other = await api.key('beta', ['deploy'], 'other');
  const body = { name: 'target', recipe: 'postgresql', app_version: '16', config: { storage: '8Gi' } };
  ownId = (await (await api.call(key, 'POST', '/v1/deployments', body)).json()).id;
  otherId = (await (await api.call(other, 'POST', '/v1/deployments', body)).json()).id;
});
afterAll(async () => {
  await api?.drop();
});

function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hostileStrings = [
  "'; drop table shipslog.deployments; --", "' or '1'='1", '"; select pg_sleep(10); --', '$$; delete from x; $$',
  '\u0000', 'a\u0000b', '../../etc/passwd', '%00', '\ud800', '🚀'.repeat(40), 'A'.repeat(70), 'x'.repeat(5000),
  'UPPER', '-leading', 'trailing-', 'has space', '<script>alert(1)</script>', '${jndi:ldap://x}', '{{7*7}}', '',
  '\\x00', 'null', 'NaN', '1e309', '-1',
];
const hostileValues: unknown[] = [
  ...hostileStrings, null, true, 0, -1, 1e309, 2 ** 63, [], [1, 2], {}, { $gt: '' }, { __proto__: { admin: true } },
];

interface Req { method: string; path: string; headers: Record<string, string>; body?: string | Uint8Array }

function generate(r: () => number, ids: { own: string; other: string }, keys: { good: string; reader: string }): Req {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const hostile = () => pick(hostileValues);
  const notLabel = () => pick(hostileValues.filter((v) => typeof v !== 'string' || !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(v)));
  const validCreate = { name: 'fuzzed', recipe: 'redis', app_version: '7', config: {} as unknown };
  const auth = { authorization: `Bearer ${keys.good}` };
  const json = { 'content-type': 'application/json' };
  const badId = () => pick(['not-a-uuid', "1' or 1=1--", '00000000-0000-0000-0000-000000000000', ids.other, '%2e%2e', 'x'.repeat(300)]);
  const kind = Math.floor(r() * 17);
  switch (kind) {
    case 0: // missing, malformed or forged authentication on a valid write
      return {
        method: 'POST', path: '/v1/deployments',
        headers: { ...json, ...pick<Record<string, string>>([{}, { authorization: 'Bearer' }, { authorization: `Bearer slk_${'A'.repeat(43)}` }, { authorization: `Basic ${btoa('a:b')}` }, { authorization: `Bearer ${keys.good}x` }, { authorization: `bearer  ${keys.good} extra` }, { authorization: `Bearer ${hostileStrings[0]}` }]) },
        body: JSON.stringify(validCreate),
      };
    case 1: { // a field of the create body replaced by a hostile value
      const body: Record<string, unknown> = { ...validCreate };
      body[pick(['name', 'recipe', 'app_version', 'config', 'environment', 'depends_on', 'secrets', 'tenant', 'reason'])] = hostile();
      if (typeof body.config === 'object' && body.config !== null && !Array.isArray(body.config) && Object.keys(body.config as object).length === 0) body.name = 'Bad Name';
      return { method: 'POST', path: '/v1/deployments', headers: { ...auth, ...json }, body: JSON.stringify(body) };
    }
    case 2: // unknown fields
      return { method: 'POST', path: '/v1/deployments', headers: { ...auth, ...json }, body: JSON.stringify({ ...validCreate, [pick(['id', 'version', 'status', 'chain_head', 'admin', '__proto__x'])]: hostile() }) };
    case 3: // malformed JSON and bad UTF-8
      return {
        method: pick(['POST', 'PATCH']), path: pick(['/v1/deployments', `/v1/deployments/${ids.own}`, `/v1/deployments/${ids.own}/upgrade`]),
        headers: { ...auth, ...json },
        body: pick([
          '{', '{"name":', 'nul', '[]', '"string"', '123', '{"name":"a",}', "{'name':'a'}",
          new Uint8Array([0x7b, 0x22, 0x6e, 0x61, 0x6d, 0x65, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x22, 0x7d]),
          new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d, 0xff]),
        ]),
      };
    case 4: // wrong content types
      return { method: 'POST', path: pick(['/v1/deployments', `/v1/deployments/${ids.own}/upgrade`, '/v1/tools/get-app-history']), headers: { ...auth, 'content-type': pick(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'application/jsonx']) }, body: JSON.stringify(validCreate) };
    case 5: // huge bodies
      return { method: 'POST', path: '/v1/deployments', headers: { ...auth, ...json }, body: JSON.stringify({ ...validCreate, config: { blob: 'x'.repeat(Math.floor(70_000 + r() * 300_000)) } }) };
    case 6: // deep nesting and many keys
      return {
        method: 'PATCH', path: `/v1/deployments/${ids.own}`, headers: { ...auth, ...json },
        body: r() < 0.5
          ? JSON.stringify({ config: JSON.parse('{"a":'.repeat(40) + '1' + '}'.repeat(40)) })
          : JSON.stringify({ config: Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`k${i}`, i])) }),
      };
    case 7: // bad or other tenants' ids on every id route
      return {
        method: pick(['GET', 'PATCH', 'DELETE', 'POST']),
        path: pick([`/v1/deployments/${badId()}`, `/v1/deployments/${badId()}/history`, `/v1/deployments/${badId()}/upgrade`, `/v1/deployments/${badId()}/restart`]),
        headers: { ...auth, ...json }, body: JSON.stringify({ app_version: '99', config: { storage: '1Gi' } }),
      };
    case 8: // hostile query strings
      return {
        method: 'GET',
        path: pick(['/v1/deployments', '/v1/events', `/v1/deployments/${ids.own}/history`, '/v1/events/feed']) + '?' +
          `${pick(['limit', 'cursor', 'since', 'until', 'action', 'actor', 'environment', 'status', 'after', 'format', 'tenant', 'deployment_id', 'bogus'])}=${queryValue(String(hostile()))}`,
        headers: auth,
      };
    case 9: // bad If-Match and Idempotency-Key headers on writes (stale or malformed)
      return {
        method: 'PATCH', path: `/v1/deployments/${ids.own}`,
        headers: { ...auth, ...json, 'if-match': pick(['"999"', '"0"', 'W/"abc"', '*', '"1" OR 1=1', '-1', '"99999999999999999999"']) },
        body: JSON.stringify({ config: { storage: '99Gi' } }),
      };
    case 10: // writes with a read-only key
      return { method: pick(['POST', 'DELETE']), path: pick(['/v1/deployments', `/v1/deployments/${ids.own}`]), headers: { authorization: `Bearer ${keys.reader}`, ...json }, body: JSON.stringify(validCreate) };
    case 11: // patch semantics broken: nothing to change, nulls, wrong types (storage: null, or 1e309 sent as null, is a valid removal: the recipe default applies)
      return { method: 'PATCH', path: `/v1/deployments/${ids.own}`, headers: { ...auth, ...json }, body: JSON.stringify(pick([{}, { config: null }, { config: [] }, { environment: notLabel() }, { depends_on: [notLabel()] }, { secrets: { 'bad key!': 'x' } }, { config: { storage: pick(hostileValues.filter((v) => JSON.stringify(v) !== 'null')) } }, { config: { replicas: 3 } }])) };
    case 12: // tool and MCP abuse
      return r() < 0.5
        ? { method: 'POST', path: '/v1/tools/get-app-history', headers: { ...auth, ...json }, body: JSON.stringify({ appId: hostile(), limit: pick([0, -1, 1e9, 'x']) }) }
        : { method: 'POST', path: '/mcp', headers: { ...json, accept: 'application/json, text/event-stream', ...(r() < 0.5 ? {} : { authorization: 'Bearer nope' }) }, body: '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get-app-history","arguments":{"appId":"target"}}}' };
    case 14: { // hostile JSON text (issue 9): deep nesting anywhere, prototype keys, integers past 2^53, lone surrogates, NUL
      const deep = pick(['{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000), '['.repeat(10_000) + ']'.repeat(10_000), '['.repeat(100_000) + ']'.repeat(100_000)]);
      const value = pick([
        deep, `{"${pick(['__proto__', 'constructor', 'prototype', '__pro\\u0074o__'])}":${pick(['"pw"', '{"storage":"1Gi"}', '1'])}}`,
        pick(['9007199254740993', '-9007199254740993', '12345678901234567890', '1' + '0'.repeat(400)]),
        pick(['"\\ud800"', '"x\\udfff"', '"\\ud83d"', '"\\u0000"', '"a\\u0000b"']),
      ]);
      const where = pick([
        (v: string) => ({ path: '/v1/deployments', method: 'POST', body: `{"name":"fuzzed","recipe":"postgresql","app_version":"16","config":{"tuning":{"work_mem":${v}}}}` }),
        (v: string) => ({ path: '/v1/deployments', method: 'POST', body: `{"name":"fuzzed","recipe":"postgresql","app_version":"16","secrets":{"password":"x","k":${v}}}` }),
        (v: string) => ({ path: '/v1/deployments', method: 'POST', body: `{"name":"fuzzed","recipe":"redis","app_version":"7","config":${v}}` }),
        (v: string) => ({ path: `/v1/deployments/${ids.own}`, method: 'PATCH', body: `{"config":{"tuning":${v}}}` }),
        (v: string) => ({ path: `/v1/deployments/${ids.own}`, method: 'PATCH', body: `{"secrets":${v}}` }),
        (v: string) => ({ path: `/v1/deployments/${ids.own}/restart`, method: 'POST', body: `{"reason":${v}}` }),
        (v: string) => ({ path: '/v1/tools/get-app-history', method: 'POST', body: `{"appId":"target","limit":${v}}` }),
        (v: string) => ({ path: '/v1/deployments', method: 'POST', body: v }),
      ])(value);
      return { ...where, headers: { ...auth, ...json } };
    }
    case 15: { // query values PostgreSQL cannot take (issue 9): dates outside its range, cursors past their column type, NUL, bad UTF-8
      const date = pick(['0000-01-01T00:00:00Z', '0001-01-01T00:00:00%2B14:00', '9999-12-31T23:59:59-14:00']);
      const cursor = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
      return {
        method: 'GET',
        headers: auth,
        path: pick([
          `/v1/deployments/${ids.own}/history?${pick(['since', 'until'])}=${date}`,
          `/v1/events?${pick(['since', 'until'])}=${date}`,
          `/v1/deployments/${ids.own}/history?cursor=${pick(['2147483648', '9999999999'])}`,
          `/v1/events/feed?after=${pick(['18446744073709551616:0', '99999999999999999999:1'])}`,
          `/v1/events?cursor=${cursor([pick(['0000-01-01T00:00:00.000Z', '+275760-09-13T00:00:00.000Z', '1', 'now']), pick([1, -1, 2 ** 63])])}`,
          `/v1/deployments?cursor=${cursor(pick([['acme', 'a\u0000'], ['\ud800', 'x'], '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]']))}`,
          `/v1/${pick(['events', `deployments/${ids.own}/history`])}?${pick(['actor', 'action', 'a%00'])}=${pick(['%00', 'a%00b', '%ED%A0%80', '%ff%fe', '%E0%80%80'])}`,
        ]),
      };
    }
    case 16: { // a method the path does not serve: 405 with Allow (issue 9)
      const [method, path] = pick<[string, string]>([
        ['PUT', '/v1/deployments'], ['DELETE', '/v1/deployments'], ['POST', `/v1/deployments/${ids.own}`], ['PUT', `/v1/deployments/${ids.own}`],
        ['GET', `/v1/deployments/${ids.own}/upgrade`], ['DELETE', `/v1/deployments/${ids.own}/history`], ['POST', '/v1/events'],
        ['DELETE', '/v1/events/feed'], ['GET', '/v1/tools/get-app-history'], ['OPTIONS', '/v1/events'], ['POST', '/healthz'],
      ]);
      return { method, path, headers: { ...auth, ...json }, ...(method === 'GET' ? {} : { body: '{}' }) };
    }
    default: // odd methods and paths
      return { method: pick(['PUT', 'OPTIONS', 'PROPFIND', 'PATCH', 'POST']), path: pick(['/v1/deployments/../../admin', '/v1//deployments', '/v1/deployments/%00', '/v1/keys', '/v1/events/feed/../../x', '/V1/DEPLOYMENTS']), headers: auth, body: '{}' };
  }
}

/** Percent-encodes; a lone surrogate cannot be, so it becomes bad UTF-8 bytes on the wire. */
function queryValue(v: string): string {
  try {
    return encodeURIComponent(v);
  } catch {
    return '%ff%fe%ed%a0%80';
  }
}

async function fingerprint(): Promise<string> {
  const [row] = await api.t.db<{ f: string }[]>`
    select md5(
      -- A 403 to an authenticated client is recorded (access_denied on the deployment's chain,
      -- which moves the row's chain head; docs/compliance.md): the one write a refusal makes.
      (select coalesce(string_agg((to_jsonb(d) - 'chain_length' - 'chain_head')::text, '|' order by id), '') from shipslog.deployments as d) ||
      (select coalesce(string_agg(e.seq::text || encode(e.hash, 'hex'), '|' order by seq), '') from shipslog.deployment_events as e
       where e.action <> 'access_denied') ||
      (select coalesce(string_agg(i::text, '|' order by api_key_id, idempotency_key), '') from shipslog.idempotency_keys as i) ||
      -- last_used_at records that a valid key was used (at most once per 5 minutes), not a change a request made
      (select coalesce(string_agg((to_jsonb(k) - 'last_used_at')::text, '|' order by id), '') from shipslog.api_keys as k)
    ) as f`;
  return row?.f ?? '';
}

describe('fuzz: hostile requests', () => {
  it('answers 1,200 malformed or hostile requests with 4xx problem+json and changes no table', { timeout: 120_000 }, async () => {
    const before = await fingerprint();
    const r = rng(20261122);
    const statuses = new Map<number, number>();
    const failures: string[] = [];
    for (let i = 0; i < 1200; i++) {
      const req = generate(r, { own: ownId, other: otherId }, { good: key, reader: readOnly });
      const res = await api.app.request(req.path, { method: req.method, headers: req.headers, ...(req.body !== undefined && req.method !== 'GET' ? { body: req.body } : {}) });
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      const text = await res.text();
      // A hostile query value can still be a valid filter (actor=-1): reads may answer 200.
      const okRead = req.method === 'GET' && res.status === 200;
      if (res.status >= 500 || (res.status < 400 && !okRead)) failures.push(`#${i} ${req.method} ${req.path.slice(0, 80)} ${String(req.body).slice(0, 120)} -> ${res.status} ${text.slice(0, 200)}`);
      else if (!okRead && req.path !== '/mcp' && !res.headers.get('content-type')?.includes('application/problem+json')) failures.push(`#${i} ${req.method} ${req.path.slice(0, 80)} -> ${res.status} not problem+json`);
      if (/select |syntax error|PostgresError|at .*\.ts:\d+/i.test(text) || postgresText.test(text)) failures.push(`#${i} leaks internals: ${text.slice(0, 200)}`);
      if (res.status === 405 && !res.headers.get('allow')) failures.push(`#${i} ${req.method} ${req.path.slice(0, 80)} -> 405 without Allow`);
    }
    expect(failures.slice(0, 20)).toEqual([]);
    expect(await fingerprint()).toBe(before);
    // ... and the read-only key's refused writes on a deployment are in its trail.
    const [denied] = await api.t.db`select count(*)::int as n from shipslog.deployment_events where action = 'access_denied' and deployment_id = ${ownId}`;
    expect(denied!.n).toBeGreaterThan(0);
    // Every class of refusal was exercised.
    for (const s of [400, 401, 403, 404, 405, 412, 413, 415]) expect(statuses.get(s) ?? 0, `status ${s}`).toBeGreaterThan(0);
  });

  it('over raw TCP: broken HTTP, bad header bytes, lying lengths and bad UTF-8 bodies get 4xx, never 5xx', { timeout: 60_000 }, async () => {
    const { getRequestListener } = await import('@hono/node-server');
    const { connect } = await import('node:net');
    const { freePort } = await import('../../src/db/embedded.ts');
    const { holdPort } = await import('../../src/cli/listen.ts');
    const before = await fingerprint();
    const port = await freePort();
    // The server `shipslog serve` runs: Node's own refusals (bad bytes in headers) are problems too.
    const held = await holdPort(port, '127.0.0.1');
    held.handle(getRequestListener(api.app.fetch));
    const send = (bytes: Buffer) =>
      new Promise<string>((resolve) => {
        const socket = connect(port, '127.0.0.1');
        let out = '';
        socket.on('data', (d) => (out += d.toString('latin1')));
        socket.on('close', () => resolve(out));
        socket.on('error', () => resolve(out));
        socket.setTimeout(5000, () => socket.destroy());
        // Write without half-closing: a client FIN makes Node drop the socket before an
        // asynchronous answer. Every request says Connection: close, or is refused outright.
        socket.write(bytes);
      });
    const auth = `Authorization: Bearer ${key}\r\n`;
    const post = (headers: string, body: Buffer | string) =>
      Buffer.concat([Buffer.from(`POST /v1/deployments HTTP/1.1\r\nHost: x\r\n${headers}Connection: close\r\n\r\n`, 'latin1'), Buffer.isBuffer(body) ? body : Buffer.from(body)]);
    const badUtf8 = Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xc3, 0x28, 0xff, 0xfe]), Buffer.from('","recipe":"redis","app_version":"7"}')]);
    const payloads: Buffer[] = [
      Buffer.from('GARBAGE\r\n\r\n'),
      Buffer.from('GET /v1/deployments HTTP/9.9\r\nConnection: close\r\n\r\n'),
      Buffer.from(`GET /v1/deployments HTTP/1.1\r\nHost: x\r\nX-Bad: \u0001\u0002\r\n\r\n`, 'latin1'),
      Buffer.concat([Buffer.from('GET /v1/deployments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer '), Buffer.from([0xff, 0xfe, 0x00]), Buffer.from('\r\nConnection: close\r\n\r\n')]),
      Buffer.from(`GET /v1/deployments HTTP/1.1\r\nHost: x\r\nX-Huge: ${'a'.repeat(70_000)}\r\nConnection: close\r\n\r\n`),
      post(`${auth}Content-Type: application/json\r\nContent-Length: ${badUtf8.length}\r\n`, badUtf8),
      post(`${auth}Content-Type: application/json\r\nContent-Length: 5\r\n`, '{"name": "much longer than five"}'),
      post(`${auth}Content-Type: application/json\r\nContent-Length: 10\r\nContent-Length: 20\r\n`, '{"a":1}'),
      post(`${auth}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n`, '5\r\n{"a":\r\n0\r\n\r\n'),
      post(`${auth}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n`, 'zz\r\nnot hex\r\n0\r\n\r\n'),
      post(`${auth}Content-Type: application/json; charset=latin1\r\nContent-Length: 2\r\n`, '{}'),
      post(`${auth}Content-Type: application/json\r\nContent-Length: 300000\r\n`, 'x'.repeat(300_000)),
      Buffer.from(`GET /v1/deployments/%ZZ%00/history HTTP/1.1\r\nHost: x\r\n${auth}Connection: close\r\n\r\n`),
      Buffer.from(`GET /v1/events?since=%ff%fe&action=%00 HTTP/1.1\r\nHost: x\r\n${auth}Connection: close\r\n\r\n`),
      // NUL in headers (issue 9): refused by Node's parser, answered as a problem.
      Buffer.from(`GET /v1/deployments HTTP/1.1\r\nHost: x\r\n${auth}X-Reason: a\u0000b\r\nConnection: close\r\n\r\n`, 'latin1'),
      Buffer.from(`GET /v1/deployments HTTP/1.1\r\nHost: x\r\n${auth}X-Correlation-Id: \u0000\r\nConnection: close\r\n\r\n`, 'latin1'),
      Buffer.from(`GET /v1/deployments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\u0000\r\nConnection: close\r\n\r\n`, 'latin1'),
      Buffer.from(`GET /v1/deployments HTTP/1.1\r\nHost: x\r\n${auth}X-\u0000: 1\r\nConnection: close\r\n\r\n`, 'latin1'),
      Buffer.from(`GET /v1/events?actor=a\u0000b HTTP/1.1\r\nHost: x\r\n${auth}Connection: close\r\n\r\n`, 'latin1'),
      post(`${auth}X-Reason: \u0000\r\nContent-Type: application/json\r\nContent-Length: 2\r\n`, '{}'),
    ];
    // A body shorter than its Content-Length: the server waits for the rest (until its request
    // timeout) and answers nothing; the client gives up. Not an error, and no row changes.
    const short = await Promise.race([
      send(post(`${auth}Content-Type: application/json\r\nContent-Length: 999\r\n`, '{"name":"x"}')),
      new Promise<string>((r) => setTimeout(() => r('waiting'), 1000)),
    ]);
    expect(short === 'waiting' || /^HTTP\/1\.1 4\d\d/.test(short)).toBe(true);
    try {
      for (const [i, p] of payloads.entries()) {
        const answer = await send(p);
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
        expect(status >= 400 && status < 500, `payload #${i}: ${JSON.stringify(answer.slice(0, 160))}`).toBe(true);
        expect(/\r\ncontent-type: application\/problem\+json/i.test(answer), `payload #${i} is no problem: ${JSON.stringify(answer.slice(0, 300))}`).toBe(true);
      }
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).toBe(200);
    } finally {
      await held.close();
    }
    expect(await fingerprint()).toBe(before);
  });
});
