import { createRoute, z } from '@hono/zod-openapi';
import { deploymentStatuses } from '../db/deployments.ts';
import { feed } from '../db/event-feed.ts';
import { genericPlanFits, queryEvents, type EventFilter } from '../db/events.ts';
import { requireScope } from './auth.ts';
import type { ApiDeps, App } from './context.ts';
import { ProblemError } from './problem.ts';
import { actionList, categoryList, deploymentName, dnsLabel, historyEntrySchema, minSeverity, problems, rawEventSchema, timestamp, uuid } from './schemas.ts';
import { inTenantTx } from './tx.ts';

const eventsQuery = z.strictObject({
  deployment_id: uuid.optional(),
  tenant: dnsLabel.optional(),
  name: deploymentName.optional(),
  action: actionList.optional(),
  actor: z.string().min(1).max(200).optional(),
  category: categoryList.optional(),
  severity: minSeverity.optional(),
  correlation_id: z.string().min(1).max(200).optional()
    .openapi({ description: 'everything a request caused: its X-Correlation-Id (else its request id), on its events and on the events of the reconcile runs it caused' }),
  environment: dnsLabel.optional().openapi({ description: 'the environment the deployment was in at the time' }),
  status: z.enum(deploymentStatuses).optional()
    .openapi({ description: 'events that set this status, e.g. failed' }),
  since: timestamp.optional(),
  until: timestamp.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().max(200).optional(),
});

const eventsRoute = createRoute({
  method: 'get',
  path: '/v1/events',
  tags: ['history'],
  summary: 'Events across deployments, newest first; filters combine (e.g. status=failed&environment=production&since=...)',
  request: { query: eventsQuery },
  responses: {
    200: {
      description: 'a page of events',
      content: { 'application/json': { schema: z.object({ items: z.array(historyEntrySchema), next_cursor: z.string().nullable() }) } },
    },
    ...problems(403),
  },
});

const feedQuery = z.strictObject({
  after: z
    .string()
    .regex(/^\d{1,20}:\d{1,15}$/, 'a cursor this API returned, or 0:0 to start')
    // The txid is an xid8 (at most 2^64 - 1): a larger one used to reach PostgreSQL (22003).
    // (zod runs this check after a failed regex too: only digits reach BigInt.)
    .refine((s) => !/^\d+:/.test(s) || BigInt(s.split(':')[0]!) <= 0xffff_ffff_ffff_ffffn, 'a cursor this API returned, or 0:0 to start')
    .default('0:0')
    .openapi({ description: 'next_cursor of the previous page (txid:seq); 0:0 from the start' }),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

const feedRoute = createRoute({
  method: 'get',
  path: '/v1/events/feed',
  tags: ['history'],
  summary: 'Commit-ordered tail of every event: never skips one whose transaction committed late (audit scope)',
  request: { query: feedQuery },
  responses: {
    200: {
      description: 'the next events; poll again with next_cursor',
      content: { 'application/json': { schema: z.object({ events: z.array(rawEventSchema), next_cursor: z.string() }) } },
    },
    ...problems(403),
  },
});

export function registerEvents(app: App, deps: ApiDeps): void {
  app.openapi(eventsRoute, async (c) => {
    const principal = c.get('principal');
    requireScope(principal, 'read');
    const q = c.req.valid('query');
    // A tenant's key sees only its tenant's events (row-level security). Its tenant is also
    // stated as a condition of the query, which the (tenant, occurred_at) index serves: the
    // policy's own predicate cannot use an index, and the page would otherwise be found by
    // filtering out every newer event of every other tenant. Another tenant asked for by name
    // has nothing this key may see.
    const tenant = principal.tenant ?? q.tenant;
    if (principal.tenant && q.tenant && q.tenant !== principal.tenant) return c.json({ items: [], next_cursor: null }, 200);
    const filter: EventFilter = {
      deploymentId: q.deployment_id,
      tenant,
      name: q.name,
      actions: q.action,
      actor: q.actor,
      categories: q.category,
      minSeverity: q.severity,
      correlationId: q.correlation_id,
      environment: q.environment,
      status: q.status,
      since: q.since ? new Date(q.since) : undefined,
      until: q.until ? new Date(q.until) : undefined,
      before: q.cursor ? decodeEventCursor(q.cursor) : undefined,
      limit: q.limit,
    };
    const items = await inTenantTx(c, deps, (tx) => queryEvents(tx, filter), { readOnly: true, genericPlans: genericPlanFits(filter) });
    const last = items.length === q.limit ? items[items.length - 1] : undefined;
    const next = last ? Buffer.from(JSON.stringify([last.at, last.seq])).toString('base64url') : null;
    return c.json({ items, next_cursor: next }, 200);
  });

  app.openapi(feedRoute, async (c) => {
    const principal = c.get('principal');
    requireScope(principal, 'audit');
    const q = c.req.valid('query');
    const [txid, seq] = q.after.split(':') as [string, string];
    // A tenant's key states its tenant, as above: the (tenant, txid, seq) index then finds its
    // next events without reading every other tenant's in between.
    // Its plan does not depend on the cursor or the tenant: the generic one (genericPlanFits).
    const page = await inTenantTx(c, deps, (tx) => feed(tx, [txid, Number(seq)], q.limit, principal.tenant ?? undefined), {
      readOnly: true,
      genericPlans: true,
    });
    return c.json({ events: page.events, next_cursor: page.next.join(':') }, 200);
  });
}

/**
 * [occurred_at, seq] as this API wrote it. The time must be an ISO 8601 instant PostgreSQL can
 * read (a string Date.parse takes, such as "1" or year 0, used to reach it: 500), the seq a
 * positive safe integer.
 */
function decodeEventCursor(cursor: string): [string, number] {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 2 && timestamp.safeParse(v[0]).success && Number.isSafeInteger(v[1]) && (v[1] as number) > 0) {
      return [v[0] as string, v[1] as number];
    }
  } catch {
    // fall through
  }
  throw new ProblemError('invalid-request', 'cursor is not one this API returned', [{ path: 'cursor', message: 'invalid cursor' }]);
}
