import { createHash } from 'node:crypto';
import { readingOrder, type ComplianceReport, type ReportCheck } from './report.ts';

/*
 * The compliance report as one self-contained HTML page a person reads or files: no script,
 * no external asset (the style is inline and allowed by its hash in reportCsp), a table per
 * section, each check marked PASS / FAIL / N/A in words as well as colour. Every value goes
 * through the h`` template, which escapes each interpolation unless it is markup built by h``
 * itself: stored text (actor names, reasons, deployment names) can never become markup.
 */

class Markup {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
  toString(): string {
    return this.text;
  }
}

function escape(value: string): string {
  return value.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function part(value: unknown): string {
  if (value instanceof Markup) return value.text;
  if (Array.isArray(value)) return value.map(part).join('');
  if (value === null || value === undefined || value === false) return '';
  return escape(String(value));
}

function h(strings: TemplateStringsArray, ...values: unknown[]): Markup {
  return new Markup(strings.reduce((acc, s, i) => acc + s + (i < values.length ? part(values[i]) : ''), ''));
}

const style = `
:root { color-scheme: light; --fg: #1d2430; --muted: #5b6472; --line: #d9dee6; --pass: #17663a; --pass-bg: #e3f4ea;
  --fail: #a3161b; --fail-bg: #fde7e7; --na: #5b6472; --na-bg: #eef0f3; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--fg); background: #fff; }
main { max-width: 72rem; margin: 0 auto; padding: 2rem 1.5rem 4rem; }
h1 { font-size: 1.75rem; margin: 0 0 .25rem; }
h2 { font-size: 1.25rem; margin: 2.5rem 0 .75rem; padding-bottom: .25rem; border-bottom: 2px solid var(--line); }
p.lead { color: var(--muted); margin: 0 0 1.5rem; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; font-size: .95rem; }
th, td { text-align: left; vertical-align: top; padding: .4rem .6rem; border-bottom: 1px solid var(--line); overflow-wrap: break-word; }
/* Fixed columns: a wide evidence table scrolls inside its cell instead of widening the page. */
table.checks { table-layout: fixed; }
table.checks col.result { width: 6.5rem; }
table.checks col.name { width: 15rem; }
.scroll { overflow-x: auto; max-width: 100%; }
th { background: #f5f7fa; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: .88em; overflow-wrap: anywhere; }
.status { display: inline-block; min-width: 4.2rem; text-align: center; font-weight: 700; border-radius: .3rem; padding: .05rem .5rem; letter-spacing: .03em; }
.status.pass { color: var(--pass); background: var(--pass-bg); }
.status.fail { color: var(--fail); background: var(--fail-bg); }
.status.not_applicable { color: var(--na); background: var(--na-bg); }
.verdict { font-size: 1.1rem; margin: 0 0 1rem; }
details { margin-top: .35rem; }
summary { cursor: pointer; color: var(--muted); }
table.evidence { font-size: .85rem; margin: .35rem 0; }
table.evidence th { width: 12rem; background: #fafbfc; }
.muted { color: var(--muted); }
@media print { details { display: block; } details > summary { display: none; } }
`.trim();

/**
 * The page's Content-Security-Policy: nothing loads, nothing runs; only this inline style
 * applies. The page carries it in a meta element (a saved file keeps it); the API also sends
 * it as a header, with frame-ancestors, which a meta element cannot carry.
 */
const pageCsp = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(style).digest('base64')}'`,
  "form-action 'none'",
  "base-uri 'none'",
].join('; ');

export const reportCsp = `${pageCsp}; frame-ancestors 'none'`;

const labels: Record<ReportCheck['status'], string> = { pass: 'PASS', fail: 'FAIL', not_applicable: 'N/A' };

const statusBadge = (s: ReportCheck['status'] | 'pass' | 'fail') => h`<span class="status ${s}">${labels[s]}</span>`;

export function renderHtml(r: ComplianceReport): string {
  const s = r.summary;
  const scope = [
    r.scope.tenant ? `tenant ${r.scope.tenant}` : 'every tenant',
    r.scope.deployment_id ? `deployment ${r.scope.deployment_id}` : '',
    r.scope.environment ? `environment ${r.scope.environment}` : '',
  ].filter(Boolean).join(', ');
  const page = h`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${pageCsp}">
<title>Compliance report ${r.scope.from} – ${r.scope.to} · shipslog</title>
<style>${new Markup(style)}</style>
</head>
<body>
<main>
<h1>Compliance report</h1>
<p class="lead">${scope} · <time datetime="${r.scope.from}">${r.scope.from}</time> to <time datetime="${r.scope.to}">${r.scope.to}</time> (end exclusive) · generated ${r.generated_at}</p>
<p class="verdict" id="verdict">Overall: ${statusBadge(s.status)} ${s.checks_passed} passed, ${s.checks_failed} failed, ${s.checks_not_applicable} not applicable</p>

<section aria-labelledby="h-summary">
<h2 id="h-summary">Summary</h2>
<table class="summary">
<tbody>
<tr><th scope="row">Events in the window</th><td class="num">${s.events}</td></tr>
<tr><th scope="row">Deployments in scope</th><td class="num">${s.deployments}</td></tr>
<tr><th scope="row">Deployments with events</th><td class="num">${s.deployments_with_events}</td></tr>
<tr><th scope="row">Actors</th><td class="num">${s.actors}</td></tr>
<tr><th scope="row">First event</th><td>${s.first_event_at ?? '—'}</td></tr>
<tr><th scope="row">Last event</th><td>${s.last_event_at ?? '—'}</td></tr>
</tbody>
</table>
</section>

<section aria-labelledby="h-checks">
<h2 id="h-checks">Checks</h2>
<table class="checks">
<colgroup><col class="result"><col class="name"><col></colgroup>
<thead><tr><th>Result</th><th>Check</th><th>Finding and evidence</th></tr></thead>
<tbody>
${r.checks.map((c) => h`<tr class="check" data-check="${c.check}" data-status="${c.status}">
<td>${statusBadge(c.status)}</td>
<td><code>${c.check}</code></td>
<td><p>${c.summary}</p><details${c.status === 'fail' ? new Markup(' open') : ''}><summary>Evidence</summary><div class="scroll">${evidence(c.evidence)}</div></details></td>
</tr>
`)}
</tbody>
</table>
</section>

<section aria-labelledby="h-categories">
<h2 id="h-categories">Events by category</h2>
${rows(['Category', 'Events'], r.events_by_category.map((e) => [e.category ?? 'unknown', num(e.count)]), 'by-category')}
</section>

<section aria-labelledby="h-types">
<h2 id="h-types">Events by type</h2>
${rows(['Action', 'Category', 'Severity', 'Events'], r.events_by_type.map((e) => [h`<code>${e.action}</code>`, e.category ?? 'unknown', e.severity ?? '', num(e.count)]), 'by-type')}
</section>

<section aria-labelledby="h-actors">
<h2 id="h-actors">Actors</h2>
${rows(['Actor', 'Type', 'Events', 'Deployments', 'First', 'Last'],
  r.actors.items.map((a) => [a.actor, a.actor_type, num(a.events), num(a.deployments), a.first_at, a.last_at]), 'actors')}
${more(r.actors.items.length, r.actors.total)}
</section>

<section aria-labelledby="h-deployments">
<h2 id="h-deployments">Deployments</h2>
${rows(['Tenant', 'Name', 'Environment', 'Events in window', 'Id'],
  r.deployments.items.map((d) => [d.tenant, d.removed ? h`${d.name} <span class="muted">(removed)</span>` : d.name, d.environment ?? '', num(d.events), h`<code>${d.deployment_id}</code>`]), 'deployments')}
${more(r.deployments.items.length, r.deployments.total)}
</section>

<section aria-labelledby="h-timeline">
<h2 id="h-timeline">Timeline</h2>
<p class="muted">Events per ${r.timeline.granularity} (UTC).</p>
${rows(['Start', 'Events', 'By category'],
  r.timeline.buckets.map((b) => [b.start, num(b.events), Object.entries(b.categories).map(([k, v]) => `${k} ${v}`).join(', ')]), 'timeline')}
<h3>Notable events</h3>
<p class="muted">Lifecycle, rollback, approval, gate and security events, and any above info, newest first.</p>
${rows(['When', 'Deployment', '#', 'Action', 'Severity', 'Actor', 'What'],
  r.timeline.notable.map((n) => [n.occurred_at, `${n.tenant}/${n.name}`, num(n.chain_index), h`<code>${n.action}</code>`, n.severity ?? '', n.actor, n.summary]), 'notable')}
${more(r.timeline.notable.length, r.timeline.notable_total)}
</section>
</main>
</body>
</html>
`;
  return page.text;
}

const num = (n: number) => h`<span class="num">${n.toLocaleString('en-GB')}</span>`;

function rows(head: string[], body: unknown[][], cls: string): Markup {
  if (body.length === 0) return h`<p class="muted ${cls}">None in this window.</p>`;
  return h`<table class="${cls}">
<thead><tr>${head.map((c) => h`<th scope="col">${c}</th>`)}</tr></thead>
<tbody>
${body.map((r) => h`<tr>${r.map((v) => h`<td>${v}</td>`)}</tr>
`)}</tbody>
</table>`;
}

function more(shown: number, total: number): Markup | string {
  return total > shown ? h`<p class="muted">${total - shown} more not listed here (the JSON format has the first ${shown} too; narrow the scope to see the rest).</p>` : '';
}

/** Evidence as nested tables: objects as key/value rows, arrays of objects as a table with a column per key. */
function evidence(value: unknown, depth = 0): Markup {
  if (value === null || value === undefined) return h`<span class="muted">—</span>`;
  if (Array.isArray(value)) {
    if (value.length === 0) return h`<span class="muted">none</span>`;
    if (value.every((v) => v !== null && typeof v === 'object' && !Array.isArray(v))) {
      const keys = readingOrder([...new Set(value.flatMap((v) => Object.keys(v as object)))]);
      return h`<table class="evidence"><thead><tr>${keys.map((k) => h`<th scope="col">${k}</th>`)}</tr></thead><tbody>${value.map(
        (v) => h`<tr>${keys.map((k) => h`<td>${scalar((v as Record<string, unknown>)[k], depth)}</td>`)}</tr>`,
      )}</tbody></table>`;
    }
    return h`${value.map((v, i) => h`${i > 0 ? ', ' : ''}${scalar(v, depth)}`)}`;
  }
  if (typeof value === 'object') {
    return h`<table class="evidence"><tbody>${Object.entries(value).map(
      ([k, v]) => h`<tr><th scope="row">${k}</th><td>${scalar(v, depth)}</td></tr>`,
    )}</tbody></table>`;
  }
  return scalar(value, depth);
}

function scalar(value: unknown, depth: number): Markup {
  if (value !== null && typeof value === 'object') return depth < 3 ? evidence(value, depth + 1) : h`<code>${JSON.stringify(value)}</code>`;
  if (typeof value === 'boolean') return h`${value ? 'yes' : 'no'}`;
  if (value === null || value === undefined) return h`<span class="muted">—</span>`;
  const text = String(value);
  return text.length > 40 && !/\s/.test(text) ? h`<code>${text}</code>` : h`${text}`;
}
