import { readingOrder, type ComplianceReport, type ReportCheck } from './report.ts';

/*
 * The compliance report for a terminal: plain text, 100 columns at most where the values
 * allow, one block per section, checks first after the summary since they are what an auditor
 * acts on. Control characters in stored text (an actor name, a reason) are shown escaped so
 * a value cannot move the cursor or recolour the terminal.
 */

const marks: Record<ReportCheck['status'], string> = { pass: 'PASS', fail: 'FAIL', not_applicable: 'N/A ' };

export function renderText(r: ComplianceReport): string {
  const out: string[] = [];
  const s = r.summary;
  out.push(`shipslog compliance report: ${s.status === 'pass' ? 'PASS' : 'FAIL'}`);
  out.push(`window      ${r.scope.from} .. ${r.scope.to} (end exclusive)`);
  out.push(`scope       ${scopeText(r)}`);
  out.push(`generated   ${r.generated_at}`);
  out.push(`checks      ${s.checks_passed} passed, ${s.checks_failed} failed, ${s.checks_not_applicable} not applicable`);
  out.push(`events      ${s.events} on ${s.deployments_with_events} of ${s.deployments} deployment(s), by ${s.actors} actor(s)`);
  if (s.first_event_at) out.push(`first/last  ${s.first_event_at} .. ${s.last_event_at}`);

  section(out, 'Checks');
  for (const c of r.checks) {
    out.push(`[${marks[c.status]}] ${c.check}: ${clean(c.summary)}`);
    for (const line of evidenceLines(c)) out.push(`         ${line}`);
  }

  section(out, 'Events by category');
  table(out, ['category', 'events'], r.events_by_category.map((e) => [e.category ?? 'unknown', String(e.count)]));
  section(out, 'Events by type');
  table(out, ['action', 'category', 'severity', 'events'], r.events_by_type.map((e) => [e.action, e.category ?? 'unknown', e.severity ?? '', String(e.count)]));
  section(out, `Actors (${r.actors.total})`);
  table(out, ['actor', 'type', 'events', 'deployments', 'first', 'last'],
    r.actors.items.map((a) => [a.actor, a.actor_type, String(a.events), String(a.deployments), a.first_at, a.last_at]));
  more(out, r.actors.items.length, r.actors.total);
  section(out, `Deployments (${r.deployments.total})`);
  table(out, ['tenant/name', 'environment', 'events', 'id'],
    r.deployments.items.map((d) => [`${d.tenant}/${d.name}${d.removed ? ' (removed)' : ''}`, d.environment ?? '', String(d.events), d.deployment_id]));
  more(out, r.deployments.items.length, r.deployments.total);
  section(out, `Timeline by ${r.timeline.granularity}`);
  table(out, ['start', 'events', 'by category'],
    r.timeline.buckets.map((b) => [b.start, String(b.events), Object.entries(b.categories).map(([k, v]) => `${k} ${v}`).join(', ')]));
  section(out, `Notable events (${r.timeline.notable_total}: lifecycle, rollback, approvals, gates, security, and anything above info)`);
  table(out, ['when', 'deployment', '#', 'action', 'severity', 'actor', 'what'],
    r.timeline.notable.map((n) => [n.occurred_at, `${n.tenant}/${n.name}`, String(n.chain_index), n.action, n.severity ?? '', n.actor, n.summary]));
  more(out, r.timeline.notable.length, r.timeline.notable_total);
  return `${out.join('\n')}\n`;
}

function scopeText(r: ComplianceReport): string {
  const parts = [
    r.scope.tenant ? `tenant ${r.scope.tenant}` : 'every tenant',
    r.scope.deployment_id ? `deployment ${r.scope.deployment_id}` : null,
    r.scope.environment ? `environment ${r.scope.environment}` : null,
  ];
  return clean(parts.filter(Boolean).join(', '));
}

/** The evidence a reader needs on the terminal: the lists that say what is wrong, first 10 of each. */
function evidenceLines(c: ReportCheck): string[] {
  const lines: string[] = [];
  for (const [key, value] of Object.entries(c.evidence)) {
    if (Array.isArray(value)) {
      const shown = c.check === 'immutable_storage' && key === 'triggers'
        ? value.filter((t) => !(t as { present: boolean; enabled: boolean }).present || !(t as { enabled: boolean }).enabled)
        : value;
      if (shown.length === 0 || key === 'audit_tables') continue;
      lines.push(`${key}:`);
      for (const item of shown.slice(0, 10)) lines.push(`  - ${flat(item)}`);
      if (shown.length > 10) lines.push(`  ... ${shown.length - 10} more (--format json has them all)`);
    } else if (value !== null && typeof value === 'object') {
      continue; // nested detail (the newest checkpoint): in --format json
    } else if (key !== 'method' && key !== 'message' && key !== 'signature') {
      lines.push(`${key}: ${clean(String(value))}`);
    }
  }
  return lines;
}

function flat(item: unknown): string {
  if (item === null || typeof item !== 'object') return clean(String(item));
  const o = item as Record<string, unknown>;
  return clean(readingOrder(Object.keys(o)).filter((k) => o[k] !== null && o[k] !== '')
    .map((k) => `${k}=${typeof o[k] === 'object' ? JSON.stringify(o[k]) : String(o[k])}`).join(' '));
}

function section(out: string[], title: string): void {
  out.push('', title, '-'.repeat(title.length));
}

function more(out: string[], shown: number, total: number): void {
  if (total > shown) out.push(`... ${total - shown} more not listed`);
}

/** Columns padded to their widest cell (capped at 60; longer values run over). */
function table(out: string[], head: string[], rows: string[][]): void {
  if (rows.length === 0) {
    out.push('(none)');
    return;
  }
  const cells = rows.map((r) => r.map(clean));
  const widths = head.map((h, i) => Math.min(60, Math.max(h.length, ...cells.map((r) => r[i]!.length))));
  const line = (r: string[]) => r.map((v, i) => (i === r.length - 1 ? v : v.padEnd(widths[i]!))).join('  ').trimEnd();
  out.push(line(head), line(widths.map((w) => '-'.repeat(w))));
  for (const r of cells) out.push(line(r));
}

/** Control characters (ESC, CR, ...) as \u escapes: stored text never drives the terminal. */
function clean(value: string): string {
  return value.replace(/[\u0000-\u001f\u007f-\u009f]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
