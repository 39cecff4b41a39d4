import type { Queryable } from './client.ts';
import { readablePage, type HistoryEntry, type LinkedHistoryEntry } from './readable-events.ts';

export type { AgentMessageLink, HistoryEntry, LinkedHistoryEntry } from './readable-events.ts';

/** The actions of row changes: the audit trigger (sql/audit/40_audit_trigger.sql) refuses any other. */
export const rowChangeActions = [
  'created', 'config_changed', 'upgraded', 'downgraded', 'secrets_rotated', 'restarted', 'health_changed',
  'status_changed', 'resources_changed', 'removal_requested', 'removed', 'rolled_back',
] as const;

/**
 * The event types that are not row changes, each written by shipslog.append_event() with its
 * required details (sql/audit/05_event_taxonomy.sql, 45_record_event.sql).
 */
export const recordedEventTypes = [
  'deployment_started', 'deployment_completed', 'deployment_failed', 'deployment_cancelled',
  'approval_requested', 'approval_granted', 'approval_denied', 'approval_expired', 'approval_cancelled',
  'gate_started', 'gate_passed', 'gate_failed', 'gate_warned', 'gate_skipped',
  'rollback_started', 'rollback_completed', 'rollback_failed', 'access_denied', 'security_violation',
] as const;

/**
 * `events_purged`: audit retention appends it to shipslog's own system chain
 * (sql/audit/85_retention.sql; tenant `_system`, seen by global keys in the event listings).
 */
export const systemEventTypes = ['events_purged'] as const;

/** Every action an event can have. */
export const eventActions = [...rowChangeActions, ...recordedEventTypes, ...systemEventTypes] as const;
export type EventAction = (typeof eventActions)[number];

/** shipslog.event_category(action): the taxonomy's categories. */
export const eventCategories = [
  'deployment_lifecycle', 'configuration', 'state_change', 'approval_workflow', 'compliance_gate', 'rollback', 'security', 'system',
] as const;
export type EventCategory = (typeof eventCategories)[number];

/** shipslog.event_severity(action, new_state), least to most severe. */
export const eventSeverities = ['info', 'warning', 'error', 'critical'] as const;
export type EventSeverity = (typeof eventSeverities)[number];

/** The stored event (shipslog.event_payload, the exact hashed bytes' JSON) plus its hash. */
export type RawEvent = Record<string, unknown> & { seq: number; chain_index: number; hash: string };

/**
 * A stored event as the API sends it (format=raw, the feed), as column `event` of rows of
 * deployment_events aliased e. category and severity are derived from the hashed action (and
 * state), never stored: a verifier drops them with the hash before it hashes the payload.
 */
export const rawEventColumn = (db: Queryable) => db`
  shipslog.event_payload(e) || jsonb_build_object(
    'hash', encode(e.hash, 'hex'),
    'category', shipslog.event_category(e.action),
    'severity', shipslog.event_severity(e.action, e.new_state)) as event
`;

/** Filters every event query takes: category and severity (derived from the action). */
export interface TaxonomyFilter {
  categories?: string[] | undefined;
  /** This severity or worse. */
  minSeverity?: EventSeverity | undefined;
}

const taxonomyWhere = (db: Queryable, f: TaxonomyFilter) => db`
  ${f.categories ? db`and shipslog.event_category(e.action) = any(${f.categories}::text[])` : db``}
  ${f.minSeverity ? db`and shipslog.severity_rank(shipslog.event_severity(e.action, e.new_state)) >= shipslog.severity_rank(${f.minSeverity})` : db``}
`;

/**
 * The filters whose values a page's best plan does not depend on: with no other filter, a
 * history page, an event listing or a name's history may run on its prepared statement's
 * generic plan (inTenantTx's `genericPlans`). PostgreSQL would otherwise plan it afresh on
 * every request, because its custom plan looks cheaper for a deployment with many events, and
 * planning a query over the monthly partitions and their indexes was a third of such a page's
 * server CPU, and half of a feed poll's over three years of partitions (npm run bench:plans).
 * Any other filter needs the custom plan: a generic plan is made for an average value, and for
 * a rare actor or action it cost 2 to 36 times the custom one's CPU (PostgreSQL 15 and 18). A
 * filter added later is in neither list, so it keeps the custom plan until shown otherwise.
 */
const valueFreeFilters = new Set(['deploymentId', 'tenant', 'before', 'limit']);

export function genericPlanFits(f: HistoryFilter | EventFilter): boolean {
  return Object.entries(f).every(([name, value]) => value === undefined || valueFreeFilters.has(name));
}

export interface HistoryFilter extends TaxonomyFilter {
  deploymentId: string;
  since?: Date | undefined;
  until?: Date | undefined;
  actions?: string[] | undefined;
  actor?: string | undefined;
  /** Keyset: entries with chain_index below this (newest first). */
  before?: number | undefined;
  limit: number;
}

/**
 * How far a clock may step back between two events of one deployment. deployment_events is
 * partitioned by month of occurred_at, and a page of history is first looked for in the newest
 * months only (below); that answer is exact as long as no event of a deployment is older than
 * the one before it in its chain by more than this.
 */
export const clockStepBackMs = 24 * 3600 * 1000;

/**
 * The windows a page of events is looked for in first, in months before the anchor's (now, or
 * the page's upper time bound): that month, the last 3, the last 12; then everywhere. A query
 * over the whole table plans and locks every monthly partition and its index each time
 * (PostgreSQL locks every partition a cached plan holds): with 3 years of months that cost a
 * 50-event page 1.3 ms (PostgreSQL 15, BENCHMARKS.md). A window's first day is written into
 * the query text, so that planning leaves the older partitions out.
 */
const monthWindows = [0, 2, 11];

/** The first day of each window of monthWindows before `anchor`, newest first. */
function windowStarts(anchor: Date): Date[] {
  const starts: Date[] = [];
  for (const monthsBack of monthWindows) {
    // setUTCFullYear, not Date.UTC, which reads years 0-99 as 1900-1999.
    const from = new Date(0);
    from.setUTCFullYear(anchor.getUTCFullYear(), anchor.getUTCMonth() - monthsBack, 1);
    if (from.getUTCFullYear() < 1) break; // PostgreSQL has no year 0 in ISO form; the whole table then
    starts.push(from);
  }
  return starts;
}

/**
 * A page looked for in the newest months first: the windows of monthWindows taken apart (the
 * anchor's month, the two before it, the nine before those, then everything older), each
 * fetched as a piece between its first day and the next newer window's (`below`), added to
 * what was found with `add`, and the result returned as soon as `complete` says that the
 * events since the window's first day hold the page. What was found after window k is then
 * what one query over everything since that window's first day would have given, yet a filter
 * that few events match reads each month once, not once per window reaching back to it.
 */
async function newestMonthsFirst<T>(
  anchor: Date,
  fetch: (from: Date | undefined, below: Date | undefined, found: T[]) => Promise<T[]>,
  add: (found: T[], piece: T[]) => T[],
  complete: (page: T[], from: Date) => Promise<boolean>,
): Promise<T[]> {
  let found: T[] = [];
  let below: Date | undefined;
  for (const from of windowStarts(anchor)) {
    found = add(found, await fetch(from, below, found));
    if (await complete(found, from)) return found;
    below = from;
  }
  return add(found, await fetch(undefined, below, found));
}

/** A window's bounds, `and e.occurred_at >= <from> and e.occurred_at < <below>`, as literals (toISOString's output only), so that planning prunes. */
const windowBounds = (db: Queryable, from: Date | undefined, below: Date | undefined) => {
  const at = (d: Date) => db.unsafe(`'${d.toISOString()}'::timestamptz`);
  return db`${from ? db`and e.occurred_at >= ${at(from)}` : db``} ${below ? db`and e.occurred_at < ${at(below)}` : db``}`;
};

/**
 * One deployment's events, newest first: a backward scan of (deployment_id, chain_index).
 * `agentMessages`: readable entries also name the agent message behind each change
 * (LinkedHistoryEntry), in the same query.
 */
export async function deploymentHistory(
  db: Queryable,
  f: HistoryFilter,
  format: 'readable' | 'raw',
  options: { agentMessages?: boolean } = {},
  now = new Date(),
): Promise<HistoryRow[]> {
  // A page found among events since `from` is the page if its oldest event is later than
  // from + clockStepBackMs and the page is full or that event starts the chain: every event
  // further up the chain is then no older than from, so it was among those searched. It is
  // the page too, full or not, when `since` is no earlier than from, or when the deployment
  // was created after from + clockStepBackMs (created_at is the trigger's now(), never later
  // than the created event; read only for a short page without the chain's start, e.g. a
  // filtered one): then every event it could hold was searched. Otherwise a wider window is
  // searched, last of all the whole table.
  let createdAt: number | null | undefined;
  // Pieces are merged by chain index: across a window's edge a clock that stepped back can put
  // a later event of the chain in the older piece.
  const byChain = (found: HistoryRow[], piece: HistoryRow[]) =>
    found.length === 0 ? piece : [...found, ...piece].sort((a, b) => b.chain_index - a.chain_index).slice(0, f.limit);
  return newestMonthsFirst(
    f.until && f.until < now ? f.until : now,
    (from, below) => historyPage(db, f, format, options, from, below),
    byChain,
    async (page, from) => {
      const after = from.getTime() + clockStepBackMs;
      const oldest = page.at(-1);
      if (oldest && (page.length === f.limit || oldest.chain_index === 1) && Date.parse(occurredAt(oldest)) >= after) return true;
      if (f.since && f.since >= from) return true;
      if (createdAt === undefined) {
        const [row] = await db<{ created_at: Date }[]>`select created_at from shipslog.deployments where id = ${f.deploymentId}`;
        createdAt = row ? row.created_at.getTime() : null;
      }
      return createdAt !== null && createdAt >= after;
    },
  );
}

type HistoryRow = HistoryEntry | LinkedHistoryEntry | RawEvent;

function occurredAt(entry: HistoryRow): string {
  return 'at' in entry && typeof entry.at === 'string' ? entry.at : String((entry as RawEvent).occurred_at);
}

async function historyPage(
  db: Queryable,
  f: HistoryFilter,
  format: 'readable' | 'raw',
  options: { agentMessages?: boolean },
  from: Date | undefined,
  below: Date | undefined,
): Promise<HistoryRow[]> {
  const page = db`
    select ${format === 'raw' ? rawEventColumn(db) : db`e`}
    from shipslog.deployment_events as e
    where e.deployment_id = ${f.deploymentId}
      ${windowBounds(db, from, below)}
      ${f.before !== undefined ? db`and e.chain_index < ${f.before}` : db``}
      ${f.since ? db`and e.occurred_at >= ${f.since}` : db``}
      ${f.until ? db`and e.occurred_at < ${f.until}` : db``}
      ${f.actions ? db`and e.action = any(${f.actions}::text[])` : db``}
      ${f.actor ? db`and e.actor = ${f.actor}` : db``}
      ${taxonomyWhere(db, f)}
    order by e.chain_index desc
    limit ${f.limit}
  `;
  if (format === 'readable') {
    const order = db`e.chain_index desc`;
    return options.agentMessages ? readablePage(db, page, order, { agentMessages: true }) : readablePage(db, page, order);
  }
  const rows = await db<{ event: RawEvent }[]>`${page}`;
  return rows.map((r) => r.event);
}

export async function hasHistory(db: Queryable, deploymentId: string): Promise<boolean> {
  const rows = await db`select 1 from shipslog.deployment_events where deployment_id = ${deploymentId} limit 1`;
  return rows.length > 0;
}

export interface EventFilter extends TaxonomyFilter {
  deploymentId?: string | undefined;
  /**
   * The events a request caused: the API stores its X-Correlation-Id (else its request id) as
   * every event's correlation_id, and the reconcile runs of the generations it made write
   * their events under the same one.
   */
  correlationId?: string | undefined;
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

/**
 * Events across deployments, newest first, every filter combinable. Looked for in the newest
 * months first (newestMonthsFirst), each window asked only for what the page still lacks.
 *
 * `tenant` (a tenant key's, or asked for) is stated as the feed states it (feed(), event-feed.ts): as
 * `= any(array)`, the order starting with it, so that the (tenant, occurred_at) index gives
 * the order and a tenant with a large share of all events is not looked for by walking the
 * occurred_at index through a run of other tenants' newer events.
 */
export async function queryEvents(db: Queryable, f: EventFilter, now = new Date()): Promise<HistoryEntry[]> {
  const bounds = [now, f.until, f.before ? new Date(f.before[0]) : undefined].filter((d): d is Date => d !== undefined && !Number.isNaN(d.getTime()));
  const anchor = new Date(Math.min(...bounds.map((d) => d.getTime())));
  // Ordered by occurred_at itself, the pieces follow each other.
  return newestMonthsFirst(
    anchor,
    (from, below, found) => eventsPage(db, { ...f, limit: f.limit - found.length }, from, below),
    (found, piece) => [...found, ...piece],
    async (page, from) => page.length >= f.limit || (f.since !== undefined && f.since >= from),
  );
}

/** A page of events since `from` and before `below` (window bounds; undefined: none). */
function eventsPage(db: Queryable, f: EventFilter, from: Date | undefined, below: Date | undefined): Promise<HistoryEntry[]> {
  return readablePage(
    db,
    db`
      select e
      from shipslog.deployment_events as e
      where true
        ${windowBounds(db, from, below)}
        ${f.deploymentId ? db`and e.deployment_id = ${f.deploymentId}` : db``}
        ${f.tenant ? db`and e.tenant = any(${[f.tenant]}::text[])` : db``}
        ${f.name ? db`and e.name = ${f.name}` : db``}
        ${f.actions ? db`and e.action = any(${f.actions}::text[])` : db``}
        ${f.actor ? db`and e.actor = ${f.actor}` : db``}
        ${f.status ? db`and e.new_state ->> 'status' = ${f.status}` : db``}
        ${f.since ? db`and e.occurred_at >= ${f.since}` : db``}
        ${f.until ? db`and e.occurred_at < ${f.until}` : db``}
        ${f.before ? db`and (e.occurred_at, e.seq) < (${f.before[0]}::timestamptz, ${f.before[1]})` : db``}
        ${f.environment ? db`and shipslog.event_environment(e.deployment_id, e.chain_index) = ${f.environment}` : db``}
        ${f.correlationId ? db`and e.correlation_id = ${f.correlationId}` : db``}
        ${taxonomyWhere(db, f)}
      order by ${f.tenant ? db`e.tenant desc, ` : db``}e.occurred_at desc, e.seq desc
      limit ${f.limit}
    `,
    db`e.occurred_at desc, e.seq desc`,
  );
}

/**
 * The newest event of a deployment: inside the transaction that just changed the row (whose
 * lock it holds), the event that change wrote, with the action the trigger derived for it.
 */
export async function latestEvent(db: Queryable, deploymentId: string): Promise<{ action: EventAction; from_version: string | null; to_version: string | null } | null> {
  const [row] = await db<{ action: EventAction; from_version: string | null; to_version: string | null }[]>`
    select e.action, e.previous_state ->> 'app_version' as from_version, e.new_state ->> 'app_version' as to_version
    from shipslog.deployment_events as e
    where e.deployment_id = ${deploymentId}
    order by e.chain_index desc
    limit 1
  `;
  return row ?? null;
}
