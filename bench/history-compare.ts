// node bench/history-compare.ts [REF] — the readable history page of git REF (default main)
// against this working tree's, side by side in one run, on one database.
//
// The database is migrated with this tree; REF's code runs against it: its API app (from
// `git archive REF src`, extracted into a temporary directory) and its psql history() (REF's
// sql/audit/60_history.sql, created in a schema of its own, bench_ref). Data as in bench/api.ts
// (c): one deployment with 10,000 events of its own among ~100,000. Then, request by request
// so that both see the same noise on a shared machine, for REF and for this tree:
//   GET /v1/deployments/{id}/history?limit=50 over loopback HTTP (each tree's own app),
//   the API's page query alone (deploymentHistory, no HTTP, auth or transaction),
//   psql's shipslog.history(tenant, name, 50).
// Then a tenant key's GET /v1/events?limit=50 (its tenant's events are older than the other
// tenant's 90,000) and another tenant key's first poll of the feed (its events follow the first
// tenant's 10,000 in commit order), and the agent tool get-app-history of the deployment (its
// name's newest 50), and the web UI's list of deployments (50 rows, each with its newest
// change); BENCH_EVENTS_REQUESTS, 100, each. Then a global key's
// GET /v1/events?status=failed&limit=50, which no event matches, and the deployment's history in
// a category none of its events is in, BENCH_SPARSE_REQUESTS (20) each.
// Prints p50 / p95 of each and the ratio this tree / REF (below 1: faster), and whether
// both trees render the page alike (the first page's entries, compared as JSON). Before
// those, the CPU time of the page query alone, which machine load disturbs far less than wall time: on
// one connection as shipslog_app (row-level security on, as in the API), blocks of 50 calls
// alternating between the trees, the server process's CPU from /proc/<pid>/schedstat (a
// server on this machine only) and this process's (the client's share: building the
// query, parsing rows). Last, this tree's API under BENCH_HISTORY_CLIENTS (16) concurrent
// clients for BENCH_HISTORY_SECONDS (10) (issue 10's second target: p95 <= 10 ms), the clients in a
// worker thread (bench/support/history-load.ts) so that they do not share the server's event loop:
// first a closed loop (16 requests always in flight), then at each of BENCH_HISTORY_RATES
// (100,200,300) requests per second on a fixed schedule, latency counted from each request's slot.
import { serve } from '@hono/node-server';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { Worker } from 'node:worker_threads';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApp } from '../src/api/app.ts';
import { loadConfig } from '../src/config.ts';
import { createApiKey } from '../src/db/api-keys.ts';
import { createDb, type Db } from '../src/db/client.ts';
import { deploymentHistory } from '../src/db/events.ts';
import { freePort } from '../src/db/embedded.ts';
import { createLog } from '../src/log.ts';
import { benchDatabase, percentile } from './support/database.ts';
import { seedHistory } from './support/history.ts';
import { addPastEventPartitions } from '../test/support/partitions.ts';

const REF = process.argv[2] ?? 'main';
const HISTORY_EVENTS = Number(process.env.BENCH_HISTORY_EVENTS ?? 100_000);
const HISTORY_REQUESTS = Number(process.env.BENCH_HISTORY_REQUESTS ?? 1_000);
const WARMUP = 50;
const CLIENTS = Number(process.env.BENCH_HISTORY_CLIENTS ?? 16);
// Requests of the tenant key's event listing (GET /v1/events), each tree.
const EVENTS_REQUESTS = Number(process.env.BENCH_EVENTS_REQUESTS ?? 100);
/** A listing that reads every event: each request takes a few hundred ms. */
const SPARSE_REQUESTS = Number(process.env.BENCH_SPARSE_REQUESTS ?? 20);
const CONCURRENT_SECONDS = Number(process.env.BENCH_HISTORY_SECONDS ?? 10);
// BENCH_HISTORY_PAST_MONTHS: that many empty monthly partitions before this month (default 0).
const PAST_MONTHS = Number(process.env.BENCH_HISTORY_PAST_MONTHS ?? 0);
// Open-loop rates (requests per second, all clients together) after the closed loop.
const RATES = (process.env.BENCH_HISTORY_RATES ?? '100,200,300').split(',').filter(Boolean).map(Number);

const repo = path.resolve(fileURLToPath(new URL('..', import.meta.url)));

/** REF's src/ in a temporary directory, beside a link to this tree's node_modules. */
async function extractRef(dir: string): Promise<void> {
  const tar = execFileSync('git', ['-C', repo, 'archive', REF, 'src'], { maxBuffer: 64 << 20 });
  execFileSync('tar', ['-x', '-C', dir], { input: tar });
  await symlink(path.join(repo, 'node_modules'), path.join(dir, 'node_modules'));
}

/** REF's history functions, renamed into schema bench_ref (tables stay those of shipslog). */
async function createRefHistory(db: Db): Promise<void> {
  let text = execFileSync('git', ['-C', repo, 'show', `${REF}:sql/audit/60_history.sql`], { encoding: 'utf8' });
  const names = [...text.matchAll(/create or replace function shipslog\.(\w+)/g)].map((m) => m[1]!);
  for (const name of new Set(names)) text = text.replaceAll(new RegExp(`shipslog\\.${name}\\b`, 'g'), `bench_ref.${name}`);
  // Grants are not needed: the bench connects as the owner.
  text = text.replace(/\n(revoke|grant)\b[\s\S]*?;\n/g, '\n');
  await db`create schema bench_ref`;
  await db.unsafe(text); // REF's own definitions, renamed: fixed benchmark SQL
}

/** p50 / p95 of REF's and this tree's latencies (ms) of one thing, and their ratio. */
function printPair([refLabel, ref]: [string, number[]], [ownLabel, own]: [string, number[]]): void {
  const fmt = (t: number[]) => `p50 ${percentile(t, 50).toFixed(2)} ms, p95 ${percentile(t, 95).toFixed(2)} ms`;
  console.log(`  ${refLabel.padEnd(44)} ${fmt(ref)}`);
  console.log(`  ${ownLabel.padEnd(44)} ${fmt(own)}`);
  const ratio = (p: number) => (percentile(own, p) / percentile(ref, p)).toFixed(2);
  console.log(`  ${'ratio this tree / REF'.padEnd(44)} p50 ${ratio(50)}, p95 ${ratio(95)}`);
}

const CPU_BLOCKS = Number(process.env.BENCH_CPU_BLOCKS ?? 20);

async function cpuPerCall(url: string, target: string, refHistory: typeof deploymentHistory): Promise<void> {
  const one = createDb(url, { max: 1, applicationName: 'shipslog bench history cpu' });
  try {
    const [row] = await one<{ pid: number }[]>`select pg_backend_pid() as pid`;
    const stat = `/proc/${row!.pid}/schedstat`;
    if (!existsSync(stat)) {
      console.log(`CPU per call: skipped (${stat} is not readable: the server is not on this machine)`);
      return;
    }
    const serverNs = () => Number(readFileSync(stat, 'utf8').split(' ')[0]);
    // Session-level on this one benchmark connection, as the API sets them per transaction.
    await one`select set_config('role', 'shipslog_app', false), set_config('shipslog.tenant', 'bench', false)`;
    const trees: [string, typeof deploymentHistory][] = [[REF, refHistory], ['this tree', deploymentHistory]];
    const server = [0, 0];
    const client = [0, 0];
    for (let b = 0; b < CPU_BLOCKS + 2; b++) {
      for (const t of b % 2 === 0 ? [0, 1] : [1, 0]) {
        const s0 = serverNs();
        const c0 = process.cpuUsage();
        for (let i = 0; i < 50; i++) await trees[t]![1](one, { deploymentId: target, limit: 50 }, 'readable');
        const c = process.cpuUsage(c0);
        if (b >= 2) {
          server[t]! += serverNs() - s0;
          client[t]! += c.user + c.system;
        }
      }
    }
    const calls = CPU_BLOCKS * 50;
    console.log(`CPU per call of the page query alone as shipslog_app, ${calls} calls each:`);
    for (const t of [0, 1]) {
      const [srv, cli] = [server[t]! / calls / 1e6, client[t]! / calls / 1e3];
      console.log(`  ${`${trees[t]![0]}:`.padEnd(12)} server ${srv.toFixed(3)} ms + client ${cli.toFixed(3)} ms = ${(srv + cli).toFixed(3)} ms`);
    }
    const total = (t: number) => server[t]! / 1e6 + client[t]! / 1e3;
    console.log(`  ratio this tree / REF: server ${(server[1]! / server[0]!).toFixed(2)}, total ${(total(1) / total(0)).toFixed(2)}`);
  } finally {
    await one.end({ timeout: 5 });
  }
}

/**
 * Where the CPU of the concurrent runs goes, per request: the API (this process's main thread,
 * which serves it), the clients (this process's other threads: the load worker) and the
 * pool's PostgreSQL backends (/proc/<pid>/schedstat: a server on this machine only). On 2
 * cores, 16 clients in a closed loop wait ~16 x (the total) / 2 for each other.
 */
async function cpuSplit(db: Db): Promise<{ perRequest: (requests: number) => string | null }> {
  // process.threadCpuUsage() is Node >= 23.9 (engines allow 22.12).
  if (typeof process.threadCpuUsage !== 'function') return { perRequest: () => null };
  const rows = await db<{ pid: number }[]>`select pid from pg_stat_activity where datname = current_database()`;
  const stats = rows.map((r) => `/proc/${r.pid}/schedstat`).filter((f) => existsSync(f));
  const serverNs = () => stats.reduce((sum, f) => sum + (existsSync(f) ? Number(readFileSync(f, 'utf8').split(' ')[0]) : 0), 0);
  const s0 = serverNs();
  const all0 = process.cpuUsage();
  const main0 = process.threadCpuUsage();
  return {
    perRequest: (requests) => {
      if (stats.length === 0 || requests === 0) return null;
      const all = process.cpuUsage(all0);
      const own = process.threadCpuUsage(main0);
      const ms = (us: number) => (us / 1000 / requests).toFixed(3);
      const [api, clients, server] = [own.user + own.system, all.user + all.system - own.user - own.system, (serverNs() - s0) / 1000];
      return `CPU per request: API ${ms(api)} ms + clients ${ms(clients)} ms + PostgreSQL ${ms(server)} ms = ${ms(api + clients + server)} ms`;
    },
  };
}

async function main(): Promise<void> {
  const refDir = await mkdtemp(path.join(tmpdir(), 'shipslog-history-ref-'));
  const database = await benchDatabase('history');
  // The pool `shipslog serve` has (createDb's default, 10 connections): under 16 concurrent
  // clients, requests queue for a connection as they would in production.
  const db = createDb(database.url, { applicationName: 'shipslog bench history' });
  const servers: { close: (cb: () => void) => void }[] = [];
  try {
    await extractRef(refDir);
    const ref = {
      app: (await import(path.join(refDir, 'src/api/app.ts'))) as typeof import('../src/api/app.ts'),
      events: (await import(path.join(refDir, 'src/db/events.ts'))) as typeof import('../src/db/events.ts'),
    };
    await createRefHistory(db);
    const config = loadConfig({ LOG_LEVEL: 'silent' });
    const deps = { db, config, log: createLog('silent'), fingerprintKey: Buffer.alloc(32, 1) };
    const bases: string[] = [];
    for (const app of [ref.app.createApp(deps), createApp(deps)]) {
      const port = await freePort();
      servers.push(serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }));
      bases.push(`http://127.0.0.1:${port}`);
    }
    const [refBase, ownBase] = bases as [string, string];
    const { key } = await createApiKey(db, { name: 'bench', tenant: 'bench', scopes: ['read'] });

    console.log(`seeding ${HISTORY_EVENTS.toLocaleString('en')} events ...`);
    const target = await seedHistory(db, HISTORY_EVENTS);
    // Empty monthly partitions of events before this month: a deployment's page is a scan of
    // (deployment_id, chain_index) in each.
    if (PAST_MONTHS > 0) await addPastEventPartitions(db, PAST_MONTHS);
    const [parts] = await db<{ n: number }[]>`select count(*)::int as n from pg_partition_tree('shipslog.deployment_events') where parentrelid is not null`;
    console.log(`deployment_events has ${parts!.n} partitions`);

    const get = async (base: string) => {
      const res = await fetch(`${base}/v1/deployments/${target}/history?limit=50`, { headers: { authorization: `Bearer ${key}` } });
      const body = (await res.json()) as { items: unknown[] };
      if (res.status !== 200 || body.items.length !== 50) throw new Error(`history answered ${res.status}`);
      return body.items;
    };
    // REF's page before and after this tree's: an entry's "when" may cross a threshold
    // ("1 minute ago" -> "2 minutes ago") between two requests, so it must equal one of them.
    const [before, ownItems, after] = [await get(refBase), await get(ownBase), await get(refBase)];
    const json = (x: unknown) => JSON.stringify(x);
    const differing = ownItems.filter((item, i) => json(item) !== json(before[i]) && json(item) !== json(after[i])).length;
    console.log(`the first page of 50 entries, ${REF} vs this tree: ${differing === 0 ? 'identical JSON' : `${differing} entries differ`}`);

    // CPU first, in a process that has not yet served thousands of HTTP requests (its garbage
    // collector then charges the client's share unevenly).
    await cpuPerCall(database.url, target, ref.events.deploymentHistory);

    const runs: [string, () => Promise<unknown>][] = [
      [`${REF}: API GET history?limit=50`, () => get(refBase)],
      ['this tree: API GET history?limit=50', () => get(ownBase)],
      [`${REF}: the API's page query alone`, () => ref.events.deploymentHistory(db, { deploymentId: target, limit: 50 }, 'readable')],
      ["this tree: the API's page query alone", () => deploymentHistory(db, { deploymentId: target, limit: 50 }, 'readable')],
      [`${REF}: psql history(tenant, name, 50)`, () => db`select * from bench_ref.history('bench', 'history-target', 50)`],
      ['this tree: psql history(tenant, name, 50)', () => db`select * from shipslog.history('bench', 'history-target', 50)`],
    ];
    const times = runs.map(() => [] as number[]);
    for (let i = 0; i < HISTORY_REQUESTS + WARMUP; i++) {
      // Alternate which tree goes first, so neither always runs right after the other.
      const order = i % 2 === 0 ? [0, 1, 2, 3, 4, 5] : [1, 0, 3, 2, 5, 4];
      for (const r of order) {
        const t0 = performance.now();
        await runs[r]![1]();
        if (i >= WARMUP) times[r]!.push(performance.now() - t0);
      }
    }
    const [load] = await readFile('/proc/loadavg', 'utf8').then((s) => s.split(' ')).catch(() => ['?']);
    console.log(`${HISTORY_REQUESTS} requests each after ${WARMUP} warm-up, interleaved; load average ${load}`);
    for (let r = 0; r < runs.length; r += 2) {
      const [a, b] = [times[r]!, times[r + 1]!];
      printPair([runs[r]![0], a], [runs[r + 1]![0], b]);
    }

    // A tenant key's GET /v1/events?limit=50: the key's tenant ('bench') wrote its events before
    // the 90,000 of tenant 'hist', so without an indexable tenant condition the page is found by
    // filtering those out row by row. Fewer requests: such a page takes hundreds of milliseconds.
    const listing = async (base: string) => {
      const res = await fetch(`${base}/v1/events?limit=50`, { headers: { authorization: `Bearer ${key}` } });
      const body = (await res.json()) as { items: { tenant: string }[] };
      if (res.status !== 200 || body.items.length !== 50 || body.items.some((e) => e.tenant !== 'bench')) throw new Error(`events answered ${res.status}`);
    };
    /** EVENTS_REQUESTS of `request` against each tree after 5 warm-up, interleaved: [REF's, this tree's] latencies. */
    const interleaved = async (request: (base: string) => Promise<void>, requests = EVENTS_REQUESTS): Promise<[number[], number[]]> => {
      const took: [number[], number[]] = [[], []];
      for (let i = 0; i < requests + 5; i++) {
        for (const t of i % 2 === 0 ? [0, 1] : [1, 0]) {
          const t0 = performance.now();
          await request(t === 0 ? refBase : ownBase);
          if (i >= 5) took[t]!.push(performance.now() - t0);
        }
      }
      return took;
    };
    const listingTimes = await interleaved(listing);
    console.log(`${EVENTS_REQUESTS} requests each, interleaved, a tenant key behind another tenant's newer events:`);
    printPair([`${REF}: API GET /v1/events?limit=50`, listingTimes[0]], ['this tree: API GET /v1/events?limit=50', listingTimes[1]]);

    // A tenant key's first poll of the feed, GET /v1/events/feed?after=0:0&limit=100: in commit
    // order tenant 'hist''s events follow the 10,000 of tenant 'bench', which without an
    // indexable tenant condition the page is found by filtering out row by row.
    const { key: feedKey } = await createApiKey(db, { name: 'bench-feed', tenant: 'hist', scopes: ['audit'] });
    const firstPoll = async (base: string) => {
      const res = await fetch(`${base}/v1/events/feed?after=0:0&limit=100`, { headers: { authorization: `Bearer ${feedKey}` } });
      const body = (await res.json()) as { events: { tenant: string }[] };
      if (res.status !== 200 || body.events.length !== 100 || body.events.some((e) => e.tenant !== 'hist')) throw new Error(`feed answered ${res.status}`);
    };
    const feedTimes = await interleaved(firstPoll);
    console.log(`${EVENTS_REQUESTS} requests each, interleaved, a tenant key's first feed poll behind another tenant's events:`);
    printPair([`${REF}: API GET /v1/events/feed?after=0:0`, feedTimes[0]], ['this tree: API GET /v1/events/feed?after=0:0', feedTimes[1]]);

    // The agent tool's answer to "what happened to my PostgreSQL?": every incarnation of the
    // name, newest 50 (POST /v1/tools/get-app-history, as the MCP tool runs it).
    const appHistory = async (base: string) => {
      const res = await fetch(`${base}/v1/tools/get-app-history`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ appId: 'bench/history-target', limit: 50 }),
      });
      const items = (await res.json()) as unknown[];
      if (res.status !== 200 || items.length !== 50) throw new Error(`get-app-history answered ${res.status}`);
    };
    const appHistoryTimes = await interleaved(appHistory);
    console.log(`${EVENTS_REQUESTS} requests each, interleaved, the agent tool get-app-history of the deployment:`);
    printPair([`${REF}: API POST /v1/tools/get-app-history`, appHistoryTimes[0]], ['this tree: API POST /v1/tools/get-app-history', appHistoryTimes[1]]);

    // A global key's listing with a filter no event matches (no event's new status is
    // `failed`), which no index serves: every event is read to answer an empty page.
    const { key: globalKey } = await createApiKey(db, { name: 'bench-global', tenant: null, scopes: ['read'] });
    const sparse = async (base: string) => {
      const res = await fetch(`${base}/v1/events?status=failed&limit=50`, { headers: { authorization: `Bearer ${globalKey}` } });
      const body = (await res.json()) as { items: unknown[] };
      if (res.status !== 200 || body.items.length !== 0) throw new Error(`events?status=failed answered ${res.status}`);
    };
    const sparseTimes = await interleaved(sparse, SPARSE_REQUESTS);
    console.log(`${SPARSE_REQUESTS} requests each, interleaved, a global key's listing that matches no event:`);
    printPair([`${REF}: API GET /v1/events?status=failed`, sparseTimes[0]], ['this tree: API GET /v1/events?status=failed', sparseTimes[1]]);
    // The web UI's list of deployments: 50 of the 91, each with its newest change, for a
    // global key's session (signed in through the form, on each tree's app).
    const sessions = new Map<string, string>();
    for (const base of [refBase, ownBase]) {
      const res = await fetch(`${base}/ui/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { origin: base, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ key: globalKey, next: '/ui/deployments' }).toString(),
      });
      sessions.set(base, (res.headers.get('set-cookie') ?? '').split(';')[0]!);
    }
    const uiList = async (base: string) => {
      const res = await fetch(`${base}/ui/deployments`, { headers: { cookie: sessions.get(base)! } });
      const rows = ((await res.text()).match(/<tr data-deployment=/g) ?? []).length;
      if (res.status !== 200 || rows !== 50) throw new Error(`/ui/deployments answered ${res.status} with ${rows} rows`);
    };
    const uiTimes = await interleaved(uiList);
    console.log(`${EVENTS_REQUESTS} requests each, interleaved, the web UI's list of deployments (50 rows):`);
    printPair([`${REF}: GET /ui/deployments`, uiTimes[0]], ['this tree: GET /ui/deployments', uiTimes[1]]);

    // The deployment's history in a category none of its 10,000 events is in (no index serves it).
    const sparseHistory = async (base: string) => {
      const res = await fetch(`${base}/v1/deployments/${target}/history?limit=50&category=approval_workflow`, { headers: { authorization: `Bearer ${key}` } });
      const body = (await res.json()) as { items: unknown[] };
      if (res.status !== 200 || body.items.length !== 0) throw new Error(`history?category= answered ${res.status}`);
    };
    const sparseHistoryTimes = await interleaved(sparseHistory, SPARSE_REQUESTS);
    console.log(`${SPARSE_REQUESTS} requests each, interleaved, a deployment's history in a category none of its events is in:`);
    printPair(
      [`${REF}: API GET history?category=approval_workflow`, sparseHistoryTimes[0]],
      ['this tree: API GET history?category=approval_workflow', sparseHistoryTimes[1]],
    );

    // This tree's API under concurrent clients (after a second of warm-up): a closed loop
    // (each client sends again as soon as it is answered), then each of RATES requests per
    // second on a fixed schedule (bench/support/history-load.ts).
    const concurrent = (seconds: number, rate?: number) =>
      new Promise<{ latencies: number[]; failed: number }>((resolve, reject) => {
        const w = new Worker(new URL('./support/history-load.ts', import.meta.url), {
          workerData: { url: `${ownBase}/v1/deployments/${target}/history?limit=50`, key, clients: CLIENTS, seconds, rate },
        });
        w.once('message', resolve);
        w.once('error', reject);
      });
    await concurrent(1);
    for (const rate of [undefined, ...RATES]) {
      const cpu = await cpuSplit(db);
      const { latencies, failed } = await concurrent(CONCURRENT_SECONDS, rate);
      const split = cpu.perRequest(latencies.length + failed);
      const [load2] = await readFile('/proc/loadavg', 'utf8').then((s) => s.split(' ')).catch(() => ['?']);
      const how = rate ? `${rate} requests/s scheduled` : 'closed loop';
      console.log(
        `this tree: API GET history?limit=50, ${CLIENTS} concurrent clients, ${how}, ${CONCURRENT_SECONDS} s: ${latencies.length} requests` +
          ` (${(latencies.length / CONCURRENT_SECONDS).toFixed(0)}/s, ${failed} failed), p50 ${percentile(latencies, 50).toFixed(2)} ms,` +
          ` p95 ${percentile(latencies, 95).toFixed(2)} ms (target p95 <= 10 ms); load average ${load2}`,
      );
      if (split) console.log(`  ${split}`);
    }
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    await db.end({ timeout: 5 });
    await database.close();
    await rm(refDir, { recursive: true, force: true });
  }
}

await main();
