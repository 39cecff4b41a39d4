import postgres from 'postgres';

export type Db = postgres.Sql;
export type Tx = postgres.TransactionSql;
/** Helpers that run both inside and outside a transaction take this (TransactionSql does not extend Sql). */
export type Queryable = Db | Tx;

/** A pool, which opens transactions of its own, as against a transaction's connection. */
export function isPool(db: Queryable): db is Db {
  return typeof (db as Db).begin === 'function';
}

/**
 * Runs fn in a read-only repeatable-read transaction of the pool that sees the snapshot another
 * transaction exported (`select pg_export_snapshot()`): readers on several connections that
 * must agree with each other (verify's streams, the report's chain check).
 */
export async function inExportedSnapshot<T>(pool: Db, snapshotId: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
  // SET TRANSACTION SNAPSHOT takes a literal, not a parameter; an exported id is hex and dashes.
  if (!/^[0-9A-F-]+$/i.test(snapshotId)) throw new Error(`unexpected snapshot id ${JSON.stringify(snapshotId)}`);
  return (await pool.begin('isolation level repeatable read read only', async (tx) => {
    await tx.unsafe(`set transaction snapshot '${snapshotId}'`);
    return fn(tx);
  })) as T;
}

export interface DbOptions {
  max?: number;
  applicationName?: string;
}

/**
 * A connection attempt (TCP, TLS, authentication) gives up after this many seconds, so a
 * query waiting for a server that does not answer at all fails (CONNECT_TIMEOUT -> 503)
 * instead of holding its request for the driver's default 30 s.
 */
export const connectTimeoutSeconds = 5;

/**
 * Seconds before a pool connection tries again after a failed attempt: 0.05 s doubling to at
 * most 1 s, with jitter. The driver's default grows as 3^n / 100 s up to 20 s, n counting the
 * failed attempts of the whole pool: in a 2.5 s outage under load n passed 7, so connections,
 * and the queries queued on them, waited 10-20 s to try again (requests took up to 18 s to get
 * their 503, and as long to succeed once PostgreSQL was back). With 1 s they fail within about
 * a second while it is away and succeed again within about a second of its return; the cost is
 * one attempt per connection per second at most, and only while queries wait.
 */
export function reconnectDelaySeconds(attempt: number): number {
  return Math.min(0.05 * 2 ** attempt, 1) * (0.5 + Math.random() / 2);
}

/**
 * Whether a URL leads through a transaction pooler (PgBouncer's pool_mode = transaction), as
 * `?prepare=false` on it says (the `postgres` driver's own URL option; README "Behind PgBouncer"). Such
 * a pooler hands each transaction to any of its server connections, so nothing may outlive a
 * transaction on one: no named prepared statement (the driver then sends every query unnamed,
 * parsed and run in one round trip) and no LISTEN (see SHIPSLOG_RECONCILER_LISTEN_DATABASE_URL).
 * shipslog keeps no other session state: every setting is set_config(..., true), every
 * advisory lock is a transaction's (test/pgbouncer.test.ts).
 */
export function throughTransactionPooler(url: string): boolean {
  // Not new URL(): a multi-host URL (h1:5432,h2:5432) is not a WHATWG URL.
  return /[?&]prepare=(false|disable)(&|$)/.test(url);
}

export function createDb(url: string, options: DbOptions = {}): Db {
  return postgres(url, {
    max: options.max ?? 10,
    // The driver reads the URL's prepare=false itself; said here so that no default of ours
    // can ever override it.
    prepare: !throughTransactionPooler(url),
    onnotice: () => {},
    connect_timeout: connectTimeoutSeconds,
    backoff: reconnectDelaySeconds,
    connection: { application_name: options.applicationName ?? 'shipslog' },
  });
}
