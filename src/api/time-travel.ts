import { createRoute, z } from '@hono/zod-openapi';
import postgres from 'postgres';
import { stateAt, stateDiff } from '../db/time-travel.ts';
import { requireScope } from './auth.ts';
import type { ApiDeps, App } from './context.ts';
import { ProblemError } from './problem.ts';
import { deploymentSchema, idParam, problems, timestamp } from './schemas.ts';
import { inTenantTx } from './tx.ts';

/*
 * Time travel (issue 11, item 6): a deployment's audited state at any moment, and what differs
 * between two of its events, rebuilt in PostgreSQL from the hash chain
 * (sql/audit/65_time_travel.sql). Row-level security scopes both to the key's tenant: another
 * tenant's deployment has no history here (404), as in GET .../history.
 */

const eventRefSchema = z
  .object({
    chain_index: z.number().int(),
    seq: z.number().int(),
    occurred_at: z.string().openapi({ description: 'ISO 8601, UTC' }),
    action: z.string(),
  })
  .openapi('EventRef');

// What the trail records of a deployment: every column but version, generation and the
// timestamps (shipslog.audited_state). Keys may be missing from states recorded before a
// column existed.
const auditedStateSchema = deploymentSchema
  .omit({ generation: true, created_at: true, updated_at: true, version: true })
  .partial()
  .openapi('AuditedState', { description: 'shipslog.audited_state(): desired and observed columns; no secret values (only the Secret\'s name and an HMAC fingerprint)' });

const stateSchema = z
  .object({
    deployment_id: z.uuid(),
    tenant: z.string(),
    name: z.string(),
    at: z.string().openapi({ description: 'The moment asked for, ISO 8601 UTC' }),
    event: eventRefSchema.openapi({ description: 'The last event at or before `at`: the chain is replayed up to it' }),
    state: auditedStateSchema.nullable().openapi({ description: 'null when the deployment had been removed by then' }),
    head_chain_index: z.number().int().openapi({ description: 'The chain\'s last event today' }),
    reaches_head: z.boolean(),
    matches_current: z.boolean().nullable().openapi({
      description: 'When the replay reaches the chain\'s last event: whether the rebuilt state equals the live row and its chain head (length and hash), or, once removed, that the row is gone. null when `at` is before the last event.',
    }),
  })
  .openapi('DeploymentStateAt');

const changeSchema = z
  .object({
    path: z.string().openapi({ example: 'config.storage' }),
    from: z.unknown().openapi({ description: 'JSON value; null where the path is absent' }),
    to: z.unknown().openapi({ description: 'JSON value; null where the path is absent' }),
    description: z.string().openapi({ example: 'storage: 8Gi -> 16Gi' }),
  })
  .openapi('StateChange');

const diffSchema = z
  .object({ deployment_id: z.uuid(), from: eventRefSchema, to: eventRefSchema, changes: z.array(changeSchema) })
  .openapi('DeploymentStateDiff');

// A chain_index is an integer column: keep what reaches PostgreSQL inside it.
const chainIndex = z.coerce.number().int().min(1).max(2_147_483_647);

const stateRoute = createRoute({
  method: 'get',
  path: '/v1/deployments/{id}/state',
  tags: ['history'],
  summary: 'The deployment\'s audited state at a moment, rebuilt from its audit chain (checked against the row when it reaches the present)',
  request: {
    params: idParam,
    query: z.strictObject({
      at: timestamp.optional().openapi({ description: 'ISO 8601 with an offset; default now (the database\'s clock)' }),
    }),
  },
  responses: {
    200: { description: 'the state after the last event at or before `at`', content: { 'application/json': { schema: stateSchema } } },
    ...problems(403, 404),
  },
});

const diffRoute = createRoute({
  method: 'get',
  path: '/v1/deployments/{id}/diff',
  tags: ['history'],
  summary: 'What differs between the states after two events of the deployment (by chain_index), rebuilt from its audit chain',
  request: {
    params: idParam,
    query: z.strictObject({
      from: chainIndex.openapi({ type: 'integer', description: 'chain_index of the earlier event (history lists them)' }),
      to: chainIndex.optional().openapi({ type: 'integer', description: 'chain_index of the later event; default the last. May be below from: the diff back' }),
    }),
  },
  responses: {
    200: { description: 'one change per differing path, in path order', content: { 'application/json': { schema: diffSchema } } },
    ...problems(403, 404),
  },
});

export function registerTimeTravel(app: App, deps: ApiDeps): void {
  app.openapi(stateRoute, async (c) => {
    requireScope(c.get('principal'), 'read');
    const { id } = c.req.valid('param');
    const { at } = c.req.valid('query');
    // SL060 (no history, or another tenant's) and SL061 (before creation) are 404 (db/errors.ts).
    const state = await inTenantTx(c, deps, (tx) => stateAt(tx, id, at ?? null), { readOnly: true });
    return c.json(state, 200);
  });

  app.openapi(diffRoute, async (c) => {
    requireScope(c.get('principal'), 'read');
    const { id } = c.req.valid('param');
    const q = c.req.valid('query');
    try {
      const diff = await inTenantTx(c, deps, (tx) => stateDiff(tx, id, q.from, q.to), { readOnly: true });
      return c.json(diff, 200);
    } catch (err) {
      // An index outside the chain is bad input: 400 naming the parameter PostgreSQL named.
      if (err instanceof postgres.PostgresError && err.code === 'SL062') {
        const field = err.column_name === 'to' ? 'to' : 'from';
        throw new ProblemError('invalid-request', err.message, [{ path: field, message: err.hint ?? 'not an event of this deployment' }]);
      }
      throw err;
    }
  });
}
