// npm run bench:instructions — instructions per one-field config UPDATE, per variant of
// bench/audit-overhead.ts, counted by callgrind: exact to a few instructions whatever else the
// machine does, which wall-clock throughput on a shared machine is not.
//
// A throwaway cluster of each PostgreSQL in BENCH_PG_BIN (directories holding initdb, pg_ctl
// and postgres, comma-separated, `embedded` for the embedded PostgreSQL 18's, which is the
// default; Debian's 15: /usr/lib/postgresql/15/bin; bench/support/cluster.ts) is
// migrated and filled with the benchmark's tables (bench/support/audit-setup.ts), stopped, and
// then, for each variant and config shape, `postgres --single` runs under
// `valgrind --tool=callgrind` twice: WARMUP updates alone, and WARMUP updates followed by
// BENCH_UPDATES (200) more, every update a transaction of its own (as under pgbench) on a row
// not updated before. The difference of the two counts over BENCH_UPDATES is one update's cost.
// Runs as the postgres user when started as root (PostgreSQL refuses root). Needs valgrind.
//
// Then where (b)'s extra instructions go, by function: callgrind_annotate's inclusive count
// of each function (its own instructions and those of everything it calls) in the same four
// runs, (b) minus (a), per update, the BENCH_TOP_FUNCTIONS (25) largest per shape. Function
// names come from the binaries' symbols: Debian's are stripped of static functions' names
// (plpgsql's statement executors among them), which are left out of the list. A recursive
// function (ExecInterpExpr evaluating a nested call) counts its nested calls again.
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import postgres from 'postgres';
import { migrate } from '../src/db/migrate.ts';
import { DEPLOYMENTS, labels, setUp, shapes, statement, tableOf, type Shape, type Variant } from './support/audit-setup.ts';
import { benchPgBins, clusterRoot, embeddedBin, runAsPostgres as run, startCluster } from './support/cluster.ts';

const BINS = benchPgBins().length > 0 ? benchPgBins() : [embeddedBin];
const UPDATES = Number(process.env.BENCH_UPDATES ?? 200);
const WARMUP = 20;
const TOP_FUNCTIONS = Number(process.env.BENCH_TOP_FUNCTIONS ?? 25);
// (d) differs from (b) only when a write notifies, which none of these does (the fleet is pending).
const measured: Variant[] = ['plain', 'shipped', 'generic', 'floor', 'eventRow'];

/** initdb, start, migrate, fill the benchmark's tables, stop: the cluster `postgres --single` then measures. */
async function prepareCluster(bin: string, root: string): Promise<string> {
  const cluster = await startCluster(bin, root);
  try {
    await migrate(cluster.url);
    const sql = postgres(cluster.url, { max: 1, onnotice: () => {} });
    try {
      const [v] = await sql<{ version: string }[]>`select version()`;
      console.log(`server: ${v!.version}`);
      await setUp(sql);
      await sql`checkpoint`;
    } finally {
      await sql.end();
    }
  } finally {
    await cluster.stop();
  }
  return cluster.data;
}

interface Count {
  /** callgrind's total for the whole run. */
  total: number;
  /** Inclusive instructions by function name (`name`, or `object:name` outside postgres). */
  byFunction: Map<string, number>;
}

/** Instructions of one `postgres --single` run of these statements, in all and by function. */
async function instructions(bin: string, data: string, root: string, statements: string[]): Promise<Count> {
  const out = path.join(root, `callgrind.${process.hrtime.bigint()}.out`);
  try {
    await run('valgrind', ['--tool=callgrind', `--callgrind-out-file=${out}`, path.join(bin, 'postgres'), '--single', '-D', data, 'postgres'], statements.join('\n') + '\n');
    const text = await readFile(out, 'utf8');
    const total = /^(?:summary|totals): (\d+)/m.exec(text);
    if (!total) throw new Error(`no total in ${out}`);
    // --threshold=100: every function, so that the two runs subtracted list the same ones.
    const annotated = await run('callgrind_annotate', ['--inclusive=yes', '--threshold=100', out]);
    return { total: Number(total[1]), byFunction: inclusiveByFunction(annotated.stdout) };
  } finally {
    await rm(out, { force: true });
  }
}

/**
 * callgrind_annotate's function lines (`1,234 (5.6%)  file:function [object]`) as a map. The
 * file is dropped (Debian's binaries have none); the object is kept as a prefix except for the
 * postgres binary itself, so plpgsql.so's functions read `plpgsql.so:exec_stmt_block`.
 */
function inclusiveByFunction(annotated: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of annotated.split('\n')) {
    const m = /^\s*([\d,]+)\s+\([^)]*\)\s+(?:[^:\s]*:)?(\S+)(?:\s+\[([^\]]+)\])?\s*$/.exec(line);
    if (!m || m[2] === 'TOTALS') continue;
    const object = m[3] ? path.basename(m[3]) : 'postgres';
    const name = object === 'postgres' ? m[2]! : `${object}:${m[2]}`;
    counts.set(name, (counts.get(name) ?? 0) + Number(m[1]!.replaceAll(',', '')));
  }
  return counts;
}

/** Per update, by function: (full - base) / updates. */
function perUpdateByFunction(base: Count, full: Count, updates: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (const [name, n] of full.byFunction) counts.set(name, (n - (base.byFunction.get(name) ?? 0)) / updates);
  return counts;
}

async function main(): Promise<void> {
  const valgrind = await run('valgrind', ['--version']).catch(() => null);
  if (!valgrind) throw new Error('valgrind is not installed (Debian: apt-get install valgrind)');
  for (const bin of BINS) {
    if (bin !== BINS[0]) console.log('');
    await measure(bin, valgrind.stdout.trim());
  }
}

/** Every variant and shape on a throwaway cluster of the server in `bin`. */
async function measure(bin: string, valgrind: string): Promise<void> {
  console.log(`${valgrind}; PostgreSQL binaries from ${bin}`);
  const root = await clusterRoot('instructions');
  try {
    const data = await prepareCluster(bin, root);
    // Each run updates rows no run updated before, so that every update is a row's first
    // change since setup (as at the start of a pgbench round) and runs compare like for like.
    let nextRow = 1;
    const rows = (n: number) => Array.from({ length: n }, () => nextRow++);
    if (measured.length * shapes.length * (2 * WARMUP + UPDATES) > DEPLOYMENTS) throw new Error('BENCH_DEPLOYMENTS is too small for BENCH_UPDATES');
    const perUpdate: Record<string, number> = {};
    const byFunction: Record<string, Map<string, number>> = {};
    for (const v of measured) {
      for (const shape of shapes) {
        // Every statement on one line: --single reads a statement per line. The new storage
        // value differs from every row's 8Gi, so each update is a change (an event for (b)).
        const update = (n: number) => `${statement(tableOf[v], shape, String(n), `'${n + 100}Gi'::text`)};`;
        const base = await instructions(bin, data, root, rows(WARMUP).map(update));
        const full = await instructions(bin, data, root, [...rows(WARMUP), ...rows(UPDATES)].map(update));
        perUpdate[`${v}/${shape}`] = (full.total - base.total) / UPDATES;
        byFunction[`${v}/${shape}`] = perUpdateByFunction(base, full, UPDATES);
        console.log(`${labels[v].padEnd(34)} ${shape.padEnd(7)} ${((full.total - base.total) / UPDATES / 1e6).toFixed(3)} M instructions per update`);
      }
    }
    console.log('');
    console.log(`per update (${UPDATES} updates of distinct rows after ${WARMUP} warm-up, each its own transaction)`);
    console.log(`${'variant'.padEnd(34)} ${shapes.map((s) => `${s}: +M over (a), (a)/total`.padEnd(34)).join('')}`);
    for (const v of measured) {
      const cells = shapes.map((s: Shape) => {
        const plain = perUpdate[`plain/${s}`]!;
        const total = perUpdate[`${v}/${s}`]!;
        return (v === 'plain' ? `${(plain / 1e6).toFixed(3)} M` : `+${((total - plain) / 1e6).toFixed(3)} M, ${(plain / total).toFixed(2)}`).padEnd(34);
      });
      console.log(`${labels[v].padEnd(34)} ${cells.join('')}`);
    }
    for (const shape of shapes) printWhereItGoes(shape, byFunction[`shipped/${shape}`]!, byFunction[`plain/${shape}`]!);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/**
 * The functions with the most instructions in (b) over (a), inclusive, per update: below the
 * trigger's own call (what calls it, from main() to plpgsql_exec_trigger, holds nearly all of
 * them and says nothing) and with a name (an address is a function stripped of its name).
 */
function printWhereItGoes(shape: Shape, shipped: Map<string, number>, plain: Map<string, number>): void {
  const extra = [...shipped].map(([name, n]) => [name, n - (plain.get(name) ?? 0)] as const);
  const total = Math.max(...extra.map(([, n]) => n));
  const named = extra.filter(([name, n]) => n < 0.85 * total && !/0x[0-9a-f]+|'\d+$/.test(name));
  named.sort((x, y) => y[1] - x[1]);
  console.log('');
  console.log(`where (b)'s ${(total / 1e3).toFixed(0)} K instructions over (a)'s go, ${shape} config: inclusive, per update, the ${TOP_FUNCTIONS} largest named functions below the trigger's call`);
  for (const [name, n] of named.slice(0, TOP_FUNCTIONS)) console.log(`  ${`${(n / 1e3).toFixed(1)} K`.padStart(10)}  ${name}`);
}

await main();
