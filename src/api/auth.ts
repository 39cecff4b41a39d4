import type { MiddlewareHandler } from 'hono';
import { findActiveKey, keyUseIsStale, recordKeyUse } from '../db/api-keys.ts';
import type { ApiDeps, AppEnv, Principal, Scope } from './context.ts';
import { ProblemError, problemResponse } from './problem.ts';

// slk_ + base64url of 32 bytes. Anything else is refused before touching the database.
const keyPattern = /^slk_[A-Za-z0-9_-]{43}$/;

/**
 * Authenticates `Authorization: Bearer <key>` and puts the principal on the context.
 * The lookup runs on the service's own connection (shipslog_app cannot read api_keys).
 */
export function authMiddleware(deps: ApiDeps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer ([^\s]+)$/i.exec(header.trim());
    const key = match?.[1];
    if (!key || !keyPattern.test(key)) {
      return challenge(problemResponse(c, 'unauthorized', 'send Authorization: Bearer <api key>'), 'Bearer realm="shipslog"');
    }
    const principal = await authenticateKey(deps, key);
    if (!principal) {
      return challenge(problemResponse(c, 'unauthorized', 'unknown, revoked or expired API key'), 'Bearer realm="shipslog", error="invalid_token"');
    }
    c.set('principal', principal);
    await next();
  };
}

/** The principal of an active key, or null; records the key's use. Also the web UI's sign-in (src/ui). */
export async function authenticateKey(deps: Pick<ApiDeps, 'db' | 'log'>, key: string): Promise<Principal | null> {
  if (!keyPattern.test(key)) return null;
  const found = await findActiveKey(deps.db, key);
  if (!found) return null;
  // last_used_at to within 5 minutes: a write only when the stored one is older than that.
  if (keyUseIsStale(found)) {
    await recordKeyUse(deps.db, key).catch((err: unknown) => deps.log.warn({ err, keyId: found.id }, 'could not record the API key\'s use'));
  }
  return { keyId: found.id, name: found.name, tenant: found.tenant, scopes: found.scopes, actorType: found.actorType };
}

function challenge(res: Response, value: string): Response {
  res.headers.set('www-authenticate', value);
  return res;
}

export function hasScope(principal: Principal, scope: Scope): boolean {
  return principal.scopes.includes('admin') || principal.scopes.includes(scope);
}

/** Throws 403 unless the caller holds one of these scopes (admin holds all). */
export function requireScope(principal: Principal, ...anyOf: Scope[]): void {
  if (!anyOf.some((s) => hasScope(principal, s))) {
    throw new ProblemError('forbidden', `this needs the ${anyOf.join(' or ')} scope`);
  }
}
