import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Queryable } from '../src/db/client.ts';
import { historyIdsByName, historyOfMany, latestOfEach } from '../src/db/history-of-many.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { insertDeployment } from './support/fixtures.ts';

// Readable history of several deployments at once (src/db/history-of-many.ts). The agent's "what
// happened to my PostgreSQL?" (get-app-history, over REST and MCP) reads the newest events of
// every incarnation of a name. It must read about a page of events, not every event of a
// long-lived deployment: a page is each incarnation's newest by chain index. The UI's list of
// deployments shows each one's newest event, all of them from one query.

const oldEvents = 3_000;
const newEvents = 30;
let t: TestDatabase;
let ids: string[];
let otherId: string;

beforeAll(async () => {
  t = await createTestDatabase();
  // An incarnation with a long history, removed, and the name deployed again.
  const first = await insertDeployment(t.db, { tenant: 'acme', name: 'orders-db' });
  await t.db.unsafe(`
    do $$
    begin
      for i in 1..${oldEvents - 2} loop
        update shipslog.deployments set config = jsonb_build_object('storage', i || 'Gi') where id = '${first.id}';
      end loop;
    end
    $$`); // fixed test SQL
  await t.db`delete from shipslog.deployments where id = ${first.id}`;
  const second = await insertDeployment(t.db, { tenant: 'acme', name: 'orders-db' });
  for (let i = 1; i < newEvents; i++) await t.db`update shipslog.deployments set config = ${t.db.json({ storage: `${i}Gi` })} where id = ${second.id}`;
  // As many newer events of another deployment: walking all events newest first to find the
  // name's reads them all, as sorting all of the name's events reads every one of those.
  const other = await insertDeployment(t.db, { tenant: 'other', name: 'cache' });
  otherId = other.id;
  await t.db.unsafe(`
    do $$
    begin
      for i in 1..${oldEvents} loop
        update shipslog.deployments set config = jsonb_build_object('storage', i || 'Gi') where id = '${other.id}';
      end loop;
    end
    $$`); // fixed test SQL
  await t.db`analyze shipslog.deployment_events`;
  ids = await historyIdsByName(t.db, 'acme', 'orders-db');
});

afterAll(async () => {
  await t?.drop();
});

/** Heap tuples of deployment_events (its partitions) that `read` fetches, as shipslog_app of tenant acme. */
async function eventsFetched(read: (tx: Queryable) => Promise<unknown>): Promise<number> {
  return t.db.begin(async (tx) => {
    await tx`select set_config('role', 'shipslog_app', true), set_config('shipslog.tenant', 'acme', true)`;
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

describe("a name's history across incarnations", () => {
  it('is the newest events of all of them by time, the same as ordering every event', async () => {
    expect(ids).toHaveLength(2);
    for (const limit of [1, 10, 50]) {
      const entries = await historyOfMany(t.db, ids, limit);
      const reference = await t.db<{ seq: number }[]>`
        select e.seq::float8 as seq
        from shipslog.deployment_events as e
        where e.deployment_id = any(${ids}::uuid[])
        order by e.occurred_at desc, e.seq desc
        limit ${limit}`;
      expect(entries.map((e) => e.seq)).toEqual(reference.map((r) => r.seq));
    }
    // Across the gap: the second incarnation's 30 events, then the first's newest, its removal first.
    const page = await historyOfMany(t.db, ids, 50);
    expect(page.map((e) => e.action).slice(newEvents - 1, newEvents + 2)).toEqual(['created', 'removed', 'config_changed']);
  });

  it('reads about a page of events, not every event of the long-lived incarnation', async () => {
    const fetched = await eventsFetched((tx) => historyOfMany(tx, ids, 50));
    // At most a page from each incarnation (the newer one has only 30).
    expect(fetched).toBeLessThanOrEqual(50 + newEvents + 2);
    // Ordering every event of the name by time, however planned, reads thousands.
    const sortedAll = await eventsFetched((tx) => tx`
      select e.seq
      from shipslog.deployment_events as e
      where e.deployment_id = any(${ids}::uuid[])
      order by e.occurred_at desc, e.seq desc
      limit 50`);
    expect(sortedAll).toBeGreaterThanOrEqual(oldEvents);
  });
});

describe("each deployment's newest event", () => {
  it('is the event at the end of its chain, for each id this reader may see', async () => {
    const unknown = '00000000-0000-4000-8000-000000000000';
    const all = await latestOfEach(t.db, [...ids, otherId, unknown]);
    const reference = await t.db<{ deployment_id: string; chain_index: number }[]>`
      select deployment_id, max(chain_index)::int as chain_index
      from shipslog.deployment_events
      where deployment_id = any(${[...ids, otherId]}::uuid[])
      group by deployment_id`;
    expect(new Map([...all].map(([id, e]) => [id, e.chain_index]))).toEqual(new Map(reference.map((r) => [r.deployment_id, r.chain_index])));
    expect(all.get(ids.find((id) => all.get(id)?.action === 'removed')!)?.summary).toMatch(/^removed postgresql/);
    expect(all.get(otherId)?.changes).toEqual([`storage: ${oldEvents - 1}Gi -> ${oldEvents}Gi`]);
    // As a tenant's key: another tenant's deployment has no newest event to show.
    const asAcme = await t.db.begin(async (tx) => {
      await tx`select set_config('role', 'shipslog_app', true), set_config('shipslog.tenant', 'acme', true)`;
      return latestOfEach(tx, [...ids, otherId]);
    });
    expect([...asAcme.keys()].sort()).toEqual([...ids].sort());
    expect(await latestOfEach(t.db, [])).toEqual(new Map());
  });
});
