/*
 * Issue 9, item 2: shipslog behind PgBouncer in transaction pooling mode.
 *
 * Debian's pgbouncer runs in front of this file's database with 4 server connections per
 * login, however many clients connect. The API (a pool of 64 connections, all through
 * PgBouncer, URL `?prepare=false`) serves 64 concurrent clients of 8 tenants, and the
 * reconciler works through it too, with its LISTEN on a direct connection
 * (SHIPSLOG_RECONCILER_LISTEN_DATABASE_URL). Were any session state left outside a
 * transaction (a set_config(..., false), a SET, a named prepared statement, a session advisory
 * lock), it would reach another client's transaction on the shared server connection: an
 * event with another client's actor or tenant, or a "prepared statement does not exist".
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../src/api/app.ts';
import { startReconciler, type ReconcilerHandle } from '../src/cli/reconciler.ts';
import { loadConfig } from '../src/config.ts';
import { createApiKey } from '../src/db/api-keys.ts';
import { createDb, throughTransactionPooler, type Db } from '../src/db/client.ts';
import { urlFor } from '../src/db/logins.ts';
import { migrate } from '../src/db/migrate.ts';
import { createLog } from '../src/log.ts';
import { createKube, createReconciler, type Reconciler } from '../src/reconciler/index.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { startKubeApiTestServer, type KubeApiTestServer } from './support/kube-api-server.ts';
import { pgbouncerBinary, startPgBouncer, type PgBouncer } from './support/pgbouncer.ts';

const binary = pgbouncerBinary();
const clients = 64;
const tenants = 8;
const changesPerClient = 10;
const serverConnections = 4;
if (!binary) console.warn('test/pgbouncer.test.ts skipped: no pgbouncer binary (apt-get install pgbouncer; .ci/run installs it)');

describe.skipIf(!binary)(binary ? 'through PgBouncer (transaction pooling)' : 'through PgBouncer: SKIPPED, no pgbouncer binary (apt-get install pgbouncer)', () => {
  let t: TestDatabase;
  let bouncer: PgBouncer;
  let kubeApi: KubeApiTestServer;
  let appDb: Db;
  let app: App;
  const suffix = randomBytes(3).toString('hex');
  const appLogin = { role: 'app' as const, name: `pgb_app_${suffix}`, password: randomBytes(12).toString('hex') };
  const reconcilerLogin = { role: 'reconciler' as const, name: `pgb_rec_${suffix}`, password: randomBytes(12).toString('hex') };
  const closers: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    t = await createTestDatabase();
    await migrate(t.url, { logins: [appLogin, reconcilerLogin] });
    const direct = new URL(t.url);
    bouncer = await startPgBouncer({
      host: direct.hostname,
      port: Number(direct.port),
      users: { [appLogin.name]: appLogin.password, [reconcilerLogin.name]: reconcilerLogin.password },
      poolSize: serverConnections,
    });
    kubeApi = await startKubeApiTestServer();
    const database = direct.pathname.slice(1);
    appDb = createDb(bouncer.url(appLogin.name, appLogin.password, database), { max: clients, applicationName: 'shipslog api' });
    app = createApp({ db: appDb, config: loadConfig({ LOG_LEVEL: 'silent' }), log: createLog('silent'), fingerprintKey: Buffer.alloc(32, 7) });
  }, 60_000);

  afterAll(async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
    await appDb?.end({ timeout: 5 });
    await kubeApi?.stop();
    await bouncer?.stop();
    await t?.drop();
  });

  const database = () => new URL(t.url).pathname.slice(1);
  const viaBouncer = (login: { name: string; password: string }) => bouncer.url(login.name, login.password, database());

  it('the URL says it: prepare=false, which createDb passes on to the driver', () => {
    expect(throughTransactionPooler(viaBouncer(appLogin))).toBe(true);
    expect(throughTransactionPooler(t.url)).toBe(false);
    expect((appDb as unknown as { options: { prepare: boolean } }).options.prepare).toBe(false);
  });

  it(`${clients} concurrent API clients of ${tenants} tenants on ${serverConnections} server connections: every event has its own client's actor, tenant and reason; no tenant sees another's; the reconciler applies every deployment through it`, async () => {
    // The reconciler through PgBouncer, LISTEN direct; its poll is a minute long, so only a
    // NOTIFY heard on the direct connection can make it converge within the test.
    const reconcilerDb = createDb(viaBouncer(reconcilerLogin), { max: 4, applicationName: 'shipslog reconciler' });
    const listenDb = createDb(urlFor(t.url, reconcilerLogin), { max: 1, applicationName: 'shipslog reconciler listen' });
    const reconciler: Reconciler = createReconciler({
      db: reconcilerDb, listenDb, kube: createKube(kubeApi.kubeConfig()), log: createLog('silent'),
      config: { concurrency: 2, pollIntervalMs: 60_000, workerId: 'pgbouncer-test' },
    });
    closers.push(() => listenDb.end({ timeout: 5 }), () => reconcilerDb.end({ timeout: 5 }), () => reconciler.stop());
    await reconciler.start();

    const keys = await Promise.all(
      Array.from({ length: clients }, (_, c) => createApiKey(t.db, { name: `client-${c}`, tenant: `pgb-${c % tenants}`, scopes: ['read', 'deploy', 'audit'] })),
    );
    const call = async (c: number, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
      requests++;
      const res = await app.request(path, {
        method,
        headers: { authorization: `Bearer ${keys[c]?.key}`, 'x-correlation-id': `corr-${c}`, ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> & { items?: { id: string; tenant: string }[] } };
    };

    const ids: string[] = [];
    const started = performance.now();
    let requests = 0;
    const peakServerConnections = { n: 0 };
    let running = true;
    const watcher = (async () => {
      while (running) {
        const [row] = await t.db<{ n: number }[]>`select count(*)::int as n from pg_stat_activity where usename = ${appLogin.name}`;
        peakServerConnections.n = Math.max(peakServerConnections.n, row?.n ?? 0);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        const created = await call(c, 'POST', '/v1/deployments', {
          name: `app-${c}`, recipe: 'web', app_version: '1', config: { image: 'nginx' }, reason: `client ${c} creates`,
        }, { 'x-request-id': `pgb-${c}-0` });
        expect(created.status, JSON.stringify(created.json)).toBe(201);
        const id = created.json.id as string;
        ids[c] = id;
        for (let n = 1; n <= changesPerClient; n++) {
          const patched = await call(c, 'PATCH', `/v1/deployments/${id}`, { config: { env: { N: String(n) } } }, { 'x-request-id': `pgb-${c}-${n}`, 'x-reason': `client ${c} change ${n}` });
          expect(patched.status, JSON.stringify(patched.json)).toBe(200);
          const listed = await call(c, 'GET', '/v1/deployments?limit=200');
          expect(listed.status).toBe(200);
          expect(new Set(listed.json.items?.map((d) => d.tenant))).toEqual(new Set([`pgb-${c % tenants}`]));
        }
      }),
    );
    // Every client again, at once: its own deployment and its history (a page on a generic
    // plan, whose setting is transaction-local too), and the next client's (another tenant's)
    // as absent.
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        expect((await call(c, 'GET', `/v1/deployments/${ids[c]}`)).status).toBe(200);
        const history = await call(c, 'GET', `/v1/deployments/${ids[c]}/history`);
        expect(history.status).toBe(200);
        // Its own changes, and the reconciler's status events beside them.
        const tenantsSeen = history.json.items?.map((e) => e.tenant) ?? [];
        expect(tenantsSeen.length).toBeGreaterThanOrEqual(changesPerClient + 1);
        expect(new Set(tenantsSeen)).toEqual(new Set([`pgb-${c % tenants}`]));
        expect((await call(c, 'GET', `/v1/deployments/${ids[(c + 1) % clients]}/history`)).status).toBe(404);
        expect((await call(c, 'GET', `/v1/deployments/${ids[(c + 1) % clients]}`)).status).toBe(404);
        expect((await call(c, 'PATCH', `/v1/deployments/${ids[(c + 1) % clients]}`, { config: { replicas: 2 } })).status).toBe(404);
      }),
    );
    running = false;
    await watcher;
    const apiSeconds = (performance.now() - started) / 1000;

    // PgBouncer multiplexed: the app login never had more server connections than the pool.
    expect(peakServerConnections.n).toBeGreaterThan(0);
    expect(peakServerConnections.n).toBeLessThanOrEqual(serverConnections);

    // Each request id's event carries exactly its own client's context.
    const events = await t.db<{ request_id: string; actor: string; tenant: string; reason: string; correlation_id: string; db_user: string; deployment_id: string }[]>`
      select request_id, actor, tenant, reason, correlation_id, db_user, deployment_id::text as deployment_id
      from shipslog.deployment_events where request_id like 'pgb-%'
    `;
    expect(events.length).toBe(clients * (changesPerClient + 1));
    const wrong = events.filter((e) => {
      const [, c, n] = (e.request_id.match(/^pgb-(\d+)-(\d+)$/) ?? []).map(Number) as [number, number, number];
      return e.actor !== `client-${c}` || e.tenant !== `pgb-${c % tenants}` || e.correlation_id !== `corr-${c}` || e.deployment_id !== ids[c] ||
        e.reason !== (n === 0 ? `client ${c} creates` : `client ${c} change ${n}`) || e.db_user !== appLogin.name;
    });
    expect(wrong.slice(0, 5)).toEqual([]);
    // Nothing else was changed by the refused cross-tenant PATCHes.
    const [other] = await t.db<{ n: number }[]>`select count(*)::int as n from shipslog.deployments where config->>'replicas' = '2' and id = any(${ids})`;
    expect(other?.n).toBe(0);
    const strangers = await t.db`
      select e.deployment_id, e.actor from shipslog.deployment_events as e
      where e.deployment_id = any(${ids}) and e.actor like 'client-%'
        and e.actor <> 'client-' || array_position(${ids}::uuid[], e.deployment_id) - 1
    `;
    expect(strangers).toEqual([]);

    // The reconciler, through PgBouncer, applied every deployment's last generation.
    const deadline = Date.now() + 60_000;
    let behind = clients;
    while (Date.now() < deadline) {
      const [row] = await t.db<{ n: number }[]>`select count(*)::int as n from shipslog.deployments where id = any(${ids}) and observed_generation < generation`;
      behind = row?.n ?? clients;
      if (behind === 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(behind, `deployments not applied; reconciler: ${JSON.stringify(reconciler.describe())}`).toBe(0);
    console.log(
      `through PgBouncer: ${requests} API requests of ${clients} clients in ${apiSeconds.toFixed(1)} s on at most ${peakServerConnections.n} server connections, ` +
        `${events.length} events each with its own client's context; reconciler converged ${((performance.now() - started) / 1000 - apiSeconds).toFixed(1)} s after the last request, ` +
        `${kubeApi.applies().length} applies`,
    );
    expect(reconciler.describe().listening).toBe(true);
    expect(kubeApi.applies().length).toBeGreaterThanOrEqual(clients);
    expect(await t.db`select * from shipslog.verify_chains()`).toEqual([]);
    expect(bouncer.logs()).not.toMatch(/prepared statement|ERROR/i);
    await reconciler.stop(); // before the next test counts LISTEN sessions
  }, 180_000);

  it('shipslog reconciler with SHIPSLOG_RECONCILER_LISTEN_DATABASE_URL: its pool goes through PgBouncer, its LISTEN straight to PostgreSQL', async () => {
    const config = loadConfig({ LOG_LEVEL: 'silent', SHIPSLOG_RECONCILER_LISTEN_DATABASE_URL: urlFor(t.url, reconcilerLogin) });
    const handle: ReconcilerHandle = await startReconciler(config, viaBouncer(reconcilerLogin), null, createLog('silent'));
    closers.push(handle.stop);
    const sessions = await t.db<{ application_name: string; query: string }[]>`
      select application_name, query from pg_stat_activity
      where usename = ${reconcilerLogin.name} and query ilike 'listen%'
    `;
    expect(sessions.map((s) => s.application_name)).toEqual(['shipslog reconciler listen']);
    expect(handle.reconciler.describe().listening).toBe(true);
    await handle.stop();
  }, 60_000);
});
