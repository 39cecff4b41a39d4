import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createLog } from '../../src/log.ts';
import { probeHandler } from '../../src/reconciler/probe.ts';
import { converged, createDeployment, harness, runsOf, waitFor, type Harness } from './helpers.ts';

/*
 * The run-audit metrics a dashboard for seeds 003/004 reads (issue 11, item 7), after real
 * reconciles against the Kubernetes API test server through the real client: records by phase
 * and outcome, the recording's duration, and errors, beside today's series. Their values are
 * held against the run-audit rows PostgreSQL holds.
 */

let h: Harness;
let probe: Server | undefined;
beforeAll(async () => {
  h = await harness();
});
afterAll(async () => {
  probe?.close();
  if (h) await h.t.db`drop trigger if exists poison_results on shipslog.reconcile_runs`.catch(() => {});
  await h?.close();
});

/** One sample of a Prometheus text exposition, whatever the order of its labels; 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!]));
    if (Object.keys(have).length === Object.keys(labels).length && Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe('run-audit metrics on /metrics', () => {
  it('count each audit record by phase and outcome, time its recording, and count the failures to record', async () => {
    const registry = new Registry();
    const { r, pool } = h.reconciler({ registry });
    // A result PostgreSQL refuses to record: the reconciler's write fails as it would when
    // the database refuses (a constraint, a lost connection), and is counted as an error.
    await h.t.db.unsafe(`
      create or replace function public.tg_poison_results() returns trigger language plpgsql as $$
      begin
        if new.name = 'metrics-poison' and new.phase in ('Completed', 'Failed') then
          raise exception 'refusing the result of % for this test', new.name;
        end if;
        return new;
      end $$;
      create trigger poison_results before update on shipslog.reconcile_runs
        for each row execute function public.tg_poison_results();`); // fixed test DDL
    await r.start();
    const app = createApp({
      db: h.t.db, config: loadConfig({ DATABASE_URL: h.t.url, LOG_LEVEL: 'silent' }), log: createLog('silent'),
      reconciler: r, fingerprintKey: Buffer.alloc(32),
    });

    const before = await (await app.request('/metrics')).text();
    // Every error series is there at 0 before anything happened.
    for (const stage of ['start', 'result', 'skip']) expect(sample(before, 'shipslog_reconcile_audit_record_errors_total', { stage })).toBe(0);

    const ok = await createDeployment(h.t.db, { name: 'metrics-ok' });
    await converged(h.t.db, ok);
    h.server.inject({ match: { method: 'PATCH', kind: 'StatefulSet', name: 'metrics-bad', dryRun: false }, status: 500, message: 'etcdserver: request timed out', times: 1 });
    const bad = await createDeployment(h.t.db, { name: 'metrics-bad' });
    await converged(h.t.db, bad); // failed once, then applied after back-off
    await createDeployment(h.t.db, { name: 'metrics-poison' });
    await waitFor('the refused result to be counted', async () =>
      sample(await r.metrics.registry.metrics(), 'shipslog_reconcile_audit_record_errors_total', { stage: 'result' })! >= 1);

    const text = await (await app.request('/metrics')).text();
    const records = (phase: string, outcome: string) => sample(text, 'shipslog_reconcile_audit_records_total', { phase, outcome }) ?? 0;
    // What PostgreSQL holds: one run-audit row per result this reconciler recorded.
    const rows = await h.t.db<{ phase: string; outcome: string; n: number }[]>`
      select r.phase, r.outcome, count(*)::int as n
      from shipslog.reconcile_run_audit as a
      join shipslog.reconcile_runs as r on r.id = a.run_id
      group by r.phase, r.outcome
      order by 1, 2`;
    expect(rows.length).toBeGreaterThanOrEqual(2);
    for (const row of rows) expect({ ...row, metric: records(row.phase, row.outcome) }).toEqual({ ...row, metric: row.n });
    expect(records('Completed', 'Applied')).toBe(2);
    expect(records('Failed', 'Failed')).toBe(1);
    expect((await runsOf(h.t.db, bad)).filter((x) => x.phase === 'Failed')).toHaveLength(1);
    const total = rows.reduce((n, row) => n + row.n, 0);

    // The histogram: one observation per record, seed 004's buckets (1 ms doubling to 512 ms).
    const seconds = 'shipslog_reconcile_audit_record_duration_seconds';
    expect(sample(text, `${seconds}_count`)).toBe(total);
    expect(sample(text, `${seconds}_sum`)).toBeGreaterThan(0);
    expect(sample(text, `${seconds}_bucket`, { le: '0.001' })).toBeGreaterThanOrEqual(0);
    expect(sample(text, `${seconds}_bucket`, { le: '0.512' })).toBeLessThanOrEqual(total);
    expect(sample(text, `${seconds}_bucket`, { le: '+Inf' })).toBe(total);

    // The refused result: counted, and no audit row for it.
    expect(sample(text, 'shipslog_reconcile_audit_record_errors_total', { stage: 'result' })).toBe(1);
    const [poisoned] = await h.t.db<{ n: number }[]>`
      select count(*)::int as n from shipslog.reconcile_run_audit as a join shipslog.reconcile_runs as r on r.id = a.run_id where r.name = 'metrics-poison'`;
    expect(poisoned!.n).toBe(0);

    // Today's series are still there, beside the new ones.
    expect(sample(text, 'shipslog_reconcile_runs_total', { outcome: 'Applied' })).toBe(2);
    expect(sample(text, 'shipslog_reconcile_run_duration_seconds_count', { outcome: 'Applied' })).toBe(2);
    expect(sample(text, 'shipslog_reconcile_leases_lost_total')).toBe(0);
    expect(text).toContain('shipslog_http_request_duration_seconds');

    // `shipslog reconciler` alone serves the same on its probe port.
    const handler = probeHandler(r, pool);
    probe = createServer((req, res) => void handler(req, res));
    await new Promise<void>((resolve) => probe!.listen(0, '127.0.0.1', resolve));
    const alone = await (await fetch(`http://127.0.0.1:${(probe.address() as AddressInfo).port}/metrics`)).text();
    expect(sample(alone, 'shipslog_reconcile_audit_records_total', { phase: 'Completed', outcome: 'Applied' })).toBe(2);
    expect(sample(alone, `${seconds}_count`)).toBe(total);
    await r.stop();
  });
});
