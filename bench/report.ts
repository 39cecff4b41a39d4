// node bench/report.ts — the compliance report for one deployment with 100,000 events
// (issue 12, item 5: under 1 s).
//
// Data: one deployment ('bench', 'big-db') with BENCH_REPORT_EVENTS (100,000) events, written
// by real UPDATEs so the audit trigger hashes and chains every one (config changes by seven
// service actors, health changes by the reconciler's system actor, one change in fifty made
// with no actor context, i.e. outside the API), among 50 small deployments of another tenant;
// then a signed checkpoint. The report is timed as `shipslog report --deployment ID` and the
// API build it (complianceReport(): PostgreSQL's document plus the Ed25519 signature check),
// BENCH_REPORT_RUNS (7) times after one warm-up; then each part of it alone, to show where
// the time goes. Prints median and max wall time, and the median of the server's CPU time
// (a local server only), which the load of other processes disturbs far less.
//
// BENCH_DATABASE / DATABASE_URL: see bench/support/database.ts; BENCH_KEEP=1 keeps the database
// and reuses its events.
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { keyIdOf, takeCheckpoint } from '../src/audit/checkpoints.ts';
import { complianceReport } from '../src/audit/report.ts';
import { verifyAll } from '../src/audit/verify.ts';
import { createDb, type Db } from '../src/db/client.ts';
import { benchDatabase, keptDatabase, median } from './support/database.ts';

const EVENTS = Number(process.env.BENCH_REPORT_EVENTS ?? 100_000);
const RUNS = Number(process.env.BENCH_REPORT_RUNS ?? 7);

async function seed(db: Db): Promise<string> {
  const [big] = await db<{ id: string }[]>`
    insert into shipslog.deployments (tenant, name, recipe, app_version, config)
    values ('bench', 'big-db', 'postgresql', '16', '{"storage": "8Gi", "replicas": 1}')
    returning id`;
  await db`
    insert into shipslog.deployments (tenant, name, recipe, app_version, config)
    select 'other', 'small-' || g, 'redis', '7', '{}'
    from generate_series(1, 50) as g`;
  // Fixed benchmark SQL. A COMMIT every 1,000 updates: 100,000 updates of one row in one
  // transaction leave a chain of row versions no one may prune, and each update walks it.
  await db.unsafe(`
    do $$
    declare
      target uuid := '${big!.id}';
    begin
      for i in 1..${EVENTS - 1} loop
        perform set_config('shipslog.actor', case when i % 3 = 0 then 'reconciler/worker-1' else 'svc-' || (i % 7) end, true);
        perform set_config('shipslog.actor_type', case when i % 50 = 0 then '' when i % 3 = 0 then 'system' else 'service' end, true);
        if i % 3 = 0 then
          update shipslog.deployments set health = case when health = 'Healthy' then 'Degraded' else 'Healthy' end where id = target;
        else
          update shipslog.deployments set config = jsonb_set(config, '{storage}', to_jsonb((i % 500 + 1) || 'Gi')) where id = target;
        end if;
        if i % 1000 = 0 then
          commit;
        end if;
      end loop;
    end
    $$`).simple();
  await db`vacuum analyze shipslog.deployment_events`;
  return big!.id;
}

interface Timing {
  label: string;
  median: number;
  max: number;
  /** The server process's CPU time, ms (median): what load from other processes disturbs least. */
  cpu: number | null;
  /** This process's CPU time, ms (median): the chains check's reader runs here. */
  nodeCpu: number;
}

// The server's CPU time for the bench's one connection, from /proc/<pid>/schedstat (a server
// on this machine only; null elsewhere). Wall time on a shared 2-core machine measures the
// queue for the cores as much as the work.
let serverNs: () => number | null = () => null;

async function time(label: string, fn: () => Promise<unknown>): Promise<Timing> {
  await fn(); // warm-up: plans, caches
  const ms: number[] = [];
  const cpu: number[] = [];
  const nodeCpu: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const cpuStart = serverNs();
    const nodeStart = process.cpuUsage();
    const start = performance.now();
    await fn();
    ms.push(performance.now() - start);
    const node = process.cpuUsage(nodeStart);
    nodeCpu.push((node.user + node.system) / 1000);
    const cpuEnd = serverNs();
    if (cpuStart !== null && cpuEnd !== null) cpu.push((cpuEnd - cpuStart) / 1e6);
  }
  return { label, median: median(ms), max: Math.max(...ms), cpu: cpu.length ? median(cpu) : null, nodeCpu: median(nodeCpu) };
}

// BENCH_KEEP=1 (with DATABASE_URL): the database is kept, and a second run reuses its events.
const bench = process.env.BENCH_KEEP === '1' ? await keptDatabase('report') : await benchDatabase('report');
const db = createDb(bench.url, { max: 2, applicationName: 'bench report' });
try {
  // Both connections (the chain check runs beside the SQL document on the second).
  await Promise.all([db`select pg_sleep(0.1)`, db`select pg_sleep(0.1)`]);
  const backends = await db<{ pid: number }[]>`select pid from pg_stat_activity where application_name = 'bench report'`;
  const stats = backends.map((b) => `/proc/${b.pid}/schedstat`);
  if (stats.every((f) => existsSync(f))) serverNs = () => stats.reduce((sum, f) => sum + Number(readFileSync(f, 'utf8').split(' ')[0]), 0);
  const seedStart = performance.now();
  const [kept] = await db<{ id: string }[]>`select id from shipslog.deployments where tenant = 'bench' and name = 'big-db'`;
  const id = kept?.id ?? (await seed(db));
  const pair = generateKeyPairSync('ed25519');
  await takeCheckpoint(db, { ...pair, keyId: keyIdOf(pair.publicKey) });
  const [counted] = await db<{ events: number }[]>`select count(*)::int as events from shipslog.deployment_events where deployment_id = ${id}`;
  const events = counted!.events;
  console.log(`seeded ${events} events on one deployment in ${((performance.now() - seedStart) / 1000).toFixed(0)} s`);

  const window = { from: new Date('2000-01-01T00:00:00Z'), to: new Date('2100-01-01T00:00:00Z') };
  const scope = { ...window, deploymentId: id };
  const args = [window.from, window.to, null, id, null] as const;
  const check = (name: string) => () => db.unsafe(`select * from shipslog.compliance_check_${name}($1, $2, $3, $4, $5)`, [...args]); // name: fixed list below
  const report = await complianceReport(db, scope, pair.publicKey);
  console.log(`report: ${report.summary.events} events, checks ${report.checks.map((c) => `${c.check}=${c.status}`).join(' ')}`);

  const rows = [
    await time('whole report (complianceReport: SQL + signatures)', () => complianceReport(db, scope, pair.publicKey)),
    await time('  check chains_intact (verify\'s reader, as run)', () => verifyAll(db, { deploymentId: id })),
    await time('  [SQL: shipslog.verify_chains(), not run]', check('chains')),
    await time('  check checkpoints (digest recomputed)', check('checkpoints')),
    await time('  check changes_outside_api', check('changes_outside_api')),
    await time('  check immutable_storage', check('immutable_storage')),
    await time('  check approvals_complete', check('approvals')),
    await time('  check gates_passed', check('gates')),
    await time('  check retention_met (every event judged)', check('retention')),
  ];
  const fmt = (n: number | null) => (n === null ? '-' : n.toFixed(0)).padStart(8);
  console.log(`\n${RUNS} runs each, ms (load average ${loadavg()[0]!.toFixed(1)})`.padEnd(52), '  median      max  server CPU  Node CPU');
  for (const r of rows) console.log(`${r.label.padEnd(52)} ${fmt(r.median)} ${fmt(r.max)} ${fmt(r.cpu)}  ${fmt(r.nodeCpu)}`);
  const whole = rows[0]!.median;
  const rest = (a: number | null, b: number | null) => (a === null || b === null ? null : a - b);
  console.log(`${'  everything but chains_intact (whole - chains)'.padEnd(52)} ${fmt(whole - rows[1]!.median)} ${fmt(null)} ${fmt(rest(rows[0]!.cpu, rows[1]!.cpu))}`);
  console.log(`\nreport for one deployment with ${events} events: ${(whole / 1000).toFixed(2)} s (target < 1 s): ${whole < 1000 ? 'met' : 'NOT met'}`);
} finally {
  await db.end();
  await bench.close();
}
