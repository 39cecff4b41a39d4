import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserUnavailable, launchBrowser, serveOnLoopback, type Browser } from '../support/browser.ts';
import { createTestApi, type TestApi } from '../api/harness.ts';
import { hostile, seedHistory, type Seeded } from './seed.ts';

// /ui in a real headless Chromium, on 127.0.0.1 with every other host blocked and recorded:
// the pages render a seeded history, hostile text shows as text and never runs, a tenant's
// key cannot open another tenant's deployment, and no request leaves the machine.
// SHIPSLOG_SCREENSHOTS=docs/images writes the README's screenshots from this same history.

const unavailable = await browserUnavailable();
if (unavailable) console.warn(`ui-browser tests skipped: ${unavailable}`);
const screenshots = process.env.SHIPSLOG_SCREENSHOTS;

describe.skipIf(unavailable !== null)(`/ui in headless Chromium${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let api: TestApi;
  let s: Seeded;
  let server: Awaited<ReturnType<typeof serveOnLoopback>>;
  let browser: Browser;
  beforeAll(async () => {
    api = await createTestApi();
    s = await seedHistory(api);
    server = await serveOnLoopback(api.app.fetch);
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await api?.drop();
  });

  /** A new page, with the cookies of earlier tests cleared, signed in through the form. */
  async function signedIn(key: string, start = '/ui/deployments'): Promise<Page> {
    await browser.context.clearCookies();
    const page = await browser.newPage();
    await page.goto(`${server.base}${start}`);
    expect(new URL(page.url()).pathname).toBe('/ui/login');
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((u) => u.pathname !== '/ui/login');
    return page;
  }

  async function shot(page: Page, name: string) {
    if (screenshots) await page.screenshot({ path: path.join(screenshots, name), fullPage: true });
  }

  it('signs in with a key and lists the tenant\'s deployments with status and health', async () => {
    const page = await signedIn(s.keys.auditor);
    expect(new URL(page.url()).pathname).toBe('/ui/deployments');
    await expect.poll(() => page.locator('table.deployments tbody tr').count()).toBe(4);
    const row = page.locator('tr', { has: page.getByRole('link', { name: 'orders-db', exact: true }) });
    await expect.poll(() => row.locator('.badge').allTextContents()).toEqual(['applied', 'Healthy']);
    expect(await row.textContent()).toContain('postgresql 17.2');
    expect(await page.getByRole('link', { name: 'ledger-db' }).count()).toBe(0);
    // The session cookie is HttpOnly: page scripts could not read it (none run here anyway).
    const [cookie] = await page.context().cookies();
    expect(cookie).toMatchObject({ name: 'shipslog_session', httpOnly: true, sameSite: 'Strict', path: '/ui' });
    await shot(page, 'ui-deployments.png');
    await page.close();
  });

  it('shows a deployment\'s timeline, filters it through the form into the URL, and opens a raw event', async () => {
    const page = await signedIn(s.keys.auditor, `/ui/deployments/${s.ordersDb}`);
    expect(new URL(page.url()).pathname).toBe(`/ui/deployments/${s.ordersDb}`);
    const events = page.locator('ol.timeline > li');
    await expect.poll(() => events.count()).toBe(8);
    expect(await page.locator('h1').textContent()).toBe('orders-db');

    const config = page.locator('li.act-config_changed');
    expect(await config.locator('.action').textContent()).toBe('config_changed');
    expect(await config.locator('time').textContent()).toBe('just now');
    expect(await config.locator('.exact').textContent()).toMatch(/^\(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)$/);
    expect(await config.locator('.actor').textContent()).toBe('alice@acme.example');
    expect(await config.locator('.reason').textContent()).toBe('disk 91% full');
    expect(await config.locator('ul.changes li').allTextContents()).toEqual(['storage: 8Gi -> 16Gi']);
    const failed = page.locator('li', { has: page.locator('.run.failed') });
    expect(await failed.locator('.outcome').textContent()).toBe('Failed');
    expect(await failed.locator('.run').textContent()).toContain('ApplyFailed: StatefulSet orders-db: image postgres:17.2 could not be pulled');
    expect(await page.locator('.run.ok').count()).toBe(3);
    await shot(page, 'ui-timeline.png');

    await page.locator('select[name=action]').selectOption('upgraded');
    await page.getByLabel('Actor').fill('deploy-bot');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL((u) => u.searchParams.get('action') === 'upgraded');
    expect(new URL(page.url()).searchParams.get('actor')).toBe('deploy-bot');
    await expect.poll(() => events.count()).toBe(1);
    expect(await events.locator('ul.changes li').allTextContents()).toEqual(['upgraded 16.4 -> 17.2']);

    await events.getByRole('link', { name: 'raw event' }).click();
    await page.waitForURL(/\/events\/5$/);
    const hash = await page.locator('dd.hash').textContent();
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    const raw = (await (await api.call(s.keys.auditor, 'GET', `/v1/deployments/${s.ordersDb}/history?format=raw&action=upgraded`)).json()).items;
    expect(hash).toBe(raw[0].hash);
    expect(JSON.parse((await page.locator('pre.json').textContent()) ?? '')).toMatchObject({ action: 'upgraded', chain_index: 5, actor: 'deploy-bot' });
    await shot(page, 'ui-event.png');
    await page.close();
  });

  it('shows hostile text as text: no script runs, no dialog opens, no element is injected', async () => {
    const page = await signedIn(s.keys.bot, `/ui/deployments/${s.hostileApp}`);
    await expect.poll(() => page.locator('ol.timeline > li').count()).toBe(2);
    // The exact hostile strings are visible as text.
    await expect.poll(() => page.getByText(hostile.reason, { exact: true }).count()).toBe(2);
    expect(await page.getByText(hostile.reason, { exact: true }).first().isVisible()).toBe(true);
    expect(await page.getByText(`env.GREETING: hello -> ${hostile.env}`, { exact: true }).isVisible()).toBe(true);
    expect(await page.getByText(hostile.correlation, { exact: true }).isVisible()).toBe(true);
    // None of it became an element.
    expect(await page.locator('main img, main svg, main script, script').count()).toBe(0);
    await page.goto(`${server.base}/ui/deployments`);
    expect(await page.getByText(`env.GREETING: hello -> ${hostile.env}`, { exact: true }).isVisible()).toBe(true);
    expect(await page.locator('main img, main svg, script').count()).toBe(0);
    // Give a delayed handler (onerror of a failed image) time to fire, had one been made.
    await page.waitForTimeout(300);
    expect(browser.dialogs).toEqual([]);
    expect(browser.errors).toEqual([]);
    await page.close();
  });

  it("a tenant's key cannot open another tenant's deployment (404)", async () => {
    const page = await signedIn(s.keys.globex);
    const res = await page.goto(`${server.base}/ui/deployments/${s.ordersDb}`);
    expect(res?.status()).toBe(404);
    expect(await page.locator('h1').textContent()).toBe('No such resource');
    expect(await page.content()).not.toContain('orders-db');
    const own = await page.goto(`${server.base}/ui/deployments/${s.globexDb}`);
    expect(own?.status()).toBe(200);
    await page.close();
  });

  it('signs out: the cookie is gone and the pages ask for a key again', async () => {
    const page = await signedIn(s.keys.reader);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL((u) => u.pathname === '/ui/login');
    expect(await page.context().cookies()).toEqual([]);
    await page.goto(`${server.base}/ui/deployments`);
    expect(new URL(page.url()).pathname).toBe('/ui/login');
    await page.close();
  });

  it('made no request to any host but 127.0.0.1', () => {
    expect(browser.foreign).toEqual([]);
    expect(browser.requests.length).toBeGreaterThan(10);
    expect(browser.requests.filter((u) => !u.startsWith(`${server.base}/`))).toEqual([]);
  });
});
