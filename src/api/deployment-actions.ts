import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Tx } from '../db/client.ts';
import { getDeployment, mergedConfig, updateDeployment, type Deployment, type DeploymentChange } from '../db/deployments.ts';
import { requireScope } from './auth.ts';
import type { ApiDeps, App, AppEnv } from './context.ts';
import { checkedConfig, secretColumns } from './deployment-input.ts';
import { idempotent, sendAnswer } from './idempotency.ts';
import { ProblemError } from './problem.ts';
import {
  appVersion, boundedObject, deploymentName, deploymentSchema, dnsLabel, idempotencyHeader, idParam,
  ifMatchHeader, parseIfMatch, problems, reason, secrets,
} from './schemas.ts';
import { inTenantTx } from './tx.ts';

const patchBody = z
  .strictObject({
    config: boundedObject(true).optional().openapi({ description: 'RFC 7396 merge patch of config: null removes a key' }),
    environment: dnsLabel.optional(),
    depends_on: z.array(deploymentName).max(32).optional(),
    secrets: secrets.optional().openapi({ description: 'New secret values (rotation); replaces all keys' }),
    reason: reason.optional(),
  })
  .refine((b) => b.config || b.environment || b.depends_on || b.secrets, 'nothing to change: give config, environment, depends_on or secrets')
  .openapi('DeploymentPatch');

const json = <T extends z.ZodType>(schema: T) => ({ 'application/json': { schema } });
const ok = { description: 'the deployment after the change', content: json(deploymentSchema) };

const patchRoute = createRoute({
  method: 'patch',
  path: '/v1/deployments/{id}',
  tags: ['deployments'],
  summary: 'Change config (JSON merge patch), environment, dependencies or secrets',
  request: {
    params: idParam,
    headers: ifMatchHeader,
    body: { required: true, content: { 'application/merge-patch+json': { schema: patchBody }, ...json(patchBody) } },
  },
  responses: { 200: ok, ...problems(403, 404, 409, 412, 413, 415) },
});

const upgradeBody = z.strictObject({ app_version: appVersion, reason: reason.optional() }).openapi('Upgrade');
const upgradeRoute = createRoute({
  method: 'post',
  path: '/v1/deployments/{id}/upgrade',
  tags: ['deployments'],
  summary: 'Upgrade to another app version',
  request: {
    params: idParam,
    headers: idempotencyHeader.extend(ifMatchHeader.shape),
    body: { required: true, content: json(upgradeBody) },
  },
  responses: { 200: ok, ...problems(403, 404, 409, 412, 415, 422) },
});

const restartBody = z.strictObject({ reason: reason.optional() }).openapi('Restart');
const restartRoute = createRoute({
  method: 'post',
  path: '/v1/deployments/{id}/restart',
  tags: ['deployments'],
  summary: 'Restart (rolls the pods); the body is optional',
  request: {
    params: idParam,
    headers: idempotencyHeader.extend(ifMatchHeader.shape),
    body: { required: false, content: json(restartBody) },
  },
  responses: { 200: ok, ...problems(403, 404, 409, 412, 422) },
});

const deleteRoute = createRoute({
  method: 'delete',
  path: '/v1/deployments/{id}',
  tags: ['deployments'],
  summary: 'Request removal; the reconciler deletes its resources, then the row (reason: X-Reason header)',
  request: { params: idParam, headers: ifMatchHeader },
  responses: { 202: { description: 'removal requested', content: json(deploymentSchema) }, ...problems(403, 404, 412) },
});

/** Locks the row, checks If-Match and that removal is not underway, then applies the change. */
async function change(
  tx: Tx,
  id: string,
  ifMatch: string | undefined,
  build: (d: Deployment) => Promise<DeploymentChange> | DeploymentChange,
  allowRemoving = false,
): Promise<Deployment> {
  const current = await getDeployment(tx, id, true);
  if (!current) throw new ProblemError('not-found', `no deployment ${id}`);
  const expected = parseIfMatch(ifMatch);
  if (expected !== undefined && expected !== current.version) {
    throw new ProblemError('precondition-failed', `deployment is at version ${current.version}, not ${expected}; read it again`);
  }
  if (current.deletion_requested_at && !allowRemoving) {
    throw new ProblemError('conflict', 'removal of this deployment has been requested; it can no longer change');
  }
  return updateDeployment(tx, id, await build(current));
}

function withEtag<S extends 200 | 202>(c: Context<AppEnv>, d: Deployment, status: S) {
  c.header('etag', `"${d.version}"`);
  return c.json(d, status);
}

export function registerDeploymentActions(app: App, deps: ApiDeps): void {
  app.openapi(patchRoute, async (c) => {
    requireScope(c.get('principal'), 'deploy');
    const { id } = c.req.valid('param');
    const body = (c.req.valid('json') ?? {}) as z.infer<typeof patchBody>;
    const ifMatch = c.req.valid('header')['if-match'];
    const d = await inTenantTx(
      c,
      deps,
      (tx) =>
        change(tx, id, ifMatch, async (current) => {
          const next: DeploymentChange = {};
          if (body.config) next.config = checkedConfig(current.recipe, await mergedConfig(tx, current.config, body.config));
          if (body.environment) next.environment = body.environment;
          if (body.depends_on) next.depends_on = body.depends_on;
          const cols = await secretColumns(deps, current.name, body.secrets);
          if (cols && body.secrets) {
            Object.assign(next, cols);
            await deps.secretWriter.write(current.tenant, cols.secrets_ref, body.secrets);
          }
          return next;
        }),
      { reason: body.reason, write: true },
    );
    return withEtag(c, d, 200);
  });

  app.openapi(upgradeRoute, async (c) => {
    requireScope(c.get('principal'), 'deploy');
    const { id } = c.req.valid('param');
    const body = c.req.valid('json');
    const headers = c.req.valid('header');
    const answer = await inTenantTx(
      c,
      deps,
      (tx) =>
        idempotent(c, tx, headers['idempotency-key'], { id, ...body }, async () => {
          const d = await change(tx, id, headers['if-match'], () => ({ app_version: body.app_version }));
          return { status: 200, body: d, etag: `"${d.version}"` };
        }),
      { reason: body.reason, write: true },
    );
    return sendAnswer(c, answer) as never;
  });

  app.openapi(restartRoute, async (c) => {
    requireScope(c.get('principal'), 'deploy');
    const { id } = c.req.valid('param');
    const body = ((c.req.valid('json') as unknown) ?? {}) as z.infer<typeof restartBody>;
    const headers = c.req.valid('header');
    const answer = await inTenantTx(
      c,
      deps,
      (tx) =>
        idempotent(c, tx, headers['idempotency-key'], { id, ...body }, async () => {
          const d = await change(tx, id, headers['if-match'], () => ({ restart: true }));
          return { status: 200, body: d, etag: `"${d.version}"` };
        }),
      { reason: body.reason, write: true },
    );
    return sendAnswer(c, answer) as never;
  });

  app.openapi(deleteRoute, async (c) => {
    requireScope(c.get('principal'), 'deploy');
    const { id } = c.req.valid('param');
    const ifMatch = c.req.valid('header')['if-match'];
    // Asking again changes nothing: deletion_requested_at keeps its first value, so no new event.
    const d = await inTenantTx(c, deps, (tx) => change(tx, id, ifMatch, () => ({ requestRemoval: true }), true), { write: true });
    return withEtag(c, d, 202);
  });
}
