import { relativeTime, summaryOf } from '../audit/readable.ts';
import type postgres from 'postgres';
import type { Queryable } from './client.ts';

/** One history entry as a person (or an agent) reads it. */
export interface HistoryEntry {
  seq: number;
  deployment_id: string;
  chain_index: number;
  tenant: string;
  name: string;
  action: string;
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

/** The stored event (shipslog.event_payload, the exact hashed bytes' JSON) plus its hash. */
export type RawEvent = Record<string, unknown> & { seq: number; hash: string };

// Readable changes: one line per changed path, from the change list derived once per row in
// the lateral `x`. The lines are shipslog.describe_change / describe_value written inline:
// those functions carry `set search_path`, which keeps the planner from inlining them, and
// three calls per change (~20 us each under load) made a 50-event page cost ~7 ms. `when`
// and the one-line summary are made in TypeScript (src/audit/readable.ts).
// test/api/readable.test.ts holds all of it equal to the SQL functions psql users call.
const describeValue = (db: Queryable, value: postgres.PendingQuery<postgres.Row[]>) => db`
  case
    when ${value} is null or ${value} = 'null'::jsonb then 'none'
    when jsonb_typeof(${value}) = 'string' then left(${value} #>> '{}', 80)
    when jsonb_typeof(${value}) = 'array' and pg_column_size(${value}) > 80 then jsonb_array_length(${value}) || ' items'
    else left((${value})::text, 80)
  end
`;

const readable = (db: Queryable) => db`
  e.seq::float8 as seq, e.deployment_id, e.chain_index, e.tenant, e.name, e.action,
  shipslog.iso_utc(e.occurred_at) as at,
  extract(epoch from now() - e.occurred_at)::float8 as age_seconds,
  e.actor, e.actor_type, e.reason,
  case
    when e.action in ('created', 'removed')
      then shipslog.describe_event(e.action, '[]'::jsonb, e.previous_state, e.new_state)
  end as whole,
  array(
    select case c.item ->> 'path'
      when 'secrets_fingerprint' then 'secrets rotated'
      when 'app_version' then 'upgraded ' || v.from_text || ' -> ' || v.to_text
      when 'managed_resources' then 'resources: '
        || coalesce(jsonb_array_length(c.item -> 'from'), 0) || ' -> '
        || coalesce(jsonb_array_length(c.item -> 'to'), 0) || ' objects'
      else regexp_replace(c.item ->> 'path', '^config\.', '') || ': ' || v.from_text || ' -> ' || v.to_text
    end
    from jsonb_array_elements(x.changes) with ordinality as c(item, ord)
    cross join lateral (
      select ${describeValue(db, db`c.item -> 'from'`)} as from_text, ${describeValue(db, db`c.item -> 'to'`)} as to_text
    ) as v
    order by c.ord
  ) as changes,
  e.correlation_id, e.request_id
`;

/** FROM clause for readable(): the event and its change list. */
const readableFrom = (db: Queryable) => db`
  shipslog.deployment_events as e
  cross join lateral (
    select shipslog.event_changes(e.previous_state, e.new_state) as changes
  ) as x
`;

interface ReadableRow extends Omit<HistoryEntry, 'when' | 'summary'> {
  age_seconds: number;
  whole: string | null;
}

function toEntry(r: ReadableRow): HistoryEntry {
  const { age_seconds, whole, ...rest } = r;
  const summary = summaryOf(r.action, r.changes, whole);
  return { ...rest, when: relativeTime(age_seconds), summary, changes: r.changes.length > 0 ? r.changes : [summary] };
}

const raw = (db: Queryable) => db`
  shipslog.event_payload(e) || jsonb_build_object('hash', encode(e.hash, 'hex')) as event
`;

export interface HistoryFilter {
  deploymentId: string;
  since?: Date | undefined;
  until?: Date | undefined;
  actions?: string[] | undefined;
  actor?: string | undefined;
  /** Keyset: entries with chain_index below this (newest first). */
  before?: number | undefined;
  limit: number;
}

/** One deployment's events, newest first: a backward scan of (deployment_id, chain_index). */
export async function deploymentHistory(db: Queryable, f: HistoryFilter, format: 'readable' | 'raw'): Promise<(HistoryEntry | RawEvent)[]> {
  const rows = await db<{ event?: RawEvent }[]>`
    select ${format === 'raw' ? raw(db) : readable(db)}
    from ${format === 'raw' ? db`shipslog.deployment_events as e` : readableFrom(db)}
    where e.deployment_id = ${f.deploymentId}
      ${f.before !== undefined ? db`and e.chain_index < ${f.before}` : db``}
      ${f.since ? db`and e.occurred_at >= ${f.since}` : db``}
      ${f.until ? db`and e.occurred_at < ${f.until}` : db``}
      ${f.actions ? db`and e.action = any(${f.actions}::text[])` : db``}
      ${f.actor ? db`and e.actor = ${f.actor}` : db``}
    order by e.chain_index desc
    limit ${f.limit}
  `;
  return rows.map((r) => (format === 'raw' ? (r.event as RawEvent) : toEntry(r as unknown as ReadableRow)));
}

export async function hasHistory(db: Queryable, deploymentId: string): Promise<boolean> {
  const rows = await db`select 1 from shipslog.deployment_events where deployment_id = ${deploymentId} limit 1`;
  return rows.length > 0;
}

export interface EventFilter {
  deploymentId?: string | undefined;
  tenant?: string | undefined;
  name?: string | undefined;
  actions?: string[] | undefined;
  actor?: string | undefined;
  environment?: string | undefined;
  /** new_state.status of a status change, e.g. failed. */
  status?: string | undefined;
  since?: Date | undefined;
  until?: Date | undefined;
  /** Keyset: (occurred_at, seq) below this pair (newest first). */
  before?: [string, number] | undefined;
  limit: number;
}

/** Events across deployments, newest first, every filter combinable. */
export async function queryEvents(db: Queryable, f: EventFilter): Promise<HistoryEntry[]> {
  const rows = await db<ReadableRow[]>`
    select ${readable(db)}
    from ${readableFrom(db)}
    where true
      ${f.deploymentId ? db`and e.deployment_id = ${f.deploymentId}` : db``}
      ${f.tenant ? db`and e.tenant = ${f.tenant}` : db``}
      ${f.name ? db`and e.name = ${f.name}` : db``}
      ${f.actions ? db`and e.action = any(${f.actions}::text[])` : db``}
      ${f.actor ? db`and e.actor = ${f.actor}` : db``}
      ${f.status ? db`and e.new_state ->> 'status' = ${f.status}` : db``}
      ${f.since ? db`and e.occurred_at >= ${f.since}` : db``}
      ${f.until ? db`and e.occurred_at < ${f.until}` : db``}
      ${f.before ? db`and (e.occurred_at, e.seq) < (${f.before[0]}::timestamptz, ${f.before[1]})` : db``}
      ${f.environment ? db`and shipslog.event_environment(e.deployment_id, e.chain_index) = ${f.environment}` : db``}
    order by e.occurred_at desc, e.seq desc
    limit ${f.limit}
  `;
  return rows.map(toEntry);
}

/**
 * The commit-ordered tail. Only events of transactions below the snapshot's xmin: every
 * one of those has finished, so no event can later appear behind the cursor. Ordered by
 * (txid, seq), not seq alone: a transaction with a lower txid can take a higher seq and
 * commit first, and a seq cursor would then skip the other one's event when it commits.
 */
export async function feed(db: Queryable, after: [string, number], limit: number): Promise<RawEvent[]> {
  const rows = await db<{ event: RawEvent }[]>`
    select ${raw(db)}
    from shipslog.deployment_events as e
    where (e.txid, e.seq) > (${after[0]}::xid8, ${after[1]})
      and e.txid < pg_snapshot_xmin(pg_current_snapshot())
    order by e.txid, e.seq
    limit ${limit}
  `;
  return rows.map((r) => r.event);
}

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

export async function historyOfMany(db: Queryable, ids: string[], limit: number): Promise<HistoryEntry[]> {
  const rows = await db<ReadableRow[]>`
    select ${readable(db)}
    from ${readableFrom(db)}
    where e.deployment_id = any(${ids}::uuid[])
    order by e.occurred_at desc, e.seq desc
    limit ${limit}
  `;
  return rows.map(toEntry);
}
