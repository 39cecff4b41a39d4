import { createRoute, z } from '@hono/zod-openapi';
import { deploymentHistory, genericPlanFits, hasHistory, type HistoryFilter } from '../db/events.ts';
import { requireScope } from './auth.ts';
import type { ApiDeps, App } from './context.ts';
import { ProblemError } from './problem.ts';
import { actionList, categoryList, historyEntrySchema, minSeverity, problems, idParam, rawEventSchema, timestamp } from './schemas.ts';
import { inTenantTx } from './tx.ts';

const historyQuery = z.strictObject({
  since: timestamp.optional(),
  until: timestamp.optional(),
  action: actionList.optional(),
  actor: z.string().min(1).max(200).optional(),
  category: categoryList.optional(),
  severity: minSeverity.optional(),
  format: z.enum(['readable', 'raw']).default('readable').openapi({ description: 'raw: the stored events with their hashes (audit scope)' }),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  // A chain_index, an integer column: 2147483648 and above used to reach PostgreSQL (22003).
  cursor: z
    .string()
    .regex(/^\d{1,10}$/, 'a cursor this API returned')
    .refine((s) => !/^\d+$/.test(s) || Number(s) <= 2_147_483_647, 'a cursor this API returned')
    .optional(),
});

const historyRoute = createRoute({
  method: 'get',
  path: '/v1/deployments/{id}/history',
  tags: ['history'],
  summary: 'What happened to a deployment, newest first (also after its removal)',
  request: { params: idParam, query: historyQuery },
  responses: {
    200: {
      description: 'a page of events; next_cursor is null on the last page',
      content: {
        'application/json': {
          schema: z.object({ items: z.array(z.union([historyEntrySchema, rawEventSchema])), next_cursor: z.string().nullable() }),
        },
      },
    },
    ...problems(403, 404),
  },
});

export function registerHistory(app: App, deps: ApiDeps): void {
  app.openapi(historyRoute, async (c) => {
    const principal = c.get('principal');
    const { id } = c.req.valid('param');
    const q = c.req.valid('query');
    requireScope(principal, q.format === 'raw' ? 'audit' : 'read');
    const filter: HistoryFilter = {
      deploymentId: id,
      since: q.since ? new Date(q.since) : undefined,
      until: q.until ? new Date(q.until) : undefined,
      actions: q.action,
      actor: q.actor,
      categories: q.category,
      minSeverity: q.severity,
      before: q.cursor ? Number(q.cursor) : undefined,
      limit: q.limit,
    };
    const items = await inTenantTx(c, deps, async (tx) => {
      // Readable entries name the agent message behind a change (model, tokens, cost).
      const page = await deploymentHistory(tx, filter, q.format, { agentMessages: true });
      // An empty page of a deployment with history is fine; no history at all (or another
      // tenant's, hidden by row-level security) is 404.
      if (page.length === 0 && !(await hasHistory(tx, id))) throw new ProblemError('not-found', `no deployment ${id}`);
      return page;
    }, { readOnly: true, genericPlans: genericPlanFits(filter) });
    const last = items.length === q.limit ? items[items.length - 1] : undefined;
    return c.json({ items, next_cursor: last ? String(last.chain_index) : null }, 200);
  });
}
