import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserUnavailable, launchBrowser, serveOnLoopback, type Browser } from '../support/browser.ts';
import { createTestApi, type TestApi } from './harness.ts';

// /docs in a real headless Chromium with no way off this machine: the reference UI comes
// from the pinned swagger-ui-dist files shipslog serves, and lists every operation of
// /openapi.json (issue 13, item 5).

const unavailable = await browserUnavailable();
if (unavailable) console.warn(`docs-browser tests skipped: ${unavailable}`);

describe.skipIf(unavailable !== null)(`/docs in headless Chromium${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let api: TestApi;
  let server: Awaited<ReturnType<typeof serveOnLoopback>>;
  let browser: Browser;
  beforeAll(async () => {
    api = await createTestApi();
    server = await serveOnLoopback(api.app.fetch);
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await api?.drop();
  });

  it('lists every operation of /openapi.json, with no request leaving the machine', async () => {
    const doc = (await (await api.app.request('/openapi.json')).json()) as { paths: Record<string, Record<string, unknown>> };
    const expected = Object.entries(doc.paths)
      .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`))
      .sort();
    expect(expected.length).toBeGreaterThan(20);

    const page = await browser.newPage();
    const res = await page.goto(`${server.base}/docs`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-security-policy']).toContain("script-src 'self'");
    await page.locator('.opblock').first().waitFor({ timeout: 20_000 });
    const shown = await page.locator('.opblock-summary').evaluateAll((blocks) =>
      blocks.map((b) => {
        const method = b.querySelector('.opblock-summary-method')?.textContent?.trim() ?? '?';
        const path = b.querySelector('.opblock-summary-path')?.getAttribute('data-path') ?? '?';
        return `${method} ${path}`;
      }),
    );
    expect(shown.sort()).toEqual(expected);
    // Summaries are rendered too, and an operation opens to its parameters.
    const history = page.locator('.opblock-summary', { hasText: 'What happened to a deployment, newest first' });
    await history.click();
    await page.locator('.opblock-body .parameters').first().waitFor({ timeout: 10_000 });

    expect(browser.foreign).toEqual([]);
    expect(browser.requests.every((u) => u.startsWith(server.base))).toBe(true);
    expect(browser.requests).toContain(`${server.base}/docs/assets/swagger-ui-bundle.js`);
    expect(browser.requests).toContain(`${server.base}/openapi.json`);
    // No CSP violation, no script error.
    expect(browser.errors).toEqual([]);
    await page.close();
  });

  it('serves only the listed files of the package', async () => {
    for (const p of ['/docs/assets/package.json', '/docs/assets/index.html', '/docs/assets/..%2Fpackage.json', '/docs/assets/swagger-initializer.js']) {
      expect([p, (await api.app.request(p)).status]).toEqual([p, 404]);
    }
    const css = await api.app.request('/docs/assets/swagger-ui.css');
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
  });
});
