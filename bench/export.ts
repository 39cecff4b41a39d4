// npm run bench:export — `shipslog export` of 1,000,000 events (issue 12, item 5: under 30 s),
// then `shipslog verify-export` and tools/verify-trail.mjs on the file it wrote.
//
// Data: BENCH_EXPORT_DEPLOYMENTS (1000) deployments with BENCH_EXPORT_ROUNDS (1000) events each
// (1,000,000; seed() says how they are written: the trigger's shape, real hash chains that
// `shipslog verify` passes), then one signed checkpoint. The export runs as the real CLI in a child process
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
const SEED = process.env.BENCH_EXPORT_SEED === 'trigger' ? 'trigger' : 'fast';
const repo = path.resolve(fileURLToPath(new URL('..', import.meta.url)));

const seconds = (ns: bigint) => Number(ns) / 1e9;

/**
 * The chains' first events come from the real audit trigger (one INSERT of every deployment:
 * `created`, the whole state). The rest are written by one of two paths:
 *
 * - `trigger` (BENCH_EXPORT_SEED=trigger): ROUNDS - 1 UPDATEs of every row, each event written
 *   by the trigger. ~0.2 ms per event on an idle machine, but 45 min and more for 1,000,000 on
 *   this shared one.
 * - `fast` (default): the same `updated` events (the trigger's shape: the changed config
 *   subtree before and after, the actor and database context) inserted round by round as the
 *   owner with the guard triggers bypassed (session_replication_role = replica), each event's
 *   hash computed as the trigger computes it, shipslog.event_hash(previous hash, event), so the
 *   chains are real: `shipslog verify` passes on them (the deployment rows get the head and
 *   the config their events replay to).
 */
async function seed(db: postgres.Sql): Promise<void> {
  const t0 = process.hrtime.bigint();
  await db`
    insert into shipslog.deployments (tenant, name, recipe, app_version, config)
    select 'bench', 'export-' || g, 'redis', '7', '{}'
    from generate_series(1, ${DEPLOYMENTS}) as g`;
  if (SEED === 'trigger') {
    // Fixed benchmark SQL: one UPDATE of every row per round, so the trigger writes each event.
    await db.unsafe(`
      do $$
      begin
        for i in 2..${ROUNDS} loop
          update shipslog.deployments set config = jsonb_build_object('round', i, 'storage', (i % 64 + 1) || 'Gi');
        end loop;
      end
      $$`);
  } else {
    // Fixed benchmark SQL; ROUNDS is a number. bench_heads holds each chain's last event.
    // Two transactions, each writing the chains of half the deployments: two cores.
    await Promise.all([0, 1].map((part) => db.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`
        create temporary table bench_heads on commit drop as
        select *
        from shipslog.deployment_events
        where (hashtext(deployment_id::text) & 1) = ${part}`;
      await tx.unsafe(`
        do $$
        begin
          for i in 2..${Math.trunc(ROUNDS)} loop
            with next as (
              select
                row(nextval('shipslog.deployment_events_seq'), p.deployment_id, i, p.tenant, p.name, 'updated',
                    clock_timestamp(), pg_current_xact_id(), 'bench', 'system', null, null, null, null, null,
                    current_user, session_user, 'shipslog bench export', null,
                    jsonb_build_object('config', case when i = 2 then '{}'::jsonb
                      else jsonb_build_object('round', i - 1, 'storage', ((i - 1) % 64 + 1) || 'Gi') end),
                    jsonb_build_object('config', jsonb_build_object('round', i, 'storage', (i % 64 + 1) || 'Gi')),
                    null)::shipslog.deployment_events as ev,
                p.hash as prev
              from pg_temp.bench_heads as p
            ),
            written as (
              insert into shipslog.deployment_events overriding system value
              select (n.ev).seq, (n.ev).deployment_id, (n.ev).chain_index, (n.ev).tenant, (n.ev).name, (n.ev).action,
                (n.ev).occurred_at, (n.ev).txid, (n.ev).actor, (n.ev).actor_type, (n.ev).reason, (n.ev).correlation_id,
                (n.ev).request_id, (n.ev).source_ip, (n.ev).user_agent, (n.ev).db_role, (n.ev).db_user,
                (n.ev).application_name, (n.ev).client_addr, (n.ev).previous_state, (n.ev).new_state,
                shipslog.event_hash(n.prev, n.ev)
              from next as n
              order by (n.ev).seq
              returning deployment_id, chain_index, hash
            )
            update pg_temp.bench_heads as h
            set chain_index = w.chain_index, hash = w.hash
            from written as w
            where h.deployment_id = w.deployment_id;
          end loop;
        end
        $$`);
      // The rows as their events leave them (the trigger is bypassed here: replica role).
      await tx`
        update shipslog.deployments as d
        set chain_length = h.chain_index,
            chain_head = h.hash,
            config = jsonb_build_object('round', h.chain_index, 'storage', (h.chain_index % 64 + 1) || 'Gi')
        from pg_temp.bench_heads as h
        where h.deployment_id = d.id
          and h.chain_index > 1`;
    })));
  }
  await db`vacuum analyze shipslog.deployment_events`;
  const [n] = await db<{ n: string }[]>`select count(*) as n from shipslog.deployment_events`;
  console.log(`seeded ${n!.n} events (${SEED}) in ${seconds(process.hrtime.bigint() - t0).toFixed(1)} s`);
}

/** Runs argv with stdout to a file; wall seconds, peak RSS (kB) and the backend's CPU seconds. */
async function timed(argv: string[], outFile: string, env: NodeJS.ProcessEnv, db: postgres.Sql | null, applicationName: string): Promise<{ wall: number; rssKb: number; cpu: number; backendCpu: number | null; stdout: string }> {
  const t0 = process.hrtime.bigint();
  const child = spawn('/usr/bin/time', ['-f', '%M %U %S', 'sh', '-c', `exec "$@" > ${JSON.stringify(outFile)}`, 'sh', ...argv], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // Every backend of the command (the export reads with two): the last CPU time seen of each.
  const cpu = new Map<number, number>();
  const sample = async () => {
    if (!db) return;
    const rows = await db<{ pid: number }[]>`select pid from pg_stat_activity where application_name = ${applicationName}`;
    for (const { pid } of rows) {
      const stat = `/proc/${pid}/schedstat`;
      try {
        if (existsSync(stat)) cpu.set(pid, Number(readFileSync(stat, 'utf8').split(' ')[0]) / 1e9);
      } catch {
        // the backend ended between the check and the read: keep its last sample
      }
    }
  };
  const timer = setInterval(() => void sample(), 100);
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  clearInterval(timer);
  const wall = seconds(process.hrtime.bigint() - t0);
  const lines = stderr.trim().split('\n');
  if (code !== 0) throw new Error(`${argv.join(' ')} exited ${code}: ${stderr}`);
  const backendCpu = cpu.size > 0 ? [...cpu.values()].reduce((a, b) => a + b, 0) : null;
  const [rss, user, sys] = (lines.at(-1) ?? '').split(' ').map(Number);
  return { wall, rssKb: rss!, cpu: user! + sys!, backendCpu, stdout: existsSync(outFile) && statSync(outFile).size < 1 << 20 ? readFileSync(outFile, 'utf8') : '' };
}

const bench = await benchDatabase('export');
const dir = await mkdtemp(path.join(tmpdir(), 'shipslog-bench-export-'));
await chmod(dir, 0o755);
const db = postgres(bench.url, { max: 2, onnotice: () => {} });
try {
  const [v] = await db<{ v: string }[]>`select current_setting('server_version') as v`;
  console.log(`PostgreSQL ${v!.v}; ${DEPLOYMENTS} deployments x ${ROUNDS} events; load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
  await seed(db);
  if (DEPLOYMENTS * ROUNDS <= 100_000) {
    // The seeded chains are real: the database's own verification passes (skipped for big runs: it replays every state).
    const broken = await db`select * from shipslog.verify_chains()`;
    console.log(`shipslog.verify_chains(): ${broken.length} broken chain(s)`);
  }
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
  console.log(`export: ${events} events, ${(bytes / 1e6).toFixed(0)} MB in ${exp.wall.toFixed(1)} s wall (${Math.round(events / exp.wall)} events/s); peak RSS ${Math.round(exp.rssKb / 1024)} MB; CPU ${exp.cpu.toFixed(1)} s in the CLI, PostgreSQL backends' ${exp.backendCpu?.toFixed(1) ?? 'n/a'} s`);

  const cli = await timed([process.execPath, path.join(repo, 'bin/shipslog.js'), 'verify-export', trail, '--public-key', pub], path.join(dir, 'verify.txt'), env, null, '');
  console.log(`shipslog verify-export: ${cli.wall.toFixed(1)} s wall, CPU ${cli.cpu.toFixed(1)} s, peak RSS ${Math.round(cli.rssKb / 1024)} MB: ${cli.stdout.trim().split('\n').at(-1)}`);
  const tool = await timed([process.execPath, path.join(repo, 'tools/verify-trail.mjs'), trail, '--public-key', pub], path.join(dir, 'tool.txt'), env, null, '');
  console.log(`tools/verify-trail.mjs: ${tool.wall.toFixed(1)} s wall, CPU ${tool.cpu.toFixed(1)} s, peak RSS ${Math.round(tool.rssKb / 1024)} MB: ${tool.stdout.trim().split('\n').at(-1)}`);
} finally {
  await db.end();
  await bench.close();
  await rm(dir, { recursive: true, force: true });
}
