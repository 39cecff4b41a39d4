-- api_keys is read by the API only through shipslog.find_active_api_key() (15_api_keys.sql),
-- so no runtime login can list keys. Auditors may see who holds which key, never the hashes.
grant select (id, name, tenant, scopes, actor_type, key_prefix, created_at, revoked_at, last_used_at, expires_at)
  on shipslog.api_keys
  to shipslog_auditor;

-- Idempotency-Key answers: written and replayed by the app, which also deletes its API key's
-- answers older than 24 hours (through idempotency_keys_expiry_idx) before it stores one.
grant select, insert, update, delete
  on shipslog.idempotency_keys
  to shipslog_app;
