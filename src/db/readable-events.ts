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

/** The agent message a change was made under (X-Correlation-Id = its id, same tenant): model, tokens, cost. */
export interface AgentMessageLink {
  message_id: string;
  model: string;
  /** null until the message is finalised. */
  tokens: { prompt: number; completion: number; total: number } | null;
  cost: { prompt: string; completion: string; total: string } | null;
}

export type LinkedHistoryEntry = HistoryEntry & { agent_message: AgentMessageLink | null };

type Fragment = postgres.PendingQuery<postgres.Row[]>;

// The link of shipslog.agent_message_deployment_changes (sql/agent/60_deployment_link.sql),
// read in the page's own query instead of a second one over that view: a round trip and a
// second pass of row-level security over the page's events saved (0.58 ms for the second
// query against +0.15 ms here, 50-event page, PostgreSQL 15). A subquery per entry, not a join:
// a probe of the primary key (message_id, tenant) however large agent_messages grows.
// json_build_object, not jsonb: it keeps the keys in the order the API has always sent them.
const agentMessageColumn = (db: Queryable) => db`
  , (select json_build_object(
      'message_id', m.message_id,
      'model', m.model,
      'tokens', case when m.finalised_at is not null then json_build_object(
        'prompt', m.prompt_tokens, 'completion', m.completion_tokens, 'total', m.total_tokens) end,
      'cost', case when m.finalised_at is not null then json_build_object(
        'prompt', m.prompt_cost::text, 'completion', m.completion_cost::text, 'total', m.total_cost::text) end)
     from shipslog.agent_messages as m
     where m.message_id = e.correlation_id and m.tenant = e.tenant) as agent_message
`;

/**
 * `page` selects rows of shipslog.deployment_events whole (`select e from ... as e`, a
 * complete query with its where, order and limit); `order` is the same order over the
 * rendered rows (alias e).
 * The rendering is shipslog.readable_events (sql/audit/60_history.sql), the one
 * implementation of readable history, which psql's shipslog.history() uses too.
 */
export async function readablePage(db: Queryable, page: Fragment, order: Fragment): Promise<HistoryEntry[]>;
/** With `agentMessages`, each entry also names the agent message behind it (or null). */
export async function readablePage(db: Queryable, page: Fragment, order: Fragment, options: { agentMessages: true }): Promise<LinkedHistoryEntry[]>;
export async function readablePage(
  db: Queryable,
  page: Fragment,
  order: Fragment,
  options: { agentMessages?: boolean } = {},
): Promise<HistoryEntry[] | LinkedHistoryEntry[]> {
  const linked = options.agentMessages === true;
  // The keys in the order the API has always sent them.
  const rows = await db<HistoryEntry[]>`
    select
      e.seq::float8 as seq, e.deployment_id, e.chain_index, e.tenant, e.name, e.action,
      shipslog.iso_utc(e.occurred_at) as at,
      e.actor, e.actor_type, e.reason, e.changes, e.correlation_id, e.request_id,
      e."when", e.summary, e.category, e.severity, e.details
      ${linked ? agentMessageColumn(db) : db``}
    from shipslog.readable_events(array(
      ${page}
    )) as e
    order by ${order}
  `;
  return [...rows];
}
