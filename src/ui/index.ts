import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { csrf } from 'hono/csrf';
import { html } from 'hono/html';
import { HTTPException } from 'hono/http-exception';
import { authenticateKey, hasScope } from '../api/auth.ts';
import type { ApiDeps, App, AppEnv } from '../api/context.ts';
import { ProblemError, problemBody } from '../api/problem.ts';
import { DomainError, toDomainError } from '../db/errors.ts';
import { icon, style } from './assets.ts';
import { registerDeploymentsPage } from './deployments.ts';
import { registerEventPage } from './event.ts';
import { errorPage, query, securityHeaders } from './html.ts';
import { registerLogin } from './login.ts';
import { clearSession, sessionApiKey, sessionKey } from './session.ts';
import { registerTimelinePage } from './timeline.ts';

/*
 * /ui: server-rendered pages of a tenant's deployments and their timelines (issue 13, item 6).
 * No framework and no script: hono/html templates (every value escaped), one stylesheet.
 * The pages are read-only. Sign-in takes an API key into a sealed HttpOnly SameSite=Strict
 * cookie (./session.ts); every page then authenticates that key as the API does and reads
 * through inTenantTx, so the same row-level security decides what a key sees.
 * CSRF: SameSite=Strict, no GET changes anything, and the only POSTs (sign-in, sign-out)
 * must come from this origin (hono/csrf: Origin or Sec-Fetch-Site).
 * These routes are HTML for people, not part of the API's contract: not in /openapi.json.
 */

export function registerUi(app: App, deps: ApiDeps): void {
  let key: Promise<Buffer> | undefined;
  const sealKey = () => (key ??= deps.fingerprintKey().then(sessionKey));
  const ui = new Hono<AppEnv>();

  ui.onError((err, c) => renderError(err, c, deps));
  ui.use('*', async (c, next) => {
    await next();
    securityHeaders(c);
  });
  ui.use('*', csrf());
  ui.use('*', bodyLimit({ maxSize: 4096, onError: () => { throw new ProblemError('payload-too-large', 'a form of these pages is under 4 KiB'); } }));

  ui.get('/assets/style.css', (c) => {
    c.header('cache-control', 'public, max-age=3600');
    return c.body(style, 200, { 'content-type': 'text/css; charset=utf-8' });
  });
  ui.get('/assets/icon.svg', (c) => {
    c.header('cache-control', 'public, max-age=3600');
    return c.body(icon, 200, { 'content-type': 'image/svg+xml' });
  });
  registerLogin(ui, deps, sealKey);

  // Every route registered below this needs a signed-in key with the read scope.
  ui.use('*', async (c, next) => {
    const apiKey = sessionApiKey(c, await sealKey());
    const principal = apiKey ? await authenticateKey(deps, apiKey) : null;
    if (!principal || !hasScope(principal, 'read')) {
      if (apiKey) clearSession(c); // revoked or expired: the cookie is of no more use
      const url = new URL(c.req.url);
      return c.redirect(`/ui/login${query({ next: `${url.pathname}${url.search}` })}`, 303);
    }
    c.set('principal', principal);
    await next();
  });
  ui.get('/', (c) => c.redirect('/ui/deployments', 303));
  registerDeploymentsPage(ui, deps);
  registerTimelinePage(ui, deps);
  registerEventPage(ui, deps);
  ui.all('*', (c) =>
    c.req.path === '/ui/' && c.req.method === 'GET'
      ? c.redirect('/ui/deployments', 303)
      : c.html(errorPage(404, 'Not found', `There is no page at ${c.req.path}.`, c.get('principal')), 404),
  );

  app.route('/ui', ui);
}

function renderError(err: Error, c: Context<AppEnv>, deps: ApiDeps): Response | Promise<Response> {
  const principal = c.get('principal') ?? null;
  let type = 'internal';
  let detail = `Something went wrong; it was logged with request id ${c.get('requestId') ?? ''}.`;
  let errors: { path: string; message: string }[] = [];
  if (err instanceof ProblemError) {
    type = err.problemType;
    detail = err.detail ?? problemBody(type).title;
    errors = err.errors ?? [];
  } else if (err instanceof HTTPException && err.status === 403) {
    type = 'forbidden';
    detail = 'This form was sent from another site, so it was refused.';
  } else if (err instanceof HTTPException && err.status < 500) {
    type = err.status === 413 ? 'payload-too-large' : 'invalid-request';
    detail = err.message || problemBody(type).title;
  } else {
    const mapped = toDomainError(err);
    if (mapped instanceof DomainError && mapped.kind === 'unavailable') {
      deps.log.warn({ err, requestId: c.get('requestId') }, 'database unavailable');
      type = 'unavailable';
      detail = 'The database does not answer; try again in a moment.';
    } else {
      deps.log.error({ err, requestId: c.get('requestId') }, 'unhandled error');
    }
  }
  const { status, title } = problemBody(type);
  const list = errors.length > 0 ? html`<ul>${errors.map((e) => html`<li><code>${e.path}</code>: ${e.message}</li>`)}</ul>` : '';
  return c.html(errorPage(status, title, detail, principal, list), status as 400);
}
