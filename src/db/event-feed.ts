import type { Queryable } from './client.ts';
import { rawEventColumn, type RawEvent } from './events.ts';

/** A page of the feed and the cursor to poll with next. */
export interface FeedPage {
  events: RawEvent[];
  next: [string, number];
}

/**
 * The commit-ordered tail. Only events of transactions below the snapshot's xmin: every
 * one of those has finished, so no event can later appear behind the cursor. Ordered by
 * (txid, seq), not seq alone: a transaction with a lower txid can take a higher seq and
 * commit first, and a seq cursor would then skip the other one's event when it commits.
 *
 * A page that is not full has handed out every event this reader may see below the
 * snapshot's xmin, so the next cursor is (xmin, 0), not its last event: a reader that sees
 * only some events (a tenant's key under row-level security) then does not read again, on
 * every poll, each newer event of other tenants it skipped. xmin and the rows come from one
 * statement, so from one snapshot (a later statement's xmin could pass an event this one did
 * not yet see).
 *
 * `tenant`: only that tenant's events, found through the (tenant, txid, seq) index (migration
 * 0037). Row-level security decides what a reader sees either way; its predicate cannot use an
 * index, so without the condition a tenant's poll reads every other tenant's events between
 * its cursor and its own next one. The condition is `= any(array)` and the order starts with
 * tenant so that only that index gives the order: with `e.tenant = $1` the tenant would be a
 * constant to the planner, dropped from the order, and for a tenant holding a large share of
 * all events it would rather walk the (txid, seq) index and skip other tenants' events, which
 * is cheap only while their events are spread evenly, not behind a long run of them.
 */
export async function feed(db: Queryable, after: [string, number], limit: number, tenant?: string): Promise<FeedPage> {
  const rows = await db<{ xmin: string; event: RawEvent | null }[]>`
    select s.xmin::text as xmin, p.event
    from (select pg_snapshot_xmin(pg_current_snapshot()) as xmin) as s
      left join lateral (
        select ${rawEventColumn(db)}, e.txid, e.seq
        from shipslog.deployment_events as e
        where (e.txid, e.seq) > (${after[0]}::xid8, ${after[1]})
          and e.txid < s.xmin
          ${tenant ? db`and e.tenant = any(${[tenant]}::text[])` : db``}
        order by ${tenant ? db`e.tenant, ` : db``}e.txid, e.seq
        limit ${limit}
      ) as p on true
    order by p.txid, p.seq
  `;
  const events = rows.flatMap((r) => (r.event ? [r.event] : []));
  const last = events.at(-1);
  if (events.length === limit && last) return { events, next: [String(last.txid), last.seq] };
  const caughtUp: [string, number] = [rows[0]!.xmin, 0];
  return { events, next: compareFeedCursors(caughtUp, after) > 0 ? caughtUp : after };
}

/** Orders two (txid, seq) cursors; txids are xid8, compared as integers. */
function compareFeedCursors(a: [string, number], b: [string, number]): number {
  const [ta, tb] = [BigInt(a[0]), BigInt(b[0])];
  return ta === tb ? a[1] - b[1] : ta < tb ? -1 : 1;
}
