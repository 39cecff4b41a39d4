-- The API's one way into api_keys: the active key whose SHA-256 is p_key_hash, without the
-- hash. SECURITY DEFINER, so shipslog_app (which holds no privilege on the table) can
-- authenticate a request and nothing more: it cannot list, create or revoke keys.
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
    and k.revoked_at is null;
end;

revoke execute
  on function shipslog.find_active_api_key(bytea)
  from public;

grant execute
  on function shipslog.find_active_api_key(bytea)
  to shipslog_app;
