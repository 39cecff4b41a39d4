import type postgres from 'postgres';
import { relativeTime, summaryOf } from './readable-text.ts';
import type { Queryable } from './client.ts';
import type { EventAction } from './events.ts';

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
}

type Fragment = postgres.PendingQuery<postgres.Row[]>;

/*
 * Renders a page of events as readable lines in ONE set-based query. The SQL helpers psql
 * users call (shipslog.event_changes, describe_change, describe_value) are the same logic,
 * written here inline and over the whole page at once: each of those functions carries
 * `set search_path`, which keeps the planner from inlining it, and calling them per event
 * and per change cost ~7 ms for a 50-event page under load (a recursive walk per event).
 * test/api/readable.test.ts holds this equal to the functions on every kind of event.
 */

// shipslog.describe_value, inline.
const describeValue = (db: Queryable, value: Fragment) => db`
  case
    when ${value} is null or ${value} = 'null'::jsonb then 'none'
    when jsonb_typeof(${value}) = 'string' then left(${value} #>> '{}', 80)
    when jsonb_typeof(${value}) = 'array' and pg_column_size(${value}) > 80 then jsonb_array_length(${value}) || ' items'
    else left((${value})::text, 80)
  end
`;

// shipslog.describe_change over the walk's leaves (path text[], old_value, new_value).
const describeChange = (db: Queryable) => db`
  case array_to_string(w.path, '.')
    when 'secrets_fingerprint' then 'secrets rotated'
    when 'app_version' then case when shipslog.version_order(w.old_value #>> '{}', w.new_value #>> '{}') < 0 then 'downgraded ' else 'upgraded ' end
      || ${describeValue(db, db`w.old_value`)} || ' -> ' || ${describeValue(db, db`w.new_value`)}
    when 'managed_resources' then 'resources: '
      || coalesce(jsonb_array_length(w.old_value), 0) || ' -> '
      || coalesce(jsonb_array_length(w.new_value), 0) || ' objects'
    else regexp_replace(array_to_string(w.path, '.'), '^config\\.', '') || ': '
      || ${describeValue(db, db`w.old_value`)} || ' -> ' || ${describeValue(db, db`w.new_value`)}
  end
`;

// shipslog.event_changes' walk, for every event of the page at once: where both sides hold
// an object it goes deeper; every other differing pair is one change. Created and removed
// events (one side null) have none.
const keysOf = (v: Fragment, db: Queryable) => db`jsonb_object_keys(case when jsonb_typeof(${v}) = 'object' then ${v} else '{}' end)`;

interface ReadableRow extends Omit<HistoryEntry, 'when' | 'summary'> {
  age_seconds: number;
  whole: string | null;
}

/**
 * `page` selects rows of shipslog.deployment_events (as a complete query with its where,
 * order and limit); `order` is the same order over the rendered rows (alias e).
 */
export async function readablePage(db: Queryable, page: Fragment, order: Fragment): Promise<HistoryEntry[]> {
  const rows = await db<ReadableRow[]>`
    with recursive page as materialized (
      ${page}
    ),
    walk (seq, path, old_value, new_value) as (
      select p.seq, array[k.key], p.previous_state -> k.key, p.new_state -> k.key
      from page as p
      cross join lateral (
        select jsonb_object_keys(p.previous_state)
        union
        select jsonb_object_keys(p.new_state)
      ) as k(key)
      where p.previous_state is not null
        and p.new_state is not null
      union all
      select w.seq, w.path || k.key, w.old_value -> k.key, w.new_value -> k.key
      from walk as w
      cross join lateral (
        select ${keysOf(db`w.old_value`, db)}
        union
        select ${keysOf(db`w.new_value`, db)}
      ) as k(key)
      where jsonb_typeof(w.old_value) = 'object'
        and jsonb_typeof(w.new_value) = 'object'
    ),
    lines as (
      select w.seq, array_agg(${describeChange(db)} order by w.path) as changes
      from walk as w
      where not coalesce(jsonb_typeof(w.old_value) = 'object' and jsonb_typeof(w.new_value) = 'object', false)
      group by w.seq
    )
    select
      e.seq::float8 as seq, e.deployment_id, e.chain_index, e.tenant, e.name, e.action,
      shipslog.iso_utc(e.occurred_at) as at,
      extract(epoch from now() - e.occurred_at)::float8 as age_seconds,
      e.actor, e.actor_type, e.reason,
      case
        when e.action in ('created', 'removed')
          then shipslog.describe_event(e.action, '[]'::jsonb, e.previous_state, e.new_state)
      end as whole,
      coalesce(l.changes, '{}') as changes,
      e.correlation_id, e.request_id
    from page as e
    left join lines as l
      on l.seq = e.seq
    order by ${order}
  `;
  return rows.map(toEntry);
}

// `when` and the one-line summary are made here (./readable-text.ts): exact ports of
// shipslog.relative_time and describe_event, cheaper than a call per row.
function toEntry(r: ReadableRow): HistoryEntry {
  const { age_seconds, whole, ...rest } = r;
  const summary = summaryOf(r.action, r.changes, whole);
  return { ...rest, when: relativeTime(age_seconds), summary, changes: r.changes.length > 0 ? r.changes : [summary] };
}
