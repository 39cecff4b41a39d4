import type postgres from 'postgres';
import type { Queryable } from './client.ts';

type Fragment = postgres.PendingQuery<postgres.Row[]>;

/**
 * Time travel over a deployment's audit chain (sql/audit/65_time_travel.sql): its audited
 * state at a moment and the difference between two of its events, both rebuilt in PostgreSQL
 * by replaying the chain. Errors come from there: SL060 no history (or another tenant's),
 * SL061 a moment before creation, SL062 a chain index outside the chain (COLUMN names it).
 */

/** One event of the chain, as the answers name it. */
export interface EventRef {
  chain_index: number;
  seq: number;
  occurred_at: string;
  action: string;
}

export interface StateAt {
  deployment_id: string;
  tenant: string;
  name: string;
  /** The moment asked for, ISO 8601 UTC (microseconds). */
  at: string;
  /** The last event at or before it: the state is the chain replayed up to here. */
  event: EventRef;
  /** shipslog.audited_state() as it stood; null once the deployment was removed. */
  state: Record<string, unknown> | null;
  head_chain_index: number;
  /** Whether the replay reached the chain's last event. */
  reaches_head: boolean;
  /** When it did: whether the rebuilt state equals the live row and its chain head (null otherwise). */
  matches_current: boolean | null;
}

/**
 * `at` is passed as text so PostgreSQL keeps its microseconds (a Date holds milliseconds).
 * Without one: the database's clock while the statement runs, later than the commit of every
 * event the statement sees, so the replay reaches the chain's head and is checked against the row.
 */
export async function stateAt(db: Queryable, deploymentId: string, at: string | null): Promise<StateAt> {
  const [row] = await db<StateAt[]>`
    with moment as (
      select coalesce(${at}::text::timestamptz, clock_timestamp()) as at
    )
    select
      s.deployment_id,
      s.tenant,
      s.name,
      shipslog.iso_utc(m.at) as at,
      jsonb_build_object(
        'chain_index', s.chain_index,
        'seq', s.seq,
        'occurred_at', shipslog.iso_utc(s.occurred_at),
        'action', s.action) as event,
      s.state,
      s.head_chain_index,
      s.chain_index = s.head_chain_index as reaches_head,
      s.matches_current
    from moment as m
    cross join lateral shipslog.state_at(${deploymentId}, m.at) as s
  `;
  return row!;
}

export interface StateChange {
  /** Dotted path, as history names it: config.tuning.work_mem. */
  path: string;
  /** JSON values; null where the path is absent on that side. */
  from: unknown;
  to: unknown;
  /** The line history prints for it: "tuning.work_mem: 4MB -> 8MB". */
  description: string;
}

export interface StateDiff {
  deployment_id: string;
  from: EventRef;
  to: EventRef;
  changes: StateChange[];
}

/** What differs between the states after events #from and #to (to omitted: the chain's last event). */
export async function stateDiff(db: Queryable, deploymentId: string, from: number, to?: number): Promise<StateDiff> {
  // One statement: the diff (which validates both indexes) and the two events it names.
  const ref = (index: Fragment) => db`
    select jsonb_build_object(
        'chain_index', e.chain_index,
        'seq', e.seq,
        'occurred_at', shipslog.iso_utc(e.occurred_at),
        'action', e.action)
    from shipslog.deployment_events as e
    where e.deployment_id = ${deploymentId}
      and e.chain_index = ${index}
  `;
  const [row] = await db<StateDiff[]>`
    with changes as (
      select coalesce(
          jsonb_agg(
            jsonb_build_object('path', d.path, 'from', d.from_value, 'to', d.to_value, 'description', d.description)
            order by d.ord),
          '[]') as list
      from shipslog.state_diff(${deploymentId}, ${from}, ${to ?? null}) with ordinality as d(path, from_value, to_value, description, ord)
    ),
    ends as (
      select coalesce(${to ?? null}::integer, max(h.chain_index)) as to_index
      from shipslog.deployment_events as h
      where h.deployment_id = ${deploymentId}
    )
    select
      ${deploymentId}::uuid as deployment_id,
      (${ref(db`${from}::integer`)}) as "from",
      (${ref(db`ends.to_index`)}) as "to",
      c.list as changes
    from changes as c, ends
  `;
  return row!;
}
