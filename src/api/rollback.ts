import { createRoute, z } from '@hono/zod-openapi';
import { resolveAppId, startRollback, type RollbackStarted } from '../db/rollback.ts';
import type { Tx } from '../db/client.ts';
import { requireScope } from './auth.ts';
import type { ApiDeps, App } from './context.ts';
import { ProblemError } from './problem.ts';
import { idParam, problems, reason } from './schemas.ts';
import { appIdSchema } from './tools.ts';
import { inTenantTx } from './tx.ts';

// Rollback (docs/compliance.md): the desired state at an earlier event becomes a new generation;
// rollback_started now, rollback_completed or rollback_failed when the reconciler finishes it.

export const rollbackTarget = z
  .union([
    z.strictObject({ seq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER) }),
    z.strictObject({ chain_index: z.number().int().min(1).max(2_147_483_647) }),
  ])
  .openapi('RollbackTarget', { description: 'the event to return to: its seq, or its chain_index in this deployment\'s history' });

const body = z.strictObject({ event: rollbackTarget, reason: reason.optional() }).openapi('Rollback');

export const rollbackSchema = z.object({
  deployment_id: z.uuid(),
  generation: z.number().int().openapi({ description: 'the new generation (N+1) the reconciler applies' }),
  target_seq: z.number().int(),
  target_chain_index: z.number().int(),
  rolled_back_seq: z.number().int().openapi({ description: 'the rolled_back event: the change itself' }),
  rollback_started_seq: z.number().int(),
}).openapi('RollbackStarted');

const route = createRoute({
  method: 'post',
  path: '/v1/deployments/{id}/rollback',
  tags: ['deployments'],
  summary: 'Return to the desired state at an earlier event, as a new generation (deploy scope); 409 when it cannot be rebuilt (e.g. secrets rotated since)',
  request: { params: idParam, body: { required: true, content: { 'application/json': { schema: body } } } },
  responses: {
    202: { description: 'rollback started; the reconciler applies the new generation', content: { 'application/json': { schema: rollbackSchema } } },
    ...problems(403, 404, 409, 415, 422),
  },
});

const toolBody = z.strictObject({ appId: appIdSchema, event: rollbackTarget, reason: reason.optional() });
const toolRoute = createRoute({
  method: 'post',
  path: '/v1/tools/rollback-app',
  tags: ['agent tools'],
  summary: 'Agent tool: roll an app back to the desired state at an earlier event (deploy scope)',
  request: { body: { required: true, content: { 'application/json': { schema: toolBody } } } },
  responses: {
    202: { description: 'rollback started', content: { 'application/json': { schema: rollbackSchema } } },
    ...problems(403, 404, 409, 415, 422),
  },
});

type Target = z.infer<typeof rollbackTarget>;
const targetOf = (t: Target) => ('seq' in t ? { seq: t.seq } : { chainIndex: t.chain_index });

/** The rollback of the app an agent names, in the caller's tenant transaction (the MCP tool uses it too). */
export async function rollbackApp(tx: Tx, callerTenant: string | null, appId: string, target: Target): Promise<RollbackStarted> {
  const id = await resolveAppId(tx, callerTenant, appId);
  if (!id) throw new ProblemError('not-found', `no app ${appId}`);
  return startRollback(tx, id, targetOf(target));
}

export function registerRollback(app: App, deps: ApiDeps): void {
  app.openapi(route, async (c) => {
    requireScope(c.get('principal'), 'deploy');
    const { id } = c.req.valid('param');
    const b = c.req.valid('json');
    const started = await inTenantTx(c, deps, (tx) => startRollback(tx, id, targetOf(b.event)), { reason: b.reason });
    return c.json(started, 202);
  });
  app.openapi(toolRoute, async (c) => {
    const principal = c.get('principal');
    requireScope(principal, 'deploy');
    const b = c.req.valid('json');
    const started = await inTenantTx(c, deps, (tx) => rollbackApp(tx, principal.tenant, b.appId, b.event), { reason: b.reason });
    return c.json(started, 202);
  });
}
