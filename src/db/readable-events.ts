import type postgres from 'postgres';
import type { Queryable } from './client.ts';
import type { EventAction, EventCategory, EventSeverity } from './events.ts';

/** One history entry as a person (or an agent) reads it. */
export interface HistoryEntry {
  seq: number;
  deployment_id: string;
  chain_index: number;
  tenant: string;
  name: string;
  action: EventAction;
  at: string;
  when: string;
  actor: string;
  actor_type: string;
  reason: string | null;
  summary: string;
  changes: string[];
  correlation_id: string | null;
  request_id: string | null;
  category: EventCategory;
  severity: EventSeverity;
  /** The details of an event that is not a row change (gate, evidence URL, approval, run...); else null. */
  details: Record<string, unknown> | null;
}

type Fragment = postgres.PendingQuery<postgres.Row[]>;

/**
 * `page` selects rows of shipslog.deployment_events whole (`select e from ... as e`, a
 * complete query with its where, order and limit); `order` is the same order over the
 * rendered rows (alias e).
 * The rendering is shipslog.readable_events (sql/audit/60_history.sql), the one
 * implementation of readable history, which psql's shipslog.history() uses too.
 */
export async function readablePage(db: Queryable, page: Fragment, order: Fragment): Promise<HistoryEntry[]> {
  // The keys in the order the API has always sent them.
  const rows = await db<HistoryEntry[]>`
    select
      e.seq::float8 as seq, e.deployment_id, e.chain_index, e.tenant, e.name, e.action,
      shipslog.iso_utc(e.occurred_at) as at,
      e.actor, e.actor_type, e.reason, e.changes, e.correlation_id, e.request_id,
      e."when", e.summary, e.category, e.severity, e.details
    from shipslog.readable_events(array(
      ${page}
    )) as e
    order by ${order}
  `;
  return [...rows];
}
