// npm run bench:verify — `shipslog verify`'s speed over BENCH_EVENTS (1,000,000) real chained
// events: written by the audit trigger (one UPDATE per event, in DO loops of a few thousand
// events per statement, so a million take a few minutes rather than an hour of round trips),
// over BENCH_CHAINS (1,000) deployments, the same verification the command runs
// (src/audit/verify.ts), BENCH_RUNS (2) times with the walk in worker threads (as the command
// runs it on a trail this size) and on the main thread, alternating. Prints events per second.
//
// DATABASE_URL (a superuser's) selects the server, else a throwaway embedded PostgreSQL 18.
// BENCH_DATABASE names the database; with BENCH_KEEP=1 it is kept afterwards and reused by the
// next run when it already holds the events (generation is the slow part).
import { readFileSync } from 'node:fs';
import postgres from 'postgres';
import { verifyAll } from '../src/audit/verify.ts';
import { createDb } from '../src/db/client.ts';
import { benchDatabase, keptDatabase } from './support/database.ts';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const CHAINS = Number(process.env.BENCH_CHAINS ?? 1000);
const RUNS = Number(process.env.BENCH_RUNS ?? 2);

async function generate(sql: postgres.Sql): Promise<void> {
  const rounds = Math.ceil(EVENTS / CHAINS) - 1;
  await sql`
    insert into shipslog.deployments (tenant, name, recipe, app_version, config)
    select 'verify', 'chain-' || g, 'redis', '7', '{}'
    from generate_series(1, ${CHAINS}::int) as g`;
  const started = performance.now();
  const perStatement = Math.max(1, Math.floor(20_000 / CHAINS));
  for (let done = 0; done < rounds; done += perStatement) {
    const n = Math.min(perStatement, rounds - done);
    // Fixed benchmark SQL with numbers only: a config change most rounds, a status or health
    // change (the general path of the trigger) every tenth.
    await sql.unsafe(`
      do $$
      begin
        for i in ${done + 1}..${done + n} loop
          if i % 10 = 0 then
            update shipslog.deployments set health = case when i % 20 = 0 then 'Healthy' else 'Degraded' end where tenant = 'verify';
          else
            update shipslog.deployments set config = jsonb_build_object('n', i, 'storage', (i % 50) || 'Gi') where tenant = 'verify';
          end if;
        end loop;
      end
      $$`);
    const events = (done + n + 1) * CHAINS;
    process.stderr.write(`\rgenerated ${events.toLocaleString('en')} events (${Math.round(events / ((performance.now() - started) / 1000))}/s)`);
  }
  process.stderr.write('\n');
  await sql`vacuum analyze shipslog.deployment_events`;
}

/** CPU seconds (user + system) of the server's backends, when the server runs on this host. */
function serverCpu(pids: number[]): number | null {
  try {
    return pids.reduce((sum, pid) => {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return sum + (Number(fields[11]) + Number(fields[12])) / 100;
    }, 0);
  } catch {
    return null;
  }
}

const loadAverage = () => {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
  } catch {
    return '?';
  }
};

async function main(): Promise<void> {
  const database = process.env.BENCH_KEEP === '1' ? await keptDatabase('verify') : await benchDatabase('verify');
  const sql = postgres(database.url, { max: 1, onnotice: () => {} });
  const [counted] = await sql<{ n: number }[]>`select count(*)::int as n from shipslog.deployment_events`;
  const n = counted!.n;
  if (n < EVENTS) {
    if (n > 0) throw new Error(`${database.url.replace(/:[^:@/]*@/, ':***@')} holds ${n} events, fewer than ${EVENTS}: drop it first`);
    await generate(sql);
  }
  const [total] = await sql<{ events: number }[]>`select count(*)::int as events from shipslog.deployment_events`;
  const events = total!.events;
  // As `shipslog verify` runs it: two connections, two streams.
  const db = createDb(database.url, { max: 2, applicationName: 'bench verify' });
  await Promise.all([db`select pg_sleep(0.1)`, db`select pg_sleep(0.1)`]); // both connections open
  const pids = (await sql<{ pid: number }[]>`select pid from pg_stat_activity where application_name = 'bench verify'`).map((r) => r.pid);
  console.log(`verify over ${events.toLocaleString('en')} events in ${CHAINS} chains (load average ${loadAverage()})`);
  // Rounds alternate the two ways the walk runs (in worker threads, as `shipslog verify` does on
  // a trail this size, and on the main thread) so both see the same neighbours.
  for (let run = 1; run <= RUNS; run++) {
    for (const workers of [true, false]) {
      const cpu0 = serverCpu(pids);
      const node0 = process.cpuUsage();
      const started = performance.now();
      const result = await verifyAll(db, { workers });
      const seconds = (performance.now() - started) / 1000;
      const node = process.cpuUsage(node0);
      const cpu = serverCpu(pids);
      if (result.findings.length > 0) throw new Error(`verification found ${result.findings.length} broken chain(s): ${result.findings[0]!.problem}`);
      const server = cpu0 === null || cpu === null ? 'server CPU not readable (another host)' : `server CPU ${(cpu - cpu0).toFixed(1)} s`;
      console.log(
        `run ${run}, ${workers ? 'worker threads' : 'main thread   '}: ${seconds.toFixed(2)} s, ${Math.round(result.events / seconds).toLocaleString('en')} events/s; ` +
          `${server}, Node CPU ${((node.user + node.system) / 1e6).toFixed(1)} s, rechecked ${result.rechecked} (load average ${loadAverage()})`,
      );
    }
  }
  if (process.env.BENCH_SQL === '1') {
    const started = performance.now();
    await sql`select count(*) from shipslog.verify_chains()`;
    const seconds = (performance.now() - started) / 1000;
    console.log(`shipslog.verify_chains() in SQL: ${seconds.toFixed(2)} s, ${Math.round(events / seconds).toLocaleString('en')} events/s`);
  }
  await db.end();
  await sql.end();
  await database.close();
}

await main();
