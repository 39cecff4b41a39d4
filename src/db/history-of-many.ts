import type { Queryable } from './client.ts';
import { readablePage, type HistoryEntry } from './readable-events.ts';

// Readable history of several deployments at once: a name's incarnations, a list page's rows.

/** Every incarnation of tenant/name (removed ones included), newest first, via shipslog.history's lookup. */
export async function historyIdsByName(db: Queryable, tenant: string, name: string): Promise<string[]> {
  const rows = await db<{ id: string }[]>`
    select c.deployment_id as id
    from shipslog.deployment_events as c
    where c.tenant = ${tenant}
      and c.name = ${name}
      and c.action = 'created'
    union
    select d.id
    from shipslog.deployments as d
    where d.tenant = ${tenant}
      and d.name = ${name}
  `;
  return rows.map((r) => r.id);
}

/** Each deployment's newest `n` events by chain index (a backward scan of (deployment_id, chain_index) per id), as rows p(e, occurred_at, seq). */
const newestOfEach = (db: Queryable, ids: string[], n: number) => db`
  unnest(${ids}::uuid[]) as i(id)
    cross join lateral (
      select e, e.occurred_at, e.seq
      from shipslog.deployment_events as e
      where e.deployment_id = i.id
      order by e.chain_index desc
      limit ${n}
    ) as p
`;

/**
 * The newest `limit` events of these deployments (the incarnations of one name), newest first:
 * each one's newest `limit` by chain index, then the newest `limit` of those by time, as psql's
 * shipslog.history() finds them. Ordering all of their events by time instead sorted every
 * event of the name: 13 ms of server CPU for a deployment with 10,000 events against 1.5 ms
 * (PostgreSQL 15, BENCHMARKS.md). Where a clock stepped back within a chain, its newest events
 * are those written last.
 */
export async function historyOfMany(db: Queryable, ids: string[], limit: number): Promise<HistoryEntry[]> {
  return readablePage(
    db,
    db`select p.e from ${newestOfEach(db, ids, limit)} order by p.occurred_at desc, p.seq desc limit ${limit}`,
    db`e.occurred_at desc, e.seq desc`,
  );
}

/**
 * Each deployment's newest event, readable, by deployment id (none for an id without events
 * this reader may see): one query. A list page asking once per deployment paid for planning
 * each of those queries: 30 ms of server CPU for 50 deployments (PostgreSQL 15) against 1.7 ms
 * like this.
 */
export async function latestOfEach(db: Queryable, ids: string[]): Promise<Map<string, HistoryEntry>> {
  if (ids.length === 0) return new Map();
  const entries = await readablePage(db, db`select p.e from ${newestOfEach(db, ids, 1)}`, db`e.seq`);
  return new Map(entries.map((e) => [e.deployment_id, e]));
}
