import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createApiKey } from '../../src/db/api-keys.ts';
import type { Queryable } from '../../src/db/client.ts';
import { feed } from '../../src/db/event-feed.ts';
import { queryEvents } from '../../src/db/events.ts';
import { createLog } from '../../src/log.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

// A tenant key's listings when another tenant has many rows: row-level security's predicate
// cannot use an index, so each page must be found through the key's tenant stated as a
// condition of its own, not by reading and discarding the other tenant's rows.
// - GET /v1/events, newest first, behind another tenant's newer events: the (tenant,
//   occurred_at) index (migration 0036), also for a tenant with a large share of all events.
// - GET /v1/deployments (and the UI's list), by (tenant, name), behind a tenant whose name
//   sorts first: a range of the (tenant, name) key.
// - GET /v1/approvals, newest first in a state, behind another tenant's newer requests: a
//   range of the (tenant, state, requested_at) index.
// - GET /v1/events/feed from 0:0, behind other tenants' older events: the (tenant, txid, seq)
//   index (migration 0037).
// Counted in heap tuples the page's query fetches (pg_stat_xact_user_tables), which machine
// load does not change.

const busyEvents = 1_500;
const manyDeployments = 1_500;
const busyApprovals = 1_500;
let t: TestDatabase;
let quietKey: string;
let globalKey: string;
let busyAuditKey: string;
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
    -- Tenant 'a-lot' sorts before 'quiet': ${manyDeployments} deployments.
    insert into shipslog.deployments (tenant, name, recipe, app_version, config)
    select 'a-lot', 'app-' || g, 'redis', '7', '{}' from generate_series(1, ${manyDeployments}) as g;
    do $$
    begin
      for i in 1..${busyEvents / 30 - 1} loop
        update shipslog.deployments set config = jsonb_build_object('n', i) where tenant = 'busy';
      end loop;
    end
    $$;
    -- Approved requests: quiet's 10, older than busy's ${busyApprovals}.
    insert into shipslog.approval_requests (tenant, deployment_id, name, environment, generation, required_approvals,
                                            requested_by, requested_at, expires_at, state, closed_at, requested_seq)
    select t.tenant, gen_random_uuid(), 'app', 'prod', g, 1, 'bot', t.since + g * interval '1 second',
           now() + interval '1 day', 'approved', now(), g
    from (values ('quiet', 10, now() - interval '2 days'), ('busy', ${busyApprovals}, now() - interval '1 day')) as t(tenant, n, since)
    cross join lateral generate_series(1, t.n) as g;
    analyze shipslog.deployment_events;
    analyze shipslog.deployments;
    analyze shipslog.approval_requests;
  `); // fixed test SQL
  quietKey = (await createApiKey(t.db, { name: 'quiet-bot', tenant: 'quiet', scopes: ['read'] })).key;
  globalKey = (await createApiKey(t.db, { name: 'root', tenant: null, scopes: ['read'] })).key;
  busyAuditKey = (await createApiKey(t.db, { name: 'busy-auditor', tenant: 'busy', scopes: ['audit'] })).key;
  // The API on a pool that records every query it sends, to run each page's own query again below.
  pool = postgres(t.url, { max: 2, onnotice: () => {}, debug: (_connection, query, params) => sent.push({ query, params: [...params] }) });
  const config = loadConfig({ DATABASE_URL: t.url, LOG_LEVEL: 'silent' });
  app = createApp({ db: pool, config, log: createLog('silent'), fingerprintKey: Buffer.alloc(32, 7) });
});

afterAll(async () => {
  await pool?.end({ timeout: 5 });
  await t?.drop();
});

/**
 * Heap tuples of `table` (its partitions, if any) that `read` fetches, run as the API's role with
 * `tenant` set; with `plans` 'generic', on generic plans, as the API runs the events listing
 * and the feed (genericPlanFits).
 */
async function tuplesFetched(
  tenant: string,
  read: (tx: Queryable) => Promise<unknown>,
  table = 'shipslog.deployment_events',
  plans: 'custom' | 'generic' = 'custom',
): Promise<number> {
  return t.db.begin(async (tx) => {
    await tx`select set_config('role', 'shipslog_app', true), set_config('shipslog.tenant', ${tenant}, true)`;
    if (plans === 'generic') await tx`select set_config('plan_cache_mode', 'force_generic_plan', true)`;
    const count = async () => {
      const [row] = await tx<{ n: number }[]>`
        select coalesce(sum(s.seq_tup_read + coalesce(s.idx_tup_fetch, 0)), 0)::int as n
        from pg_stat_xact_user_tables as s
        where s.relid = ${table}::regclass
           or s.relid in (select relid from pg_partition_tree(${table}::regclass))`;
      return row!.n;
    };
    const before = await count();
    await read(tx);
    return (await count()) - before;
  });
}

/** The page query the API sent for `path` with `key` (the one matching `pattern`), and the items it answered. */
async function apiPageQuery(key: string, path: string, pattern: RegExp): Promise<{ query: string; params: unknown[]; items: { tenant: string }[] }> {
  sent.length = 0;
  const res = await app.request(path, { headers: { authorization: `Bearer ${key}` } });
  expect(res.status).toBe(200);
  // A listing's rows are its items; the feed's, its events.
  const body = (await res.json()) as { items?: { tenant: string }[]; events?: { tenant: string }[] };
  const items = body.items ?? body.events ?? [];
  const page = sent.filter((s) => pattern.test(s.query));
  expect(page.length).toBeGreaterThan(0);
  return { ...page[0]!, items };
}

const eventsPage = /from shipslog\.deployment_events as e[\s\S]*order by (e\.tenant desc, )?e\.occurred_at desc/;
const apiEventsQuery = (key: string, path: string) => apiPageQuery(key, path, eventsPage);

/** A tenant key's /v1/events page holds only its tenant's events and its query fetches about a page. */
async function expectOwnEventsPages(key: string, tenant: string): Promise<void> {
  // Several times: after five runs the server may plan the prepared statement generically.
  for (let i = 0; i < 7; i++) {
    const { query, params, items } = await apiEventsQuery(key, '/v1/events?limit=50');
    expect(items).toHaveLength(50);
    expect(items.every((e) => e.tenant === tenant)).toBe(true);
    for (const plans of ['custom', 'generic'] as const) {
      const fetched = await tuplesFetched(tenant, (tx) => tx.unsafe(query, params as never[]), undefined, plans);
      expect(fetched, `run ${i + 1}, ${plans} plan`).toBeLessThan(200);
    }
  }
}

describe("a tenant key's events page behind another tenant's newer events", () => {
  it('the API states the key tenant: its page query fetches about a page of events, not the other tenant\'s', async () => {
    await expectOwnEventsPages(quietKey, 'quiet');
  });

  it('also for a tenant holding half of all events, whose newest are behind a run of the other tenant\'s', async () => {
    // a-lot's 1,500 events are older than busy's 1,470 updates. With `tenant = $1` the planner,
    // expecting every other event to be a-lot's, walked the occurred_at index through busy's.
    const { key } = await createApiKey(t.db, { name: 'a-lot-bot', tenant: 'a-lot', scopes: ['read'] });
    await expectOwnEventsPages(key, 'a-lot');
  });

  it('the same for a global key asking for one tenant', async () => {
    const { query, params, items } = await apiEventsQuery(globalKey, '/v1/events?tenant=quiet&limit=50');
    expect(items).toHaveLength(50);
    for (const plans of ['custom', 'generic'] as const) {
      expect(await tuplesFetched('*', (tx) => tx.unsafe(query, params as never[]), undefined, plans), `${plans} plan`).toBeLessThan(200);
    }
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

describe("a tenant key's deployment list behind a tenant whose name sorts first", () => {
  const listPage = /from shipslog\.deployments[\s\S]*order by tenant, name/;

  it('the API states the key tenant: its list query fetches its own rows, not the other tenant\'s', async () => {
    for (let i = 0; i < 7; i++) {
      const { query, params, items } = await apiPageQuery(quietKey, '/v1/deployments?limit=50', listPage);
      expect(items.map((d) => d.tenant)).toEqual(['quiet']);
      const fetched = await tuplesFetched('quiet', (tx) => tx.unsafe(query, params as never[]), 'shipslog.deployments');
      expect(fetched, `run ${i + 1}`).toBeLessThan(50);
    }
  });

  it("row-level security alone reads the other tenant's rows first (what the condition avoids)", async () => {
    const { query, params } = await apiPageQuery(globalKey, '/v1/deployments?limit=50', listPage);
    expect(await tuplesFetched('quiet', (tx) => tx.unsafe(query, params as never[]), 'shipslog.deployments')).toBeGreaterThan(manyDeployments);
  });
});

describe("a tenant key's approval requests behind another tenant's newer ones", () => {
  const approvalsPage = /from shipslog\.approval_requests as r[\s\S]*order by r\.requested_at desc/;

  it('the API states the key tenant: its query fetches its own requests, not the other tenant\'s', async () => {
    for (let i = 0; i < 7; i++) {
      const { query, params, items } = await apiPageQuery(quietKey, '/v1/approvals?state=approved', approvalsPage);
      expect(items).toHaveLength(10);
      expect(items.every((r) => r.tenant === 'quiet')).toBe(true);
      const fetched = await tuplesFetched('quiet', (tx) => tx.unsafe(query, params as never[]), 'shipslog.approval_requests');
      expect(fetched, `run ${i + 1}`).toBeLessThan(50);
    }
  });

  it("row-level security alone reads the other tenant's requests (what the condition avoids)", async () => {
    const { query, params, items } = await apiPageQuery(globalKey, '/v1/approvals?state=approved', approvalsPage);
    expect(items).toHaveLength(200);
    const fetched = await tuplesFetched('quiet', (tx) => tx.unsafe(query, params as never[]), 'shipslog.approval_requests');
    expect(fetched).toBeGreaterThan(busyApprovals);
  });
});

describe("a tenant key's feed from the start, behind other tenants' older events", () => {
  // busy's 30 created events follow quiet's 60 events; then come a-lot's 1,500, then busy's changes.
  const feedPage = /pg_snapshot_xmin\(pg_current_snapshot\(\)\)/;

  it('the API states the key tenant: its feed query fetches about a page, not the events in between', async () => {
    for (let i = 0; i < 7; i++) {
      const { query, params, items } = await apiPageQuery(busyAuditKey, '/v1/events/feed?after=0:0&limit=100', feedPage);
      expect(items).toHaveLength(100);
      expect(items.every((e) => e.tenant === 'busy')).toBe(true);
      for (const plans of ['custom', 'generic'] as const) {
        const fetched = await tuplesFetched('busy', (tx) => tx.unsafe(query, params as never[]), undefined, plans);
        expect(fetched, `run ${i + 1}, ${plans} plan`).toBeLessThan(200);
      }
    }
  });

  it('row-level security alone reads every other tenant\'s event before the page (what the condition avoids)', async () => {
    const fetched = await tuplesFetched('busy', async (tx) => {
      const page = await feed(tx, ['0', 0], 100);
      expect(page.events.every((e) => e.tenant === 'busy')).toBe(true);
    });
    expect(fetched).toBeGreaterThan(manyDeployments);
  });
});
