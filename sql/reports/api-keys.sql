-- Who can reach the API, with what? Every API key: its name, tenant (empty: a global key
-- that sees every tenant), scopes, whether its holder is a user or a service, when it was
-- created and last used (to within 5 minutes), when it expires, and when it was revoked.
-- Active keys (neither revoked nor expired) first, admin and global first among them. Keys
-- are stored hashed; the prefix is what `shipslog keys list` shows.
--
-- Variables: none.
--
--   psql -X -v ON_ERROR_STOP=1 -f sql/reports/api-keys.sql

select
  k.name,
  k.tenant,
  array_to_string(k.scopes, ' ') as scopes,
  k.actor_type,
  k.key_prefix,
  k.created_at,
  k.last_used_at,
  k.expires_at,
  k.revoked_at,
  k.id
from shipslog.api_keys as k
order by k.revoked_at is not null or coalesce(k.expires_at <= now(), false), not ('admin' = any(k.scopes)), k.tenant nulls first, k.name, k.created_at;
