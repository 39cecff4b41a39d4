import { createHash, randomBytes } from 'node:crypto';
import type { Queryable } from './client.ts';
import { uuidPattern } from './ids.ts';

export type KeyScope = 'read' | 'deploy' | 'audit' | 'admin' | 'approve' | 'gates';
/** approve: grant or deny approval requests; gates: report gate results (docs/compliance.md). */
export const keyScopes: readonly KeyScope[] = ['read', 'deploy', 'audit', 'admin', 'approve', 'gates'];

export interface ApiKey {
  id: string;
  name: string;
  tenant: string | null;
  scopes: KeyScope[];
  actorType: 'user' | 'service';
  keyPrefix: string;
  createdAt: Date;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
  /** null: never expires. */
  expiresAt: Date | null;
}

/** What authenticating a request reads (shipslog.find_active_api_key): a key that is active now. */
export type ActiveKey = Omit<ApiKey, 'expiresAt'>;

/**
 * last_used_at is kept to within this many minutes, so that a busy key costs one write per
 * interval, not one per request. shipslog.record_api_key_use() holds the same 5 minutes.
 */
export const keyUseResolutionMinutes = 5;

/** Keys look like `slk_<43 base64url chars>`: 32 random bytes, so SHA-256 is a safe hash. */
export function generateKey(): string {
  return `slk_${randomBytes(32).toString('base64url')}`;
}

export function hashKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

const activeColumns = (db: Queryable) => db`
  id, name, tenant, scopes, actor_type as "actorType", key_prefix as "keyPrefix",
  created_at as "createdAt", revoked_at as "revokedAt", last_used_at as "lastUsedAt"
`;

const columns = (db: Queryable) => db`${activeColumns(db)}, expires_at as "expiresAt"`;

/** Creates a key and returns it with its secret, which is never stored and shown only now. */
export async function createApiKey(
  db: Queryable,
  input: { name: string; tenant: string | null; scopes: KeyScope[]; actorType?: 'user' | 'service'; expiresInSeconds?: number | null },
): Promise<{ key: string; apiKey: ApiKey }> {
  const key = generateKey();
  const expiresIn = input.expiresInSeconds ?? null;
  const [apiKey] = await db<ApiKey[]>`
    insert into shipslog.api_keys (name, tenant, scopes, actor_type, key_hash, key_prefix, expires_at)
    values (${input.name}, ${input.tenant}, ${input.scopes}::text[], ${input.actorType ?? 'service'},
            ${hashKey(key)}, ${key.slice(0, 10)},
            ${expiresIn === null ? null : db`now() + make_interval(secs => ${expiresIn})`})
    returning ${columns(db)}
  `;
  if (!apiKey) throw new Error('insert returned no key');
  return { key, apiKey };
}

export async function listApiKeys(db: Queryable): Promise<ApiKey[]> {
  return [...(await db<ApiKey[]>`select ${columns(db)} from shipslog.api_keys order by created_at, id`)];
}

/** Revokes by id or by a prefix that names exactly one key; returns it, or null when none matched. */
export async function revokeApiKey(db: Queryable, idOrPrefix: string): Promise<ApiKey | null> {
  const isUuid = uuidPattern.test(idOrPrefix);
  const matches = await db<{ id: string }[]>`
    select id
    from shipslog.api_keys
    where ${isUuid ? db`id = ${idOrPrefix}::uuid` : db`key_prefix = ${idOrPrefix}`}
  `;
  if (matches.length > 1) throw new Error(`prefix ${idOrPrefix} matches ${matches.length} keys; revoke by id`);
  const id = matches[0]?.id;
  if (!id) return null;
  const [row] = await db<ApiKey[]>`
    update shipslog.api_keys
    set revoked_at = coalesce(revoked_at, now())
    where id = ${id}
    returning ${columns(db)}
  `;
  return row ?? null;
}

export async function countActiveKeys(db: Queryable): Promise<number> {
  const [row] = await db<{ n: number }[]>`
    select count(*)::int as n
    from shipslog.api_keys
    where revoked_at is null
      and (expires_at is null or expires_at > now())
  `;
  return row?.n ?? 0;
}

/**
 * SHIPSLOG_BOOTSTRAP_ADMIN_KEY: stores the key's SHA-256 as a global admin key named
 * `bootstrap-admin`, unless an admin key exists already: active, revoked or expired, so that
 * revoking the bootstrap key (or any admin key) is final and a restart never brings it back.
 * Replicas that start at once insert it once (the unique key_hash; ON CONFLICT waits for the
 * first to commit). 'stored' now, 'present' when this very key is stored already, else 'ignored'.
 */
export async function storeBootstrapAdminKey(db: Queryable, key: string): Promise<{ outcome: 'stored' | 'present' | 'ignored'; id: string | null }> {
  const hash = hashKey(key);
  const [inserted] = await db<{ id: string }[]>`
    insert into shipslog.api_keys (name, tenant, scopes, actor_type, key_hash, key_prefix)
    select 'bootstrap-admin', null, array['admin'], 'user', ${hash}, ${key.slice(0, 10)}
    where not exists (
      select
      from shipslog.api_keys
      where 'admin' = any(scopes)
    )
    on conflict (key_hash) do nothing
    returning id
  `;
  if (inserted) return { outcome: 'stored', id: inserted.id };
  const [same] = await db<{ id: string }[]>`select id from shipslog.api_keys where key_hash = ${hash}`;
  return same ? { outcome: 'present', id: same.id } : { outcome: 'ignored', id: null };
}

/**
 * The active key with this secret, or null. One unique-index probe, through
 * shipslog.find_active_api_key(): the API's login holds no privilege on api_keys itself.
 */
export async function findActiveKey(db: Queryable, key: string): Promise<ActiveKey | null> {
  const [row] = await db<ActiveKey[]>`
    select ${activeColumns(db)}
    from shipslog.find_active_api_key(${hashKey(key)})
  `;
  return row ?? null;
}

/** Whether this key's last use is older than the resolution: then (and only then) record this one. */
export function keyUseIsStale(key: Pick<ApiKey, 'lastUsedAt'>, now = Date.now()): boolean {
  return key.lastUsedAt === null || now - key.lastUsedAt.getTime() >= keyUseResolutionMinutes * 60_000;
}

/**
 * Sets last_used_at of the key with this secret (through shipslog.record_api_key_use: the API's
 * login holds no privilege on api_keys, and may mark only a key it was given).
 */
export async function recordKeyUse(db: Queryable, key: string): Promise<void> {
  await db`select shipslog.record_api_key_use(${hashKey(key)})`;
}
