import { createRoute, z } from '@hono/zod-openapi';
import { hasHistory } from '../db/events.ts';
import { getRun, getRunAudit, listRuns, runOutcomes, runPhases, skipReasons, type Run, type RunTransition } from '../db/runs.ts';
import { requireScope } from './auth.ts';
import type { ApiDeps, App } from './context.ts';
import { ProblemError } from './problem.ts';
import { idParam, problems, uuid } from './schemas.ts';
import { inTenantTx } from './tx.ts';

/** Reconcile runs of a deployment (issue 4): what the reconciler did, when, by which worker, and why it failed. */

const runParams = idParam.extend({ runId: uuid.openapi({ param: { name: 'runId', in: 'path' } }) });

const changeSchema = z.object({ kind: z.string(), name: z.string(), namespace: z.string().nullable(), action: z.string(), message: z.string().optional() });
const runSchema = z
  .object({
    id: z.uuid(), deployment_id: z.uuid(), generation: z.number().int(), config_hash: z.string(), target: z.string(), image: z.string().nullable(),
    parameters: z.record(z.string(), z.unknown()), phase: z.enum(runPhases), outcome: z.enum(runOutcomes).nullable(),
    failure_reason: z.string().nullable(), failure_message: z.string().nullable(), skip_reason: z.enum(skipReasons).nullable(), conflicting_run_id: z.uuid().nullable(),
    change_set: z.array(changeSchema), dry_run: z.boolean(), started_at: z.string(), completed_at: z.string().nullable(), duration_ms: z.number().nullable(),
    worker_id: z.string(), correlation_id: z.string(),
  })
  .openapi('ReconcileRun');
const transitionSchema = z
  .object({
    id: z.number().int(), from_phase: z.enum(runPhases).nullable(), to_phase: z.enum(runPhases), outcome: z.enum(runOutcomes).nullable(), failure_reason: z.string().nullable(),
    skip_reason: z.enum(skipReasons).nullable(), duration_ms: z.number().nullable(), worker_id: z.string(), correlation_id: z.string(), occurred_at: z.string(),
    audit: z.object({ id: z.number().int(), success: z.boolean(), execution_ms: z.number().nullable(), recorded_at: z.string() }).nullable(),
  })
  .openapi('ReconcileRunTransition');


const listRoute = createRoute({
  method: 'get',
  path: '/v1/deployments/{id}/runs',
  tags: ['runs'],
  summary: 'Reconcile runs of a deployment, newest first (also after its removal)',
  request: {
    params: idParam,
    query: z.strictObject({
      limit: z.coerce.number().int().min(1).max(200).default(50),
      // The last run id of the previous page (keyset pagination, stable under inserts).
      cursor: uuid.optional(),
    }),
  },
  responses: {
    200: { description: 'a page of runs', content: { 'application/json': { schema: z.object({ items: z.array(runSchema), next_cursor: z.string().nullable() }) } } },
    ...problems(403, 404),
  },
});

const getRoute = createRoute({
  method: 'get',
  path: '/v1/deployments/{id}/runs/{runId}',
  tags: ['runs'],
  summary: 'One reconcile run with its change set (404 when it is not this deployment\'s)',
  request: { params: runParams },
  responses: { 200: { description: 'the run', content: { 'application/json': { schema: runSchema } } }, ...problems(403, 404) },
});

const auditRoute = createRoute({
  method: 'get',
  path: '/v1/deployments/{id}/runs/{runId}/audit',
  tags: ['runs'],
  summary: 'The run\'s phase transitions and, for each result, its run-audit record',
  request: { params: runParams },
  responses: {
    200: { description: 'transitions, oldest first', content: { 'application/json': { schema: z.object({ run_id: z.string(), transitions: z.array(transitionSchema) }) } } },
    ...problems(403, 404),
  },
});

function runJson(r: Run) {
  return {
    id: r.id, deployment_id: r.deploymentId, generation: r.generation, config_hash: r.configHash, target: r.target, image: r.image,
    parameters: r.parameters, phase: r.phase, outcome: r.outcome, failure_reason: r.failureReason, failure_message: r.failureMessage,
    skip_reason: r.skipReason, conflicting_run_id: r.conflictingRunId, change_set: r.changeSet, dry_run: r.dryRun,
    started_at: r.startedAt.toISOString(), completed_at: r.completedAt?.toISOString() ?? null, duration_ms: r.durationMs,
    worker_id: r.workerId, correlation_id: r.correlationId,
  };
}

function transitionJson(t: RunTransition) {
  return {
    id: t.id, from_phase: t.fromPhase, to_phase: t.toPhase, outcome: t.outcome, failure_reason: t.failureReason, skip_reason: t.skipReason,
    duration_ms: t.durationMs, worker_id: t.workerId, correlation_id: t.correlationId, occurred_at: t.occurredAt.toISOString(),
    audit: t.audit ? { id: t.audit.id, success: t.audit.success, execution_ms: t.audit.executionMs, recorded_at: t.audit.recordedAt.toISOString() } : null,
  };
}

export function registerRuns(app: App, deps: ApiDeps): void {
  app.openapi(listRoute, async (c) => {
    requireScope(c.get('principal'), 'read');
    const { id } = c.req.valid('param');
    const q = c.req.valid('query');
    const runs = await inTenantTx(c, deps, async (tx) => {
      const page = await listRuns(tx, id, { limit: q.limit, beforeRunId: q.cursor });
      if (page.length === 0 && !q.cursor && !(await hasHistory(tx, id))) throw new ProblemError('not-found', `no deployment ${id}`);
      return page;
    }, { readOnly: true });
    const last = runs.length === q.limit ? runs[runs.length - 1] : undefined;
    return c.json({ items: runs.map(runJson), next_cursor: last ? last.id : null }, 200);
  });

  app.openapi(getRoute, async (c) => {
    requireScope(c.get('principal'), 'read');
    const { id, runId } = c.req.valid('param');
    const run = await inTenantTx(c, deps, (tx) => getRun(tx, id, runId), { readOnly: true });
    if (!run) throw new ProblemError('not-found', `deployment ${id} has no run ${runId}`);
    return c.json(runJson(run), 200);
  });

  app.openapi(auditRoute, async (c) => {
    requireScope(c.get('principal'), 'read');
    const { id, runId } = c.req.valid('param');
    const transitions = await inTenantTx(c, deps, (tx) => getRunAudit(tx, id, runId), { readOnly: true });
    if (!transitions) throw new ProblemError('not-found', `deployment ${id} has no run ${runId}`);
    return c.json({ run_id: runId, transitions: transitions.map(transitionJson) }, 200);
  });
}
