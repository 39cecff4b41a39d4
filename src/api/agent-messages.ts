import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import {
  AmbiguousMessageError, agentAnalytics, deploymentAgentCost, deploymentChangesOfMessage, finaliseAgentMessage, getAgentMessage,
  startAgentMessage,
} from '../db/agent-messages.ts';
import { hasHistory } from '../db/events.ts';
import { DomainError } from '../db/errors.ts';
import {
  agentMessageSchema, analyticsQuery, analyticsSchema, finaliseBody, messageId, messageJson, startBody,
} from './agent-message-schemas.ts';
import { requireScope } from './auth.ts';
import type { ApiDeps, App, AppEnv } from './context.ts';
import { tenantFor } from './deployment-input.ts';
import { ProblemError } from './problem.ts';
import { dnsLabel, idParam, problems } from './schemas.ts';
import { inTenantTx } from './tx.ts';

// The agent's model calls (issue 5). Writes need the deploy scope (the agent that deploys
// records its calls); reads need read or audit. Every rule is PostgreSQL's (sql/agent/):
// these handlers validate, set the caller's context and map the answer.

const messageParam = z.object({ messageId: messageId.openapi({ param: { name: 'messageId', in: 'path' } }) });
// Ids are unique per tenant (migrations/0004): a global key sees every tenant's and may name one.
const messageQuery = z.strictObject({
  tenant: dnsLabel.optional().openapi({
    description: "The message's tenant. A tenant key acts in its own; a global key needs it when the id exists in several tenants (409 otherwise)",
  }),
});
const projectParam = z.object({ projectId: dnsLabel.openapi({ param: { name: 'projectId', in: 'path' } }) });
const json = <T extends z.ZodType>(schema: T) => ({ 'application/json': { schema } });

const startRoute = createRoute({
  method: 'post',
  path: '/v1/agent-messages',
  tags: ['agent messages'],
  summary: 'Record that a model call started (a placeholder); a retry with the same fields returns it',
  request: { body: { required: true, content: json(startBody) } },
  responses: {
    201: { description: 'recorded; Location names it', content: json(agentMessageSchema) },
    200: { description: 'already recorded with the same fields (a retry)', content: json(agentMessageSchema) },
    ...problems(403, 404, 409, 413, 415, 422),
  },
});

const finaliseRoute = createRoute({
  method: 'patch',
  path: '/v1/agent-messages/{messageId}',
  tags: ['agent messages'],
  summary: 'Finalise a message once with reasoning, tokens and cost; the same values again are a no-op',
  request: { params: messageParam, query: messageQuery, body: { required: true, content: json(finaliseBody) } },
  responses: {
    200: { description: 'finalised (or already finalised with these values)', content: json(agentMessageSchema) },
    ...problems(403, 404, 409, 413, 415, 422),
  },
});

const getRoute = createRoute({
  method: 'get',
  path: '/v1/agent-messages/{messageId}',
  tags: ['agent messages'],
  summary: 'One agent message and the deployment changes made under its id',
  request: { params: messageParam, query: messageQuery },
  responses: {
    200: { description: 'the message', content: json(agentMessageSchema) },
    ...problems(403, 404, 409),
  },
});

const analyticsRoute = createRoute({
  method: 'get',
  path: '/v1/projects/{projectId}/agent-analytics',
  tags: ['agent messages'],
  summary: 'Cost and tokens of a project over [from, to): totals, by UTC day (zero-filled), by model, most recent',
  request: { params: projectParam, query: analyticsQuery },
  responses: {
    200: { description: 'analytics; costs are exact decimal strings', content: json(analyticsSchema) },
    ...problems(403, 404, 422),
  },
});

const deploymentCostRoute = createRoute({
  method: 'get',
  path: '/v1/deployments/{id}/agent-cost',
  tags: ['agent messages'],
  summary: "What the agent's messages behind a deployment's changes cost (each message once)",
  request: { params: idParam },
  responses: {
    200: {
      description: 'messages whose id a change of this deployment carried as X-Correlation-Id',
      content: json(z.object({ deployment_id: z.string(), message_count: z.number().int(), total_tokens: z.number().int(), total_cost: z.string() })),
    },
    ...problems(403, 404),
  },
});

/** The tenant whose message id is meant: a tenant key's own (naming another is 403), else the one named, if any. */
function messageTenant(c: Context<AppEnv>, requested: string | undefined): string | undefined {
  const own = c.get('principal').tenant;
  if (own === null) return requested;
  if (requested && requested !== own) throw new ProblemError('forbidden', `this key acts only in tenant ${own}`);
  return own;
}

/** A global key that did not name the tenant of an id several tenants hold: 409 saying so. */
async function oneTenant<T>(id: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (!(err instanceof AmbiguousMessageError)) throw err;
    throw new ProblemError('conflict', `agent message ${id} exists in several tenants: name one with ?tenant=`, [
      { path: 'tenant', message: `required: tenants ${err.tenants.join(', ')} hold this id` },
    ]);
  }
}

export function registerAgentMessages(app: App, deps: ApiDeps): void {
  app.openapi(startRoute, async (c) => {
    const principal = c.get('principal');
    requireScope(principal, 'deploy');
    const body = c.req.valid('json');
    const tenant = tenantFor(c, body.tenant);
    const input = {
      messageId: body.message_id,
      projectId: body.project_id,
      model: body.model,
      contextLayers: body.context_layers,
      tenant,
      createdAt: body.created_at ? new Date(body.created_at) : undefined,
    };
    try {
      const m = await inTenantTx(c, deps, (tx) => startAgentMessage(tx, input));
      c.header('location', `/v1/agent-messages/${encodeURIComponent(m.messageId)}`);
      return c.json(messageJson(m), 201);
    } catch (err) {
      if (!(err instanceof DomainError && err.code === '23505')) throw err;
      // A retried start (the agent lost our answer): the same message again is not an error.
      const existing = await inTenantTx(c, deps, (tx) => getAgentMessage(tx, body.message_id, tenant));
      const same =
        existing &&
        existing.projectId === body.project_id &&
        existing.model === body.model &&
        existing.contextLayers === body.context_layers;
      if (!same) throw new ProblemError('conflict', `agent message ${body.message_id} already exists with other fields`);
      return c.json(messageJson(existing), 200);
    }
  });

  app.openapi(finaliseRoute, async (c) => {
    requireScope(c.get('principal'), 'deploy');
    const { messageId: id } = c.req.valid('param');
    const tenant = messageTenant(c, c.req.valid('query').tenant);
    const body = c.req.valid('json');
    const result = await oneTenant(id, () => inTenantTx(c, deps, (tx) => finaliseAgentMessage(tx, id, body, tenant)));
    // Row-level security hides other tenants' messages: they are indistinguishable from absent ones.
    if (!result) throw new ProblemError('not-found', `no agent message ${id}`);
    c.header('x-shipslog-outcome', result.outcome);
    return c.json(messageJson(result.message), 200);
  });

  app.openapi(getRoute, async (c) => {
    requireScope(c.get('principal'), 'read', 'audit');
    const { messageId: id } = c.req.valid('param');
    const tenant = messageTenant(c, c.req.valid('query').tenant);
    const found = await oneTenant(id, () =>
      inTenantTx(c, deps, async (tx) => {
        const m = await getAgentMessage(tx, id, tenant);
        return m ? { m, changes: await deploymentChangesOfMessage(tx, id, m.tenant) } : null;
      }),
    );
    if (!found) throw new ProblemError('not-found', `no agent message ${id}`);
    const deployment_changes = found.changes.map((ch) => ({
      deployment_id: ch.deploymentId,
      name: ch.name,
      action: ch.action,
      chain_index: ch.chainIndex,
      at: ch.occurredAt.toISOString(),
    }));
    return c.json({ ...messageJson(found.m), deployment_changes }, 200);
  });

  app.openapi(deploymentCostRoute, async (c) => {
    requireScope(c.get('principal'), 'read', 'audit');
    const { id } = c.req.valid('param');
    const cost = await inTenantTx(c, deps, async (tx) => ((await hasHistory(tx, id)) ? deploymentAgentCost(tx, id) : null), { readOnly: true });
    // No history visible: no such deployment, or another tenant's (row-level security).
    if (!cost) throw new ProblemError('not-found', `no deployment ${id}`);
    return c.json({ deployment_id: id, message_count: cost.messageCount, total_tokens: cost.totalTokens, total_cost: cost.totalCost }, 200);
  });

  app.openapi(analyticsRoute, async (c) => {
    requireScope(c.get('principal'), 'read', 'audit');
    const { projectId } = c.req.valid('param');
    const q = c.req.valid('query');
    const to = q.to ? new Date(q.to) : new Date();
    // The default start never precedes year 1, which PostgreSQL cannot read (schemas.ts, timestamp).
    const from = q.from ? new Date(q.from) : new Date(Math.max(to.getTime() - 30 * 86_400_000, Date.parse('0001-01-01T00:00:00Z')));
    if (from >= to) {
      throw new ProblemError('invalid-request', 'from must be before to', [{ path: 'from', message: 'must be before to' }]);
    }
    const a = await inTenantTx(c, deps, (tx) => agentAnalytics(tx, projectId, from, to, q.recent));
    return c.json(a, 200);
  });
}
