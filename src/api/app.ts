/*
 * The HTTP application: createApp(deps) -> OpenAPIHono. HOW TO ADD ROUTES (issues 4, 5, ...):
 *
 *   1. One file per resource, e.g. src/api/runs.ts, exporting
 *        export function registerRuns(app: App, deps: ApiDeps): void
 *      that declares each route with createRoute() and zod schemas (body schemas .strict(),
 *      `request.body.required: true`) and adds it with app.openapi(route, handler). Every
 *      route then appears in /openapi.json; a failed validation answers 400 problem+json.
 *   2. Add it to `routeModules` below. Paths under /v1/ are authenticated: the handler reads
 *      the caller with c.get('principal') ({ keyId, name, tenant|null, scopes }) and checks
 *      requireScope(principal, 'read' | 'deploy' | 'audit' | 'admin') from ./auth.ts.
 *   3. Do ALL database work through inTenantTx(c, deps, async (tx) => ...) from ./tx.ts: one
 *      transaction as role shipslog_app with shipslog.tenant and the actor context set, so
 *      row-level security and the audit trigger see the caller. Count the deployment events
 *      a route writes in deps.metrics.auditEvents. Your tables need RLS policies keyed on
 *      shipslog.tenant_visible(tenant). A route that only reads passes { readOnly: true }:
 *      PostgreSQL then refuses any write, and the answer does not wait for the COMMIT.
 *   4. Errors: throw new ProblemError('not-found' | 'conflict' | ..., detail) from
 *      ./problem.ts, or let a PostgreSQL error through: db/errors.ts maps SQLSTATEs to
 *      problem+json. Never put SQL text or stack traces in a response.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { loadFingerprintKey, noClusterSecretWriter } from '../secrets.ts';
import { recordAccessDenied } from './access-denied.ts';
import { authMiddleware } from './auth.ts';
import type { ApiDeps, App, AppDeps, AppEnv } from './context.ts';
import { registerDeployments } from './deployments.ts';
import { registerDocs } from './docs.ts';
import { registerEvents } from './events.ts';
import { registerHealth } from './health.ts';
import { registerHistory } from './history.ts';
import { hostileInput } from './hostile-input.ts';
import { registerMcp } from './mcp.ts';
import { createMetrics } from './metrics.ts';
import { notFoundOrMethodNotAllowed } from './method-not-allowed.ts';
import { ProblemError, errorHandler, validationHook } from './problem.ts';
import { requestContext } from './request.ts';
import { registerTools } from './tools.ts';
import { registerAgentMessages } from './agent-messages.ts';
import { registerApprovals } from './approvals.ts';
import { registerRollback } from './rollback.ts';
import { registerRuns } from './runs.ts';
import { registerTimeTravel } from './time-travel.ts';
import { registerReports } from './reports.ts';
import { registerUi } from '../ui/index.ts';

export type { App, AppDeps, ApiDeps } from './context.ts';

/** Route modules, in registration order. Add yours here (see the comment at the top). */
const routeModules: ((app: App, deps: ApiDeps) => void)[] = [
  registerHealth,
  registerDeployments,
  registerHistory,
  registerTimeTravel,
  registerEvents,
  registerTools,
  registerMcp,
  registerAgentMessages,
  registerRuns,
  registerReports,
  registerApprovals,
  registerRollback,
];

/** Request bodies above 256 KiB are refused (config itself is capped at 64 KiB in the table). */
export const maxBodyBytes = 256 * 1024;

export function createApp(deps: AppDeps): App {
  let keyPromise: Promise<Buffer> | undefined;
  const api: ApiDeps = {
    db: deps.db,
    config: deps.config,
    log: deps.log,
    secretWriter: deps.secretWriter ?? noClusterSecretWriter,
    fingerprintKey: () =>
      deps.fingerprintKey
        ? Promise.resolve(deps.fingerprintKey)
        : (keyPromise ??= loadFingerprintKey(deps.config.fingerprintKey, deps.config.dataDir)),
    metrics: createMetrics(),
    reconciler: deps.reconciler ?? null,
  };

  const app: App = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.onError(errorHandler(deps.log));
  // 404 for a path no route has; 405 with Allow for a method the path does not serve.
  app.notFound(notFoundOrMethodNotAllowed(app));

  app.use('*', requestContext(api));
  const limit = bodyLimit({
    maxSize: maxBodyBytes,
    onError: () => {
      throw new ProblemError('payload-too-large', `bodies are limited to ${maxBodyBytes} bytes`);
    },
  });
  app.use('/v1/*', limit);
  app.use('/mcp', limit);
  app.use('/v1/*', authMiddleware(api));
  app.use('/mcp', authMiddleware(api));
  // A 403 to an authenticated client is recorded as access_denied (on its own connection).
  app.use('/v1/*', recordAccessDenied(api));
  // After the key is known, before any route reads the body or query (issue 9).
  app.use('/v1/*', hostileInput());
  app.use('/mcp', hostileInput());

  app.openAPIRegistry.registerComponent('securitySchemes', 'apiKey', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key from `shipslog keys create` (slk_...)',
  });
  for (const register of routeModules) register(app, api);

  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'shipslog',
      version: '1',
      description: 'Deployments on Kubernetes and their tamper-evident history. Errors are RFC 9457 problem+json.',
    },
    security: [{ apiKey: [] }],
  });
  registerDocs(app);
  registerUi(app, api);
  return app;
}
