import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { ApiDeps, AppEnv } from './context.ts';

const requestIdPattern = /^[A-Za-z0-9._:-]{1,100}$/;
const quietRoutes = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * First middleware: a request id (the caller's X-Request-Id when sane, else a UUID), one
 * JSON log line per request, and the duration histogram labelled by route pattern (not the
 * raw path, which would make one series per deployment id).
 */
export function requestContext(deps: ApiDeps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const given = c.req.header('x-request-id');
    const requestId = given && requestIdPattern.test(given) ? given : randomUUID();
    c.set('requestId', requestId);
    const started = performance.now();
    try {
      await next();
    } finally {
      c.header('x-request-id', requestId);
      const seconds = (performance.now() - started) / 1000;
      const route = matchedRoute(c);
      const status = c.res.status;
      deps.metrics.requestDuration.observe({ method: c.req.method, route, status: String(status) }, seconds);
      const line = {
        requestId,
        method: c.req.method,
        route,
        status,
        ms: Math.round(seconds * 1000 * 10) / 10,
        keyId: c.get('principal')?.keyId,
      };
      if (status >= 500) deps.log.error(line, 'request failed');
      // Probes and scrapes come every few seconds: at debug, so they do not drown the rest.
      else if (quietRoutes.has(route) && status < 400) deps.log.debug(line, 'request');
      else deps.log.info(line, 'request');
    }
  };
}

function matchedRoute(c: Parameters<MiddlewareHandler<AppEnv>>[0]): string {
  try {
    const path = routePath(c, -1);
    return path === '/*' || path === '*' ? 'unmatched' : path;
  } catch {
    return 'unmatched';
  }
}
