import type { Hono } from 'hono';
import { html } from 'hono/html';
import { z } from 'zod';
import type { ApiDeps, AppEnv } from '../api/context.ts';
import { dnsLabel } from '../api/schemas.ts';
import { inTenantTx } from '../api/tx.ts';
import { deploymentStatuses, listDeployments, type Deployment } from '../db/deployments.ts';
import type { HistoryEntry } from '../db/events.ts';
import { latestOfEach } from '../db/history-of-many.ts';
import { actionClass, healthBadge, page, query, statusBadge, when } from './html.ts';
import { parseQuery } from './params.ts';

/** /ui/deployments: the caller's deployments (row-level security decides which), with status, health and the last change. */

const pageSize = 50;

const listQuery = z.strictObject({
  status: z.enum(deploymentStatuses).optional(),
  environment: dnsLabel.optional(),
  after: z
    .string()
    .regex(/^[a-z0-9-]{1,63}\/[a-z0-9-]{1,63}$/, 'a tenant/name this page linked to')
    .optional(), // keyset: the deployments after this tenant/name
});

export function registerDeploymentsPage(ui: Hono<AppEnv>, deps: ApiDeps): void {
  ui.get('/deployments', async (c) => {
    const principal = c.get('principal');
    const q = parseQuery(c, listQuery);
    const after = q.after ? (q.after.split('/') as [string, string]) : undefined;
    const rows = await inTenantTx(c, deps, async (tx) => {
      const list = await listDeployments(tx, { tenant: principal.tenant ?? undefined, status: q.status, environment: q.environment, after, limit: pageSize });
      // The last change of each, through the same readable history the API serves.
      const latest = await latestOfEach(tx, list.map((d) => d.id));
      return list.map((d) => ({ d, last: latest.get(d.id) }));
    }, { readOnly: true });
    const showTenant = principal.tenant === null;
    const last = rows.length === pageSize ? rows[rows.length - 1]?.d : undefined;
    const filtered = q.status !== undefined || q.environment !== undefined;
    return c.html(
      page({
        title: 'Deployments',
        principal,
        body: html`<div class="title-line"><h1>Deployments</h1>${principal.tenant ? html`<span class="tenant">tenant ${principal.tenant}</span>` : ''}</div>
<form class="filters" method="get" action="/ui/deployments">
  <label>Status
    <select name="status">
      <option value="">any</option>
      ${deploymentStatuses.map((s) => html`<option value="${s}"${q.status === s ? html` selected` : ''}>${s}</option>`)}
    </select>
  </label>
  <label>Environment <input name="environment" value="${q.environment ?? ''}" placeholder="production" size="14"></label>
  <button type="submit" class="primary">Filter</button>
  ${filtered ? html`<a href="/ui/deployments">Clear</a>` : ''}
</form>
${rows.length === 0
  ? html`<p class="empty">${filtered || after ? 'No deployment matches.' : 'No deployments yet. Create one with POST /v1/deployments.'}</p>`
  : html`<table class="list deployments">
  <thead><tr><th>Deployment</th>${showTenant ? html`<th>Tenant</th>` : ''}<th>Environment</th><th>Recipe</th><th>Status</th><th>Health</th><th>Last change</th></tr></thead>
  <tbody>
  ${rows.map(({ d, last: e }) => row(d, e, showTenant))}
  </tbody>
</table>`}
${last ? html`<p class="pager"><a href="/ui/deployments${query({ status: q.status, environment: q.environment, after: `${last.tenant}/${last.name}` })}">Next ${pageSize} →</a></p>` : ''}`,
      }),
    );
  });
}

function row(d: Deployment, e: HistoryEntry | undefined, showTenant: boolean) {
  return html`<tr data-deployment="${d.id}">
    <td class="name"><a href="/ui/deployments/${d.id}">${d.name}</a>${d.deletion_requested_at ? html` <span class="badge status-removing">removal requested</span>` : ''}</td>
    ${showTenant ? html`<td>${d.tenant}</td>` : ''}
    <td>${d.environment}</td>
    <td>${d.recipe} <span class="muted">${d.app_version}</span></td>
    <td>${statusBadge(d.status)}${d.status_message ? html`<div class="sub">${d.status_message}</div>` : ''}</td>
    <td>${healthBadge(d.health)}${d.health_message ? html`<div class="sub">${d.health_message}</div>` : ''}</td>
    <td>${e
      ? html`<div class="${actionClass(e.action)}"><span class="action">${e.action}</span> <span class="change">${e.changes.slice(0, 2).join('; ')}</span>${e.changes.length > 2 ? html` <span class="muted">and ${e.changes.length - 2} more</span>` : ''}</div>
      <div class="sub">${when(e.when, e.at)} · by ${e.actor}</div>`
      : html`<span class="muted">none</span>`}</td>
  </tr>`;
}
