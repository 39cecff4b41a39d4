import type { App } from '../../src/api/app.ts';

/** Calls an MCP tool over streamable HTTP (stateless JSON responses) and returns its result. */
export async function mcpCall(app: App, key: string, tool: string, args: Record<string, unknown>) {
  const res = await app.request('/mcp', {
    method: 'POST',
    headers: {
      authorization: `Bearer ${key}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: tool, arguments: args } }),
  });
  if (res.status !== 200) throw new Error(`MCP answered ${res.status}: ${await res.text()}`);
  const body = (await res.json()) as { result?: { isError?: boolean; content: { text: string }[]; structuredContent?: unknown }; error?: unknown };
  if (!body.result) throw new Error(`MCP error: ${JSON.stringify(body.error)}`);
  return body.result;
}
