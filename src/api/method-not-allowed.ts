import type { Context } from 'hono';
import type { App, AppEnv } from './context.ts';
import { problemResponse } from './problem.ts';

/**
 * app.notFound: a path that exists under other methods answers 405 with `Allow` naming them
 * (RFC 9110 §15.5.6), not 404 (issue 9); a path no route has is 404 as before. Hono routes
 * by method and path together, so it reaches notFound for both: the routes table tells
 * them apart. Middleware (app.use) registers under ALL and is left out, as is app.all
 * ('/mcp'), which serves every method itself.
 */
export function notFoundOrMethodNotAllowed(app: App) {
  let table: { pattern: RegExp; methods: Set<string> }[] | undefined;
  const allowed = (path: string): string[] => {
    // Built on the first miss: every route is registered by then (createApp).
    table ??= routeTable(app);
    const methods = new Set<string>();
    for (const route of table) if (route.pattern.test(path)) for (const m of route.methods) methods.add(m);
    // Hono answers HEAD with the GET route (and no body).
    if (methods.has('GET')) methods.add('HEAD');
    return [...methods].sort();
  };
  return (c: Context<AppEnv>): Response => {
    const allow = allowed(c.req.path);
    if (allow.length === 0) return problemResponse(c, 'not-found', `no route for ${c.req.method} ${c.req.path}`);
    const res = problemResponse(c, 'method-not-allowed', `${c.req.method} is not served at ${c.req.path}; allowed: ${allow.join(', ')}`);
    res.headers.set('allow', allow.join(', '));
    return res;
  };
}

function routeTable(app: App): { pattern: RegExp; methods: Set<string> }[] {
  const byPath = new Map<string, Set<string>>();
  for (const r of app.routes) {
    if (r.method === 'ALL') continue;
    const methods = byPath.get(r.path) ?? new Set<string>();
    methods.add(r.method.toUpperCase());
    byPath.set(r.path, methods);
  }
  return [...byPath].map(([path, methods]) => ({ pattern: pathPattern(path), methods }));
}

/** A Hono path (/v1/deployments/:id, :id{[0-9]+}, *) as a regular expression. */
function pathPattern(path: string): RegExp {
  const segments = path.split('/').map((s) => {
    if (s === '*') return '.*';
    const param = /^:[^{}]+(?:\{(.+)\})?$/.exec(s);
    if (param) return param[1] ? `(?:${param[1]})` : '[^/]+';
    return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  });
  return new RegExp(`^${segments.join('/')}$`);
}
