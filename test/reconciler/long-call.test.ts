import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/api/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createApiKey } from '../../src/db/api-keys.ts';
import { createDb, type Db } from '../../src/db/client.ts';
import { startEmbedded, type EmbeddedServer } from '../../src/db/embedded.ts';
import { migrate } from '../../src/db/migrate.ts';
import { createLog } from '../../src/log.ts';
import { createKube, createReconciler, type Reconciler } from '../../src/reconciler/index.ts';
import { startKubeApiTestServer, type KubeApiTestServer } from '../support/kube-api-server.ts';
import { quietLog, runsOf, stateOf, waitFor } from './helpers.ts';

// Issue 9, item 4: a run blocked inside a Kubernetes call holds no transaction, so nothing
// else waits for it. The feed emits only events older than every open transaction in the
// whole cluster (pg_snapshot_xmin), so this file runs its own PostgreSQL: a long transaction
// of a test file running in parallel would stall the feed just as a run's claim used to.
const BLOCK_MS = 60_000;

let pg: EmbeddedServer;
let dataDir: string;
let db: Db;
let reconcilerPool: postgres.Sql;
let server: KubeApiTestServer;
let app: App;
let key: string;
let r: Reconciler;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'shipslog-long-call-'));
  await chmod(dataDir, 0o755); // the server runs as postgres when we are root
  pg = await startEmbedded({ dataDir, persistent: false });
  const admin = postgres(pg.url('postgres'), { max: 1, onnotice: () => {} });
  await admin`create database shipslog`;
  await admin.end();
  const url = pg.url('shipslog');
  await migrate(url);
  db = createDb(url, { max: 4, applicationName: 'long-call test' });
  // The reconciler as it runs in production: a login with its group role's privileges only.
  reconcilerPool = postgres(url, { max: 5, onnotice: () => {}, connection: { application_name: 'long-call reconciler', role: 'shipslog_reconciler' } as never });
  server = await startKubeApiTestServer();
  app = createApp({
    db, config: loadConfig({ DATABASE_URL: url, LOG_LEVEL: 'silent' }), log: createLog('silent'),
    secretWriter: { stores: false, write: async () => {} }, fingerprintKey: Buffer.alloc(32, 7),
  });
  key = (await createApiKey(db, { name: 'long-call', tenant: 'acme', scopes: ['read', 'deploy', 'audit'] })).key;
  r = createReconciler({
    db: reconcilerPool,
    // Requests may take 90 s here (the call below takes 60 s); the lease outlasts one (100 s)
    // and is extended every 5 s, about 12 times while the call hangs.
    kube: createKube(server.kubeConfig(), { requestTimeoutMs: 90_000 }),
    log: quietLog,
    config: { workerId: 'long-call', concurrency: 2, leaseTtlMs: 100_000, leaseRenewMs: 5_000, pollIntervalMs: 200, healthIntervalMs: 1_000 },
  });
  await r.start();
}, 120_000);

afterAll(async () => {
  await r?.stop();
  await server?.stop();
  await reconcilerPool?.end({ timeout: 5 });
  await db?.end({ timeout: 5 });
  await pg?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const call = (method: string, url: string, body?: unknown) =>
  app.request(url, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });

async function create(name: string, recipe = 'redis'): Promise<string> {
  const res = await call('POST', '/v1/deployments', { name, recipe, app_version: recipe === 'redis' ? '7' : '16', config: recipe === 'redis' ? {} : { storage: '1Gi' } });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

interface FeedEvent { seq: number; deployment_id: string; action: string; actor_type: string; occurred_at: string }

describe('a run blocked 60 s in a Kubernetes call', () => {
  it('holds no transaction meanwhile; other deployments converge and their events reach the feed within a second', { timeout: 150_000 }, async () => {
    const hung = server.inject({ match: { method: 'PATCH', kind: 'StatefulSet', name: 'stuck', dryRun: false }, delayMs: BLOCK_MS, times: 1 });
    const stuck = await create('stuck', 'postgresql');
    await waitFor('the run to be inside the call', async () => hung.hits === 1);
    const blockedAt = performance.now();
    const leaseAt = async () => (await db<{ expires: Date; holder: string }[]>`
      select lease_expires_at as expires, lease_holder as holder from shipslog.reconcile_queue where deployment_id = ${stuck}`)[0]!;
    const firstLease = await leaseAt();
    expect(firstLease.holder).toBe('long-call');

    // The tail of /v1/events/feed, as a consumer runs it: when did each event first show up?
    const seenAt = new Map<number, { event: FeedEvent; at: number }>();
    let cursor = '0:0';
    let tailing = true;
    const tail = (async () => {
      while (tailing) {
        const res = await call('GET', `/v1/events/feed?after=${cursor}&limit=1000`);
        expect(res.status).toBe(200);
        const page = (await res.json()) as { events: FeedEvent[]; next_cursor: string };
        const now = Date.now();
        for (const event of page.events) if (!seenAt.has(event.seq)) seenAt.set(event.seq, { event, at: now });
        cursor = page.next_cursor;
        if (page.events.length === 0) await new Promise((res) => setTimeout(res, 50));
      }
    })();

    // Throughout the block: the oldest open transaction anywhere on the server, every 250 ms;
    // and a new deployment through the API every 4 s, which the second worker applies.
    let oldestXactS = 0;
    let samples = 0;
    const others: string[] = [];
    let nextCreate = 0;
    while (performance.now() - blockedAt < BLOCK_MS - 1_000) {
      const [row] = await db<{ oldest: number | null }[]>`
        select max(extract(epoch from clock_timestamp() - xact_start))::float8 as oldest
        from pg_stat_activity
        where xact_start is not null
          and backend_type = 'client backend'
          and pid <> pg_backend_pid()`;
      oldestXactS = Math.max(oldestXactS, row!.oldest ?? 0);
      samples++;
      if (performance.now() - blockedAt >= nextCreate) {
        others.push(await create(`other-${others.length + 1}`));
        nextCreate += 4_000;
      }
      await new Promise((res) => setTimeout(res, 250));
    }
    expect(hung.hits).toBe(1);
    expect((await runsOf(db, stuck)).map((x) => x.phase)).toEqual(['Running']);
    // The lease was extended while the call hung (every 5 s), and no transaction lasted.
    expect((await leaseAt()).expires.getTime() - firstLease.expires.getTime()).toBeGreaterThan(BLOCK_MS - 15_000);
    expect(samples).toBeGreaterThan(100);
    expect(oldestXactS).toBeLessThan(5);
    // Everything else converged meanwhile.
    expect(others.length).toBeGreaterThanOrEqual(14);
    for (const id of others) expect((await stateOf(db, id))!).toMatchObject({ status: 'applied', observed_generation: 1 });

    // The call returns; the run records its result under the lease it kept.
    await waitFor('the stuck run to finish', async () => (await stateOf(db, stuck))?.status === 'applied', 40_000);
    await waitFor('the feed to catch up', async () => {
      const [n] = await db<{ n: number }[]>`select count(*)::int as n from shipslog.deployment_events`;
      return seenAt.size === n!.n;
    });
    tailing = false;
    await tail;
    const [completed] = await runsOf(db, stuck);
    expect(completed).toMatchObject({ phase: 'Completed', worker_id: 'long-call' });
    expect(completed!.completed_at!.getTime() - completed!.started_at.getTime()).toBeGreaterThanOrEqual(BLOCK_MS - 100);

    // Every event of the other deployments, the API's and the reconciler's alike, showed up in
    // the feed within a second of being written (occurred_at is when the trigger ran).
    const lags = [...seenAt.values()]
      .filter(({ event }) => others.includes(event.deployment_id))
      .map(({ event, at }) => ({ action: event.action, actor: event.actor_type, ms: at - Date.parse(event.occurred_at) }));
    expect(lags.filter((l) => l.actor === 'service').length).toBe(others.length); // created, by the API
    expect(lags.filter((l) => l.actor === 'system').length).toBeGreaterThanOrEqual(others.length); // applied, by the reconciler
    const slowest = Math.max(...lags.map((l) => l.ms));
    expect(slowest, JSON.stringify(lags.filter((l) => l.ms >= 1000))).toBeLessThan(1000);
  });
});
