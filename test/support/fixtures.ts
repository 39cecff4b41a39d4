import type { Queryable } from '../../src/db/client.ts';

/** The columns a fixture insert returns, as PostgreSQL sends them (bigints as text). */
export interface InsertedDeployment {
  id: string;
  tenant: string;
  name: string;
  version: string;
  generation: string;
  chain_length: number;
}

/** Inserts a deployment with plain SQL, as any client could; the trigger does the auditing. */
export async function insertDeployment(
  db: Queryable,
  values: { tenant?: string; name?: string; recipe?: string; app_version?: string; config?: Record<string, unknown> } = {},
): Promise<InsertedDeployment> {
  const [row] = await db<InsertedDeployment[]>`
    insert into shipslog.deployments (tenant, name, recipe, app_version, config)
    values (
      ${values.tenant ?? 'acme'},
      ${values.name ?? 'orders-db'},
      ${values.recipe ?? 'postgresql'},
      ${values.app_version ?? '16'},
      ${db.json((values.config ?? { storage: '8Gi', replicas: 1 }) as never)}
    )
    returning id, tenant, name, version, generation, chain_length
  `;
  if (!row) throw new Error('insert returned no row');
  return row;
}

export interface EventRow {
  seq: string;
  chain_index: number;
  action: string;
  actor: string;
  actor_type: string;
  reason: string | null;
  correlation_id: string | null;
  request_id: string | null;
  source_ip: string | null;
  user_agent: string | null;
  db_role: string;
  db_user: string;
  application_name: string | null;
  previous_state: Record<string, unknown> | null;
  new_state: Record<string, unknown> | null;
  changes: { path: string; from: unknown; to: unknown }[];
  txid: string;
  occurred_at: Date;
}

export async function eventsOf(db: Queryable, deploymentId: string): Promise<EventRow[]> {
  const rows = await db<EventRow[]>`
    select seq, chain_index, action, actor, actor_type, reason, correlation_id, request_id,
           host(source_ip) as source_ip, user_agent, db_role, db_user, application_name,
           previous_state, new_state, shipslog.event_changes(previous_state, new_state) as changes, txid::text as txid, occurred_at
    from shipslog.deployment_events
    where deployment_id = ${deploymentId}
    order by chain_index
  `;
  return [...rows];
}
