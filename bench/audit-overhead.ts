// npm run bench:audit — the cost of shipslog's audit trigger, measured side by side, the way
// a DBA would (pgbench) and the way the application does (a Node client).
//
// The same statement everywhere: config.storage of a random one of 10,000 rows set to a new
// value, autocommit, against copies of shipslog.deployments (same columns, indexes, CHECKs):
//   (a) plain      no trigger
//   (b) shipped    shipslog.deployments as shipped: its audit trigger, which also checks the
//                  recipe's config and wakes the reconciler (on settled -> pending only); an
//                  "audit only" (b') is no longer a configuration: those two are statements of
//                  the audit trigger since issue 10 (their instructions: BENCHMARKS.md)
//   (d) every wake as shipped, plus the wake-up as it was: a NOTIFY on every desired-state change
//   (c) generic    a whole-row jsonb audit trigger (old and new row, as supa_audit stores them)
//   (f) floor      a trigger that only inserts one 256-byte row into another table
//   (g) event row  (f) with shipslog's event as the row: an event-sized INSERT into a copy of
//                  deployment_events (its partitions and every index), nothing else
// in two config shapes (nested: 20 keys in objects; flat: 24 settings). Modes:
//   pgbench  custom scripts, 4 clients, 2 threads, rounds of BENCH_SECONDS (6) each
//   node     postgres.js, 4 connections, BENCH_STATEMENTS (500) statements per round
// Every round runs every variant and shape, the order rotating from round to round, so a
// burst of load from elsewhere lands on all of them alike. Ratio = a variant's transactions
// per second summed over its rounds / (a)'s; the median of per-round ratios beside it.
//
// The fleet is pending (work queued) unless BENCH_FLEET=settled (audit-setup.ts says why).
// BENCH_PG_BIN (server binary directories, comma-separated; `embedded` for the embedded 18's)
// runs the whole benchmark on a throwaway cluster of each in turn, so that PostgreSQL 15 and
// 18 come from one command; without it DATABASE_URL (a superuser's) selects the server, else a
// throwaway embedded PostgreSQL 18;
// BENCH_DATABASE names the database created for the run (dropped afterwards); BENCH_PGBENCH
// the pgbench binary (default: the newest /usr/lib/postgresql/N/bin/pgbench, else PATH).
import postgres from 'postgres';
import { benchPgBins } from './support/cluster.ts';
import { benchDatabase, median } from './support/database.ts';
import {
  configure, createPgbench, DEPLOYMENTS, findPgbench, labels, setUp, shapes, statement, tableOf, variants,
  type Pgbench, type Shape, type Variant,
} from './support/audit-setup.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const STATEMENTS = Number(process.env.BENCH_STATEMENTS ?? 500);
const MODES = (process.env.BENCH_MODES ?? 'pgbench,node').split(',').filter(Boolean) as ('pgbench' | 'node')[];
const CONNECTIONS = 4;

type Key = `${Variant}/${Shape}`;
interface Tally { tx: number; seconds: number; perRound: number[] }

let counter = 0;
async function nodeRound(pools: postgres.Sql[], v: Variant, shape: Shape): Promise<{ tps: number; transactions: number }> {
  const text = statement(tableOf[v], shape, '$2', '$1::text');
  let next = 0;
  const started = performance.now();
  await Promise.all(
    pools.map(async (db) => {
      while (next < STATEMENTS) {
        next++;
        const n = 1 + Math.floor(Math.random() * DEPLOYMENTS);
        await db.unsafe(text, [`${++counter}Gi`, String(n)]); // fixed statement text; values are parameters
      }
    }),
  );
  return { tps: STATEMENTS / ((performance.now() - started) / 1000), transactions: STATEMENTS };
}

async function eventsSize(sql: postgres.Sql): Promise<{ table: number; total: number; rows: number }> {
  const [r] = await sql<{ t: string; tt: string; n: string }[]>`
    select sum(pg_table_size(p.relid)) as t, sum(pg_total_relation_size(p.relid)) as tt,
           (select count(*) from shipslog.deployment_events) as n
    from pg_partition_tree('shipslog.deployment_events') as p`; // the partitions' sizes: a partitioned table has none of its own
  return { table: Number(r!.t), total: Number(r!.tt), rows: Number(r!.n) };
}

const pad = (s: string, n: number) => s.padEnd(n);

async function main(): Promise<void> {
  // BENCH_PG_BIN: one throwaway cluster per server binary directory, one after the other
  // (`embedded,/usr/lib/postgresql/15/bin`: PostgreSQL 18 and 15 from one command).
  const bins = benchPgBins();
  if (bins.length === 0) return measure(undefined);
  for (const bin of bins) {
    if (bin !== bins[0]) console.log('');
    console.log(`== server binaries: ${bin}`);
    await measure(bin);
  }
}

async function measure(bin: string | undefined): Promise<void> {
  const database = await benchDatabase('audit', bin);
  const sql = postgres(database.url, { max: 1, onnotice: () => {} });
  const listener = postgres(database.url, { max: 1, onnotice: () => {} });
  const pools = Array.from({ length: CONNECTIONS }, () => postgres(database.url, { max: 1, onnotice: () => {} }));
  let pgbench: Pgbench | null = null;
  try {
    const [server] = await sql<{ version: string }[]>`select version()`;
    console.log(`server: ${server?.version}`);
    const modes = [...MODES];
    if (modes.includes('pgbench')) {
      const bin = await findPgbench();
      if (bin) {
        pgbench = await createPgbench(bin);
        console.log(`pgbench: ${bin} (${pgbench.version})`);
      } else {
        console.log('pgbench: not found (set BENCH_PGBENCH); pgbench mode skipped');
        modes.splice(modes.indexOf('pgbench'), 1);
      }
    }
    console.log(`setting up ${DEPLOYMENTS} deployments per shape in ${new Set(Object.values(tableOf)).size} tables ...`);
    await setUp(sql);
    // A reconciler listens, as in production: a notifying commit also signals it.
    let wakes = 0;
    await listener.listen('shipslog_reconcile', () => {
      wakes++;
    });
    const combos = variants.flatMap((v) => shapes.map((s) => [v, s] as const));
    const results: Record<string, Record<Key, Tally>> = {};
    const wakesOf: Record<string, Partial<Record<Variant, { wakes: number; writes: number }>>> = {};
    // (b)'s share of writes that woke the reconciler, per shape and round.
    const wokeShare: Record<string, Record<Shape, number[]>> = {};
    let growth = { table: 0, total: 0, rows: 0 };
    for (const mode of modes) {
      const tally = (results[mode] = {} as Record<Key, Tally>);
      wakesOf[mode] = {};
      wokeShare[mode] = { nested: [], flat: [] };
      const once = (v: Variant, s: Shape, seconds: number) =>
        mode === 'pgbench' ? pgbench!.run(database.url, v, s, seconds) : nodeRound(pools, v, s);
      for (const [v, s] of combos) {
        await configure(sql, v);
        await once(v, s, 1); // warm-up, not counted
      }
      for (let r = 0; r < ROUNDS; r++) {
        for (let i = 0; i < combos.length; i++) {
          const [v, s] = combos[(i + r) % combos.length]!;
          await configure(sql, v);
          const before = v === 'shipped' ? await eventsSize(sql) : null;
          const w0 = wakes;
          const res = await once(v, s, SECONDS);
          if (v === 'shipped' || v === 'everyWake') {
            await new Promise((resolve) => setTimeout(resolve, 300)); // let the notifications arrive
            const w = (wakesOf[mode]![v] ??= { wakes: 0, writes: 0 });
            w.wakes += wakes - w0;
            w.writes += res.transactions;
            if (v === 'shipped') wokeShare[mode]![s].push((wakes - w0) / res.transactions);
          }
          if (before) {
            const after = await eventsSize(sql);
            growth = { table: growth.table + after.table - before.table, total: growth.total + after.total - before.total, rows: growth.rows + after.rows - before.rows };
          }
          const t = (tally[`${v}/${s}`] ??= { tx: 0, seconds: 0, perRound: [] });
          t.tx += res.transactions;
          t.seconds += res.transactions / res.tps;
          t.perRound.push(res.tps);
        }
        const rate = (k: Key) => (tally[k] ? (tally[k].tx / tally[k].seconds).toFixed(0) : '-');
        console.log(`${mode}, after round ${r + 1}/${ROUNDS} (tps so far): ` + combos.map(([v, s]) => `${v}/${s} ${rate(`${v}/${s}`)}`).join(', '));
      }
    }
    await configure(sql, 'shipped');

    console.log('');
    console.log(`${DEPLOYMENTS} rows per shape; one-field config UPDATEs (config.storage), autocommit; ${ROUNDS} rounds, order rotating`);
    for (const mode of modes) {
      const tally = results[mode]!;
      const how = mode === 'pgbench' ? `pgbench, 4 clients, 2 threads, ${SECONDS} s per variant and round` : `Node client (postgres.js), 4 connections, ${STATEMENTS} statements per variant and round`;
      console.log('');
      console.log(`${mode}: ${how}`);
      console.log(`${pad('variant', 40)} ${shapes.map((s) => pad(`${s}: tps, ratio (median of rounds)`, 40)).join('')}`);
      for (const v of variants) {
        const cells = shapes.map((s) => {
          const t = tally[`${v}/${s}`]!;
          const a = tally[`plain/${s}`]!;
          const ratio = (t.tx / t.seconds) / (a.tx / a.seconds);
          const med = median(t.perRound.map((x, i) => x / a.perRound[i]!));
          return pad(`${(t.tx / t.seconds).toFixed(0).padStart(6)}  ${ratio.toFixed(2)} (${med.toFixed(2)})`, 40);
        });
        console.log(`${pad(labels[v], 40)} ${cells.join('')}`);
      }
      for (const [v, w] of Object.entries(wakesOf[mode]!)) {
        console.log(`  ${labels[v as Variant]}: ${w.wakes} of ${w.writes} writes woke the reconciler`);
      }
      // With BENCH_FLEET=settled, (b)'s first write to each row wakes the reconciler (a NOTIFY,
      // whose commits PostgreSQL serialises); later rounds find them pending. Per round, and the
      // median over rounds where fewer than 5% of (b)'s writes woke it:
      for (const s of shapes) {
        const b = tally[`shipped/${s}`]!;
        const a = tally[`plain/${s}`]!;
        const ratios = b.perRound.map((x, i) => x / a.perRound[i]!);
        const share = wokeShare[mode]![s];
        const quiet = ratios.filter((_, i) => share[i]! < 0.05);
        console.log(`  (b)/(a) ${s}, round by round: ${ratios.map((x) => x.toFixed(2)).join(' ')}`);
        console.log(`  (b) writes that woke it, round by round: ${share.map((x) => `${Math.round(x * 100)}%`).join(' ')}`);
        console.log(`  (b)/(a) ${s}, median of the ${quiet.length} rounds with < 5% waking: ${quiet.length ? median(quiet).toFixed(2) : '-'}`);
      }
    }
    const [row] = await sql<{ bytes: number }[]>`
      select avg(pg_column_size(e.*))::int as bytes from shipslog.deployment_events as e where action = 'config_changed'`;
    if (growth.rows > 0) {
      console.log('');
      console.log(`bytes per one-field event (as-shipped rounds): ${(growth.table / growth.rows).toFixed(0)} table (row itself ${row?.bytes}), ${(growth.total / growth.rows).toFixed(0)} with indexes   (target <= 400)`);
    }
  } finally {
    await pgbench?.close();
    await Promise.all([sql, listener, ...pools].map((p) => p.end()));
    await database.close();
  }
}

await main();
