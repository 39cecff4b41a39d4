-- Up Migration

-- Idempotency-Key answers are kept 24 hours (as Stripe and the IETF draft suggest): a
-- request with a key first deletes its API key's expired answers, through this index, so the
-- table stays as large as one day of keyed POSTs.
create index idempotency_keys_expiry_idx
  on shipslog.idempotency_keys (api_key_id, created_at);

grant delete
  on shipslog.idempotency_keys
  to shipslog_app;

-- Down Migration
revoke delete
  on shipslog.idempotency_keys
  from shipslog_app;
drop index shipslog.idempotency_keys_expiry_idx;
