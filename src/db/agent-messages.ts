import type { Queryable, Tx } from './client.ts';
import { toDomainError } from './errors.ts';

/**
 * Agent messages: the audit trail of the agent's model calls (sql/agent/).
 * Every rule lives in PostgreSQL (guard trigger, CHECKs, RLS); these functions only shape
 * rows. Writes take a Tx so the caller sets the actor context first (withActor).
 * Costs are decimal strings end to end: numeric in PostgreSQL, never a JS number.
 */
export interface Tokens {
  prompt: number;
  completion: number;
  total: number;
}

export interface Cost {
  prompt: string;
  completion: string;
  total: string;
}

export interface AgentMessage {
  messageId: string;
  tenant: string;
  projectId: string;
  model: string;
  contextLayers: number;
  createdAt: Date;
  recordedAt: Date;
  reasoning: string[] | null;
  tokens: Tokens | null;
  cost: Cost | null;
  finalisedAt: Date | null;
  createdBy: Record<string, unknown>;
  finalisedBy: Record<string, unknown> | null;
}

export interface StartInput {
  messageId: string;
  projectId: string;
  model: string;
  contextLayers?: number | undefined;
  /** Omitted: the tenant of the transaction's actor context (shipslog.tenant). */
  tenant?: string | undefined;
  /** When the call started; omitted: the server's clock. */
  createdAt?: Date | undefined;
}

export interface FinaliseInput {
  reasoning: string[];
  tokens: Tokens;
  cost: Cost;
}

interface Row {
  message_id: string;
  tenant: string;
  project_id: string;
  model: string;
  context_layers: number;
  created_at: Date;
  recorded_at: Date;
  reasoning: string[] | null;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  total_tokens: number | null;
  prompt_cost: string | null;
  completion_cost: string | null;
  total_cost: string | null;
  finalised_at: Date | null;
  created_by: Record<string, unknown>;
  finalised_by: Record<string, unknown> | null;
}

function toMessage(r: Row): AgentMessage {
  const finalised = r.finalised_at !== null;
  return {
    messageId: r.message_id,
    tenant: r.tenant,
    projectId: r.project_id,
    model: r.model,
    contextLayers: r.context_layers,
    createdAt: r.created_at,
    recordedAt: r.recorded_at,
    reasoning: r.reasoning,
    tokens: finalised ? { prompt: r.prompt_tokens!, completion: r.completion_tokens!, total: r.total_tokens! } : null,
    cost: finalised ? { prompt: r.prompt_cost!, completion: r.completion_cost!, total: r.total_cost! } : null,
    finalisedAt: r.finalised_at,
    createdBy: r.created_by,
    finalisedBy: r.finalised_by,
  };
}

/**
 * Message ids are unique per tenant (migrations/0004): a transaction that sees several
 * tenants (a global key, the owner) may find one id in more than one of them, and must say
 * which tenant it means.
 */
export class AmbiguousMessageError extends Error {
  readonly messageId: string;
  readonly tenants: string[];
  constructor(messageId: string, tenants: string[]) {
    super(`agent message ${messageId} exists in tenants ${tenants.join(', ')}: name one`);
    this.name = 'AmbiguousMessageError';
    this.messageId = messageId;
    this.tenants = tenants;
  }
}

/** Writes the placeholder when a model call starts. */
export async function startAgentMessage(tx: Tx, input: StartInput): Promise<AgentMessage> {
  try {
    const [row] = await tx<Row[]>`
      insert into shipslog.agent_messages (message_id, tenant, project_id, model, context_layers, created_at)
      values (
        ${input.messageId},
        coalesce(${input.tenant ?? null}::text, shipslog.context_setting('shipslog.tenant')),
        ${input.projectId},
        ${input.model},
        ${input.contextLayers ?? 0},
        coalesce(${input.createdAt ?? null}::timestamptz, now())
      )
      returning *
    `;
    return toMessage(row!);
  } catch (err) {
    throw toDomainError(err);
  }
}

export type FinaliseOutcome = 'finalised' | 'unchanged';

/**
 * Finalises a message once. The guard trigger decides: same values again is a no-op
 * ('unchanged'), other values are refused (SL301). Null when no such message is visible;
 * AmbiguousMessageError when several tenants' are and `tenant` does not say which.
 */
export async function finaliseAgentMessage(
  tx: Tx,
  messageId: string,
  input: FinaliseInput,
  tenant?: string,
): Promise<{ message: AgentMessage; outcome: FinaliseOutcome } | null> {
  try {
    // The row lock makes "was it finalised before?" and the update one atomic step.
    const visible = await tx<{ tenant: string; finalised: boolean }[]>`
      select tenant, finalised_at is not null as finalised
      from shipslog.agent_messages
      where message_id = ${messageId}
        ${tenant ? tx`and tenant = ${tenant}` : tx``}
      order by tenant
      for update
    `;
    if (visible.length > 1) throw new AmbiguousMessageError(messageId, visible.map((r) => r.tenant));
    const before = visible[0];
    if (!before) return null;
    const [row] = await tx<Row[]>`
      update shipslog.agent_messages
      set reasoning = ${input.reasoning}::text[],
          prompt_tokens = ${input.tokens.prompt},
          completion_tokens = ${input.tokens.completion},
          total_tokens = ${input.tokens.total},
          prompt_cost = ${input.cost.prompt}::numeric,
          completion_cost = ${input.cost.completion}::numeric,
          total_cost = ${input.cost.total}::numeric
      where message_id = ${messageId}
        and tenant = ${before.tenant}
      returning *
    `;
    return { message: toMessage(row!), outcome: before.finalised ? 'unchanged' : 'finalised' };
  } catch (err) {
    if (err instanceof AmbiguousMessageError) throw err;
    throw toDomainError(err);
  }
}

/** The message with this id in `tenant`, or the only one visible; AmbiguousMessageError when several are. */
export async function getAgentMessage(db: Queryable, messageId: string, tenant?: string): Promise<AgentMessage | null> {
  const rows = await db<Row[]>`
    select *
    from shipslog.agent_messages
    where message_id = ${messageId}
      ${tenant ? db`and tenant = ${tenant}` : db``}
    order by tenant
  `;
  if (rows.length > 1) throw new AmbiguousMessageError(messageId, rows.map((r) => r.tenant));
  return rows[0] ? toMessage(rows[0]) : null;
}

export interface AgentAnalytics {
  project_id: string;
  from: string;
  to: string;
  message_count: number;
  finalised_count: number;
  tokens: Tokens;
  cost: Cost;
  average_cost_per_message: string | null;
  cost_by_day: { day: string; message_count: number; total_tokens: number; total_cost: string }[];
  cost_by_model: { model: string; message_count: number; total_tokens: number; total_cost: string }[];
  recent_messages: {
    message_id: string;
    model: string;
    context_layers: number;
    created_at: string;
    finalised_at: string | null;
    tokens: Tokens | null;
    cost: Cost | null;
  }[];
}

/** shipslog.agent_analytics: one project's cost and tokens over [from, to), UTC days zero-filled. */
export async function agentAnalytics(
  db: Queryable,
  projectId: string,
  from: Date,
  to: Date,
  recent = 10,
): Promise<AgentAnalytics> {
  try {
    const [row] = await db<{ a: AgentAnalytics }[]>`
      select shipslog.agent_analytics(${projectId}, ${from}, ${to}, ${recent}) as a
    `;
    return row!.a;
  } catch (err) {
    throw toDomainError(err);
  }
}

export interface AgentCost {
  messageCount: number;
  totalTokens: number;
  totalCost: string;
}

/** What the agent spent on one deployment: the messages whose ids its events carry. */
export async function deploymentAgentCost(db: Queryable, deploymentId: string): Promise<AgentCost> {
  const [row] = await db<{ message_count: string; total_tokens: string; total_cost: string }[]>`
    select message_count, total_tokens, shipslog.decimal_text(total_cost) as total_cost
    from shipslog.deployment_agent_cost(${deploymentId})
  `;
  return { messageCount: Number(row!.message_count), totalTokens: Number(row!.total_tokens), totalCost: row!.total_cost };
}

/** The deployment changes one agent message caused, oldest first. */
export async function deploymentChangesOfMessage(
  db: Queryable,
  messageId: string,
  tenant?: string,
): Promise<{ deploymentId: string; name: string; action: string; occurredAt: Date; chainIndex: number }[]> {
  const rows = await db<{ deploymentId: string; name: string; action: string; occurredAt: Date; chainIndex: number }[]>`
    select deployment_id as "deploymentId", name, action, occurred_at as "occurredAt", chain_index as "chainIndex"
    from shipslog.agent_message_deployment_changes
    where message_id = ${messageId}
      ${tenant ? db`and tenant = ${tenant}` : db``}
    order by seq
  `;
  return [...rows];
}
