import type { Context } from 'hono';
import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import type { AppEnv, Principal } from '../api/context.ts';
import { deploymentStatuses, healthStates } from '../db/deployments.ts';
import { eventActions } from '../db/events.ts';

/*
 * Page shell and small pieces shared by the /ui pages. Every value goes into markup through
 * hono/html's html`` template, which escapes & < > " ' in every interpolated string; only
 * html`` fragments built here are inserted as they are. Nothing else ever becomes markup.
 */

export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

/**
 * No script at all (no script-src: nothing runs, inline or not); styles and images from this
 * origin; forms post only here; no framing.
 */
export const uiCsp = [
  "default-src 'none'",
  "style-src 'self'",
  "img-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

export function securityHeaders(c: Context<AppEnv>): void {
  c.res.headers.set('content-security-policy', uiCsp);
  c.res.headers.set('x-content-type-options', 'nosniff');
  c.res.headers.set('referrer-policy', 'same-origin');
  c.res.headers.set('x-frame-options', 'DENY');
  // Pages hold a tenant's data: never kept by a shared cache or the browser's back-forward cache on disk.
  if (!c.res.headers.has('cache-control')) c.res.headers.set('cache-control', 'no-store');
}

export interface PageOptions {
  title: string;
  principal?: Principal | null;
  /** Breadcrumbs: [label, href | null]. */
  crumbs?: [string, string | null][];
  body: Html;
}

export function page(o: PageOptions): Html {
  const p = o.principal;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${o.title} · shipslog</title>
<link rel="stylesheet" href="/ui/assets/style.css">
<link rel="icon" type="image/svg+xml" href="/ui/assets/icon.svg">
</head>
<body>
<header class="top">
  <a class="brand" href="/ui/deployments"><img src="/ui/assets/icon.svg" alt="" width="22" height="22"> shipslog</a>
  ${p
    ? html`<nav><a href="/ui/deployments">Deployments</a><a href="/docs">API reference</a></nav>
  <div class="session">
    <span>signed in as <b>${p.name}</b> · ${p.tenant ? html`tenant <b>${p.tenant}</b>` : html`<b>all tenants</b>`}</span>
    <form method="post" action="/ui/logout"><button type="submit" class="link">Sign out</button></form>
  </div>`
    : ''}
</header>
<main>
${o.crumbs ? crumbs(o.crumbs) : ''}
${o.body}
</main>
</body>
</html>
`;
}

function crumbs(items: [string, string | null][]): Html {
  return html`<nav class="crumbs" aria-label="breadcrumbs">${items.map(
    ([label, href], i) => html`${i > 0 ? html`<span class="sep">/</span>` : ''}${href ? html`<a href="${href}">${label}</a>` : html`<span>${label}</span>`}`,
  )}</nav>`;
}

/** "2026-11-22 00:08:53 UTC" from the ISO text the database returns. */
export function exactTime(iso: string): string {
  return `${iso.slice(0, 19).replace('T', ' ')} UTC`;
}

/** Relative and exact: the relative text comes from the db layer's readable history. */
export function when(relative: string, iso: string): Html {
  return html`<time datetime="${iso}" title="${iso}">${relative}</time> <span class="exact">(${exactTime(iso)})</span>`;
}

// Class names only from the known values; anything else gets a neutral one.
const known = (values: readonly string[], v: string) => (values.includes(v) ? v : 'other');

export function statusBadge(status: string): Html {
  return html`<span class="badge status-${known(deploymentStatuses, status)}">${status}</span>`;
}

export function healthBadge(health: string): Html {
  return html`<span class="badge health-${known(healthStates, health)}">${health}</span>`;
}

export function actionClass(action: string): string {
  return `act-${known(eventActions, action)}`;
}

/** A link only for http(s) URLs: a javascript: or data: URL stays text. */
export function externalLink(url: string): Html {
  return /^https?:\/\//i.test(url) ? html`<a href="${url}" rel="noopener noreferrer">${url}</a>` : html`${url}`;
}

/** A query string from the values that are set, for links that keep the current filters. */
export function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export function errorPage(status: number, title: string, detail: string, principal: Principal | null, extra: Html | string = ''): Html {
  return page({
    title,
    principal,
    body: html`<section class="error">
  <h1>${title}</h1>
  <p>${detail}</p>
  ${extra}
  <p><a href="/ui/deployments">Back to the deployments</a></p>
  <p class="status">HTTP ${status}</p>
</section>`,
  });
}
