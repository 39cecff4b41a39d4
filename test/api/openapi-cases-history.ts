import { finalise, mcp, missing, newDeployment, newRun, start, type Cases } from './openapi-fixtures.ts';

// Cases of openapi-cases.ts for the routes that read history, the agent's routes and runs.

export const historyCases: Cases = {
  'GET /v1/deployments/{id}/history': async (x) => {
    const { id } = await newDeployment(x, 'history-me');
    await x.api.call(x.keys.acme, 'PATCH', `/v1/deployments/${id}`, { config: { storage: '16Gi' } }, { 'x-correlation-id': 'msg-history' });
    await x.api.call(x.keys.acme, 'POST', '/v1/agent-messages', start('msg-history'));
    await x.api.call(x.keys.acme, 'DELETE', `/v1/deployments/${id}`);
    const path = `/v1/deployments/${id}/history`;
    const first = await x.api.call(x.keys.acme, 'GET', `${path}?limit=1`);
    const { next_cursor } = (await first.clone().json()) as { next_cursor: string };
    return [
      first,
      await x.api.call(x.keys.acme, 'GET', `${path}?cursor=${next_cursor}`),
      await x.api.call(x.keys.acme, 'GET', `${path}?format=raw`),
      await x.api.call(x.keys.acme, 'GET', `${path}?action=nonsense`),
      await x.api.call(x.keys.reader, 'GET', `${path}?format=raw`),
      await x.api.call(x.keys.acme, 'GET', `/v1/deployments/${missing}/history`),
    ];
  },

  'GET /v1/events': async (x) => {
    await newDeployment(x, 'events-me');
    const first = await x.api.call(x.keys.reader, 'GET', '/v1/events?limit=2');
    const { next_cursor } = (await first.clone().json()) as { next_cursor: string };
    return [
      first,
      await x.api.call(x.keys.reader, 'GET', `/v1/events?limit=2&cursor=${next_cursor}`),
      await x.api.call(x.keys.reader, 'GET', '/v1/events?action=created&environment=production&status=pending'),
      await x.api.call(x.keys.reader, 'GET', '/v1/events?cursor=nonsense'),
      await x.api.call(x.keys.deployer, 'GET', '/v1/events'),
    ];
  },

  'GET /v1/events/feed': async (x) => {
    await newDeployment(x, 'feed-me');
    return [
      await x.api.call(x.keys.acme, 'GET', '/v1/events/feed?limit=5'),
      await x.api.call(x.keys.acme, 'GET', '/v1/events/feed?after=nonsense'),
      await x.api.call(x.keys.reader, 'GET', '/v1/events/feed'),
    ];
  },

  'GET /v1/reports/compliance': async (x) => {
    await newDeployment(x, 'report-me');
    const window = 'from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z';
    return [
      await x.api.call(x.keys.acme, 'GET', `/v1/reports/compliance?${window}`),
      await x.api.call(x.keys.global, 'GET', `/v1/reports/compliance?${window}&environment=production&format=text`),
      await x.api.call(x.keys.acme, 'GET', `/v1/reports/compliance?${window}&format=html`),
      await x.api.call(x.keys.acme, 'GET', '/v1/reports/compliance?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z'),
      await x.api.call(x.keys.acme, 'GET', `/v1/reports/compliance?${window}&tenant=globex`),
      await x.api.call(x.keys.reader, 'GET', `/v1/reports/compliance?${window}`),
    ];
  },

  'POST /v1/tools/get-app-history': async (x) => {
    await newDeployment(x, 'tool-me');
    return [
      await x.api.call(x.keys.reader, 'POST', '/v1/tools/get-app-history', { appId: 'acme/tool-me' }),
      await x.api.call(x.keys.reader, 'POST', '/v1/tools/get-app-history', { appId: 'nothing-here' }),
      await x.api.call(x.keys.reader, 'POST', '/v1/tools/get-app-history', { appId: "x'; drop table--" }),
      await x.api.call(x.keys.deployer, 'POST', '/v1/tools/get-app-history', { appId: 'tool-me' }),
      await x.api.call(x.keys.reader, 'POST', '/v1/tools/get-app-history', 'appId=tool-me', { 'content-type': 'text/plain' }),
    ];
  },

  'POST /mcp': async (x) => {
    const list = { jsonrpc: '2.0', id: 1, method: 'tools/list' };
    return [
      await mcp(x, x.keys.reader, list),
      await mcp(x, x.keys.reader, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'get-app-history', arguments: { appId: 'nothing-here' } } }),
      await mcp(x, x.keys.reader, [list, { ...list, id: 'two' }]),
      await mcp(x, x.keys.reader, { jsonrpc: '2.0', method: 'notifications/initialized' }),
      await mcp(x, x.keys.reader, '{"jsonrpc": '),
      // Hostile input is refused before the transport (src/api/hostile-input.ts): a problem.
      await mcp(x, x.keys.reader, `{"jsonrpc":"2.0","id":3,"method":"tools/list","params":${'['.repeat(10_000)}${']'.repeat(10_000)}}`),
      await mcp(x, x.keys.reader, list, { accept: 'text/html' }),
      await mcp(x, x.keys.reader, list, { 'content-type': 'text/plain' }),
      await mcp(x, x.keys.reader, { ...list, params: { pad: 'x'.repeat(300_000) } }),
      await mcp(x, null, list),
      await mcp(x, x.keys.deployer, list),
    ];
  },

  'POST /v1/agent-messages': async (x) => [
    await x.api.call(x.keys.acme, 'POST', '/v1/agent-messages', start('msg-start')),
    await x.api.call(x.keys.acme, 'POST', '/v1/agent-messages', start('msg-start')), // a retry: 200
    await x.api.call(x.keys.acme, 'POST', '/v1/agent-messages', { ...start('msg-start'), model: 'other' }),
    await x.api.call(x.keys.acme, 'POST', '/v1/agent-messages', { ...start('msg-start-2'), created_at: '2999-01-01T00:00:00Z' }),
    await x.api.call(x.keys.acme, 'POST', '/v1/agent-messages', { message_id: '' }),
    await x.api.call(x.keys.reader, 'POST', '/v1/agent-messages', start('msg-start-3')),
  ],

  'PATCH /v1/agent-messages/{messageId}': async (x) => {
    await x.api.call(x.keys.acme, 'POST', '/v1/agent-messages', start('msg-finalise'));
    const path = '/v1/agent-messages/msg-finalise';
    return [
      await x.api.call(x.keys.acme, 'PATCH', path, finalise),
      await x.api.call(x.keys.acme, 'PATCH', path, finalise), // the same values: 200, unchanged
      await x.api.call(x.keys.acme, 'PATCH', path, { ...finalise, reasoning: ['rewritten'] }),
      await x.api.call(x.keys.acme, 'PATCH', path, { ...finalise, tokens: { prompt: 1, completion: 1, total: 3 } }),
      await x.api.call(x.keys.acme, 'PATCH', '/v1/agent-messages/nothing-here', finalise),
      await x.api.call(x.keys.reader, 'PATCH', path, finalise),
    ];
  },

  'GET /v1/agent-messages/{messageId}': async (x) => {
    const { id } = await newDeployment(x, 'message-target');
    await x.api.call(x.keys.acme, 'POST', '/v1/agent-messages', start('msg-read'));
    await x.api.call(x.keys.acme, 'PATCH', `/v1/deployments/${id}`, { config: { storage: '9Gi' } }, { 'x-correlation-id': 'msg-read' });
    // Ids are per tenant: globex has a msg-read of its own, and a global key must say which it means.
    await x.api.call(x.keys.global, 'POST', '/v1/agent-messages', { ...start('msg-read'), project_id: 'globex-shop', tenant: 'globex' });
    return [
      await x.api.call(x.keys.reader, 'GET', '/v1/agent-messages/msg-read'),
      await x.api.call(x.keys.global, 'GET', '/v1/agent-messages/msg-read'),
      await x.api.call(x.keys.global, 'GET', '/v1/agent-messages/msg-read?tenant=globex'),
      await x.api.call(x.keys.reader, 'GET', '/v1/agent-messages/nothing-here'),
      await x.api.call(x.keys.reader, 'GET', '/v1/agent-messages/%20bad'),
      await x.api.call(x.keys.deployer, 'GET', '/v1/agent-messages/msg-read'),
    ];
  },

  'GET /v1/deployments/{id}/agent-cost': async (x) => {
    const { id } = await newDeployment(x, 'cost-target');
    await x.api.call(x.keys.acme, 'POST', '/v1/agent-messages', start('msg-cost'));
    await x.api.call(x.keys.acme, 'PATCH', '/v1/agent-messages/msg-cost', finalise);
    await x.api.call(x.keys.acme, 'PATCH', `/v1/deployments/${id}`, { config: { storage: '9Gi' } }, { 'x-correlation-id': 'msg-cost' });
    return [
      await x.api.call(x.keys.reader, 'GET', `/v1/deployments/${id}/agent-cost`),
      await x.api.call(x.keys.reader, 'GET', `/v1/deployments/${missing}/agent-cost`),
      await x.api.call(x.keys.deployer, 'GET', `/v1/deployments/${id}/agent-cost`),
    ];
  },

  'GET /v1/projects/{projectId}/agent-analytics': async (x) => {
    await x.api.call(x.keys.acme, 'POST', '/v1/agent-messages', start('msg-analytics'));
    await x.api.call(x.keys.acme, 'PATCH', '/v1/agent-messages/msg-analytics', finalise);
    return [
      await x.api.call(x.keys.reader, 'GET', '/v1/projects/shop/agent-analytics'),
      await x.api.call(x.keys.reader, 'GET', '/v1/projects/shop/agent-analytics?from=2030-01-02T00:00:00Z&to=2030-01-01T00:00:00Z'),
      await x.api.call(x.keys.reader, 'GET', '/v1/projects/nothing-here/agent-analytics'),
      await x.api.call(x.keys.deployer, 'GET', '/v1/projects/shop/agent-analytics'),
    ];
  },

  'GET /v1/deployments/{id}/runs': async (x) => {
    const { id } = await newDeployment(x, 'runs-list');
    const runs = [await newRun(x, id, 'runs-list'), await newRun(x, id, 'runs-list')];
    return [
      await x.api.call(x.keys.reader, 'GET', `/v1/deployments/${id}/runs?limit=1`),
      await x.api.call(x.keys.reader, 'GET', `/v1/deployments/${id}/runs?cursor=${runs[1]}`),
      await x.api.call(x.keys.reader, 'GET', `/v1/deployments/${missing}/runs`),
      await x.api.call(x.keys.deployer, 'GET', `/v1/deployments/${id}/runs`),
    ];
  },

  'GET /v1/deployments/{id}/runs/{runId}': async (x) => {
    const { id } = await newDeployment(x, 'runs-get');
    const run = await newRun(x, id, 'runs-get');
    return [
      await x.api.call(x.keys.reader, 'GET', `/v1/deployments/${id}/runs/${run}`),
      await x.api.call(x.keys.reader, 'GET', `/v1/deployments/${id}/runs/${missing}`),
      await x.api.call(x.keys.deployer, 'GET', `/v1/deployments/${id}/runs/${run}`),
    ];
  },

  'GET /v1/deployments/{id}/runs/{runId}/audit': async (x) => {
    const { id } = await newDeployment(x, 'runs-audit');
    const run = await newRun(x, id, 'runs-audit');
    return [
      await x.api.call(x.keys.reader, 'GET', `/v1/deployments/${id}/runs/${run}/audit`),
      await x.api.call(x.keys.reader, 'GET', `/v1/deployments/${id}/runs/${missing}/audit`),
      await x.api.call(x.keys.deployer, 'GET', `/v1/deployments/${id}/runs/${run}/audit`),
    ];
  },
};
