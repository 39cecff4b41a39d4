// npm run soak:failover: shipslog on a Patroni + etcd cluster, its primary killed under load.
//
// On this machine: one etcd (Debian's etcd-server), two Patroni members (Debian's patroni) on
// Debian's PostgreSQL 15 binaries, synchronous_mode on (a commit returns once the standby has
// it), leader TTL 10 s. A real `node bin/shipslog.js serve` runs on the runtime logins with
// multi-host URLs and target_session_attrs=read-write (the `postgres` driver tries each host
// and keeps the one that accepts writes), the image's memory settings, and the Kubernetes API
// test server as its cluster. Writers: FAILOVER_CONNECTIONS API clients (bench/support/
// soak-clients.ts) and 2 raw SQL writers on the owner's multi-host URL. At 40 % of the time the
// primary's Patroni and its postmaster are killed with SIGKILL: the standby takes the leader key
// once it expires and promotes. Then it prints the failover's timings, acknowledged mutations
// against their events on the new primary (0 lost), 5xx outside the failover window, latency,
// and verifies every chain there; exit 1 on a lost event, a 5xx outside the window, a chain
// that fails, or no failover.
//
// Needs root (PostgreSQL and Patroni run as the `postgres` user) or the postgres user itself,
// and `patroni`, `etcd-server`, `postgresql-15`. Bounded: FAILOVER_SECONDS (default 90).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import postgres from 'postgres';
import { withActor } from '../src/db/actor.ts';
import { createApiKey } from '../src/db/api-keys.ts';
import { freePort } from '../src/db/embedded.ts';
import { migrate } from '../src/db/migrate.ts';
import { startKubeApiTestServer } from '../test/support/kube-api-server.ts';
import { percentile } from './support/database.ts';
import type { SoakAnswer, SoakJob } from './support/soak-clients.ts';

const env = process.env;
const SECONDS = Number(env.FAILOVER_SECONDS ?? 90);
const CONNECTIONS = Number(env.FAILOVER_CONNECTIONS ?? 20);
const PG_BIN = env.FAILOVER_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const GRACE_MS = 5_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const line = (s: string) => process.stdout.write(`${s}\n`);

for (const [what, file] of [['patroni', '/usr/bin/patroni'], ['etcd', '/usr/bin/etcd'], ['PostgreSQL 15', `${PG_BIN}/postgres`]] as const) {
  if (!existsSync(file)) {
    line(`soak:failover needs ${what} (${file}): apt-get install patroni etcd-server postgresql-15`);
    process.exit(2);
  }
}
const asRoot = process.getuid?.() === 0;

const dir = await mkdtemp(path.join(tmpdir(), 'shipslog-failover-'));
await chmod(dir, 0o755);
const children: ChildProcess[] = [];
const logs = new Map<string, string>();
/** A process as the postgres user (PostgreSQL refuses to run as root). */
function runAsPostgres(name: string, command: string, args: string[]): ChildProcess {
  const child = asRoot ? spawn('runuser', ['-u', 'postgres', '--', command, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }) : spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (b: Buffer) => logs.set(name, ((logs.get(name) ?? '') + b.toString()).slice(-20_000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  children.push(child);
  return child;
}
async function postgresOwned(p: string): Promise<void> {
  if (!asRoot) return;
  const entry = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  if (!entry) throw new Error('no postgres user: install postgresql-15 (or run as a user PostgreSQL accepts)');
  const [, , uid, gid] = entry.split(':');
  await chown(p, Number(uid), Number(gid));
}

const superPassword = randomBytes(12).toString('hex');
const etcdClient = await freePort();
const etcdPeer = await freePort();
const members = await Promise.all([1, 2].map(async (n) => ({ name: `pg${n}`, pgPort: await freePort(), restPort: await freePort(), dataDir: path.join(dir, `data${n}`) })));
let serve: ChildProcess | undefined;
let serveLogs = '';
let owner: postgres.Sql | undefined;
let stopKube = async () => {};
const t0 = Date.now();

try {
  await postgresOwned(dir);
  runAsPostgres('etcd', '/usr/bin/etcd', [
    '--name', 'e1', '--data-dir', path.join(dir, 'etcd'),
    '--listen-client-urls', `http://127.0.0.1:${etcdClient}`, '--advertise-client-urls', `http://127.0.0.1:${etcdClient}`,
    '--listen-peer-urls', `http://127.0.0.1:${etcdPeer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${etcdPeer}`,
    '--initial-cluster', `e1=http://127.0.0.1:${etcdPeer}`,
  ]);
  for (const m of members) {
    const config = `scope: shipslog-failover
name: ${m.name}
restapi: {listen: "127.0.0.1:${m.restPort}", connect_address: "127.0.0.1:${m.restPort}"}
etcd3: {hosts: "127.0.0.1:${etcdClient}"}
bootstrap:
  dcs:
    ttl: 10
    loop_wait: 2
    retry_timeout: 4
    maximum_lag_on_failover: 1048576
    synchronous_mode: true
    postgresql: {use_pg_rewind: false}
  initdb: [{encoding: UTF8}, {auth: scram-sha-256}]
  pg_hba:
    - local all all trust
    - host replication replicator 127.0.0.1/32 scram-sha-256
    - host all all 127.0.0.1/32 scram-sha-256
postgresql:
  listen: "127.0.0.1:${m.pgPort}"
  connect_address: "127.0.0.1:${m.pgPort}"
  data_dir: ${m.dataDir}
  bin_dir: ${PG_BIN}
  pgpass: ${path.join(dir, `pgpass-${m.name}`)}
  authentication:
    superuser: {username: postgres, password: "${superPassword}"}
    replication: {username: replicator, password: "${superPassword}"}
  parameters: {unix_socket_directories: "${dir}"}
`;
    const file = path.join(dir, `${m.name}.yml`);
    await writeFile(file, config, { mode: 0o600 });
    await postgresOwned(file);
    runAsPostgres(m.name, '/usr/bin/patroni', [file]);
    if (m === members[0]) await untilCluster((c) => c.some((x) => x.role === 'leader' && x.state === 'running'), 90_000);
  }
  await untilCluster((c) => c.some((x) => x.role === 'leader') && c.some((x) => x.role === 'sync_standby' && ['running', 'streaming'].includes(x.state)), 120_000);
  line(`Patroni cluster up: ${JSON.stringify(await cluster())}`);

  // Every URL names both members; the driver keeps the one that accepts writes.
  const hosts = members.map((m) => `127.0.0.1:${m.pgPort}`).join(',');
  const multi = (user: string, password: string) => `postgres://${user}:${password}@${hosts}/postgres?target_session_attrs=read-write`;
  const leaderPort = (await cluster()).find((x) => x.role === 'leader')?.port as number;
  const appLogin = { role: 'app' as const, name: 'failover_app', password: randomBytes(12).toString('hex') };
  const reconcilerLogin = { role: 'reconciler' as const, name: 'failover_reconciler', password: randomBytes(12).toString('hex') };
  await migrate(`postgres://postgres:${superPassword}@127.0.0.1:${leaderPort}/postgres`, { logins: [appLogin, reconcilerLogin] });
  owner = postgres(multi('postgres', superPassword), { max: 4, onnotice: () => {}, connect_timeout: 5, backoff: () => 0.2 });
  const key = (await createApiKey(owner, { name: 'failover', tenant: null, scopes: ['admin'] })).key;

  const kubeApi = await startKubeApiTestServer();
  stopKube = () => kubeApi.stop();
  const kubeconfig = path.join(dir, 'kubeconfig');
  await writeFile(kubeconfig, [
    'apiVersion: v1', 'kind: Config', 'current-context: f',
    `clusters: [{name: f, cluster: {server: "${kubeApi.url}", insecure-skip-tls-verify: true}}]`,
    'users: [{name: f, user: {token: f}}]', 'contexts: [{name: f, context: {cluster: f, user: f, namespace: default}}]', '',
  ].join('\n'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  serve = spawn(process.execPath, ['bin/shipslog.js', 'serve'], {
    env: {
      PATH: env.PATH ?? '', PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', KUBECONFIG: kubeconfig,
      SHIPSLOG_APP_DATABASE_URL: multi(appLogin.name, appLogin.password),
      SHIPSLOG_RECONCILER_DATABASE_URL: multi(reconcilerLogin.name, reconcilerLogin.password),
      SHIPSLOG_DATA_DIR: path.join(dir, 'shipslog'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  serve.stdout?.on('data', (b: Buffer) => (serveLogs = (serveLogs + b.toString()).slice(-20_000)));
  serve.stderr?.on('data', (b: Buffer) => (serveLogs = (serveLogs + b.toString()).slice(-20_000)));
  for (let i = 0; ; i++) {
    if (serve.exitCode !== null) throw new Error(`serve exited:\n${serveLogs}`);
    if ((await fetch(`${base}/readyz`).then((r) => r.status, () => 0)) === 200) break;
    if (i > 1200) throw new Error(`serve not ready:\n${serveLogs}`);
    await sleep(50);
  }

  const control = new SharedArrayBuffer(8);
  const job: SoakJob = { base, key, clients: CONNECTIONS, control, maxRequests: 1_000_000, requestTimeoutMs: 15_000 };
  const worker = new Worker(new URL('./support/soak-clients.ts', import.meta.url), { workerData: job });
  const answersP = new Promise<SoakAnswer[]>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  // Raw SQL writers on the owner's multi-host URL: they follow the new primary too.
  let stopping = false;
  const sqlAcks: { requestId: string; at: number }[] = [];
  const ids = await withActor(owner, { actor: 'failover-sql', actorType: 'user', tenant: '*' }, (tx) => tx<{ id: string }[]>`
    insert into shipslog.deployments (tenant, name, recipe, app_version, config)
    select 'failover-sql', 'sql-' || g, 'web', '1', '{"image": "nginx"}' from generate_series(1, 4) as g
    returning id::text as id
  `);
  const writers = [0, 1].map(async (w) => {
    for (let n = 0; !stopping; n++) {
      const requestId = `failover-sql-${w}-${n}`;
      try {
        await withActor(owner as postgres.Sql, { actor: 'failover-sql', actorType: 'user', requestId, tenant: '*' }, (tx) =>
          tx`update shipslog.deployments set config = jsonb_set(config, '{env}', ${tx.json({ SQL: requestId })}) where id = ${ids[(w + n) % ids.length]?.id as string}`,
        );
        sqlAcks.push({ requestId, at: Date.now() });
      } catch {
        await sleep(200);
      }
    }
  });

  const loadStart = Date.now();
  await sleep(SECONDS * 400);
  const before = await cluster();
  const leader = before.find((x) => x.role === 'leader');
  const victim = members.find((m) => m.name === leader?.name);
  if (!victim) throw new Error(`no leader to kill: ${JSON.stringify(before)}`);
  const postmaster = Number(readFileSync(path.join(victim.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const patroniPid = children[members.indexOf(victim) + 1]?.pid as number;
  const killedAt = Date.now();
  // Patroni first, so that it cannot restart its PostgreSQL; then the postmaster (runuser's child).
  for (const pid of [...childPids(patroniPid), patroniPid, postmaster]) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  const survivor = members.find((m) => m !== victim) as (typeof members)[number];
  const promotedAt = await untilCluster((c) => c.some((x) => x.name === survivor.name && x.role === 'leader' && x.state === 'running'), 120_000, survivor.restPort);
  await sleep(Math.max(0, loadStart + SECONDS * 1000 - Date.now()));
  Atomics.store(new Int32Array(control), 0, 1);
  const answers = await answersP;
  stopping = true;
  await Promise.all(writers);

  // On the new primary: every acknowledged mutation's event, every chain.
  const acked = [
    ...answers.filter((a) => (a.kind === 'create' && a.status === 201) || (a.kind === 'patch' && a.status === 200)).map((a) => ({ requestId: a.requestId, at: a.at })),
    ...sqlAcks,
  ];
  const [primary] = await owner<{ port: number; recovery: boolean }[]>`select inet_server_port() as port, pg_is_in_recovery() as recovery`;
  const found = new Map<string, number>();
  for (let i = 0; i < acked.length; i += 10_000) {
    const rows = await owner<{ request_id: string; n: number }[]>`
      select request_id, count(*)::int as n from shipslog.deployment_events
      where request_id = any(${acked.slice(i, i + 10_000).map((a) => a.requestId)}) group by request_id
    `;
    for (const r of rows) found.set(r.request_id, r.n);
  }
  const lost = acked.filter((a) => found.get(a.requestId) !== 1);
  const broken = await owner`select * from shipslog.verify_chains()`;
  // Served again: the first API change that started after the kill and was acknowledged.
  const firstAckAfter = answers
    .filter((a) => a.at - a.ms > killedAt && ((a.kind === 'create' && a.status === 201) || (a.kind === 'patch' && a.status === 200)))
    .sort((x, y) => x.at - y.at)[0]?.at;
  const windowEnd = (firstAckAfter ?? Date.now()) + GRACE_MS;
  const outside = answers.filter((a) => !(a.at >= killedAt && a.at - a.ms <= windowEnd));
  const bad = outside.filter((a) => a.status >= 500 || a.status <= 0);
  const byStatus = new Map<string, number>();
  for (const a of answers) byStatus.set(String(a.status), (byStatus.get(String(a.status)) ?? 0) + 1);
  const ok = outside.filter((a) => a.status >= 200 && a.status < 300).map((a) => a.ms);
  const q = (p: number) => (ok.length ? percentile(ok, p).toFixed(0) : 'n/a');

  line(`\nsoak:failover: ${((Date.now() - loadStart) / 1000).toFixed(0)} s of load, ${CONNECTIONS} API clients, 2 raw SQL writers; killed ${victim.name} (Patroni and postmaster, SIGKILL) at ${((killedAt - loadStart) / 1000).toFixed(0)} s`);
  line(`failover: ${survivor.name} leader after ${((promotedAt - killedAt) / 1000).toFixed(1)} s (leader TTL 10 s); first API change started after the kill and acknowledged at +${firstAckAfter ? ((firstAckAfter - killedAt) / 1000).toFixed(1) : 'never'} s; the driver's primary now on port ${primary?.port} (in recovery: ${primary?.recovery})`);
  line(`API requests: ${answers.length}, by status ${JSON.stringify(Object.fromEntries(byStatus))} (0 = refused, -1 = timeout)`);
  line(`acknowledged mutations: ${acked.length} (API ${acked.length - sqlAcks.length}, raw SQL ${sqlAcks.length}); events found on the new primary: ${acked.length - lost.length}; lost: ${lost.length}`);
  line(`chains that fail to verify on the new primary: ${broken.length}`);
  line(`5xx (or refused/timeout) outside the failover window (kill -> first acknowledged API change + 5 s): ${bad.length} of ${outside.length}`);
  line(`latency of successful API requests outside the window (ms): p50 ${q(50)}, p95 ${q(95)}, p99 ${q(99)}`);
  const failed = lost.length > 0 || broken.length > 0 || bad.length > 0 || !firstAckAfter || serve.exitCode !== null;
  line(failed ? `soak:failover: FAILED\n${serveLogs.slice(-3000)}` : 'soak:failover: passed (0 lost, every chain verifies on the new primary)');
  process.exitCode = failed ? 1 : 0;
} finally {
  if (serve && serve.exitCode === null) {
    serve.kill('SIGTERM');
    await new Promise((r) => serve?.once('exit', r));
  }
  await owner?.end({ timeout: 5 }).catch(() => {});
  await stopKube();
  // Patroni stops its PostgreSQL on SIGTERM; etcd last.
  for (const child of children.slice(1).concat(children.slice(0, 1))) {
    if (child.exitCode === null && child.signalCode === null) {
      for (const pid of childPids(child.pid as number)) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // gone
        }
      }
      await Promise.race([new Promise((r) => child.once('exit', r)), sleep(20_000)]);
    }
  }
  if (env.FAILOVER_SHOW_LOGS) for (const [name, text] of logs) line(`--- ${name}\n${text.slice(-3000)}`);
  await rm(dir, { recursive: true, force: true });
  line(`(${((Date.now() - t0) / 1000).toFixed(0)} s in all)`);
}

interface Member {
  name: string;
  role: string;
  state: string;
  port: number;
}

async function cluster(restPort = members[0]?.restPort): Promise<Member[]> {
  for (const port of [restPort, ...members.map((m) => m.restPort)]) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/cluster`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return ((await res.json()) as { members: Member[] }).members;
    } catch {
      // this member's REST API is down: ask the next
    }
  }
  return [];
}

async function untilCluster(ok: (c: Member[]) => boolean, ms: number, restPort?: number): Promise<number> {
  const deadline = Date.now() + ms;
  for (;;) {
    const c = await cluster(restPort);
    if (ok(c)) return Date.now();
    if (Date.now() > deadline) throw new Error(`Patroni cluster not as expected: ${JSON.stringify(c)}\n${[...logs].map(([n, t]) => `--- ${n}\n${t.slice(-2000)}`).join('\n')}`);
    await sleep(100);
  }
}

/** The process run by `runuser` (pid's children), so that signals reach Patroni itself. */
function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
