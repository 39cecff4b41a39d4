import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cases, type Ctx } from './openapi-cases.ts';
import { loadOpenApi, type OpenApi, type RouteKey } from './openapi-check.ts';
import { createTestApi } from './harness.ts';

// Every route of /openapi.json answers what the document declares: each response's status
// is declared for its route, its content type is declared for that status, and its body
// parses with the declared schema and has no field the schema does not name.

let x: Ctx;
let openApi: OpenApi;
beforeAll(async () => {
  const api = await createTestApi();
  x = {
    api,
    keys: {
      acme: await api.key('acme', ['read', 'deploy', 'audit'], 'acme-agent'),
      reader: await api.key('acme', ['read'], 'acme-reader'),
      deployer: await api.key('acme', ['deploy'], 'acme-deployer'),
      global: await api.key(null, ['read', 'deploy', 'audit'], 'ops'),
    },
  };
  openApi = await loadOpenApi(api.app);
});
afterAll(async () => {
  await x?.api.drop();
});

describe('responses match the OpenAPI document', () => {
  it('every route of /openapi.json has a case, and every case a route', () => {
    expect(openApi.routes.length).toBeGreaterThan(20);
    expect(openApi.routes.filter((r) => !(r in cases))).toEqual([]);
    expect(Object.keys(cases).filter((r) => !openApi.routes.includes(r as RouteKey))).toEqual([]);
  });

  it.each(Object.keys(cases) as RouteKey[])('%s', async (route) => {
    const responses = await cases[route]!(x);
    const problems = (await Promise.all(responses.map((res) => openApi.check(route, res)))).flat();
    expect(problems).toEqual([]);
    // The success schema is what clients rely on most: each route shows it at least once.
    expect(responses.some((res) => res.status < 300), `${route} has no successful response`).toBe(true);
  });

  it('the check itself finds an undeclared status, content type or field and a wrong value', async () => {
    const json = (body: unknown, status = 200, type = 'application/json') =>
      new Response(JSON.stringify(body), { status, headers: { 'content-type': type } });
    expect(await openApi.check('GET /healthz', json({ status: 'ok' }))).toEqual([]);
    expect(await openApi.check('GET /healthz', json({ status: 'ok', uptime: 3 }))).toEqual(['GET /healthz 200: $.uptime is not in the declared schema']);
    expect(await openApi.check('GET /healthz', json({ status: 3 }))).toEqual([expect.stringContaining('GET /healthz 200: status: ')]);
    expect(await openApi.check('GET /healthz', json({ status: 'ok' }, 200, 'text/plain'))).toEqual([expect.stringContaining('sent text/plain')]);
    expect(await openApi.check('GET /healthz', json({ status: 'ok' }, 500))).toEqual([expect.stringContaining('does not declare')]);
    const deployment = (await (await x.api.call(x.keys.acme, 'POST', '/v1/deployments', { name: 'self-check', recipe: 'redis', app_version: '7' })).json()) as Record<string, unknown>;
    const route = 'GET /v1/deployments/{id}';
    expect(await openApi.check(route, json(deployment))).toEqual([]);
    expect(await openApi.check(route, json({ ...deployment, managed_resources: [{ kind: 'Service', name: 'x', namespace: null, extra: 1 }] }))).toEqual([
      `${route} 200: $.managed_resources[0].extra is not in the declared schema`,
    ]);
    expect(await openApi.check(route, json({ ...deployment, health: 'Fine' }))).toEqual([expect.stringContaining(`${route} 200: health: `)]);
  });

  it('every authenticated route answers 401 problem+json without a key, as it declares', async () => {
    const problems: string[] = [];
    for (const route of openApi.routes) {
      const [method, path] = route.split(' ') as [string, string];
      const op = openApi.doc.paths[path][method.toLowerCase()];
      if (Array.isArray(op.security) && op.security.length === 0) continue; // public
      const concrete = path.replace(/\{[^}]+\}/g, (p) => (p === '{messageId}' || p === '{projectId}' ? 'some-id' : crypto.randomUUID()));
      const res = await x.api.app.request(concrete, { method, headers: { 'content-type': 'application/json' }, ...(method === 'GET' ? {} : { body: '{}' }) });
      if (res.status !== 401) problems.push(`${route} answered ${res.status} without a key`);
      problems.push(...(await openApi.check(route, res)));
    }
    expect(problems).toEqual([]);
  });
});
