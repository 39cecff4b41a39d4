import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { serve } from '@hono/node-server';
import type { BrowserContext, Page } from 'playwright-core';

/*
 * Headless Chromium for the /docs and /ui tests: Debian's `chromium` package (apt-get install
 * -y chromium; .ci/run installs it as root when it is missing), driven by playwright-core,
 * which downloads no browser of its own. Every request the browser makes is recorded; one to
 * any host but this machine's loopback is aborted and reported, so a page that needs the
 * internet fails its test instead of passing on a machine that happens to have it.
 */

export const chromiumPath = process.env.SHIPSLOG_CHROMIUM ?? '/usr/bin/chromium';

/** Why the browser tests cannot run here, or null when they can. */
export async function browserUnavailable(): Promise<string | null> {
  if (!existsSync(chromiumPath)) {
    return `no Chromium at ${chromiumPath}: install Debian's package (apt-get install -y chromium; .ci/run does so as root) or set SHIPSLOG_CHROMIUM`;
  }
  try {
    await import('playwright-core');
  } catch {
    return 'the dev dependency playwright-core is not installed (npm ci installs it)';
  }
  return null;
}

// As root Chromium needs --no-sandbox; the rest keep it from calling home (updates, sync,
// QUIC probes, first-run pages), so the recorded requests are the page's own.
const flags = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export interface Browser {
  context: BrowserContext;
  /** Every URL requested by any page, in order. */
  requests: string[];
  /** Requests to a host other than 127.0.0.1/localhost/[::1] (aborted). */
  foreign: string[];
  /** Pages' uncaught errors and console errors (a CSP violation is one). */
  errors: string[];
  /** JavaScript dialogs opened (alert, confirm, prompt): an injected script would open one. */
  dialogs: string[];
  newPage: () => Promise<Page>;
  close: () => Promise<void>;
}

const loopback = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** A fresh profile (its own --user-data-dir, removed at close) in headless Chromium. */
export async function launchBrowser(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  const profile = await mkdtemp(path.join(tmpdir(), 'shipslog-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: flags,
    viewport: { width: 1280, height: 800 },
    timezoneId: 'UTC',
    locale: 'en-GB',
  });
  const requests: string[] = [];
  const foreign: string[] = [];
  const errors: string[] = [];
  const dialogs: string[] = [];
  await context.route('**/*', async (route) => {
    const url = route.request().url();
    requests.push(url);
    const u = new URL(url);
    if ((u.protocol === 'http:' || u.protocol === 'https:') && !loopback.has(u.hostname)) {
      foreign.push(url);
      await route.abort('blockedbyclient');
      return;
    }
    await route.continue();
  });
  const watch = (page: Page) => {
    page.on('dialog', (d) => {
      dialogs.push(`${d.type()}: ${d.message()}`);
      void d.dismiss();
    });
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console: ${m.text()}`);
    });
  };
  context.on('page', watch);
  for (const p of context.pages()) watch(p);
  return {
    context,
    requests,
    foreign,
    errors,
    dialogs,
    newPage: () => context.newPage(),
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Serves a fetch handler on 127.0.0.1 at a free port: what the browser talks to. */
export async function serveOnLoopback(fetch: (req: Request) => Response | Promise<Response>): Promise<{ base: string; close: () => Promise<void> }> {
  const server = serve({ fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve, reject) => {
    if (server.listening) resolve();
    server.once('listening', () => resolve());
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => {
      // Chromium keeps connections alive; close them so close() returns at once.
      if ('closeAllConnections' in server) server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
