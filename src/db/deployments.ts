import type { Queryable } from './client.ts';

/** A deployment as the API shows it (snake_case, as stored). version is the ETag. */
export interface Deployment {
  id: string;
  tenant: string;
  name: string;
  environment: string;
  recipe: string;
  app_version: string;
  config: Record<string, unknown>;
  secrets_ref: string | null;
  secrets_fingerprint: string | null;
  status: 'pending' | 'reconciling' | 'applied' | 'failed' | 'removing';
  status_message: string | null;
  health: string;
  health_message: string | null;
  url: string | null;
  local_port: number | null;
  service_port: number | null;
  service_name: string | null;
  depends_on: string[];
  managed_resources: unknown[];
  generation: number;
  observed_generation: number;
  restarted_at: string | null;
  deletion_requested_at: string | null;
  created_at: string;
  updated_at: string;
  version: number;
}

// Timestamps as ISO UTC text and bigints as numbers (they stay far below 2^53).
const columns = (db: Queryable) => db`
  id, tenant, name, environment, recipe, app_version, config, secrets_ref, secrets_fingerprint,
  status, status_message, health, health_message, url, local_port, service_port, service_name,
  depends_on, managed_resources, generation::float8 as generation,
  observed_generation::float8 as observed_generation,
  shipslog.iso_utc(restarted_at) as restarted_at,
  shipslog.iso_utc(deletion_requested_at) as deletion_requested_at,
  shipslog.iso_utc(created_at) as created_at,
  shipslog.iso_utc(updated_at) as updated_at,
  version::float8 as version
`;

export interface NewDeployment {
  tenant: string;
  name: string;
  environment: string;
  recipe: string;
  app_version: string;
  config: Record<string, unknown>;
  depends_on: string[];
  secrets_ref: string | null;
  secrets_fingerprint: string | null;
}

export async function insertDeployment(db: Queryable, d: NewDeployment): Promise<Deployment> {
  const [row] = await db<Deployment[]>`
    insert into shipslog.deployments
      (tenant, name, environment, recipe, app_version, config, depends_on, secrets_ref, secrets_fingerprint)
    values
      (${d.tenant}, ${d.name}, ${d.environment}, ${d.recipe}, ${d.app_version},
       ${db.json(d.config as never)}, ${d.depends_on}::text[], ${d.secrets_ref}, ${d.secrets_fingerprint})
    returning ${columns(db)}
  `;
  if (!row) throw new Error('insert returned no row');
  return row;
}

export async function getDeployment(db: Queryable, id: string, lock = false): Promise<Deployment | null> {
  const [row] = await db<Deployment[]>`
    select ${columns(db)}
    from shipslog.deployments
    where id = ${id}
    ${lock ? db`for update` : db``}
  `;
  return row ?? null;
}

export interface ListFilter {
  environment?: string | undefined;
  recipe?: string | undefined;
  status?: string | undefined;
  /** Keyset: (tenant, name) after this pair. */
  after?: [string, string] | undefined;
  limit: number;
}

/** Deployments ordered by tenant and name (the unique key, so the keyset cursor is exact). */
export async function listDeployments(db: Queryable, f: ListFilter): Promise<Deployment[]> {
  const rows = await db<Deployment[]>`
    select ${columns(db)}
    from shipslog.deployments
    where true
      ${f.environment ? db`and environment = ${f.environment}` : db``}
      ${f.recipe ? db`and recipe = ${f.recipe}` : db``}
      ${f.status ? db`and status = ${f.status}` : db``}
      ${f.after ? db`and (tenant, name) > (${f.after[0]}, ${f.after[1]})` : db``}
    order by tenant, name
    limit ${f.limit}
  `;
  return [...rows];
}

/** The config after an RFC 7396 merge patch, computed by the same SQL function psql users call. */
export async function mergedConfig(db: Queryable, config: Record<string, unknown>, patch: Record<string, unknown>): Promise<unknown> {
  const [row] = await db<{ merged: unknown }[]>`
    select shipslog.jsonb_merge_patch(${db.json(config as never)}, ${db.json(patch as never)}) as merged
  `;
  return row?.merged;
}

export interface DeploymentChange {
  config?: Record<string, unknown>;
  environment?: string;
  depends_on?: string[];
  app_version?: string;
  secrets_ref?: string | null;
  secrets_fingerprint?: string | null;
  restart?: boolean;
  requestRemoval?: boolean;
}

/**
 * Applies a change to a row the caller has locked (getDeployment(tx, id, true)). Setting a
 * column to its current value writes no event (the trigger compares audited state).
 */
export async function updateDeployment(db: Queryable, id: string, change: DeploymentChange): Promise<Deployment> {
  const [row] = await db<Deployment[]>`
    update shipslog.deployments
    set
      config = ${change.config ? db`${db.json(change.config as never)}` : db`config`},
      environment = ${change.environment ? db`${change.environment}` : db`environment`},
      depends_on = ${change.depends_on ? db`${change.depends_on}::text[]` : db`depends_on`},
      app_version = ${change.app_version ? db`${change.app_version}` : db`app_version`},
      secrets_ref = ${change.secrets_ref !== undefined ? db`${change.secrets_ref}` : db`secrets_ref`},
      secrets_fingerprint = ${change.secrets_fingerprint !== undefined ? db`${change.secrets_fingerprint}` : db`secrets_fingerprint`},
      restarted_at = ${change.restart ? db`now()` : db`restarted_at`},
      deletion_requested_at = ${change.requestRemoval ? db`coalesce(deletion_requested_at, now())` : db`deletion_requested_at`}
    where id = ${id}
    returning ${columns(db)}
  `;
  if (!row) throw new Error(`deployment ${id} vanished under its row lock`);
  return row;
}
