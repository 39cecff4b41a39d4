// npm run bench:export — `shipslog export` of 1,000,000 events (issue 12, item 5: under 30 s),
// then `shipslog verify-export` and tools/verify-trail.mjs on the file it wrote.
//
// Data: BENCH_EXPORT_DEPLOYMENTS (1000) deployments, then BENCH_EXPORT_ROUNDS - 1 (999) UPDATEs
// each changing config of every one of them: every event is written by the real audit
// trigger, so the chains are real (1000 x 1000 = 1,000,000 events, ~590 bytes of payload
// each). Then one signed checkpoint. The export runs as the real CLI in a child process
// (`node bin/shipslog.js export > file`, DATABASE_URL pointing at the bench database), timed
// wall-clock, with its peak memory (/usr/bin/time -f %M) and the CPU time of its PostgreSQL
// backend (/proc/<pid>/schedstat, when the server runs on this machine): on a shared, loaded
// machine wall time swings with the load, the CPU times much less.
//
// DATABASE_URL (a superuser's) selects the server, else a throwaway embedded PostgreSQL 18.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { loadSigningKey, publicKeyPem, takeCheckpoint } from '../src/audit/checkpoints.ts';
import { benchDatabase } from './support/database.ts';
import { writeFile } from 'node:fs/promises';

const DEPLOYMENTS = Number(process.env.BENCH_EXPORT_DEPLOYMENTS ?? 1000);
const ROUNDS = Number(process.env.BENCH_EXPORT_ROUNDS ?? 1000);
const repo = path.resolve(fileURLToPath(new URL('..', import.meta.url)));

const seconds = (ns: bigint) => Number(ns) / 1e9;

async function seed(db: postgres.Sql): Promise<void> {
  const t0 = process.hrtime.bigint();
  await db`
    insert into shipslog.deployments (tenant, name, recipe, app_version, config)
    select 'bench', 'export-' || g, 'redis', '7', '{}'
    from generate_series(1, ${DEPLOYMENTS}) as g`;
  // Fixed benchmark SQL: one UPDATE of every row per round, so the trigger writes each event.
  await db.unsafe(`
    do $$
    begin
      for i in 2..${ROUNDS} loop
        update shipslog.deployments set config = jsonb_build_object('round', i, 'storage', (i % 64 + 1) || 'Gi');
      end loop;
    end
    $$`);
  await db`vacuum analyze shipslog.deployment_events`;
  const [n] = await db<{ n: string }[]>`select count(*) as n from shipslog.deployment_events`;
  console.log(`seeded ${n!.n} events through the audit trigger in ${seconds(process.hrtime.bigint() - t0).toFixed(1)} s`);
}

/** Runs argv with stdout to a file; wall seconds, peak RSS (kB) and the backend's CPU seconds. */
async function timed(argv: string[], outFile: string, env: NodeJS.ProcessEnv, db: postgres.Sql | null, applicationName: string): Promise<{ wall: number; rssKb: number; backendCpu: number | null; stdout: string }> {
  const t0 = process.hrtime.bigint();
  const child = spawn('/usr/bin/time', ['-f', '%M', 'sh', '-c', `exec "$@" > ${JSON.stringify(outFile)}`, 'sh', ...argv], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let backendCpu: number | null = null;
  let pid: number | undefined;
  const sample = async () => {
    if (!db) return;
    if (pid === undefined) {
      const [r] = await db<{ pid: number }[]>`select pid from pg_stat_activity where application_name = ${applicationName} and state = 'active'`;
      pid = r?.pid;
    }
    const stat = pid === undefined ? '' : `/proc/${pid}/schedstat`;
    if (stat && existsSync(stat)) {
      try {
        backendCpu = Number(readFileSync(stat, 'utf8').split(' ')[0]) / 1e9;
      } catch {
        // the backend ended between the check and the read: keep the last sample
      }
    }
  };
  const timer = setInterval(() => void sample(), 100);
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  clearInterval(timer);
  const wall = seconds(process.hrtime.bigint() - t0);
  const lines = stderr.trim().split('\n');
  if (code !== 0) throw new Error(`${argv.join(' ')} exited ${code}: ${stderr}`);
  return { wall, rssKb: Number(lines.at(-1)), backendCpu, stdout: existsSync(outFile) ? readFileSync(outFile, 'utf8').slice(0, 2000) : '' };
}

const bench = await benchDatabase('export');
const dir = await mkdtemp(path.join(tmpdir(), 'shipslog-bench-export-'));
await chmod(dir, 0o755);
const db = postgres(bench.url, { max: 2, onnotice: () => {} });
try {
  const [v] = await db<{ v: string }[]>`select current_setting('server_version') as v`;
  console.log(`PostgreSQL ${v!.v}; ${DEPLOYMENTS} deployments x ${ROUNDS} events; load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
  await seed(db);
  const keys = await loadSigningKey(undefined, dir);
  const checkpoint = await takeCheckpoint(db, keys);
  console.log(`checkpoint #${checkpoint.id}: ${checkpoint.chainCount} chains, ${checkpoint.eventCount} events`);
  const pub = path.join(dir, 'public.pem');
  await writeFile(pub, publicKeyPem(keys.publicKey));
  const trail = path.join(dir, 'trail.jsonl');
  const env = { ...process.env, DATABASE_URL: bench.url, SHIPSLOG_DATA_DIR: dir, LOG_LEVEL: 'error' };

  const exp = await timed([process.execPath, path.join(repo, 'bin/shipslog.js'), 'export'], trail, env, db, 'shipslog export');
  const bytes = statSync(trail).size;
  const events = Number(execFileSync('wc', ['-l', trail], { encoding: 'utf8' }).trim().split(' ')[0]) - 3;
  console.log(`export: ${events} events, ${(bytes / 1e6).toFixed(0)} MB in ${exp.wall.toFixed(1)} s wall (${Math.round(events / exp.wall)} events/s); peak RSS ${Math.round(exp.rssKb / 1024)} MB; PostgreSQL backend CPU ${exp.backendCpu?.toFixed(1) ?? 'n/a'} s`);

  const cli = await timed([process.execPath, path.join(repo, 'bin/shipslog.js'), 'verify-export', trail, '--public-key', pub], path.join(dir, 'verify.txt'), env, null, '');
  console.log(`shipslog verify-export: ${cli.wall.toFixed(1)} s wall, peak RSS ${Math.round(cli.rssKb / 1024)} MB: ${cli.stdout.trim().split('\n').at(-1)}`);
  const tool = await timed([process.execPath, path.join(repo, 'tools/verify-trail.mjs'), trail, '--public-key', pub], path.join(dir, 'tool.txt'), env, null, '');
  console.log(`tools/verify-trail.mjs: ${tool.wall.toFixed(1)} s wall, peak RSS ${Math.round(tool.rssKb / 1024)} MB: ${tool.stdout.trim().split('\n').at(-1)}`);
} finally {
  await db.end();
  await bench.close();
  await rm(dir, { recursive: true, force: true });
}
