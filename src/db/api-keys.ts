import { createHash, randomBytes } from 'node:crypto';
import type { Queryable } from './client.ts';

export type KeyScope = 'read' | 'deploy' | 'audit' | 'admin';
export const keyScopes: readonly KeyScope[] = ['read', 'deploy', 'audit', 'admin'];

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
}

/** Keys look like `slk_<43 base64url chars>`: 32 random bytes, so SHA-256 is a safe hash. */
export function generateKey(): string {
  return `slk_${randomBytes(32).toString('base64url')}`;
}

export function hashKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

const columns = (db: Queryable) => db`
  id, name, tenant, scopes, actor_type as "actorType", key_prefix as "keyPrefix",
  created_at as "createdAt", revoked_at as "revokedAt", last_used_at as "lastUsedAt"
`;

/** Creates a key and returns it with its secret, which is never stored and shown only now. */
export async function createApiKey(
  db: Queryable,
  input: { name: string; tenant: string | null; scopes: KeyScope[]; actorType?: 'user' | 'service' },
): Promise<{ key: string; apiKey: ApiKey }> {
  const key = generateKey();
  const [apiKey] = await db<ApiKey[]>`
    insert into shipslog.api_keys (name, tenant, scopes, actor_type, key_hash, key_prefix)
    values (${input.name}, ${input.tenant}, ${input.scopes}::text[], ${input.actorType ?? 'service'},
            ${hashKey(key)}, ${key.slice(0, 10)})
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
  const isUuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(idOrPrefix);
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
  const [row] = await db<{ n: number }[]>`select count(*)::int as n from shipslog.api_keys where revoked_at is null`;
  return row?.n ?? 0;
}

/**
 * The active key with this secret, or null. One unique-index probe, through
 * shipslog.find_active_api_key(): the API's login holds no privilege on api_keys itself.
 */
export async function findActiveKey(db: Queryable, key: string): Promise<ApiKey | null> {
  const [row] = await db<ApiKey[]>`
    select ${columns(db)}
    from shipslog.find_active_api_key(${hashKey(key)})
  `;
  return row ?? null;
}
