import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../api/harness.ts';

let api: TestApi;
let acme: string;
let globex: string;
let reader: string;
let global: string;
beforeAll(async () => {
  api = await createTestApi();
  acme = await api.key('acme', ['read', 'deploy'], 'acme-agent');
  globex = await api.key('globex', ['read', 'deploy'], 'globex-agent');
  reader = await api.key('acme', ['read'], 'acme-reader');
  global = await api.key(null, ['admin'], 'ops');
});
afterAll(async () => {
  await api?.drop();
});

const finalise = {
  reasoning: ['the user wants a database', 'postgresql recipe, 16Gi'],
  tokens: { prompt: 1000, completion: 250, total: 1250 },
  cost: { prompt: '0.003', completion: '0.00375', total: '0.00675' },
};

async function counts(): Promise<{ messages: number; projects: number }> {
  const [r] = await api.t.db<{ messages: number; projects: number }[]>`
    select (select count(*)::int from shipslog.agent_messages) as messages,
           (select count(*)::int from shipslog.projects) as projects`;
  return r!;
}

describe('agent message API', () => {
  it('starts, finalises once, and reads a message; retries are safe', async () => {
    const start = { message_id: 'msg-api-1', project_id: 'shop', model: 'claude-sonnet-4', context_layers: 4 };
    const created = await api.call(acme, 'POST', '/v1/agent-messages', start, { 'x-request-id': 'req-start' });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe('/v1/agent-messages/msg-api-1');
    expect(await created.json()).toMatchObject({ status: 'started', tenant: 'acme', tokens: null, created_by: { actor: 'acme-agent' } });
    expect((await api.call(acme, 'POST', '/v1/agent-messages', start)).status).toBe(200);
    expect((await api.call(acme, 'POST', '/v1/agent-messages', { ...start, model: 'other' })).status).toBe(409);

    const done = await api.call(acme, 'PATCH', '/v1/agent-messages/msg-api-1', finalise);
    expect(done.status).toBe(200);
    expect(done.headers.get('x-shipslog-outcome')).toBe('finalised');
    const again = await api.call(acme, 'PATCH', '/v1/agent-messages/msg-api-1', finalise);
    expect([again.status, again.headers.get('x-shipslog-outcome')]).toEqual([200, 'unchanged']);
    const changed = await api.call(acme, 'PATCH', '/v1/agent-messages/msg-api-1', { ...finalise, reasoning: ['rewritten'] });
    expect(changed.status).toBe(409);
    expect((await changed.json()).type).toBe('https://shipslog.dev/problems/conflict');

    const read = await api.call(reader, 'GET', '/v1/agent-messages/msg-api-1');
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({
      status: 'finalised',
      model: 'claude-sonnet-4',
      context_layers: 4,
      reasoning: finalise.reasoning,
      tokens: finalise.tokens,
      cost: finalise.cost,
      deployment_changes: [],
    });
  });

  it('answers bad input with 4xx and writes nothing', async () => {
    await api.call(globex, 'POST', '/v1/agent-messages', { message_id: 'msg-globex', project_id: 'globex-shop', model: 'm' });
    await api.call(acme, 'POST', '/v1/agent-messages', { message_id: 'msg-bad', project_id: 'shop', model: 'm' });
    const before = await counts();
    const bad: [string, string, unknown, number][] = [
      ['POST', '/v1/agent-messages', { message_id: 'x y', project_id: 'shop', model: 'm' }, 400],
      ['POST', '/v1/agent-messages', { message_id: 'ok-1', project_id: 'Shop!', model: 'm' }, 400],
      ['POST', '/v1/agent-messages', { message_id: 'ok-1', project_id: 'shop', model: 'm', extra: 1 }, 400],
      ['POST', '/v1/agent-messages', { message_id: 'ok-1', project_id: 'shop', model: 'm', context_layers: -1 }, 400],
      ['POST', '/v1/agent-messages', { message_id: 'ok-1', project_id: 'globex-shop', model: 'm' }, 404],
      ['POST', '/v1/agent-messages', { message_id: 'ok-1', project_id: 'shop', model: 'm', tenant: 'globex' }, 403],
      ['POST', '/v1/agent-messages', { message_id: 'ok-1', project_id: 'shop', model: 'm', created_at: '2999-01-01T00:00:00Z' }, 422],
      ['PATCH', '/v1/agent-messages/msg-bad', { ...finalise, tokens: { prompt: -1, completion: 2, total: 1 } }, 400],
      ['PATCH', '/v1/agent-messages/msg-bad', { ...finalise, tokens: { prompt: 1, completion: 2, total: 4 } }, 400],
      ['PATCH', '/v1/agent-messages/msg-bad', { ...finalise, cost: { prompt: '0.1', completion: '0.2', total: '0.30000000000000004' } }, 400],
      ['PATCH', '/v1/agent-messages/msg-bad', { ...finalise, cost: { prompt: 0.1, completion: 0.2, total: 0.3 } }, 400],
      ['PATCH', '/v1/agent-messages/msg-bad', { ...finalise, cost: { prompt: '-1', completion: '1', total: '0' } }, 400],
      ['PATCH', '/v1/agent-messages/msg-bad', { reasoning: [], tokens: finalise.tokens }, 400],
      ['PATCH', '/v1/agent-messages/msg-globex', finalise, 404],
      ['PATCH', '/v1/agent-messages/nope', finalise, 404],
    ];
    for (const [method, path, body, status] of bad) {
      const r = await api.call(acme, method, path, body);
      expect([method, path, JSON.stringify(body).slice(0, 80), r.status]).toEqual([method, path, JSON.stringify(body).slice(0, 80), status]);
      expect(r.headers.get('content-type')).toContain('application/problem+json');
    }
    expect((await api.call(global, 'POST', '/v1/agent-messages', { message_id: 'ok-2', project_id: 'shop', model: 'm' })).status).toBe(400);
    expect((await api.call(reader, 'POST', '/v1/agent-messages', { message_id: 'ok-3', project_id: 'shop', model: 'm' })).status).toBe(403);
    expect((await api.call(null, 'POST', '/v1/agent-messages', { message_id: 'ok-4', project_id: 'shop', model: 'm' })).status).toBe(401);
    expect(await counts()).toEqual(before);
    const [untouched] = await api.t.db<{ finalised: boolean }[]>`
      select finalised_at is not null as finalised from shipslog.agent_messages where message_id = 'msg-bad'`;
    expect(untouched?.finalised).toBe(false);
  });

  it('keeps tenants apart on every route', async () => {
    expect((await api.call(globex, 'GET', '/v1/agent-messages/msg-api-1')).status).toBe(404);
    expect((await api.call(globex, 'PATCH', '/v1/agent-messages/msg-bad', finalise)).status).toBe(404);
    expect((await api.call(globex, 'GET', '/v1/projects/shop/agent-analytics')).status).toBe(404);
    expect((await api.call(acme, 'GET', '/v1/projects/globex-shop/agent-analytics')).status).toBe(404);
    // A global key sees both.
    expect((await api.call(global, 'GET', '/v1/agent-messages/msg-globex')).status).toBe(200);
    expect((await api.call(global, 'GET', '/v1/projects/shop/agent-analytics')).status).toBe(200);
  });

  it('serves analytics with exact costs and zero-filled days, and validates the range', async () => {
    const day = 86_400_000;
    const today = Math.floor(Date.now() / day) * day;
    for (const [i, daysAgo] of [2, 2, 0].entries()) {
      const id = `msg-an-${i}`;
      await api.call(acme, 'POST', '/v1/agent-messages', {
        message_id: id, project_id: 'analytics', model: 'claude-haiku-4', created_at: new Date(today - daysAgo * day + 60_000).toISOString(),
      });
      await api.call(acme, 'PATCH', `/v1/agent-messages/${id}`, {
        reasoning: [], tokens: { prompt: 10, completion: 0, total: 10 }, cost: { prompt: '0.1', completion: '0', total: '0.1' },
      });
    }
    const from = new Date(today - 2 * day).toISOString();
    const to = new Date(today + day).toISOString();
    const r = await api.call(reader, 'GET', `/v1/projects/analytics/agent-analytics?from=${from}&to=${to}&recent=2`);
    expect(r.status).toBe(200);
    const a = await r.json();
    expect(a).toMatchObject({ message_count: 3, cost: { total: '0.3' }, average_cost_per_message: '0.1', tokens: { total: 30 } });
    expect(a.cost_by_day.map((d: { total_cost: string }) => d.total_cost)).toEqual(['0.2', '0', '0.1']);
    expect(a.recent_messages).toHaveLength(2);
    expect((await api.call(reader, 'GET', `/v1/projects/analytics/agent-analytics?from=${to}&to=${from}`)).status).toBe(400);
    expect((await api.call(reader, 'GET', '/v1/projects/analytics/agent-analytics?from=yesterday')).status).toBe(400);
    expect((await api.call(reader, 'GET', '/v1/projects/analytics/agent-analytics?from=2000-01-01T00:00:00Z')).status).toBe(422);
    expect((await api.call(reader, 'GET', '/v1/projects/nowhere/agent-analytics')).status).toBe(404);
  });

  it('shows the agent message behind a correlated deployment change in its history', async () => {
    await api.call(acme, 'POST', '/v1/agent-messages', { message_id: 'msg-deploy', project_id: 'shop', model: 'claude-opus-4' });
    await api.call(acme, 'PATCH', '/v1/agent-messages/msg-deploy', finalise);
    const created = await api.call(
      acme, 'POST', '/v1/deployments',
      { name: 'orders-db', recipe: 'postgresql', app_version: '16', config: { storage: '8Gi' } },
      { 'x-correlation-id': 'msg-deploy' },
    );
    expect(created.status).toBe(201);
    const { id } = await created.json();
    const history = await api.call(reader, 'GET', `/v1/deployments/${id}/history`);
    expect(history.status).toBe(200);
    const [entry] = (await history.json()).items;
    expect(entry).toMatchObject({
      action: 'created',
      correlation_id: 'msg-deploy',
      agent_message: { message_id: 'msg-deploy', model: 'claude-opus-4', tokens: finalise.tokens, cost: finalise.cost },
    });
    const cost = await api.call(reader, 'GET', `/v1/deployments/${id}/agent-cost`);
    expect(await cost.json()).toEqual({ deployment_id: id, message_count: 1, total_tokens: 1250, total_cost: '0.00675' });
    expect((await api.call(globex, 'GET', `/v1/deployments/${id}/agent-cost`)).status).toBe(404);
    const message = await (await api.call(reader, 'GET', '/v1/agent-messages/msg-deploy')).json();
    expect(message.deployment_changes).toMatchObject([{ deployment_id: id, name: 'orders-db', action: 'created', chain_index: 1 }]);
    const spec = await (await api.call(null, 'GET', '/openapi.json')).json();
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining([
      '/v1/agent-messages', '/v1/agent-messages/{messageId}', '/v1/projects/{projectId}/agent-analytics', '/v1/deployments/{id}/agent-cost',
    ]));
  });
});
