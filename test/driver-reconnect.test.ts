/*
 * The driver (postgres 3.4.9, patched: patches/postgres+3.4.9.patch) after a connection died:
 * no query is resolved with a reply that is not its own, and none fails for what happened to
 * a socket it was never sent on.
 *
 * test/database-faults.test.ts sometimes got a 401 for a valid API key: the key's lookup had
 * resolved with an empty result. Upstream, the queries a connection holds when its socket
 * closes are not all settled, nor its parser's state reset: a query executed between the
 * socket's 'error' and 'close' events (the pool still lists the connection as open) stays the
 * current query, and the ReadyForQuery that ends the next socket's startup resolves it with an
 * empty result. A transaction callback that goes on after its connection closed (sql.begin
 * rejects at once, porsager/postgres#1216) can send a query during the next socket's startup:
 * from then on each query gets the reply of the one before. The old socket's FATAL error fails
 * the next socket's first query, and the rows it had begun to return shift that query's rows.
 * These tests put the driver through each moment with a TCP proxy that the test cuts, for the
 * ESM and the CommonJS copies of the driver; each test fails without the patch.
 */
import { createRequire } from 'node:module';
import net from 'node:net';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startPgProxy, type PgProxy } from './support/pg-proxy.ts';

const drivers: [string, typeof postgres][] = [
  ['ESM', postgres],
  ['CommonJS', createRequire(import.meta.url)('postgres') as typeof postgres],
];

const server = new URL(inject('adminUrl'));
const login = {
  user: decodeURIComponent(server.username),
  pass: decodeURIComponent(server.password),
  database: server.pathname.slice(1) || 'postgres',
  max: 1,
  onnotice: () => {},
  backoff: () => 0.01, // seconds before reconnecting
};

type Outcome = { rows: unknown[]; command: string | null } | { error: string };
const settle = (q: Promise<postgres.RowList<postgres.Row[]>>): Promise<Outcome> =>
  q.then(
    (r) => ({ rows: [...r], command: r.command ?? null }),
    (e: { code?: string; message?: string }) => ({ error: e.code ?? String(e.message) }),
  );
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Waits until ready() holds (a few seconds at most). */
async function until(ready: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !ready(); waited += 5) {
    if (waited > 5000) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

let proxy: PgProxy;
const open: postgres.Sql[] = [];
/** A pool of one connection, through the proxy. (`socket`, a documented option, is not in the driver's types.) */
function connect(driver: typeof postgres, options: { fetch_types?: boolean; socket?: () => net.Socket } = {}): postgres.Sql {
  const sql = driver({ ...login, host: '127.0.0.1', port: proxy.port, ...options } as postgres.Options<Record<string, postgres.PostgresType>>);
  open.push(sql);
  return sql;
}

beforeAll(async () => {
  proxy = await startPgProxy({ host: server.hostname, port: Number(server.port || 5432) });
});

afterAll(async () => {
  await Promise.all(open.map((sql) => sql.end({ timeout: 1 }).catch(() => {})));
  await proxy?.close();
});

describe.each(drivers)('the driver (%s) after its connection died', (_, driver) => {
  it("fails a query sent between the socket's 'error' and 'close', instead of resolving it with the empty reply that ends the next socket's startup", async () => {
    let onSocketError: (() => void) | undefined;
    const sql = connect(driver, {
      // The driver's own socket, to learn when it reports its error: the pool still lists the
      // connection as open until 'close', as it did when the key lookup got its empty result.
      socket: () => {
        const socket = net.connect(proxy.port, '127.0.0.1');
        socket.on('error', () => onSocketError?.());
        return socket;
      },
    });
    expect(await settle(sql`select 1 as one`)).toEqual({ rows: [{ one: 1 }], command: 'SELECT' });

    let victim: Promise<Outcome> | undefined;
    onSocketError = () => {
      onSocketError = undefined;
      queueMicrotask(() => (victim = settle(sql`select 'victim' as v`)));
    };
    proxy.reset();
    await until(() => victim !== undefined, "a query sent after the socket's error");

    // The pool reconnects for the next query; the server is fine.
    expect(await settle(sql`select 'next' as n`)).toEqual({ rows: [{ n: 'next' }], command: 'SELECT' });
    expect(await victim).toEqual({ error: 'CONNECTION_CLOSED' });
  });

  it.each([true, false])(
    'fails the query of a transaction callback that goes on during the next socket\'s startup; every later query gets its own rows (fetch_types %s)',
    async (fetchTypes) => {
      const sql = connect(driver, { fetch_types: fetchTypes });
      expect(await settle(sql`select 1 as one`)).toEqual({ rows: [{ one: 1 }], command: 'SELECT' });

      let inTransaction!: () => void;
      let goOn!: () => void;
      const transactionStarted = new Promise<void>((r) => (inTransaction = r));
      const callbackMayGoOn = new Promise<void>((r) => (goOn = r));
      let stale: Promise<Outcome> | undefined;
      const transaction = sql
        .begin(async (tx) => {
          await tx`select 1`;
          inTransaction();
          await callbackMayGoOn; // e.g. other work, while the connection dies
          stale = settle(tx`select 'stale' as s`);
          return stale;
        })
        .then(() => 'committed', (e: { code?: string }) => e.code);
      await transactionStarted;

      const startupHeld = proxy.holdNextStartup();
      proxy.end();
      expect(await transaction).toBe('CONNECTION_CLOSED');

      // Another query makes the pool reconnect; the server has authenticated the new socket and
      // reads queries, but the driver has not yet read the end of its startup.
      const victim = settle(sql`select 'victim' as v`);
      const endStartup = await startupHeld;
      goOn();
      await until(() => stale !== undefined, "the callback's next query");
      await sleep(100); // let whatever the driver wrote reach the server
      endStartup();

      expect(await victim).toEqual({ rows: [{ v: 'victim' }], command: 'SELECT' });
      expect(await settle(sql`select 'after' as a`)).toEqual({ rows: [{ a: 'after' }], command: 'SELECT' });
      expect(await stale).toEqual({ error: 'CONNECTION_CLOSED' });
    },
  );

  it("fails the queries of a transaction callback that goes on once its connection has another socket: they neither run there nor end another caller's transaction", async () => {
    const sql = connect(driver);
    let inFirst!: () => void;
    let goOn!: () => void;
    const firstStarted = new Promise<void>((r) => (inFirst = r));
    const callbackMayGoOn = new Promise<void>((r) => (goOn = r));
    let stale: Promise<Outcome> | undefined;
    const first = sql
      .begin(async (tx) => {
        await tx`select 1`;
        inFirst();
        await callbackMayGoOn;
        stale = settle(tx`select 'stale' as s`);
        await stale; // then fn ends, and begin() would COMMIT
      })
      .then(() => 'committed', (e: { code?: string }) => e.code);
    await firstStarted;
    proxy.end();
    expect(await first).toBe('CONNECTION_CLOSED');

    // The pool's one connection takes a new socket, for another caller's transaction.
    let inSecond!: () => void;
    let finishSecond!: () => void;
    const secondStarted = new Promise<void>((r) => (inSecond = r));
    const secondMayFinish = new Promise<void>((r) => (finishSecond = r));
    const second = sql.begin(async (tx) => {
      const [before] = await tx<{ id: string }[]>`select txid_current()::text as id`;
      inSecond();
      await secondMayFinish;
      const [after] = await tx<{ id: string }[]>`select txid_current()::text as id`;
      return { before: before!.id, after: after!.id };
    });
    await secondStarted;
    goOn();
    await until(() => stale !== undefined, "the first callback's next query");
    expect(await stale).toEqual({ error: 'CONNECTION_CLOSED' });
    await sleep(50); // the first callback ends
    finishSecond();
    const ids = await second;
    expect(ids.after).toBe(ids.before); // still its own transaction, not committed by the first
  });

  it("does not fail the next socket's first query with the FATAL error of a terminated backend", async () => {
    const sql = connect(driver);
    const admin = connect(driver);
    const [row] = await sql<{ pid: number }[]>`select pg_backend_pid() as pid`;
    const slow = settle(sql`select pg_sleep(30)`);
    for (let waited = 0; ; waited += 20) {
      const [a] = await admin<{ n: number }[]>`select count(*)::int as n from pg_stat_activity where pid = ${row!.pid} and wait_event = 'PgSleep'`;
      if (a!.n > 0) break;
      if (waited > 5000) throw new Error('the slow query never ran');
      await sleep(20);
    }
    await admin`select pg_terminate_backend(${row!.pid})`;
    expect(await slow).toEqual({ error: 'CONNECTION_CLOSED' });

    expect(await settle(sql`select 'next' as n`)).toEqual({ rows: [{ n: 'next' }], command: 'SELECT' });
  });

  it("gives the next socket's first query its rows from the first, after a socket died in the middle of a result", async () => {
    // fetch_types: false, so that this query is the first the new socket runs.
    const sql = connect(driver, { fetch_types: false });
    expect(await settle(sql`select 1 as one`)).toEqual({ rows: [{ one: 1 }], command: 'SELECT' });
    const sent = proxy.bytesToClients();
    // Five 10 kB rows go out at once, then the server waits before the sixth.
    const big = settle(sql`select g, repeat('x', 10000) as pad, pg_sleep(case when g > 5 then 3 else 0 end) from generate_series(1, 10) g`);
    await until(() => proxy.bytesToClients() - sent > 30_000, 'the first rows');
    await sleep(50);
    proxy.end();
    expect(await big).toEqual({ error: 'CONNECTION_CLOSED' });

    expect(await settle(sql`select 'next' as n`)).toEqual({ rows: [{ n: 'next' }], command: 'SELECT' });
  });
});
