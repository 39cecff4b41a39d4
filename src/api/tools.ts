import { createRoute, z } from '@hono/zod-openapi';
import { getAppHistory } from '../audit/app-history.ts';
import { requireScope } from './auth.ts';
import type { ApiDeps, App } from './context.ts';
import { ProblemError } from './problem.ts';
import { problems } from './schemas.ts';
import { inTenantTx } from './tx.ts';

/** appId: a deployment id, "tenant/name" or a name in the caller's tenant. */
export const appIdSchema = z
  .string()
  .regex(
    /^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\/)?[a-z0-9]([-a-z0-9]{0,51}[a-z0-9])?)$/,
    'a deployment id, tenant/name or name',
  )
  .openapi({ example: 'acme/orders-db' });

export const toolInput = z.strictObject({
  appId: appIdSchema,
  limit: z.number().int().min(1).max(200).default(50),
});

export const toolItem = z
  .object({
    action: z.string(),
    when: z.string(),
    at: z.string(),
    actor: z.string(),
    reason: z.string().nullable(),
    changes: z.array(z.string()),
  })
  .openapi('AppHistoryItem');

const route = createRoute({
  method: 'post',
  path: '/v1/tools/get-app-history',
  tags: ['agent tools'],
  summary: 'Agent tool: what happened to an app, newest first ([{ action, when, reason, changes }])',
  request: { body: { required: true, content: { 'application/json': { schema: toolInput } } } },
  responses: {
    200: { description: 'the history', content: { 'application/json': { schema: z.array(toolItem) } } },
    ...problems(403, 404, 415),
  },
});

export function registerTools(app: App, deps: ApiDeps): void {
  app.openapi(route, async (c) => {
    const principal = c.get('principal');
    requireScope(principal, 'read');
    const { appId, limit } = c.req.valid('json');
    const items = await inTenantTx(c, deps, (tx) => getAppHistory(tx, principal.tenant, appId, limit), { readOnly: true, genericPlans: true });
    if (!items) throw new ProblemError('not-found', `no app ${appId}`);
    return c.json(items, 200);
  });
}
