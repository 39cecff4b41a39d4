// npm run soak: shipslog under sustained load, with a crash of each process midway.
//
// A PostgreSQL server of its own (embedded binaries, temporary directory) and a real
// `node bin/shipslog.js serve` child on the runtime logins. Writers go through the API
// (SOAK_CONNECTIONS clients in a worker thread: create, PATCH, read), raw SQL (single-row
// UPDATEs in their own transactions) and bulk UPDATEs (one statement over SOAK_BULK_ROWS rows).
// At 40 % of the time the server is killed with SIGKILL and started again at once; at 60 %
// PostgreSQL is shut down in immediate mode (SIGQUIT: crash recovery at the next start) and
// started again at once. Then it prints:
//   - acknowledged mutations against their events (each acknowledged request id must have
//     exactly its events: 1 per API change and per raw UPDATE, one per row for a bulk UPDATE)
//   - 5xx outside the outage windows (a window runs from the fault to /readyz 200 + 5 s)
//   - p50 / p95 / p99 latency of API requests outside the outage windows
//   - the server's RSS (VmRSS of the serve process; PostgreSQL is a separate process) over time
// and exits 1 if an event is missing, a 5xx fell outside an outage, or a chain fails to verify.
//
// Bounded: SOAK_SECONDS (default 180) and SOAK_MAX_REQUESTS (default 1,000,000 API requests).
// SOAK_CONNECTIONS (50), SOAK_SQL_WRITERS (2), SOAK_BULK_ROWS (20), SOAK_BULK_INTERVAL_MS (2000),
// SOAK_FAULTS (on | off), SOAK_SAMPLE_SECONDS (5), SOAK_IDLE_SECONDS (15: idle RSS before load),
// SOAK_NODE_OPTIONS (replaces the image's NODE_OPTIONS for the server), SOAK_SHOW_LOG (print its log).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import postgres from 'postgres';
import { createApiKey } from '../src/db/api-keys.ts';
import { withActor } from '../src/db/actor.ts';
import { freePort } from '../src/db/embedded.ts';
import { urlFor } from '../src/db/logins.ts';
import { migrate } from '../src/db/migrate.ts';
import { CrashablePostgres } from '../test/support/crashable-postgres.ts';
import { parseDockerfile } from '../test/support/image.ts';
import { startKubeApiTestServer } from '../test/support/kube-api-server.ts';
import type { SoakAnswer, SoakJob } from './support/soak-clients.ts';
import { percentile } from './support/database.ts';

const env = process.env;
const SECONDS = Number(env.SOAK_SECONDS ?? 180);
const MAX_REQUESTS = Number(env.SOAK_MAX_REQUESTS ?? 1_000_000);
const CONNECTIONS = Number(env.SOAK_CONNECTIONS ?? 50);
const SQL_WRITERS = Number(env.SOAK_SQL_WRITERS ?? 2);
const BULK_ROWS = Number(env.SOAK_BULK_ROWS ?? 20);
const BULK_INTERVAL_MS = Number(env.SOAK_BULK_INTERVAL_MS ?? 2000);
const FAULTS = (env.SOAK_FAULTS ?? 'on') !== 'off';
const SAMPLE_SECONDS = Number(env.SOAK_SAMPLE_SECONDS ?? 5);
const IDLE_SECONDS = Number(env.SOAK_IDLE_SECONDS ?? 15);
/** A request slower than this counts as a hang (the server's own limits are far below). */
const REQUEST_TIMEOUT_MS = 15_000;
/** After a fault, the server must serve again within this of being ready (issue 9 item 1). */
const GRACE_MS = 5_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (kb: number) => Math.round(kb / 1024);

function rssKb(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

const dir = await mkdtemp(path.join(tmpdir(), 'shipslog-soak-'));
await chmod(dir, 0o755);
const pgServer = new CrashablePostgres(path.join(dir, 'pg'), await freePort());
await pgServer.start();
const appLogin = { role: 'app' as const, name: 'soak_app', password: randomBytes(12).toString('hex') };
const reconcilerLogin = { role: 'reconciler' as const, name: 'soak_reconciler', password: randomBytes(12).toString('hex') };
await migrate(pgServer.url(), { logins: [appLogin, reconcilerLogin] });
// The owner's pool: raw SQL and bulk writers (as psql users would), and the final count.
const owner = postgres(pgServer.url(), { max: SQL_WRITERS + 2, onnotice: () => {}, connect_timeout: 5, backoff: () => 0.2 });
const key = (await createApiKey(owner, { name: 'soak', tenant: null, scopes: ['admin'] })).key;
// The reconciler applies for real, to the Kubernetes API test server (test/support): the
// server's memory is measured with the cluster client loaded and working, as in a cluster.
const kubeApi = await startKubeApiTestServer();
const kubeconfig = path.join(dir, 'kubeconfig');
await writeFile(kubeconfig, [
  'apiVersion: v1', 'kind: Config', 'current-context: soak',
  'clusters: [{name: soak, cluster: {server: "' + kubeApi.url + '", insecure-skip-tls-verify: true}}]',
  'users: [{name: soak, user: {token: soak}}]',
  'contexts: [{name: soak, context: {cluster: soak, user: soak, namespace: default}}]', '',
].join('\n'));
const port = await freePort();
const base = `http://127.0.0.1:${port}`;

/**
 * The memory settings the image runs with (the Dockerfile's ENV NODE_OPTIONS and
 * MALLOC_ARENA_MAX; deploy/ sets the same): the RSS measured is the shipped configuration's.
 * SOAK_NODE_OPTIONS replaces NODE_OPTIONS (`SOAK_NODE_OPTIONS=" "` runs with V8's defaults).
 */
function imageMemoryEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { op, args } of parseDockerfile(readFileSync('Dockerfile', 'utf8'))) {
    if (op !== 'ENV') continue;
    for (const m of args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) {
      if (m[1] === 'NODE_OPTIONS' || m[1] === 'MALLOC_ARENA_MAX') out[m[1]] = (m[2] as string).replace(/^"|"$/g, '');
    }
  }
  if (env.SOAK_NODE_OPTIONS !== undefined) out.NODE_OPTIONS = env.SOAK_NODE_OPTIONS;
  return out;
}
const memoryEnv = imageMemoryEnv();

let serve: ChildProcess | undefined;
let serveLogs = '';
/** `node bin/shipslog.js serve` as `npm start` runs it, on the runtime logins; resolves when ready. */
async function startServe(): Promise<void> {
  const child = spawn(process.execPath, ['bin/shipslog.js', 'serve'], {
    env: {
      PATH: env.PATH ?? '',
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      SHIPSLOG_APP_DATABASE_URL: urlFor(pgServer.url(), appLogin),
      SHIPSLOG_RECONCILER_DATABASE_URL: urlFor(pgServer.url(), reconcilerLogin),
      SHIPSLOG_DATA_DIR: path.join(dir, 'data'),
      KUBECONFIG: kubeconfig,
      ...memoryEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (b: Buffer) => (serveLogs = (serveLogs + b.toString()).slice(-20_000)));
  child.stderr?.on('data', (b: Buffer) => (serveLogs = (serveLogs + b.toString()).slice(-20_000)));
  serve = child;
  await untilReady(60_000);
}

/** When the latest serve first answered at all (its port bound; 503 `starting` until ready). */
let answeringAt = 0;
async function untilReady(ms: number): Promise<number> {
  const started = Date.now();
  answeringAt = 0;
  while (Date.now() < started + ms) {
    if (serve?.exitCode !== null) throw new Error(`serve exited (${serve?.exitCode}):\n${serveLogs.slice(-3000)}`);
    const status = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(2000) }).then((r) => r.status, () => 0);
    if (status !== 0) answeringAt ||= Date.now();
    if (status === 200) return Date.now();
    await sleep(50);
  }
  throw new Error(`serve not ready within ${ms} ms:\n${serveLogs.slice(-3000)}`);
}

const samples: { at: number; pid: number; kb: number }[] = [];
function sample(): void {
  const kb = rssKb(serve?.pid);
  if (serve?.pid && kb) samples.push({ at: Date.now(), pid: serve.pid, kb });
}

interface Ack {
  requestId: string;
  events: number;
  at: number;
}
const sqlAcks: Ack[] = [];
const outages: { fault: string; from: number; to: number; readyMs: number }[] = [];
const t0 = Date.now();
let stopping = false;

try {
  await startServe();
  // Idle: nothing but the reconciler's and the retention job's own timers.
  await sleep(IDLE_SECONDS * 1000);
  sample();
  const idleKb = samples.at(-1)?.kb ?? 0;
  const sampler = setInterval(sample, SAMPLE_SECONDS * 1000);

  // Deployments for the raw SQL and bulk writers, made through the API like any other.
  async function create(tenant: string, name: string): Promise<string> {
    const res = await fetch(`${base}/v1/deployments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tenant, name, recipe: 'web', app_version: '1', config: { image: 'nginx' } }),
    });
    if (res.status !== 201) throw new Error(`create ${name}: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { id: string }).id;
  }
  const sqlIds = await Promise.all(Array.from({ length: SQL_WRITERS * 4 }, (_, i) => create('soak-sql', `sql-${i}`)));
  for (let i = 0; i < BULK_ROWS; i++) await create('soak-bulk', `bulk-${i}`);

  const control = new SharedArrayBuffer(8);
  const job: SoakJob = { base, key, clients: CONNECTIONS, control, maxRequests: MAX_REQUESTS, requestTimeoutMs: REQUEST_TIMEOUT_MS };
  const clients = new Worker(new URL('./support/soak-clients.ts', import.meta.url), { workerData: job });
  const answersP = new Promise<SoakAnswer[]>((resolve, reject) => {
    clients.once('message', resolve);
    clients.once('error', reject);
  });

  // Raw SQL: one audited UPDATE per transaction, with the actor context a psql user would set.
  let sqlN = 0;
  async function sqlWriter(w: number): Promise<void> {
    while (!stopping) {
      const requestId = `soak-sql-${w}-${++sqlN}`;
      const id = sqlIds[(w + sqlN) % sqlIds.length] as string;
      try {
        await withActor(owner, { actor: 'soak-sql', actorType: 'user', requestId, tenant: '*' }, (tx) =>
          tx`update shipslog.deployments set config = jsonb_set(config, '{env}', ${tx.json({ SQL: requestId })}) where id = ${id}`,
        );
        sqlAcks.push({ requestId, events: 1, at: Date.now() });
      } catch {
        await sleep(200); // PostgreSQL away: retry as a script would
      }
    }
  }
  // Bulk: one UPDATE over every row of a tenant: one event per row, one request id.
  async function bulkWriter(): Promise<void> {
    let n = 0;
    while (!stopping) {
      const requestId = `soak-bulk-${++n}`;
      try {
        const rows = await withActor(owner, { actor: 'soak-bulk', actorType: 'user', requestId, tenant: '*' }, (tx) =>
          tx`update shipslog.deployments set config = jsonb_set(config, '{env}', ${tx.json({ BULK: requestId })}) where tenant = 'soak-bulk' returning id`,
        );
        sqlAcks.push({ requestId, events: rows.length, at: Date.now() });
      } catch {
        // PostgreSQL away
      }
      await sleep(BULK_INTERVAL_MS);
    }
  }
  const writers = [...Array.from({ length: SQL_WRITERS }, (_, w) => sqlWriter(w)), bulkWriter()];

  const loadStart = Date.now();
  const at = (fraction: number) => sleep(Math.max(0, loadStart + SECONDS * 1000 * fraction - Date.now()));
  if (FAULTS) {
    await at(0.4);
    const from = Date.now();
    serve?.kill('SIGKILL');
    await new Promise((r) => serve?.once('exit', r));
    await startServe();
    const ready = Date.now();
    outages.push({ fault: `kill -9 of shipslog serve, started again at once (port bound after ${answeringAt - from} ms)`, from, to: ready + GRACE_MS, readyMs: ready - from });

    await at(0.6);
    const down = Date.now();
    await pgServer.signal('SIGQUIT');
    await pgServer.start();
    const back = Date.now();
    const readyAt = await untilReady(30_000);
    outages.push({ fault: 'PostgreSQL immediate shutdown, started again at once', from: down, to: readyAt + GRACE_MS, readyMs: readyAt - back });
  }
  await at(1);
  Atomics.store(new Int32Array(control), 0, 1);
  const answers = await answersP;
  stopping = true;
  await Promise.all(writers);
  clearInterval(sampler);
  sample();
  const loadEnd = Date.now();

  // Acknowledged mutations against their events.
  const apiAcks: Ack[] = answers
    .filter((a) => (a.kind === 'create' && a.status === 201) || (a.kind === 'patch' && a.status === 200))
    .map((a) => ({ requestId: a.requestId, events: 1, at: a.at }));
  const acks = [...apiAcks, ...sqlAcks];
  const found = new Map<string, number>();
  const ids = acks.map((a) => a.requestId);
  for (let i = 0; i < ids.length; i += 10_000) {
    const rows = await owner<{ request_id: string; n: number }[]>`
      select request_id, count(*)::int as n from shipslog.deployment_events
      where request_id = any(${ids.slice(i, i + 10_000)}) group by request_id
    `;
    for (const r of rows) found.set(r.request_id, r.n);
  }
  const expected = acks.reduce((s, a) => s + a.events, 0);
  const matched = acks.reduce((s, a) => s + Math.min(found.get(a.requestId) ?? 0, a.events), 0);
  const wrong = acks.filter((a) => found.get(a.requestId) !== a.events);
  const [unacked] = await owner<{ n: number }[]>`
    select count(*)::int as n from shipslog.deployment_events
    where request_id like 'soak-%' and not (request_id = any(${ids}))
  `;
  const broken = await owner`select * from shipslog.verify_chains()`;

  const inOutage = (t: number) => outages.some((o) => t >= o.from && t <= o.to);
  const outside = answers.filter((a) => !inOutage(a.at) && !inOutage(a.at - a.ms));
  const fivexx = outside.filter((a) => a.status >= 500 || a.status <= 0);
  const byStatus = new Map<string, number>();
  for (const a of answers) byStatus.set(String(a.status), (byStatus.get(String(a.status)) ?? 0) + 1);
  const ok = outside.filter((a) => a.status >= 200 && a.status < 300).map((a) => a.ms).sort((x, y) => x - y);
  const q = (p: number) => (ok.length ? percentile(ok, p * 100).toFixed(1) : 'n/a');

  const line = (s: string) => process.stdout.write(`${s}\n`);
  line(`\nsoak: ${((loadEnd - loadStart) / 1000).toFixed(0)} s of load, ${CONNECTIONS} API clients, ${SQL_WRITERS} raw SQL writers, bulk UPDATE of ${BULK_ROWS} rows every ${BULK_INTERVAL_MS} ms; faults ${FAULTS ? 'on' : 'off'}`);
  line(`API requests: ${answers.length}, by status ${JSON.stringify(Object.fromEntries(byStatus))} (0 = refused while the server was down, -1 = timeout)`);
  line(`acknowledged mutations: ${acks.length} (API ${apiAcks.length}, raw SQL ${sqlAcks.filter((a) => a.requestId.startsWith('soak-sql')).length}, bulk ${sqlAcks.filter((a) => a.requestId.startsWith('soak-bulk')).length} statements)`);
  line(`events expected ${expected}, found ${matched}: ${expected - matched} lost; ${wrong.length} acknowledged request ids without exactly their events; ${unacked?.n ?? 0} events of unacknowledged (in-flight at a crash) requests`);
  line(`chains that fail to verify: ${broken.length}`);
  line(`Kubernetes API requests from the reconciler: ${kubeApi.requests.length}`);
  if (env.SOAK_SHOW_LOG) line(serveLogs.slice(-4000));
  for (const o of outages) line(`outage: ${o.fault}: ready again after ${o.readyMs} ms; window ${((o.to - o.from) / 1000).toFixed(1)} s`);
  line(`5xx (or refused/timeout) outside the outage windows: ${fivexx.length} of ${outside.length}`);
  line(`latency of successful API requests outside the outages (client side, ms): p50 ${q(0.5)}, p95 ${q(0.95)}, p99 ${q(0.99)}, max ${ok.at(-1)?.toFixed(0) ?? 'n/a'}`);
  line(`server RSS (${JSON.stringify(memoryEnv)}): idle ${mb(idleKb)} MB (after ${IDLE_SECONDS} s, before load)`);
  // Per minute of load: the range of the samples (the server's pid changes at its kill -9).
  const perMinute = new Map<number, { pid: number; kb: number }[]>();
  for (const s of samples) {
    const minute = Math.floor((s.at - loadStart) / 60_000);
    if (minute >= 0) perMinute.set(minute, [...(perMinute.get(minute) ?? []), s]);
  }
  for (const [minute, list] of perMinute) {
    const kbs = list.map((s) => s.kb);
    line(`  minute ${minute}: ${mb(Math.min(...kbs))}-${mb(Math.max(...kbs))} MB (pid ${[...new Set(list.map((s) => s.pid))].join(', ')})`);
  }
  const underLoad = samples.filter((s) => s.at >= loadStart);
  line(`  under load: max ${mb(Math.max(...underLoad.map((s) => s.kb)))} MB over ${underLoad.length} samples every ${SAMPLE_SECONDS} s`);
  line(`  series (s since load start: MB): ${underLoad.map((s) => `${Math.round((s.at - loadStart) / 1000)}:${mb(s.kb)}`).join(' ')}`);

  const failed = expected !== matched || wrong.length > 0 || fivexx.length > 0 || broken.length > 0 || serve?.exitCode !== null;
  if (serve?.exitCode !== null) line(`the server exited: ${serveLogs.slice(-2000)}`);
  line(failed ? 'soak: FAILED' : 'soak: passed (0 lost, 0 5xx outside outages, every chain verifies)');
  process.exitCode = failed ? 1 : 0;
} finally {
  stopping = true;
  if (serve && serve.exitCode === null) {
    serve.kill('SIGTERM');
    await new Promise((r) => serve?.once('exit', r));
  }
  await owner.end({ timeout: 5 }).catch(() => {});
  await pgServer.stop().catch(() => {});
  await kubeApi.stop();
  await rm(dir, { recursive: true, force: true });
  process.stdout.write(`(${((Date.now() - t0) / 1000).toFixed(0)} s in all)\n`);
}
