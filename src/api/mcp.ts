import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { Context } from 'hono';
import { z } from '@hono/zod-openapi';
import { getAppHistory } from '../audit/app-history.ts';
import { hasScope } from './auth.ts';
import type { ApiDeps, App, AppEnv } from './context.ts';
import { DomainError, toDomainError } from '../db/errors.ts';
import { ProblemError, problemResponse } from './problem.ts';
import { rollbackApp, rollbackTarget } from './rollback.ts';
import { problemSchema, problems } from './schemas.ts';
import { appIdSchema } from './tools.ts';
import { inTenantTx } from './tx.ts';

const json = <T extends z.ZodType>(schema: T) => ({ 'application/json': { schema } });

const jsonRpcResponse = z
  .object({
    jsonrpc: z.literal('2.0'),
    id: z.union([z.string(), z.number()]).nullable(),
    result: z.record(z.string(), z.unknown()).optional(),
    error: z.object({ code: z.number().int(), message: z.string(), data: z.unknown().optional() }).optional(),
  })
  .openapi('JsonRpcResponse');

/**
 * The agent tool over MCP (streamable HTTP, stateless: a fresh server per request, so any
 * replica can answer and no session outlives its request). Authenticated like /v1: the
 * tool runs in the caller's tenant transaction, so row-level security applies.
 */
export function registerMcp(app: App, deps: ApiDeps): void {
  app.openAPIRegistry.registerPath({
    method: 'post',
    path: '/mcp',
    tags: ['agent tools'],
    summary: 'Model Context Protocol (streamable HTTP, JSON-RPC): tools get-app-history and rollback-app',
    security: [{ apiKey: [] }],
    responses: {
      ...problems(403, 413),
      // enableJsonResponse below: answers are JSON, never an SSE stream.
      200: { description: 'the JSON-RPC response (an array for a batch)', content: json(z.union([jsonRpcResponse, z.array(jsonRpcResponse)])) },
      202: { description: 'notifications only: accepted, no body' },
      // The transport's own refusals are JSON-RPC errors (id null), not problem+json; 401,
      // 403 and 413 come from shipslog's middleware and are problems.
      // ...and input no route may take (deep nesting, NUL, prototype keys: hostile-input.ts) is a problem.
      400: {
        description: 'not a JSON-RPC message (a JSON-RPC error), or hostile input (a problem)',
        content: { ...json(jsonRpcResponse), 'application/problem+json': { schema: problemSchema } },
      },
      406: { description: 'Accept must list application/json and text/event-stream', content: json(jsonRpcResponse) },
      415: { description: 'Content-Type must be application/json', content: json(jsonRpcResponse) },
    },
  });

  app.all('/mcp', async (c) => {
    if (!hasScope(c.get('principal'), 'read')) return problemResponse(c, 'forbidden', 'this needs the read scope');
    const server = buildServer(c, deps);
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    await server.connect(transport);
    try {
      // hostile-input.ts has read and checked the body: the transport gets what it parsed.
      const parsedBody: unknown = c.req.raw.bodyUsed ? await c.req.json().catch(() => undefined) : undefined;
      return await transport.handleRequest(c.req.raw, parsedBody === undefined ? undefined : { parsedBody });
    } finally {
      // JSON responses are complete here; nothing streams after the request.
      await server.close();
    }
  });
}

function buildServer(c: Context<AppEnv>, deps: ApiDeps): McpServer {
  const server = new McpServer({ name: 'shipslog', version: '1' });
  server.registerTool(
    'get-app-history',
    {
      title: 'What happened to an app',
      description:
        'History of a deployed app, newest first: each entry has action, when ("3 hours ago"), actor, reason and readable changes ("storage: 8Gi -> 16Gi"). appId is a deployment id, "tenant/name" or a name in your tenant.',
      inputSchema: { appId: appIdSchema, limit: z.number().int().min(1).max(200).optional() },
      annotations: { readOnlyHint: true },
    },
    async ({ appId, limit }) => {
      const principal = c.get('principal');
      const items = await inTenantTx(c, deps, (tx) => getAppHistory(tx, principal.tenant, appId, limit ?? 50), { readOnly: true, genericPlans: true });
      if (!items) return { isError: true, content: [{ type: 'text' as const, text: `no app ${appId}` }] };
      return {
        content: [{ type: 'text' as const, text: JSON.stringify(items) }],
        structuredContent: { items },
      };
    },
  );
  server.registerTool(
    'rollback-app',
    {
      title: 'Roll an app back',
      description:
        'Returns an app to the desired state it had at an earlier event of its history (event: {"seq": n} or {"chain_index": n}), as a new generation that the reconciler applies. Needs the deploy scope. Refused with the reason when the state cannot be rebuilt (e.g. its secrets were rotated since).',
      inputSchema: { appId: appIdSchema, event: rollbackTarget, reason: z.string().min(1).max(1000).optional() },
      annotations: { destructiveHint: true },
    },
    async ({ appId, event, reason }) => {
      const principal = c.get('principal');
      if (!hasScope(principal, 'deploy')) return { isError: true, content: [{ type: 'text' as const, text: 'this needs the deploy scope' }] };
      try {
        const started = await inTenantTx(c, deps, (tx) => rollbackApp(tx, principal.tenant, appId, event), { reason });
        return { content: [{ type: 'text' as const, text: JSON.stringify(started) }], structuredContent: { ...started } };
      } catch (err) {
        // A refusal (unknown app or event, a state that cannot be rebuilt) is the tool's answer.
        const mapped = toDomainError(err);
        if (!(mapped instanceof ProblemError || mapped instanceof DomainError)) throw err;
        return { isError: true, content: [{ type: 'text' as const, text: mapped.message }] };
      }
    },
  );
  return server;
}
