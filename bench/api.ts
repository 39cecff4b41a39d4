// npm run bench:api — the API's cost, measured side by side in one run.
//
//   (a) config changes through the API: PATCH /v1/deployments/{id} over loopback HTTP, 16
//       concurrent clients (in a worker thread, so they do not share the server's event loop)
//   (b) the same change as direct audited SQL: one transaction per change that sets the
//       actor context and UPDATEs config (the trigger writes the same event), 16 connections
//   Rounds alternate a and b so machine noise hits both; the ratio a/b is per round and the
//   median is reported (target >= 0.40).
//   (c) history: GET /v1/deployments/{id}/history?limit=50 for one deployment, with 100,000
//       events in the table: p50 / p95 over sequential requests (target p95 <= 10 ms).
import { serve } from '@hono/node-server';
import { Worker } from 'node:worker_threads';
import postgres from 'postgres';
import { createApp } from '../src/api/app.ts';
import { loadConfig } from '../src/config.ts';
import { createApiKey } from '../src/db/api-keys.ts';
import { withActor } from '../src/db/actor.ts';
import { createDb } from '../src/db/client.ts';
import { deploymentHistory } from '../src/db/events.ts';
import { freePort } from '../src/db/embedded.ts';
import { createLog } from '../src/log.ts';
import { benchDatabase, median, percentile } from './support/database.ts';
import { seedHistory } from './support/history.ts';

const CLIENTS = 16;
const DEPLOYMENTS = 64;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const HISTORY_EVENTS = Number(process.env.BENCH_HISTORY_EVENTS ?? 100_000);
const HISTORY_REQUESTS = Number(process.env.BENCH_HISTORY_REQUESTS ?? 1_000);

let storage = 0;

async function apiRound(base: string, key: string, ids: string[]): Promise<number> {
  const result = await new Promise<{ ok: number; failed: number; seconds: number; counter: number }>((resolve, reject) => {
    const w = new Worker(new URL('./support/http-load.ts', import.meta.url), {
      workerData: { base, key, ids, clients: CLIENTS, seconds: SECONDS, start: storage },
    });
    w.once('message', resolve);
    w.once('error', reject);
  });
  storage = result.counter;
  if (result.failed > 0) throw new Error(`${result.failed} API requests failed`);
  return result.ok / result.seconds;
}

async function sqlRound(db: postgres.Sql, ids: string[]): Promise<number> {
  let ok = 0;
  const deadline = performance.now() + SECONDS * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, worker) => {
      const mine = ids.filter((_, i) => i % CLIENTS === worker);
      let n = 0;
      while (performance.now() < deadline) {
        const id = mine[n++ % mine.length]!;
        const value = `${(++storage % 1000) + 1}Gi`;
        await withActor(db, { actor: 'bench', actorType: 'service', tenant: 'bench' }, (tx) =>
          tx`update shipslog.deployments set config = jsonb_set(config, '{storage}', ${tx.json(value)}) where id = ${id}`,
        );
        ok++;
      }
    }),
  );
  return ok / ((performance.now() - started) / 1000);
}

async function main(): Promise<void> {
  const database = await benchDatabase('api');
  const db = createDb(database.url, { max: CLIENTS + 4, applicationName: 'shipslog bench api' });
  const sqlDb = createDb(database.url, { max: CLIENTS, applicationName: 'shipslog bench sql' });
  const port = await freePort();
  const app = createApp({ db, config: loadConfig({ LOG_LEVEL: 'silent' }), log: createLog('silent'), fingerprintKey: Buffer.alloc(32, 1) });
  const server = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' });
  const base = `http://127.0.0.1:${port}`;
  try {
    const { key } = await createApiKey(db, { name: 'bench', tenant: 'bench', scopes: ['read', 'deploy'] });
    const ids = (
      await db<{ id: string }[]>`
        insert into shipslog.deployments (tenant, name, recipe, app_version, config)
        select 'bench', 'app-' || g, 'postgresql', '16', '{"storage": "8Gi", "replicas": 1}'
        from generate_series(1, ${DEPLOYMENTS}) as g
        returning id`
    ).map((r) => r.id);

    console.log(`(a) API PATCH vs (b) audited SQL UPDATE: ${CLIENTS} concurrent clients, ${DEPLOYMENTS} deployments, ${ROUNDS} rounds x ${SECONDS} s each`);
    await apiRound(base, key, ids); // warm-up: JIT, pools, keep-alive connections
    await sqlRound(sqlDb, ids);
    const ratios: number[] = [];
    for (let r = 1; r <= ROUNDS; r++) {
      const a = await apiRound(base, key, ids);
      const b = await sqlRound(sqlDb, ids);
      ratios.push(a / b);
      console.log(`  round ${r}: (a) ${a.toFixed(0)} req/s   (b) ${b.toFixed(0)} tx/s   a/b ${(a / b).toFixed(2)}`);
    }
    console.log(`config-change throughput ratio a/b (API / direct SQL), median: ${median(ratios).toFixed(2)}   (target >= 0.40)`);

    console.log(`\n(c) history: seeding ${HISTORY_EVENTS.toLocaleString('en')} events ...`);
    const target = await seedHistory(db, HISTORY_EVENTS);
    const [count] = await db<{ n: number; own: number }[]>`
      select count(*)::int as n, count(*) filter (where deployment_id = ${target})::int as own from shipslog.deployment_events`;
    // Alternate API and psql's shipslog.history() request by request, so both see the same noise.
    const viaApi: number[] = [];
    const viaQuery: number[] = [];
    const viaSql: number[] = [];
    for (let i = 0; i < HISTORY_REQUESTS + 50; i++) {
      let t0 = performance.now();
      const res = await fetch(`${base}/v1/deployments/${target}/history?limit=50`, { headers: { authorization: `Bearer ${key}` } });
      const body = (await res.json()) as { items: unknown[] };
      if (res.status !== 200 || body.items.length !== 50) throw new Error(`history answered ${res.status}`);
      const apiMs = performance.now() - t0;
      t0 = performance.now();
      await deploymentHistory(db, { deploymentId: target, limit: 50 }, 'readable');
      const queryMs = performance.now() - t0;
      t0 = performance.now();
      await db`select * from shipslog.history('bench', 'history-target', 50)`;
      const sqlMs = performance.now() - t0;
      if (i >= 50) {
        // the first 50 of each warm up
        viaApi.push(apiMs);
        viaQuery.push(queryMs);
        viaSql.push(sqlMs);
      }
    }
    console.log(
      `history, newest 50 events of one deployment (${count?.own.toLocaleString('en')} of its own, ${count?.n.toLocaleString('en')} in the table), ${HISTORY_REQUESTS} requests each:`,
    );
    const line = (label: string, t: number[], note = '') =>
      console.log(`  ${label.padEnd(58)} p50 ${percentile(t, 50).toFixed(2)} ms, p95 ${percentile(t, 95).toFixed(2)} ms${note}`);
    line('API  GET /v1/deployments/{id}/history?limit=50', viaApi, '   (target p95 <= 10 ms)');
    line("SQL  the API's page query alone (no HTTP, auth or tx)", viaQuery);
    line('SQL  shipslog.history(tenant, name, 50), for scale', viaSql);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await db.end({ timeout: 5 });
    await sqlDb.end({ timeout: 5 });
    await database.close();
  }
}

await main();
