import type postgres from 'postgres';
import type { Queryable, Tx } from './client.ts';

/**
 * One entry of managed_resources (shipslog.is_resource_list, sql/common/20_helpers.sql,
 * allows exactly these keys; apiVersion is optional there, and the reconciler always writes it).
 */
export interface InventoryItem {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string | null;
}

/** The values deployments_status_check and deployments_health_check allow (migrations/0001_baseline.sql). */
export const deploymentStatuses = ['pending', 'reconciling', 'applied', 'failed', 'removing'] as const;
export type DeploymentStatus = (typeof deploymentStatuses)[number];
export const healthStates = ['Unknown', 'Progressing', 'Healthy', 'Degraded', 'Missing', 'Suspended'] as const;
export type Health = (typeof healthStates)[number];

/**
 * A deployment, snake_case as stored: what the API returns and what the reconciler works
 * from. Timestamps are ISO UTC text with microseconds (shipslog.iso_utc); version is the ETag.
 */
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
  status: DeploymentStatus;
  status_message: string | null;
  health: Health;
  health_message: string | null;
  url: string | null;
  local_port: number | null;
  service_port: number | null;
  service_name: string | null;
  depends_on: string[];
  managed_resources: InventoryItem[];
  generation: number;
  observed_generation: number;
  restarted_at: string | null;
  deletion_requested_at: string | null;
  created_at: string;
  updated_at: string;
  version: number;
}

// JSON parameters travel as JSON.stringify text, cast to jsonb in SQL: db.json() takes only
// postgres.JSONValue, which an interface or Record<string, unknown> is not (it needed a cast
// to never). The ::text first matters: with a bare ::jsonb postgres.js learns the parameter
// is jsonb and JSON-encodes the string again, storing a JSON string instead of the object.

// Timestamps as ISO UTC text and bigints as numbers (they stay far below 2^53). Unqualified:
// a query that joins shipslog.reconcile_queue (db/reconcile-queue.ts) shares no column name.
export const deploymentColumns = (db: Queryable) => db`
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
       ${JSON.stringify(d.config)}::text::jsonb, ${d.depends_on}::text[], ${d.secrets_ref}, ${d.secrets_fingerprint})
    returning ${deploymentColumns(db)}
  `;
  if (!row) throw new Error('insert returned no row');
  return row;
}

export async function getDeployment(db: Queryable, id: string, lock = false): Promise<Deployment | null> {
  const [row] = await db<Deployment[]>`
    select ${deploymentColumns(db)}
    from shipslog.deployments
    where id = ${id}
    ${lock ? db`for update` : db``}
  `;
  return row ?? null;
}

export interface ListFilter {
  /**
   * A tenant key's own tenant. Row-level security already limits the rows, but its predicate
   * cannot use an index: stated here, the page is a range of the (tenant, name) key instead
   * of a scan that discards every other tenant's rows before this one's.
   */
  tenant?: string | undefined;
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
    select ${deploymentColumns(db)}
    from shipslog.deployments
    where true
      ${f.tenant ? db`and tenant = ${f.tenant}` : db``}
      ${f.environment ? db`and environment = ${f.environment}` : db``}
      ${f.recipe ? db`and recipe = ${f.recipe}` : db``}
      ${f.status ? db`and status = ${f.status}` : db``}
      ${f.after ? db`and (tenant, name) > (${f.after[0]}, ${f.after[1]})` : db``}
    order by tenant, name
    limit ${f.limit}
  `;
  return [...rows];
}

export interface DeploymentChange {
  /** RFC 7396 merge patch of config, applied in SQL to the row as it is when locked. */
  configPatch?: Record<string, unknown>;
  environment?: string;
  depends_on?: string[];
  app_version?: string;
  /** New secrets: the fingerprint changes and secrets_ref becomes <name>-secrets. */
  secrets_fingerprint?: string;
  restart?: boolean;
  requestRemoval?: boolean;
}

export interface ChangeGuard {
  /** If-Match: change only this version. */
  version?: number | undefined;
  /** DELETE may repeat on a row being removed; nothing else may change it. */
  allowRemoving?: boolean;
}

/**
 * Applies a change in ONE statement: the new values are computed from the row as the
 * UPDATE locks it (a concurrent writer's change is merged, not lost), and the row is
 * written only when the guard holds and something actually changes. Returns the row after
 * the change, or null when nothing was written (unknown id, other tenant's row, stale
 * version, removal underway, or no change): the caller tells these apart with a read.
 */
export async function applyChange(db: Queryable, id: string, change: DeploymentChange, guard: ChangeGuard = {}): Promise<Deployment | null> {
  const sets: [string, postgres.PendingQuery<postgres.Row[]>][] = [];
  if (change.configPatch) sets.push(['config', db`shipslog.jsonb_merge_patch(config, ${JSON.stringify(change.configPatch)}::text::jsonb)`]);
  if (change.environment) sets.push(['environment', db`${change.environment}::text`]);
  if (change.depends_on) sets.push(['depends_on', db`${change.depends_on}::text[]`]);
  if (change.app_version) sets.push(['app_version', db`${change.app_version}::text`]);
  if (change.secrets_fingerprint) {
    sets.push(['secrets_fingerprint', db`${change.secrets_fingerprint}::text`]);
    sets.push(['secrets_ref', db`name || '-secrets'`]);
  }
  if (change.restart) sets.push(['restarted_at', db`now()`]);
  if (change.requestRemoval) sets.push(['deletion_requested_at', db`coalesce(deletion_requested_at, now())`]);
  if (sets.length === 0) return null;
  const list = (f: (s: [string, postgres.PendingQuery<postgres.Row[]>]) => postgres.PendingQuery<postgres.Row[]>) =>
    sets.map(f).reduce((acc, x) => db`${acc}, ${x}`);
  const [row] = await db<Deployment[]>`
    update shipslog.deployments
    set ${list(([c, e]) => db`${db(c)} = ${e}`)}
    where id = ${id}
      and row(${list(([c]) => db`${db(c)}`)}) is distinct from row(${list(([, e]) => e)})
      ${guard.version !== undefined ? db`and version = ${guard.version}` : db``}
      ${guard.allowRemoving ? db`` : db`and deletion_requested_at is null`}
    returning ${deploymentColumns(db)}
  `;
  return row ?? null;
}

/** What a reconcile run writes to its deployment (one UPDATE, so one audit event). */
export interface ReconcileResult {
  status: Exclude<DeploymentStatus, 'reconciling'>;
  statusMessage: string;
  managedResources: InventoryItem[];
  observedGeneration: number;
  /** Left as it is when absent. */
  health?: { health: Health; message: string } | undefined;
  service?: { name: string; port: number; url: string } | undefined;
}

/** The reconciler's result for a deployment; the caller's transaction has checked its lease first (holdLease). */
export async function recordReconcileResult(tx: Tx, id: string, r: ReconcileResult): Promise<void> {
  const h = r.health;
  const s = r.service;
  await tx`
    update shipslog.deployments
    set status = ${r.status},
        status_message = ${r.statusMessage.slice(0, 2000)},
        managed_resources = ${JSON.stringify(r.managedResources)}::text::jsonb,
        observed_generation = ${r.observedGeneration},
        health = ${h ? h.health : tx`health`},
        health_message = ${h ? h.message.slice(0, 2000) : tx`health_message`},
        service_name = ${s ? s.name : tx`service_name`},
        service_port = ${s ? s.port : tx`service_port`},
        url = ${s ? s.url : tx`url`}
    where id = ${id}
  `;
}

/** Removes the row once its resources are gone; the trigger records the removed event. */
export async function deleteDeployment(tx: Tx, id: string): Promise<void> {
  await tx`delete from shipslog.deployments where id = ${id}`;
}

/** A health transition observed by the reconciler's health loop (one health_changed event). */
export async function writeHealth(tx: Tx, id: string, health: Health, message: string): Promise<void> {
  await tx`
    update shipslog.deployments
    set health = ${health},
        health_message = ${message.slice(0, 2000)}
    where id = ${id}
  `;
}
