import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createApiKey } from '../../src/db/api-keys.ts';
import type { Queryable } from '../../src/db/client.ts';
import { queryEvents } from '../../src/db/events.ts';
import { createLog } from '../../src/log.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

// GET /v1/events with a tenant's key, newest first, when another tenant wrote many newer
// events: row-level security's predicate cannot use an index, so the page must be found
// through the key's tenant stated as a condition of its own and the (tenant, occurred_at)
// index (migration 0036), not by reading and discarding every newer event of the other
// tenant. Counted in heap tuples the page's query fetches (pg_stat_xact_user_tables), which
// machine load does not change.

const busyEvents = 1_500;
let t: TestDatabase;
let quietKey: string;
let globalKey: string;
let pool: postgres.Sql;
const sent: { query: string; params: unknown[] }[] = [];
let app: ReturnType<typeof createApp>;

beforeAll(async () => {
  t = await createTestDatabase();
  // Tenant quiet: 60 events, all older than busy's.
  await t.db.unsafe(`
    insert into shipslog.deployments (tenant, name, recipe, app_version, config)
    values ('quiet', 'orders-db', 'postgresql', '16', '{"storage": "8Gi"}');
    do $$
    begin
      for i in 1..59 loop
        update shipslog.deployments set config = jsonb_build_object('storage', i || 'Gi') where tenant = 'quiet';
      end loop;
    end
    $$;
    insert into shipslog.deployments (tenant, name, recipe, app_version, config)
    select 'busy', 'cache-' || g, 'redis', '7', '{}' from generate_series(1, 30) as g;
    do $$
    begin
      for i in 1..${busyEvents / 30 - 1} loop
        update shipslog.deployments set config = jsonb_build_object('n', i) where tenant = 'busy';
      end loop;
    end
    $$;
    analyze shipslog.deployment_events;
  `); // fixed test SQL
  quietKey = (await createApiKey(t.db, { name: 'quiet-bot', tenant: 'quiet', scopes: ['read'] })).key;
  globalKey = (await createApiKey(t.db, { name: 'root', tenant: null, scopes: ['read'] })).key;
  // The API on a pool that records every query it sends, to run the events page's own query again below.
  pool = postgres(t.url, { max: 2, onnotice: () => {}, debug: (_connection, query, params) => sent.push({ query, params: [...params] }) });
  const config = loadConfig({ DATABASE_URL: t.url, LOG_LEVEL: 'silent' });
  app = createApp({ db: pool, config, log: createLog('silent'), fingerprintKey: Buffer.alloc(32, 7) });
});

afterAll(async () => {
  await pool?.end({ timeout: 5 });
  await t?.drop();
});

/** Heap tuples of deployment_events that `read` fetches, run as the API's role with `tenant` set. */
async function tuplesFetched(tenant: string, read: (tx: Queryable) => Promise<unknown>): Promise<number> {
  return t.db.begin(async (tx) => {
    await tx`select set_config('role', 'shipslog_app', true), set_config('shipslog.tenant', ${tenant}, true)`;
    const count = async () => {
      const [row] = await tx<{ n: number }[]>`
        select coalesce(sum(s.seq_tup_read + coalesce(s.idx_tup_fetch, 0)), 0)::int as n
        from pg_stat_xact_user_tables as s
        where s.relid in (select relid from pg_partition_tree('shipslog.deployment_events'))`;
      return row!.n;
    };
    const before = await count();
    await read(tx);
    return (await count()) - before;
  });
}

/** The events page query the API sent for `path` with `key`, and the items it answered. */
async function apiEventsQuery(key: string, path: string): Promise<{ query: string; params: unknown[]; items: { tenant: string }[] }> {
  sent.length = 0;
  const res = await app.request(path, { headers: { authorization: `Bearer ${key}` } });
  expect(res.status).toBe(200);
  const { items } = (await res.json()) as { items: { tenant: string }[] };
  const page = sent.filter((s) => /from shipslog\.deployment_events as e/.test(s.query) && /order by e\.occurred_at desc/.test(s.query));
  expect(page.length).toBeGreaterThan(0);
  return { ...page[0]!, items };
}

describe("a tenant key's events page behind another tenant's newer events", () => {
  it('the API states the key tenant: its page query fetches about a page of events, not the other tenant\'s', async () => {
    // Several times: after five runs the server may plan the prepared statement generically.
    for (let i = 0; i < 7; i++) {
      const { query, params, items } = await apiEventsQuery(quietKey, '/v1/events?limit=50');
      expect(items).toHaveLength(50);
      expect(items.every((e) => e.tenant === 'quiet')).toBe(true);
      const fetched = await tuplesFetched('quiet', (tx) => tx.unsafe(query, params as never[]));
      expect(fetched, `run ${i + 1}`).toBeLessThan(200);
    }
  });

  it('the same for a global key asking for one tenant', async () => {
    const { query, params, items } = await apiEventsQuery(globalKey, '/v1/events?tenant=quiet&limit=50');
    expect(items).toHaveLength(50);
    expect(await tuplesFetched('*', (tx) => tx.unsafe(query, params as never[]))).toBeLessThan(200);
  });

  it('row-level security alone reads every newer event of the other tenant (what the condition avoids)', async () => {
    const page = await t.db.begin(async (tx) => {
      await tx`select set_config('role', 'shipslog_app', true), set_config('shipslog.tenant', 'quiet', true)`;
      return queryEvents(tx, { limit: 50 });
    });
    expect(page).toHaveLength(50);
    expect(await tuplesFetched('quiet', (tx) => queryEvents(tx, { limit: 50 }))).toBeGreaterThan(busyEvents);
  });

  it("a tenant key asking for another tenant gets an empty page, as row-level security would give", async () => {
    const res = await app.request('/v1/events?tenant=busy', { headers: { authorization: `Bearer ${quietKey}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ items: [], next_cursor: null });
    const own = await app.request('/v1/events?tenant=quiet&limit=5', { headers: { authorization: `Bearer ${quietKey}` } });
    expect(((await own.json()) as { items: { tenant: string }[] }).items.map((e) => e.tenant)).toEqual(Array(5).fill('quiet'));
  });
});
