import type { Hono } from 'hono';
import { html } from 'hono/html';
import { z } from 'zod';
import { hasScope } from '../api/auth.ts';
import type { ApiDeps, AppEnv } from '../api/context.ts';
import { ProblemError } from '../api/problem.ts';
import { actionList, uuid } from '../api/schemas.ts';
import { inTenantTx } from '../api/tx.ts';
import { getDeployment, type Deployment } from '../db/deployments.ts';
import { deploymentHistory, eventActions, genericPlanFits, type AgentMessageLink, type HistoryEntry, type HistoryFilter, type LinkedHistoryEntry, type RawEvent } from '../db/events.ts';
import { runsByIds, type Run } from '../db/runs.ts';
import { actionClass, externalLink, healthBadge, page, query, statusBadge, when, type Html } from './html.ts';
import { parseParams, parseQuery } from './params.ts';

/** /ui/deployments/:id: one deployment and its timeline, filtered by action, actor and time. */

const pageSize = 50;

// A datetime-local field sends 2026-11-22T00:08 (or with seconds) and no zone: read as UTC,
// as the page says. A full ISO time with a zone works too (links carry those).
const moment = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?$/, 'a time such as 2026-11-22T00:08 (UTC)')
  .transform((s, ctx) => {
    const d = new Date(/(Z|[+-]\d{2}:\d{2})$/.test(s) ? s : `${s}Z`);
    if (Number.isNaN(d.getTime())) {
      ctx.addIssue({ code: 'custom', message: 'not a valid time' });
      return z.NEVER;
    }
    return d;
  });

const timelineQuery = z.strictObject({
  action: actionList.optional(),
  actor: z.string().max(200).optional(),
  since: moment.optional(),
  until: moment.optional(),
  before: z.coerce.number().int().min(1).max(2_147_483_647).optional(),
});

const idParams = z.object({ id: uuid });

type Entry = LinkedHistoryEntry;

interface Timeline {
  deployment: Deployment | null;
  /** Tenant and name from the newest event when the row is gone (removed). */
  identity: { tenant: string; name: string };
  entries: Entry[];
  runs: Map<string, Run>;
  hashes: Map<number, string> | null;
}

export function registerTimelinePage(ui: Hono<AppEnv>, deps: ApiDeps): void {
  ui.get('/deployments/:id', async (c) => {
    const principal = c.get('principal');
    const { id } = parseParams(c, idParams);
    const q = parseQuery(c, timelineQuery);
    const audit = hasScope(principal, 'audit');
    const filter: HistoryFilter = {
      deploymentId: id, actions: q.action, actor: q.actor, since: q.since, until: q.until, before: q.before, limit: pageSize,
    };
    const t = await inTenantTx(c, deps, async (tx): Promise<Timeline> => {
      const [deployment, page] = await Promise.all([
        getDeployment(tx, id),
        deploymentHistory(tx, filter, 'readable', { agentMessages: true }),
      ]);
      const entries = page as Entry[];
      let identity: { tenant: string; name: string } | undefined = deployment ?? entries[0];
      if (!identity) {
        // Filtered to nothing, or no such deployment (another tenant's is hidden by
        // row-level security, exactly as in the API: 404).
        identity = (await deploymentHistory(tx, { deploymentId: id, limit: 1 }, 'readable'))[0] as HistoryEntry | undefined;
        if (!identity) throw new ProblemError('not-found', `no deployment ${id}`);
      }
      // A reconcile run writes its events with the run's id as request id (and the correlation
      // id of the request that made the generation).
      const runIds = [...new Set(entries.map((e) => e.request_id).filter((v): v is string => v !== null && uuid.safeParse(v).success))];
      const runs = new Map((await runsByIds(tx, id, runIds)).map((r) => [r.id, r]));
      // Hashes are in the raw events, which need the audit scope (as ?format=raw does). The
      // same filter from the page's newest event on gives exactly the page's events.
      let hashes: Map<number, string> | null = null;
      if (audit) {
        const top = entries[0];
        const raw = top ? ((await deploymentHistory(tx, { ...filter, before: top.chain_index + 1 }, 'raw')) as RawEvent[]) : [];
        hashes = new Map(raw.map((r) => [r.chain_index, r.hash]));
      }
      return { deployment, identity: { tenant: identity.tenant, name: identity.name }, entries, runs, hashes };
    }, { readOnly: true, genericPlans: genericPlanFits(filter) });

    const filters = { action: q.action?.join(','), actor: q.actor, since: q.since?.toISOString(), until: q.until?.toISOString() };
    const filtered = Object.values(filters).some((v) => v !== undefined);
    const base = `/ui/deployments/${id}`;
    const oldest = t.entries.length === pageSize ? t.entries[t.entries.length - 1] : undefined;
    return c.html(
      page({
        title: `${t.identity.name} · timeline`,
        principal,
        crumbs: [['Deployments', '/ui/deployments'], [t.identity.tenant, null], [t.identity.name, null]],
        body: html`${header(t, id)}
<h2>Timeline</h2>
${filterForm(base, q, filtered)}
<p class="muted">${t.entries.length === 0
  ? ''
  : html`${t.entries.length === pageSize ? `${pageSize} newest events` : `${t.entries.length} event${t.entries.length === 1 ? '' : 's'}`}${filtered ? ' matching the filters' : ''}${q.before ? ` before #${q.before}` : ''}, newest first.`}
${t.hashes ? '' : ' Raw events and their hashes need a key with the audit scope.'}</p>
${t.entries.length === 0
  ? html`<p class="empty">No event matches these filters.</p>`
  : html`<ol class="timeline">${t.entries.map((e) => entry(e, t, base))}</ol>`}
<p class="pager">${q.before ? html`<a href="${base}${query(filters)}">← Newest</a> ` : ''}${oldest ? html`<a href="${base}${query({ ...filters, before: oldest.chain_index })}">Older events →</a>` : ''}</p>`,
      }),
    );
  });
}

function header(t: Timeline, id: string): Html {
  const d = t.deployment;
  return html`<section class="deployment-head">
<div class="title-line"><h1>${t.identity.name}</h1><span class="tenant">${t.identity.tenant}</span>
${d ? html`${statusBadge(d.status)} ${healthBadge(d.health)}` : html`<span class="badge">removed</span>`}</div>
${d
  ? html`<dl class="facts card">
  <div><dt>Status</dt><dd>${d.status}${d.status_message ? html`<div class="sub">${d.status_message}</div>` : ''}</dd></div>
  <div><dt>Health</dt><dd>${d.health}${d.health_message ? html`<div class="sub">${d.health_message}</div>` : ''}</dd></div>
  <div><dt>Recipe</dt><dd>${d.recipe} ${d.app_version}</dd></div>
  <div><dt>Environment</dt><dd>${d.environment}</dd></div>
  <div><dt>Generation</dt><dd>${d.generation} <span class="sub">(observed ${d.observed_generation})</span></dd></div>
  <div><dt>URL</dt><dd>${d.url ? externalLink(d.url) : html`<span class="muted">none yet</span>`}</dd></div>
  <div><dt>Id</dt><dd class="mono">${id}</dd></div>
</dl>`
  : html`<p class="muted">This deployment was removed; its history remains.</p>`}
</section>`;
}

function filterForm(base: string, q: z.output<typeof timelineQuery>, filtered: boolean): Html {
  const one = q.action?.length === 1 ? q.action[0] : undefined;
  const local = (d: Date | undefined) => (d ? d.toISOString().slice(0, 19) : '');
  const now = Date.now();
  const preset = (label: string, hours: number) =>
    html`<a href="${base}${query({ action: q.action?.join(','), actor: q.actor, since: new Date(now - hours * 3600_000).toISOString() })}">${label}</a>`;
  return html`<form class="filters" method="get" action="${base}">
  <label>Action
    <select name="action">
      <option value="">any</option>
      ${eventActions.map((a) => html`<option value="${a}"${one === a ? html` selected` : ''}>${a}</option>`)}
      ${q.action && q.action.length > 1 ? html`<option value="${q.action.join(',')}" selected>${q.action.join(', ')}</option>` : ''}
    </select>
  </label>
  <label>Actor <input name="actor" value="${q.actor ?? ''}" placeholder="alice" size="16"></label>
  <label>Since (UTC) <input type="datetime-local" step="1" name="since" value="${local(q.since)}"></label>
  <label>Until (UTC) <input type="datetime-local" step="1" name="until" value="${local(q.until)}"></label>
  <button type="submit" class="primary">Filter</button>
  <span class="muted">${preset('last hour', 1)} · ${preset('24 hours', 24)} · ${preset('7 days', 168)}${filtered ? html` · <a href="${base}">clear</a>` : ''}</span>
</form>`;
}

function entry(e: Entry, t: Timeline, base: string): Html {
  const run = e.request_id ? t.runs.get(e.request_id) : undefined;
  const hash = t.hashes?.get(e.chain_index);
  return html`<li class="${actionClass(e.action)}" id="event-${e.chain_index}" data-chain-index="${e.chain_index}">
  <div class="event-head">
    <span class="action">${e.action}</span>
    ${when(e.when, e.at)}
    <span class="who">by <b class="actor">${e.actor}</b> <span class="muted">(${e.actor_type})</span></span>
  </div>
  ${e.reason ? html`<p class="why">Why: <q class="reason">${e.reason}</q></p>` : html`<p class="why none">no reason given</p>`}
  <ul class="changes">${e.changes.map((line) => html`<li>${line}</li>`)}</ul>
  ${run ? runLine(run) : ''}
  ${e.agent_message ? agentLine(e.agent_message) : ''}
  <div class="meta">
    <span>#${e.chain_index}</span>
    ${e.correlation_id ? html`<span>correlation <code>${e.correlation_id}</code></span>` : ''}
    ${e.request_id && !run ? html`<span>request <code>${e.request_id}</code></span>` : ''}
    ${hash ? html`<span><a href="${base}/events/${e.chain_index}">raw event</a></span><span>hash <code class="hash" title="${hash}">${hash.slice(0, 16)}…</code></span>` : ''}
  </div>
</li>`;
}

const okOutcomes = new Set(['Applied', 'Unchanged', 'Planned', 'Removed', 'Removing']);

function runLine(r: Run): Html {
  const state = r.outcome ?? r.phase;
  const cls = r.outcome === 'Failed' || r.phase === 'Failed' ? 'failed' : r.outcome && okOutcomes.has(r.outcome) ? 'ok' : '';
  const counts = new Map<string, number>();
  for (const ch of r.changeSet) counts.set(ch.action, (counts.get(ch.action) ?? 0) + 1);
  const objects = [...counts].map(([action, n]) => `${n} ${action}`).join(', ');
  return html`<div class="run ${cls}">Reconcile run <code title="${r.id}">${r.id.slice(0, 8)}</code>: <b class="outcome">${state}</b>${r.durationMs !== null ? ` in ${r.durationMs} ms` : ''}${r.dryRun ? ' (no cluster: planned, nothing applied)' : ''}${objects ? html` · objects: ${objects}` : ''}${r.failureReason ? html`<div class="sub">${r.failureReason}${r.failureMessage ? `: ${r.failureMessage}` : ''}</div>` : ''}</div>`;
}

function agentLine(m: AgentMessageLink): Html {
  return html`<div class="sub">Agent message <code>${m.message_id}</code> · ${m.model}${m.tokens ? ` · ${m.tokens.total} tokens` : ''}${m.cost ? ` · cost ${m.cost.total}` : ''}</div>`;
}
