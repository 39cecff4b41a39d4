import { createRoute, z } from '@hono/zod-openapi';
import { loadVerifyKey } from '../audit/checkpoints.ts';
import { checkStatuses, complianceReport, reportFormats, type ComplianceReport } from '../audit/report.ts';
import { renderHtml, reportCsp } from '../audit/report-html.ts';
import { renderText } from '../audit/report-text.ts';
import { requireScope } from './auth.ts';
import type { ApiDeps, App } from './context.ts';
import { ProblemError } from './problem.ts';
import { dnsLabel, problems, timestamp, uuid } from './schemas.ts';
import { inTenantTx } from './tx.ts';

const reportQuery = z
  .strictObject({
    from: timestamp.openapi({ description: 'window start, inclusive (ISO 8601 with offset)' }),
    to: timestamp.openapi({ description: 'window end, exclusive' }),
    tenant: dnsLabel.optional().openapi({ description: 'only this tenant (a tenant key: its own, or leave it out)' }),
    deployment_id: uuid.optional(),
    environment: dnsLabel.optional().openapi({ description: 'only deployments in this environment now (or when removed)' }),
    format: z.enum(reportFormats).default('json').openapi({ description: 'json, text (for a terminal) or html (a page to read or file)' }),
  })
  .refine((q) => Date.parse(q.from) < Date.parse(q.to), { path: ['to'], message: 'must come after from (to is exclusive)' });

const nullableText = z.string().nullable();

const checkSchema = z.object({
  check: z.string().openapi({ example: 'chains_intact' }),
  status: z.enum(checkStatuses),
  summary: z.string(),
  evidence: z.record(z.string(), z.unknown()).openapi({ description: 'what the check was decided on; its shape depends on the check (docs/compliance-report.md)' }),
});

export const complianceReportSchema = z
  .object({
    report: z.string(),
    generated_at: z.string(),
    scope: z.object({ from: z.string(), to: z.string(), tenant: nullableText, deployment_id: nullableText, environment: nullableText }),
    summary: z.object({
      status: z.enum(['pass', 'fail']),
      checks_passed: z.number().int(),
      checks_failed: z.number().int(),
      checks_not_applicable: z.number().int(),
      events: z.number().int(),
      deployments: z.number().int(),
      deployments_with_events: z.number().int(),
      actors: z.number().int(),
      first_event_at: nullableText,
      last_event_at: nullableText,
    }),
    events_by_type: z.array(z.object({ action: z.string(), category: nullableText, severity: nullableText, count: z.number().int() })),
    events_by_category: z.array(z.object({ category: nullableText, count: z.number().int() })),
    actors: z.object({
      total: z.number().int(),
      items: z.array(z.object({
        actor: z.string(), actor_type: z.string(), events: z.number().int(), deployments: z.number().int(), first_at: z.string(), last_at: z.string(),
      })),
    }),
    deployments: z.object({
      total: z.number().int(),
      items: z.array(z.object({
        deployment_id: z.string(), tenant: z.string(), name: z.string(), environment: nullableText, removed: z.boolean(), events: z.number().int(),
      })),
    }),
    timeline: z.object({
      granularity: z.enum(['hour', 'day', 'month']),
      buckets: z.array(z.object({ start: z.string(), events: z.number().int(), categories: z.record(z.string(), z.number().int()) })),
      notable_total: z.number().int(),
      notable: z.array(z.object({
        occurred_at: z.string(), deployment_id: z.string(), tenant: z.string(), name: z.string(), chain_index: z.number().int(),
        action: z.string(), category: nullableText, severity: nullableText, actor: z.string(), summary: z.string(),
      })),
    }),
    checks: z.array(checkSchema),
  })
  .openapi('ComplianceReport');

const reportRoute = createRoute({
  method: 'get',
  path: '/v1/reports/compliance',
  tags: ['audit'],
  summary: 'Compliance report for a window: summary, events by type and category, actors, timeline, and checks with evidence (audit scope)',
  description:
    'A tenant key sees only its tenant (its events; the chains it owns). The checks: immutable_storage, chains_intact, checkpoints ' +
    '(signatures checked with the server\'s public key), approvals_complete, gates_passed, retention_met, changes_outside_api; ' +
    'each pass, fail or not_applicable with its evidence. format=text and format=html return the same report rendered.',
  request: { query: reportQuery },
  responses: {
    200: {
      description: 'the report (its summary.status is fail when any check fails)',
      content: {
        'application/json': { schema: complianceReportSchema },
        'text/plain': { schema: z.string().openapi({ description: 'format=text' }) },
        'text/html': { schema: z.string().openapi({ description: 'format=html: a self-contained page' }) },
      },
    },
    ...problems(403),
  },
});

let reportBesideBusy = false;

export function registerReports(app: App, deps: ApiDeps): void {
  app.openapi(reportRoute, async (c) => {
    const principal = c.get('principal');
    requireScope(principal, 'audit');
    const q = c.req.valid('query');
    if (principal.tenant && q.tenant && q.tenant !== principal.tenant) {
      throw new ProblemError('forbidden', `this key sees only tenant ${principal.tenant}`);
    }
    const publicKey = await loadVerifyKey(deps.config.checkpointPublicKey, deps.config.dataDir);
    // One report at a time runs its chain check beside the SQL document on a second pooled
    // connection; others meanwhile run it after the document on their one connection. Taken
    // before the transaction's connection, so only that report ever waits for a second one
    // while holding a first: the pool cannot deadlock.
    const beside = !reportBesideBusy && (deps.db.options.max ?? 0) >= 2;
    if (beside) reportBesideBusy = true;
    let report: ComplianceReport;
    try {
      report = await inTenantTx(
        c,
        deps,
        (tx) =>
          complianceReport(
            tx,
            { from: new Date(q.from), to: new Date(q.to), tenant: q.tenant ?? principal.tenant ?? undefined, deploymentId: q.deployment_id, environment: q.environment },
            publicKey,
            beside ? { pool: deps.db } : {},
          ),
        // The chain check and the rows it holds the chains against must see one moment.
        { snapshot: true },
      );
    } finally {
      if (beside) reportBesideBusy = false;
    }
    if (q.format === 'text') return c.text(renderText(report), 200);
    if (q.format === 'html') {
      c.header('content-security-policy', reportCsp);
      c.header('x-content-type-options', 'nosniff');
      return c.html(renderHtml(report), 200);
    }
    return c.json(report, 200);
  });
}
