-- Up Migration

-- API keys can expire (`shipslog keys create --expires-in 90d`); null never expires, as every
-- key made before this migration. shipslog.find_active_api_key() (sql/api/15_api_keys.sql)
-- refuses a key whose expires_at has passed, exactly as a revoked one.
alter table shipslog.api_keys
  add column expires_at timestamptz,
  add constraint api_keys_expires_at_check check (expires_at > created_at);

-- Down Migration
alter table shipslog.api_keys
  drop column expires_at;
