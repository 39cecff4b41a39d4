import type { MiddlewareHandler } from 'hono';
import { actorSettings } from '../db/actor.ts';
import type { ApiDeps, AppEnv } from './context.ts';

// The deployment a /v1 path names, if any: its chain is where a refusal is recorded.
const deploymentPath = /^\/v1\/deployments\/([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})(\/|$)/;

/**
 * access_denied: an authenticated client refused with 403 (a scope it lacks, another
 * tenant's policy, a decision it may not make) on a path that names a deployment is recorded
 * on that deployment's chain (shipslog.record_access_denied), in a transaction of its own on
 * another connection: the request's own transaction rolled back with the refusal, the record
 * of the refusal stays. The function finds the deployment only within the caller's tenant
 * (a probe of another tenant's id answers 404 and is not recorded in that tenant's trail).
 * A refusal on a path without a deployment is logged only: the trail is per deployment.
 */
export function recordAccessDenied(deps: ApiDeps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    const principal = c.get('principal');
    if (c.res.status !== 403 || !principal) return;
    const path = new URL(c.req.url).pathname;
    const id = deploymentPath.exec(path)?.[1];
    let detail = 'forbidden';
    try {
      detail = ((await c.res.clone().json()) as { detail?: string }).detail ?? detail;
    } catch {
      // not JSON: keep the default
    }
    deps.log.info({ requestId: c.get('requestId'), keyId: principal.keyId, method: c.req.method, path, detail }, 'access denied');
    if (!id) return;
    const settings: [string, string][] = [
      ['role', 'shipslog_app'],
      ...actorSettings({
        tenant: principal.tenant ?? '*', actor: principal.name, actorType: principal.actorType,
        correlationId: (c.req.header('x-correlation-id') ?? '').slice(0, 200) || c.get('requestId'), requestId: c.get('requestId'),
      }),
    ];
    try {
      await deps.db.begin(async (tx) => {
        await tx`
          select set_config(s.name, s.value, true)
          from unnest(${settings.map((s) => s[0])}::text[], ${settings.map((s) => s[1])}::text[]) with ordinality as s(name, value, ord)
          order by s.ord`;
        await tx`select shipslog.record_access_denied(${id.toLowerCase()}, ${tx.json({
          method: c.req.method, path, denied_because: detail.slice(0, 500), scopes: principal.scopes,
        })})`;
      });
    } catch (err) {
      // SL402: no such deployment in the caller's tenant. The refusal itself stands either way.
      if ((err as { code?: string }).code !== 'SL402') deps.log.warn({ err, requestId: c.get('requestId') }, 'could not record access_denied');
    }
  };
}
