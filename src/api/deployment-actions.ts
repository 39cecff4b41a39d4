import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Tx } from '../db/client.ts';
import { applyChange, getDeployment, type Deployment, type DeploymentChange } from '../db/deployments.ts';
import { latestEvent } from '../db/events.ts';
import { requireScope } from './auth.ts';
import type { ApiDeps, App, AppEnv } from './context.ts';
import { checkedConfig, secretFingerprint } from './deployment-input.ts';
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

const upgradeBody = z
  .strictObject({
    app_version: appVersion,
    downgrade: z.boolean().optional().openapi({
      description: 'true to mean a version older than the current one (recorded as `downgraded`); without it such a request is refused with 409',
    }),
    reason: reason.optional(),
  })
  .openapi('Upgrade');
const upgradeRoute = createRoute({
  method: 'post',
  path: '/v1/deployments/{id}/upgrade',
  tags: ['deployments'],
  summary: 'Upgrade to another app version (an older one only with "downgrade": true)',
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

/**
 * Applies a change in one guarded UPDATE (src/db/deployments.ts applyChange). When nothing
 * was written, one read tells why: unknown (or another tenant's, hidden by RLS) -> 404,
 * stale If-Match -> 412, removal underway -> 409, else the change was a no-op (200, no event).
 */
async function change(
  tx: Tx,
  id: string,
  ifMatch: string | undefined,
  set: DeploymentChange,
  allowRemoving = false,
): Promise<{ d: Deployment; written: boolean }> {
  const version = parseIfMatch(ifMatch);
  const d = await applyChange(tx, id, set, { version, allowRemoving });
  if (d) return { d, written: true };
  const current = await getDeployment(tx, id);
  if (!current) throw new ProblemError('not-found', `no deployment ${id}`);
  if (version !== undefined && version !== current.version) {
    throw new ProblemError('precondition-failed', `deployment is at version ${current.version}, not ${version}; read it again`);
  }
  if (current.deletion_requested_at && !allowRemoving) {
    throw new ProblemError('conflict', 'removal of this deployment has been requested; it can no longer change');
  }
  return { d: current, written: false };
}

function withEtag<S extends 200 | 202>(c: Context<AppEnv>, d: Deployment, status: S) {
  c.header('etag', `"${d.version}"`);
  return c.json(d, status);
}

export function registerDeploymentActions(app: App, deps: ApiDeps): void {
  // Counted after commit; the label is the action the trigger derives for this kind of change.
  const counted = (action: string, r: { d: Deployment; written: boolean }) => {
    if (r.written) deps.metrics.auditEvents.inc({ action });
    return r.d;
  };

  app.openapi(patchRoute, async (c) => {
    requireScope(c.get('principal'), 'deploy');
    const { id } = c.req.valid('param');
    const body = (c.req.valid('json') ?? {}) as z.infer<typeof patchBody>;
    const ifMatch = c.req.valid('header')['if-match'];
    const fingerprint = body.secrets ? await secretFingerprint(deps, body.secrets) : undefined;
    const set: DeploymentChange = {};
    if (body.config) set.configPatch = body.config;
    if (body.environment) set.environment = body.environment;
    if (body.depends_on) set.depends_on = body.depends_on;
    if (fingerprint) set.secrets_fingerprint = fingerprint;
    const result = await inTenantTx(
      c,
      deps,
      async (tx) => {
        const r = await change(tx, id, ifMatch, set);
        // The merged config is checked against the recipe inside the transaction: a 400 here
        // rolls the UPDATE (and its event) back.
        if (r.written && body.config) checkedConfig(r.d.recipe, r.d.config);
        if (r.written && body.secrets && r.d.secrets_ref) await deps.secretWriter.write(r.d.tenant, r.d.secrets_ref, body.secrets);
        return r;
      },
      { reason: body.reason },
    );
    const action = body.config || body.environment || body.depends_on ? 'config_changed' : 'secrets_rotated';
    return withEtag(c, counted(action, result), 200);
  });

  app.openapi(upgradeRoute, async (c) => {
    requireScope(c.get('principal'), 'deploy');
    const { id } = c.req.valid('param');
    const body = c.req.valid('json');
    const headers = c.req.valid('header');
    let written: string | null = null;
    const answer = await inTenantTx(
      c,
      deps,
      (tx) =>
        idempotent(c, tx, headers['idempotency-key'], { id, ...body }, async () => {
          const r = await change(tx, id, headers['if-match'], { app_version: body.app_version });
          if (r.written) {
            // The trigger decides what the change was (shipslog.version_order in SQL, one rule
            // for every writer); an older version needs the caller to say so. Throwing here
            // rolls the UPDATE and its event back.
            const event = await latestEvent(tx, id);
            written = event?.action ?? 'upgraded';
            if (written === 'downgraded' && body.downgrade !== true) {
              throw new ProblemError(
                'conflict',
                `${body.app_version} is older than the current version ${event?.from_version}: send "downgrade": true to mean it (recorded as downgraded)`,
              );
            }
          }
          return { status: 200, body: r.d, etag: `"${r.d.version}"` };
        }),
      { reason: body.reason },
    );
    if (written) deps.metrics.auditEvents.inc({ action: written });
    return sendAnswer(c, answer);
  });

  app.openapi(restartRoute, async (c) => {
    requireScope(c.get('principal'), 'deploy');
    const { id } = c.req.valid('param');
    const body = ((c.req.valid('json') as unknown) ?? {}) as z.infer<typeof restartBody>;
    const headers = c.req.valid('header');
    let written = false;
    const answer = await inTenantTx(
      c,
      deps,
      (tx) =>
        idempotent(c, tx, headers['idempotency-key'], { id, ...body }, async () => {
          const r = await change(tx, id, headers['if-match'], { restart: true });
          written = r.written;
          return { status: 200, body: r.d, etag: `"${r.d.version}"` };
        }),
      { reason: body.reason },
    );
    if (written) deps.metrics.auditEvents.inc({ action: 'restarted' });
    return sendAnswer(c, answer);
  });

  app.openapi(deleteRoute, async (c) => {
    requireScope(c.get('principal'), 'deploy');
    const { id } = c.req.valid('param');
    const ifMatch = c.req.valid('header')['if-match'];
    // Asking again changes nothing: deletion_requested_at keeps its first value, so no new event.
    const r = await inTenantTx(c, deps, (tx) => change(tx, id, ifMatch, { requestRemoval: true }, true));
    return withEtag(c, counted('removal_requested', r), 202);
  });
}
