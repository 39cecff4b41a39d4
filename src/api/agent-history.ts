import { agentMessagesForEvents } from '../db/agent-messages.ts';
import type { Queryable } from '../db/client.ts';

/**
 * The agent message behind each history entry: a change made with X-Correlation-Id set to
 * an agent message's id (same tenant) shows that message's model, tokens and cost. One
 * query per page (shipslog.agent_message_deployment_changes, by event seq).
 */
export async function withAgentMessages<T extends { seq: number }>(
  db: Queryable,
  entries: T[],
): Promise<(T & { agent_message: AgentMessageLink | null })[]> {
  const linked = await agentMessagesForEvents(db, entries.map((e) => String(e.seq)));
  return entries.map((e) => {
    const m = linked.get(String(e.seq));
    return { ...e, agent_message: m ? { message_id: m.messageId, model: m.model, tokens: m.tokens, cost: m.cost } : null };
  });
}

export interface AgentMessageLink {
  message_id: string;
  model: string;
  tokens: { prompt: number; completion: number; total: number } | null;
  cost: { prompt: string; completion: string; total: string } | null;
}
