import type { Context, Hono } from 'hono';
import { html } from 'hono/html';
import { z } from 'zod';
import { authenticateKey, hasScope } from '../api/auth.ts';
import type { ApiDeps, AppEnv } from '../api/context.ts';
import { page, type Html } from './html.ts';
import { clearSession, sessionApiKey, sessionSeconds, setSession } from './session.ts';

/** Sign-in with an API key (POST, into the sealed HttpOnly cookie) and sign-out (POST only). */

const home = '/ui/deployments';

/** Where to go after signing in: a path under /ui/ of this origin, else the deployments. */
export function safeNext(next: unknown): string {
  if (typeof next !== 'string' || next.length > 2000 || !next.startsWith('/ui/') || /[\\\u0000-\u001f]/.test(next)) return home;
  const url = new URL(next, 'http://shipslog.invalid');
  return url.origin === 'http://shipslog.invalid' && url.pathname.startsWith('/ui/') ? `${url.pathname}${url.search}` : home;
}

const loginForm = z.object({
  key: z.string().max(200).default(''),
  next: z.string().max(2000).optional(),
});

function loginPage(next: string, problem?: string): Html {
  return page({
    title: 'Sign in',
    body: html`<section class="login card">
  <h1>Sign in</h1>
  <p class="muted">With an API key that has the read scope (<code>shipslog keys create --scopes read</code>).
  The browser keeps it sealed in an HttpOnly cookie for ${sessionSeconds / 3600} hours, usable only by these pages; sign out to remove it.</p>
  ${problem ? html`<p class="problem" role="alert">${problem}</p>` : ''}
  <form method="post" action="/ui/login">
    <input type="hidden" name="next" value="${next}">
    <label for="key">API key</label>
    <input id="key" name="key" type="password" autocomplete="off" spellcheck="false" placeholder="slk_…" required autofocus>
    <p><button type="submit" class="primary">Sign in</button></p>
  </form>
</section>`,
  });
}

export function registerLogin(ui: Hono<AppEnv>, deps: ApiDeps, sealKey: () => Promise<Buffer>): void {
  ui.get('/login', async (c) => {
    const next = safeNext(c.req.query('next'));
    // Already signed in with a key that still works: straight on.
    const apiKey = sessionApiKey(c, await sealKey());
    const principal = apiKey ? await authenticateKey(deps, apiKey) : null;
    if (principal && hasScope(principal, 'read')) return c.redirect(next, 303);
    return c.html(loginPage(next));
  });

  ui.post('/login', async (c) => {
    const form = loginForm.safeParse(await c.req.parseBody());
    const next = safeNext(form.success ? form.data.next : undefined);
    if (!form.success) return c.html(loginPage(next, 'The form was not understood; try again.'), 400);
    const principal = await authenticateKey(deps, form.data.key.trim());
    if (!principal) return refuse(c, loginPage(next, 'Unknown, revoked or expired API key.'), 401);
    if (!hasScope(principal, 'read')) {
      return refuse(c, loginPage(next, `The key ${principal.name} lacks the read scope these pages need.`), 403);
    }
    setSession(c, await sealKey(), form.data.key.trim());
    return c.redirect(next, 303);
  });

  ui.post('/logout', (c) => {
    clearSession(c);
    return c.redirect('/ui/login', 303);
  });
}

function refuse(c: Context<AppEnv>, body: Html, status: 401 | 403): Response | Promise<Response> {
  clearSession(c);
  return c.html(body, status);
}
