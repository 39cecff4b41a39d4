import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserUnavailable, launchBrowser, serveOnLoopback, type Browser } from '../support/browser.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { hostileActor, seedReport, wholeWindow, type ReportSeed } from './seed.ts';

// The HTML compliance report as a person sees it, in headless Chromium on 127.0.0.1 with
// every other host blocked: a table per section, each check marked PASS / FAIL / N/A in words,
// the failing check's evidence open, hostile stored text shown as text, nothing loaded or run
// (the page's policy would log a console error for any blocked style or script).
// SHIPSLOG_SCREENSHOTS=docs/images writes the docs' screenshot from this same report.

// What page.evaluate() callbacks use in the page (they run there: only globalThis, no closure);
// this project compiles without the DOM types.
interface PageGlobals {
  getComputedStyle: (el: unknown) => { color: string; fontSize: string };
  document: { documentElement: { scrollWidth: number; clientWidth: number } };
}

const unavailable = await browserUnavailable();
if (unavailable) console.warn(`report-browser tests skipped: ${unavailable}`);
const screenshots = process.env.SHIPSLOG_SCREENSHOTS;

describe.skipIf(unavailable !== null)(`the HTML compliance report in headless Chromium${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let t: TestDatabase;
  let s: ReportSeed;
  let server: Awaited<ReturnType<typeof serveOnLoopback>>;
  let browser: Browser;
  beforeAll(async () => {
    t = await createTestDatabase();
    s = await seedReport(t);
    // One change over raw SQL: the changes_outside_api check fails and lists it.
    await t.db`update shipslog.deployments set config = config || '{"storage": "20Gi"}' where name = 'ledger-db'`;
    server = await serveOnLoopback(s.app.fetch);
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await s?.close();
    await t?.drop();
  });

  it('shows the verdict, a table per section and each check\'s result in words', async () => {
    const page = await browser.newPage();
    await page.setExtraHTTPHeaders({ authorization: `Bearer ${s.apiKeys.global}` });
    const res = await page.goto(`${server.base}/v1/reports/compliance?${wholeWindow}&format=html`);
    expect(res?.status()).toBe(200);
    expect(await page.title()).toMatch(/^Compliance report 2000-01-01T00:00:00\.000000Z – 2100-01-01T00:00:00\.000000Z/);
    expect(await page.locator('#verdict').innerText()).toBe('Overall: FAIL 4 passed, 1 failed, 2 not applicable');

    const headings = await page.locator('h2').allInnerTexts();
    expect(headings).toEqual(['Summary', 'Checks', 'Events by category', 'Events by type', 'Actors', 'Deployments', 'Timeline']);
    for (const section of await page.locator('section').all()) expect(await section.locator('table').count()).toBeGreaterThan(0);

    const checks = page.locator('tr.check');
    expect(await checks.count()).toBe(7);
    const result = async (name: string) => (await page.locator(`tr.check[data-check="${name}"] .status`).innerText()).trim();
    expect(await result('chains_intact')).toBe('PASS');
    expect(await result('changes_outside_api')).toBe('FAIL');
    expect(await result('approvals_complete')).toBe('N/A');
    // Colour says the same as the word: red for a failure, green for a pass.
    const colour = (name: string) => page.locator(`tr.check[data-check="${name}"] .status`).evaluate((el) => (globalThis as unknown as PageGlobals).getComputedStyle(el).color);
    expect(await colour('changes_outside_api')).toBe('rgb(163, 22, 27)');
    expect(await colour('chains_intact')).toBe('rgb(23, 102, 58)');

    // The failing check's evidence is open and names the change and the login that made it.
    const failing = page.locator('tr.check[data-check="changes_outside_api"]');
    expect(await failing.locator('details').getAttribute('open')).toBe('');
    const evidence = await failing.locator('details > .scroll > table').innerText();
    expect(evidence).toContain('ledger-db');
    expect(evidence).toContain('storage: 8Gi -> 20Gi');
    expect(await page.locator('tr.check[data-check="chains_intact"] details').getAttribute('open')).toBeNull();

    // Readable: body text at least 15 px, lines not wider than the page.
    const fontSize = await page.locator('body').evaluate((el) => Number.parseFloat((globalThis as unknown as PageGlobals).getComputedStyle(el).fontSize));
    expect(fontSize).toBeGreaterThanOrEqual(15);
    const overflow = await page.evaluate(() => (globalThis as unknown as PageGlobals).document.documentElement.scrollWidth - (globalThis as unknown as PageGlobals).document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    if (screenshots) await page.screenshot({ path: path.join(screenshots, 'compliance-report.png'), fullPage: true });
    await page.close();
  });

  it('shows hostile stored text as text; nothing loads, runs or leaves the machine', async () => {
    const page = await browser.newPage();
    await page.setExtraHTTPHeaders({ authorization: `Bearer ${s.apiKeys.global}` });
    const before = browser.requests.length;
    await page.goto(`${server.base}/v1/reports/compliance?${wholeWindow}&format=html`);
    const actors = await page.locator('table.actors tbody td:first-child').allInnerTexts();
    expect(actors).toContain(hostileActor);
    expect(await page.locator('img, script, iframe, link, object, embed').count()).toBe(0);
    expect(browser.dialogs).toEqual([]);
    expect(browser.errors).toEqual([]);
    expect(browser.foreign).toEqual([]);
    // One request: the page itself (and the favicon Chromium may ask this server for).
    expect(browser.requests.slice(before).filter((u) => !u.endsWith('/favicon.ico'))).toHaveLength(1);
    await page.close();
  });
});
