import { randomUUID } from 'node:crypto';
import { finishRun, insertRun } from '../../src/db/runs.ts';
import type { TestApi } from './harness.ts';
import type { RouteKey } from './openapi-check.ts';

// What the cases of openapi-cases*.ts share: the keys, and fixtures made as a client (or,
// for reconcile runs, as the reconciler) would make them.

/** The requests that exercise one route; every response is checked against the document. */
export type Cases = Partial<Record<RouteKey, (x: Ctx) => Promise<Response[]>>>;

export interface Ctx {
  api: TestApi;
  /** Tenant acme: read, deploy and audit; read only; deploy only. Global: every tenant, read/deploy/audit. */
  keys: { acme: string; reader: string; deployer: string; global: string };
}

export const missing = '00000000-0000-4000-8000-000000000000';
export const start = (id: string) => ({ message_id: id, project_id: 'shop', model: 'claude-sonnet-4', context_layers: 2 });
export const finalise = {
  reasoning: ['the user wants a database'],
  tokens: { prompt: 100, completion: 20, total: 120 },
  cost: { prompt: '0.0003', completion: '0.0003', total: '0.0006' },
};

export async function newDeployment(x: Ctx, name: string): Promise<{ id: string }> {
  const res = await x.api.call(x.keys.acme, 'POST', '/v1/deployments', { name, recipe: 'postgresql', app_version: '16', config: { storage: '8Gi' } });
  if (res.status !== 201) throw new Error(`fixture: create ${name} answered ${res.status}`);
  return res.json();
}

/** A finished reconcile run, as the reconciler records one. */
export async function newRun(x: Ctx, deploymentId: string, name: string): Promise<string> {
  const id = randomUUID();
  await insertRun(x.api.t.db, {
    id, deploymentId, tenant: 'acme', name, generation: 1, configHash: `sha256:${'0'.repeat(64)}`, target: 'test/acme',
    phase: 'Running', workerId: 'worker-1', correlationId: id, parameters: { recipe: 'postgresql' },
  });
  await finishRun(x.api.t.db, id, {
    phase: 'Completed', outcome: 'Applied', changeSet: [{ kind: 'Service', name, namespace: 'acme', action: 'created' }],
  });
  return id;
}

export const mcp = (x: Ctx, key: string | null, body: unknown, headers: Record<string, string> = {}) =>
  x.api.app.request('/mcp', {
    method: 'POST',
    headers: {
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
