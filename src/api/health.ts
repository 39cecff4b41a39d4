import { createRoute, z } from '@hono/zod-openapi';
import { Registry } from 'prom-client';
import { ping } from '../db/ping.ts';
import type { ApiDeps, App } from './context.ts';
import { retryAfterSeconds } from './problem.ts';

const status = z.object({
  status: z.string(),
  database: z.string().optional(),
  reconciler: z
    .object({ mode: z.enum(['apply', 'plan-only']), message: z.string(), running: z.boolean() })
    .passthrough()
    .optional()
    .openapi({ description: 'The reconciler in this process; mode plan-only means no cluster is configured and nothing is applied' }),
});

const healthz = createRoute({
  method: 'get',
  path: '/healthz',
  tags: ['operations'],
  security: [],
  summary: 'Liveness: the process answers',
  responses: { 200: { description: 'alive', content: { 'application/json': { schema: status } } } },
});

const readyz = createRoute({
  method: 'get',
  path: '/readyz',
  tags: ['operations'],
  security: [],
  summary: 'Readiness: the database answers within 2 s (the body also says whether the reconciler applies or only plans)',
  responses: {
    200: { description: 'ready', content: { 'application/json': { schema: status } } },
    503: { description: 'database unreachable', content: { 'application/json': { schema: status } } },
  },
});

const metrics = createRoute({
  method: 'get',
  path: '/metrics',
  tags: ['operations'],
  security: [],
  summary: 'Prometheus metrics: request durations by route and status, audit events by action',
  responses: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: z.string() } } } },
});

/** Public routes: no authentication (probes and scrapers carry no key). */
export function registerHealth(app: App, deps: ApiDeps): void {
  app.openapi(healthz, (c) => c.json({ status: 'ok' }, 200));

  app.openapi(readyz, async (c) => {
    const reconciler = deps.reconciler ? { reconciler: deps.reconciler.describe() } : {};
    try {
      await withTimeout(ping(deps.db), 2000);
      return c.json({ status: 'ready', database: 'ok', ...reconciler }, 200);
    } catch (err) {
      deps.log.warn({ err }, 'readiness check failed: database unreachable');
      return c.json({ status: 'not ready', database: 'unreachable', ...reconciler }, 503, { 'retry-after': String(retryAfterSeconds) });
    }
  });

  // One scrape for the whole process: the API's series and, in `serve`, the reconciler's.
  const registry = deps.reconciler
    ? Registry.merge([deps.metrics.registry, deps.reconciler.metrics.registry])
    : deps.metrics.registry;
  app.openapi(metrics, async (c) => {
    const text = await registry.metrics();
    return c.text(text, 200, { 'content-type': registry.contentType });
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
