-- The API's one way into api_keys: the active key whose SHA-256 is p_key_hash, without the
-- hash. SECURITY DEFINER, so shipslog_app (which holds no privilege on the table) can
-- authenticate a request and nothing more: it cannot list, create or revoke keys. A key is
-- active while it is neither revoked nor past its expires_at (`keys create --expires-in`).
create or replace function shipslog.find_active_api_key(p_key_hash bytea)
returns table (
  id uuid,
  name text,
  tenant text,
  scopes text[],
  actor_type text,
  key_prefix text,
  created_at timestamptz,
  revoked_at timestamptz,
  last_used_at timestamptz
)
language sql
stable
security definer
set search_path = ''
begin atomic
  select k.id, k.name, k.tenant, k.scopes, k.actor_type, k.key_prefix, k.created_at, k.revoked_at, k.last_used_at
  from shipslog.api_keys as k
  where k.key_hash = p_key_hash
    and k.revoked_at is null
    and (k.expires_at is null or k.expires_at > now());
end;

revoke execute
  on function shipslog.find_active_api_key(bytea)
  from public;

grant execute
  on function shipslog.find_active_api_key(bytea)
  to shipslog_app;

-- When a key was last used, kept cheaply: at most one write per key per 5 minutes. The API
-- calls this only when the last_used_at that find_active_api_key() just returned is older
-- than that (src/db/api-keys.ts, keyUseResolutionMinutes), so a busy key costs no write per
-- request; the condition here holds across replicas and against a caller that calls in a
-- loop. SECURITY DEFINER: shipslog_app may set this one column of an active key, nothing else,
-- and only of a key whose secret it was given (by its SHA-256, as find_active_api_key).
create or replace function shipslog.record_api_key_use(p_key_hash bytea)
returns void
language sql
volatile
security definer
set search_path = ''
begin atomic
  update shipslog.api_keys as k
  set last_used_at = now()
  where k.key_hash = p_key_hash
    and k.revoked_at is null
    and (k.expires_at is null or k.expires_at > now())
    and (k.last_used_at is null or k.last_used_at < now() - interval '5 minutes');
end;

revoke execute
  on function shipslog.record_api_key_use(bytea)
  from public;

grant execute
  on function shipslog.record_api_key_use(bytea)
  to shipslog_app;
