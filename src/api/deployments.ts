import { createRoute, z } from '@hono/zod-openapi';
import { deploymentStatuses, getDeployment, insertDeployment, listDeployments } from '../db/deployments.ts';
import { requireScope } from './auth.ts';
import type { ApiDeps, App } from './context.ts';
import { registerDeploymentActions } from './deployment-actions.ts';
import { checkedConfig, secretColumns, tenantFor } from './deployment-input.ts';
import { idempotent, sendAnswer } from './idempotency.ts';
import { ProblemError } from './problem.ts';
import {
  appVersion, boundedObject, deploymentName, deploymentSchema, dnsLabel, idempotencyHeader, idParam,
  problems, reason, recipeName, secrets,
} from './schemas.ts';
import { inTenantTx } from './tx.ts';

const createBody = z
  .strictObject({
    tenant: dnsLabel.optional().openapi({ description: 'Required for a global key; a tenant key acts in its own tenant' }),
    name: deploymentName,
    recipe: recipeName.openapi({ example: 'postgresql' }),
    app_version: appVersion.openapi({ example: '16' }),
    environment: dnsLabel.default('production'),
    config: boundedObject(false).default({}).openapi({ example: { storage: '8Gi' } }),
    secrets: secrets.optional(),
    depends_on: z.array(deploymentName).max(32).default([]),
    reason: reason.optional(),
  })
  .openapi('CreateDeployment');

const createRouteDef = createRoute({
  method: 'post',
  path: '/v1/deployments',
  tags: ['deployments'],
  summary: 'Create a deployment (the reconciler applies it)',
  request: {
    headers: idempotencyHeader,
    body: { required: true, content: { 'application/json': { schema: createBody } } },
  },
  responses: {
    201: { description: 'created; Location names it', content: { 'application/json': { schema: deploymentSchema } } },
    ...problems(403, 409, 413, 415, 422),
  },
});

const listQuery = z.strictObject({
  environment: dnsLabel.optional(),
  recipe: recipeName.optional(),
  status: z.enum(deploymentStatuses).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});

const listRoute = createRoute({
  method: 'get',
  path: '/v1/deployments',
  tags: ['deployments'],
  summary: "List the caller's deployments, by tenant and name",
  request: { query: listQuery },
  responses: {
    200: {
      description: 'a page; next_cursor is null on the last',
      content: { 'application/json': { schema: z.object({ items: z.array(deploymentSchema), next_cursor: z.string().nullable() }) } },
    },
    ...problems(403),
  },
});

const getRoute = createRoute({
  method: 'get',
  path: '/v1/deployments/{id}',
  tags: ['deployments'],
  summary: 'One deployment; ETag is its version (If-None-Match: 304 while unchanged)',
  request: {
    params: idParam,
    headers: z.object({ 'if-none-match': z.string().max(1000).optional() }),
  },
  responses: {
    200: { description: 'the deployment', content: { 'application/json': { schema: deploymentSchema } } },
    304: { description: 'unchanged since the ETag given in If-None-Match' },
    ...problems(403, 404),
  },
});

export function registerDeployments(app: App, deps: ApiDeps): void {
  app.openapi(createRouteDef, async (c) => {
    const principal = c.get('principal');
    requireScope(principal, 'deploy');
    const body = c.req.valid('json');
    const key = c.req.valid('header')['idempotency-key'];
    const tenant = tenantFor(c, body.tenant);
    const config = checkedConfig(body.recipe, body.config);
    const secretCols = await secretColumns(deps, body.name, body.secrets);
    // The fingerprint (not the values) stands in for secrets in the idempotency hash.
    const requestForHash = { ...body, secrets: secretCols?.secrets_fingerprint };
    const answer = await inTenantTx(
      c,
      deps,
      (tx) =>
        idempotent(c, tx, key, requestForHash, async () => {
          const d = await insertDeployment(tx, {
            tenant,
            name: body.name,
            environment: body.environment,
            recipe: body.recipe,
            app_version: body.app_version,
            config,
            depends_on: body.depends_on,
            secrets_ref: secretCols?.secrets_ref ?? null,
            secrets_fingerprint: secretCols?.secrets_fingerprint ?? null,
          });
          // Inside the transaction: if the Secret cannot be written, nothing is recorded.
          if (body.secrets && secretCols) await deps.secretWriter.write(tenant, secretCols.secrets_ref, body.secrets);
          return { status: 201, body: d, location: `/v1/deployments/${d.id}`, etag: `"${d.version}"` };
        }),
      { reason: body.reason },
    );
    if (!answer.replayed) deps.metrics.auditEvents.inc({ action: 'created' });
    return sendAnswer(c, answer);
  });

  app.openapi(listRoute, async (c) => {
    const principal = c.get('principal');
    requireScope(principal, 'read');
    const q = c.req.valid('query');
    const after = q.cursor ? decodeCursor(q.cursor) : undefined;
    const items = await inTenantTx(c, deps, (tx) =>
      listDeployments(tx, { tenant: principal.tenant ?? undefined, environment: q.environment, recipe: q.recipe, status: q.status, after, limit: q.limit }),
      { readOnly: true },
    );
    const last = items.length === q.limit ? items[items.length - 1] : undefined;
    const next = last ? Buffer.from(JSON.stringify([last.tenant, last.name])).toString('base64url') : null;
    return c.json({ items, next_cursor: next }, 200);
  });

  app.openapi(getRoute, async (c) => {
    requireScope(c.get('principal'), 'read');
    const { id } = c.req.valid('param');
    const d = await inTenantTx(c, deps, (tx) => getDeployment(tx, id), { readOnly: true });
    // Row-level security hides other tenants' rows: they are indistinguishable from absent ones.
    if (!d) throw new ProblemError('not-found', `no deployment ${id}`);
    const etag = `"${d.version}"`;
    c.header('etag', etag);
    // A poller (an agent waiting for status) gets 304 and no body while nothing changed.
    const known = c.req.valid('header')['if-none-match']?.split(',').map((t) => t.trim().replace(/^W\//, ''));
    if (known?.includes(etag) || known?.includes('*')) return c.body(null, 304);
    return c.json(d, 200);
  });

  registerDeploymentActions(app, deps);
}

function decodeCursor(cursor: string): [string, string] {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    // [tenant, name]: both DNS labels (other text, NUL included, used to reach PostgreSQL).
    if (Array.isArray(v) && v.length === 2 && v.every((s) => dnsLabel.safeParse(s).success)) return v as [string, string];
  } catch {
    // fall through
  }
  throw new ProblemError('invalid-request', 'cursor is not one this API returned', [{ path: 'cursor', message: 'invalid cursor' }]);
}
