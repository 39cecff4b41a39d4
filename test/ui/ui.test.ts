import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { revokeApiKey } from '../../src/db/api-keys.ts';
import { seal, sessionKey } from '../../src/ui/session.ts';
import { safeNext } from '../../src/ui/login.ts';
import { createTestApi, type TestApi } from '../api/harness.ts';
import { hostile, seedHistory, type Seeded } from './seed.ts';

// /ui over HTTP without a browser: sign-in and its cookie, CSRF, the CSP, tenant isolation,
// scopes, filters, escaping in the markup. test/ui/ui-browser.test.ts renders the pages.

const origin = 'http://localhost';
let api: TestApi;
let s: Seeded;
const cookies = new Map<string, string>();

beforeAll(async () => {
  api = await createTestApi();
  s = await seedHistory(api);
});
afterAll(async () => {
  await api?.drop();
});

function get(path: string, cookie?: string) {
  return api.app.request(path, { headers: cookie ? { cookie } : {} });
}

function post(path: string, form: Record<string, string>, headers: Record<string, string> = { origin }) {
  return api.app.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
}

/** Signs in through the form and returns the Cookie header for later requests. */
async function signIn(key: string): Promise<string> {
  const cached = cookies.get(key);
  if (cached) return cached;
  const res = await post('/ui/login', { key, next: '/ui/deployments' });
  expect(res.status).toBe(303);
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
  expect(cookie).toMatch(/^shipslog_session=v1\./);
  cookies.set(key, cookie);
  return cookie;
}

describe('sign-in', () => {
  it('a page without a session sends to the sign-in form, keeping where it was going', async () => {
    const res = await get(`/ui/deployments/${s.ordersDb}?action=upgraded`);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/ui/login?next=${encodeURIComponent(`/ui/deployments/${s.ordersDb}?action=upgraded`)}`);
    const login = await get('/ui/login');
    expect(login.status).toBe(200);
    expect(await login.text()).toContain('<form method="post" action="/ui/login">');
  });

  it('a key becomes an HttpOnly, SameSite=Strict cookie on /ui that does not contain the key', async () => {
    const res = await post('/ui/login', { key: s.keys.alice, next: `/ui/deployments/${s.ordersDb}` });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/ui/deployments/${s.ordersDb}`);
    const setCookie = res.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^shipslog_session=v1\.[A-Za-z0-9_-]+; Max-Age=28800; Path=\/ui; HttpOnly; SameSite=Strict$/);
    // Sealed: neither the key nor any encoding of it is in the cookie.
    const value = setCookie.split(';')[0]!.slice('shipslog_session='.length);
    for (const form of [s.keys.alice, s.keys.alice.slice(4), Buffer.from(s.keys.alice).toString('base64url'), Buffer.from(s.keys.alice).toString('base64')]) {
      expect(decodeURIComponent(value)).not.toContain(form);
      expect(Buffer.from(value.slice(3), 'base64url').toString('latin1')).not.toContain(form);
    }
    const page = await get(`/ui/deployments/${s.ordersDb}`, setCookie.split(';')[0]);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('signed in as <b>alice@acme.example</b>');
  });

  it('over https the cookie is Secure too', async () => {
    const res = await api.app.request('https://shipslog.example/ui/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://shipslog.example' },
      body: new URLSearchParams({ key: s.keys.reader }).toString(),
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('set-cookie')).toMatch(/; HttpOnly; Secure; SameSite=Strict$/);
  });

  it('refuses an unknown key (401) and a key without the read scope (403), setting no session', async () => {
    for (const [key, status, text] of [
      [`slk_${'A'.repeat(43)}`, 401, 'Unknown, revoked or expired API key.'],
      ['not a key', 401, 'Unknown, revoked or expired API key.'],
      [s.keys.deployOnly, 403, 'The key ci-deployer lacks the read scope'],
    ] as const) {
      const res = await post('/ui/login', { key });
      expect(res.status).toBe(status);
      expect(await res.text()).toContain(text);
      expect(res.headers.get('set-cookie') ?? '').not.toMatch(/shipslog_session=v1\./);
    }
  });

  it('refuses a sign-in posted from another site (CSRF), and one with neither Origin nor Sec-Fetch-Site', async () => {
    const attempts: Record<string, string>[] = [{ origin: 'https://evil.example' }, { 'sec-fetch-site': 'cross-site' }, {}];
    for (const headers of attempts) {
      const res = await post('/ui/login', { key: s.keys.alice }, headers);
      expect(res.status).toBe(403);
      expect(res.headers.get('set-cookie')).toBeNull();
      expect(await res.text()).toContain('sent from another site');
    }
    // A browser's same-origin form passes on Sec-Fetch-Site alone (e.g. behind a TLS proxy).
    expect((await post('/ui/login', { key: s.keys.alice }, { 'sec-fetch-site': 'same-origin' })).status).toBe(303);
  });

  it('goes on only to a page of /ui after signing in', () => {
    expect(safeNext('/ui/deployments/x?action=upgraded')).toBe('/ui/deployments/x?action=upgraded');
    for (const bad of ['https://evil.example/ui/', '//evil.example/ui/', '/ui/../v1/deployments', '/\\evil.example', '/uix', '/ui/\nx', undefined]) {
      expect([bad, safeNext(bad)]).toEqual([bad, '/ui/deployments']);
    }
  });

  it('a forged, altered or expired cookie is no session', async () => {
    const key = sessionKey(Buffer.alloc(32, 7)); // the harness's fingerprint key
    const good = seal(key, s.keys.alice);
    const altered = `${good.slice(0, -4)}${good.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
    const foreign = seal(sessionKey(Buffer.alloc(32, 8)), s.keys.alice);
    const expired = seal(key, s.keys.alice, Math.floor(Date.now() / 1000) - 9 * 3600);
    expect((await get('/ui/deployments', `shipslog_session=${good}`)).status).toBe(200);
    for (const v of [altered, foreign, expired, s.keys.alice, 'v1.']) {
      const res = await get('/ui/deployments', `shipslog_session=${v}`);
      expect([v, res.status, res.headers.get('location')]).toEqual([v, 303, '/ui/login?next=%2Fui%2Fdeployments']);
    }
  });

  it('a revoked key ends its sessions at once', async () => {
    const { createApiKey } = await import('../../src/db/api-keys.ts');
    const { key, apiKey } = await createApiKey(api.t.db, { name: 'short-lived', tenant: 'acme', scopes: ['read'] });
    const cookie = await signIn(key);
    expect((await get('/ui/deployments', cookie)).status).toBe(200);
    await revokeApiKey(api.t.db, apiKey.id);
    const res = await get('/ui/deployments', cookie);
    expect(res.status).toBe(303);
    expect(res.headers.get('set-cookie')).toMatch(/^shipslog_session=; Max-Age=0; Path=\/ui; HttpOnly; SameSite=Strict/);
  });

  it('/ui and /ui/ lead to the deployments', async () => {
    const cookie = await signIn(s.keys.reader);
    for (const p of ['/ui', '/ui/']) {
      const res = await get(p, cookie);
      expect([p, res.status, res.headers.get('location')]).toEqual([p, 303, '/ui/deployments']);
    }
  });

  it('signs out with a POST only; a GET changes nothing', async () => {
    const cookie = await signIn(s.keys.reader);
    const viaGet = await get('/ui/logout', cookie);
    expect(viaGet.status).toBe(404);
    expect(viaGet.headers.get('set-cookie')).toBeNull();
    const out = await api.app.request('/ui/logout', { method: 'POST', headers: { cookie, origin } });
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe('/ui/login');
    expect(out.headers.get('set-cookie')).toMatch(/^shipslog_session=; Max-Age=0; Path=\/ui; HttpOnly; SameSite=Strict/);
    const crossSite = await api.app.request('/ui/logout', { method: 'POST', headers: { cookie, origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' } });
    expect(crossSite.status).toBe(403);
  });
});

describe('headers', () => {
  it('every /ui response has a CSP without any script source, nosniff and no-store', async () => {
    const cookie = await signIn(s.keys.alice);
    for (const [path, c] of [['/ui/login', undefined], ['/ui/deployments', cookie], [`/ui/deployments/${s.ordersDb}`, cookie], ['/ui/nowhere', cookie], ['/ui/deployments/not-a-uuid', cookie]] as const) {
      const res = await get(path, c);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect([path, csp]).toEqual([path, "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"]);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      // No script element and no event-handler attribute in any tag.
      expect(await res.text()).not.toMatch(/<script|<[^>]*\son[a-z]+=/i);
    }
    const css = await get('/ui/assets/style.css');
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
  });

  it('/ui and /docs are not in /openapi.json: HTML for people, not the API contract', async () => {
    const doc = (await (await api.app.request('/openapi.json')).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/ui') || p.startsWith('/docs'))).toEqual([]);
  });
});

describe('what a key sees', () => {
  it('a tenant key lists its tenant only; a global key lists every tenant with a tenant column', async () => {
    const acme = await (await get('/ui/deployments', await signIn(s.keys.alice))).text();
    for (const name of ['orders-db', 'sessions-cache', 'storefront', 'guestbook']) expect(acme).toContain(`>${name}</a>`);
    expect(acme).not.toContain('ledger-db');
    expect(acme).not.toContain('<th>Tenant</th>');
    const all = await (await get('/ui/deployments', await signIn(s.keys.global))).text();
    expect(all).toContain('>ledger-db</a>');
    expect(all).toContain('<th>Tenant</th>');
  });

  it("another tenant's deployment, timeline and events are 404, as in the API", async () => {
    const globex = await signIn(s.keys.globex);
    for (const path of [`/ui/deployments/${s.ordersDb}`, `/ui/deployments/${s.ordersDb}/events/1`, `/ui/deployments/${s.ordersDb}?action=created`]) {
      const res = await get(path, globex);
      expect([path, res.status]).toEqual([path, 404]);
      const text = await res.text();
      expect(text).toContain('No such resource');
      expect(text).not.toContain('orders-db');
    }
    expect((await api.call(s.keys.globex, 'GET', `/v1/deployments/${s.ordersDb}/history`)).status).toBe(404);
    expect((await get(`/ui/deployments/${s.globexDb}`, globex)).status).toBe(200);
  });

  it('raw events and hashes need the audit scope, as ?format=raw does; the hash is the stored one', async () => {
    const reader = await signIn(s.keys.reader);
    const timeline = await (await get(`/ui/deployments/${s.ordersDb}`, reader)).text();
    expect(timeline).not.toContain('raw event');
    expect(timeline).toContain('Raw events and their hashes need a key with the audit scope.');
    const denied = await get(`/ui/deployments/${s.ordersDb}/events/3`, reader);
    expect(denied.status).toBe(403);
    expect(await denied.text()).toContain('this needs the audit scope');

    const auditor = await signIn(s.keys.auditor);
    const raw = (await (await api.call(s.keys.auditor, 'GET', `/v1/deployments/${s.ordersDb}/history?format=raw`)).json()).items as { chain_index: number; hash: string }[];
    const [third, second] = [raw.find((e) => e.chain_index === 3)!, raw.find((e) => e.chain_index === 2)!];
    const withHashes = await (await get(`/ui/deployments/${s.ordersDb}`, auditor)).text();
    expect(withHashes).toContain(`<a href="/ui/deployments/${s.ordersDb}/events/3">raw event</a>`);
    expect(withHashes).toContain(`title="${third.hash}"`);
    const event = await get(`/ui/deployments/${s.ordersDb}/events/3`, auditor);
    expect(event.status).toBe(200);
    const text = await event.text();
    expect(text).toContain(`<dd class="mono hash">${third.hash}</dd>`);
    expect(text).toContain(second.hash);
    expect(text).toContain('&quot;reason&quot;: &quot;disk 91% full&quot;');
    expect((await get(`/ui/deployments/${s.ordersDb}/events/99`, auditor)).status).toBe(404);
  });
});

describe('timeline', () => {
  it('shows each event: action, relative and exact time, who, why, readable changes, the run', async () => {
    const text = await (await get(`/ui/deployments/${s.ordersDb}`, await signIn(s.keys.alice))).text();
    expect(text.match(/<li class="act-/g)).toHaveLength(8);
    expect(text).toMatch(/<time datetime="\d{4}-\d\d-\d\dT[\d:.]+Z" title="[^"]+">just now<\/time> <span class="exact">\(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)<\/span>/);
    expect(text).toContain('<span class="action">config_changed</span>');
    expect(text).toContain('by <b class="actor">alice@acme.example</b> <span class="muted">(user)</span>');
    expect(text).toContain('<q class="reason">disk 91% full</q>');
    expect(text).toContain('<li>storage: 8Gi -&gt; 16Gi</li>');
    expect(text).toContain('<li>upgraded 16.4 -&gt; 17.2</li>');
    expect(text).toMatch(/Reconcile run <code title="[0-9a-f-]{36}">[0-9a-f]{8}<\/code>: <b class="outcome">Failed<\/b>/);
    expect(text).toContain('ApplyFailed: StatefulSet orders-db: image postgres:17.2 could not be pulled');
    expect(text).toContain('correlation <code>INC-1042</code>');
  });

  it('filters by action, actor and time, each a URL', async () => {
    const cookie = await signIn(s.keys.alice);
    const count = async (q: string) => {
      const res = await get(`/ui/deployments/${s.ordersDb}${q}`, cookie);
      expect([q, res.status]).toEqual([q, 200]);
      const text = await res.text();
      return { n: (text.match(/<li class="act-/g) ?? []).length, text };
    };
    const upgraded = await count('?action=upgraded');
    expect(upgraded.n).toBe(1);
    expect(upgraded.text).toContain('<option value="upgraded" selected>upgraded</option>');
    expect((await count('?action=upgraded&action=restarted')).n).toBe(2);
    expect((await count('?action=upgraded,created')).n).toBe(2);
    expect((await count('?actor=alice%40acme.example')).n).toBe(3);
    expect((await count('?actor=reconciler%2Fworker-1&action=health_changed')).n).toBe(2);
    // Empty fields of the form mean "not set".
    expect((await count('?action=&actor=&since=&until=')).n).toBe(8);
    const future = await count(`?since=${new Date(Date.now() + 3600_000).toISOString().slice(0, 16)}`);
    expect(future.n).toBe(0);
    expect(future.text).toContain('No event matches these filters.');
    expect((await count(`?until=${new Date(Date.now() + 3600_000).toISOString()}`)).n).toBe(8);
    expect((await count('?before=3')).n).toBe(2);
  });

  it('a bad filter is a 400 page naming the field; a bad id is 404', async () => {
    const cookie = await signIn(s.keys.alice);
    const bad = await get(`/ui/deployments/${s.ordersDb}?action=exploded`, cookie);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('<code>action</code>: unknown action &quot;exploded&quot;');
    const since = await get(`/ui/deployments/${s.ordersDb}?since=yesterday`, cookie);
    expect(since.status).toBe(400);
    expect(await since.text()).toContain('<code>since</code>');
    expect((await get(`/ui/deployments/${s.ordersDb}?colour=red`, cookie)).status).toBe(400);
    expect((await get('/ui/deployments/not-a-uuid', cookie)).status).toBe(404);
    expect((await get('/ui/deployments?status=exploded', cookie)).status).toBe(400);
  });

  it('a removed deployment keeps its timeline', async () => {
    const d = (await (await api.call(s.keys.bot, 'POST', '/v1/deployments', { name: 'short-lived', recipe: 'redis', app_version: '7' })).json()) as { id: string };
    await api.t.db`delete from shipslog.deployments where id = ${d.id}`;
    const text = await (await get(`/ui/deployments/${d.id}`, await signIn(s.keys.alice))).text();
    expect(text).toContain('This deployment was removed; its history remains.');
    expect(text).toContain('<span class="action">removed</span>');
  });
});

describe('escaping', () => {
  it('hostile reasons, config values and correlation ids are text in the markup', async () => {
    const cookie = await signIn(s.keys.alice);
    for (const path of ['/ui/deployments', `/ui/deployments/${s.hostileApp}`]) {
      const text = await (await get(path, cookie)).text();
      expect(text).not.toContain('<img src=x');
      expect(text).not.toContain('<svg');
      expect(text).not.toMatch(/<script|<[^>]*\son[a-z]+=/i);
    }
    const timeline = await (await get(`/ui/deployments/${s.hostileApp}`, cookie)).text();
    expect(timeline).toContain('&lt;img src=x onerror=alert(1)&gt; &lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;');
    expect(timeline).toContain('env.GREETING: hello -&gt; &quot;&gt;&lt;svg onload=alert(3)&gt;');
    expect(timeline).toContain('&lt;script&gt;alert(&#39;c&#39;)&lt;/script&gt;');
    expect(hostile.reason).toContain('<img');
  });

  it('a filter value is echoed escaped', async () => {
    const text = await (await get(`/ui/deployments/${s.ordersDb}?actor=${encodeURIComponent('"><script>alert(1)</script>')}`, await signIn(s.keys.alice))).text();
    expect(text).toContain('value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"');
    expect(text).not.toMatch(/<script/i);
  });
});
