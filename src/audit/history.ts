import type { Queryable } from '../db/client.ts';

export interface HistoryLine {
  occurredAt: Date;
  when: string;
  action: string;
  summary: string;
  actor: string;
  actorType: string;
  reason: string | null;
  correlationId: string | null;
  chainIndex: number;
  deploymentId: string;
}

/** A deployment's readable timeline, newest first, through shipslog.history() (the psql view of it). */
export async function historyByName(db: Queryable, tenant: string, name: string, limit = 100): Promise<HistoryLine[]> {
  const rows = await db<HistoryLine[]>`
    select
      occurred_at as "occurredAt",
      "when",
      action,
      summary,
      actor,
      actor_type as "actorType",
      reason,
      correlation_id as "correlationId",
      chain_index as "chainIndex",
      deployment_id as "deploymentId"
    from shipslog.history(${tenant}, ${name}, ${limit})
  `;
  return [...rows];
}
