-- Applied last. PostgreSQL grants EXECUTE on every new function to PUBLIC, and per-schema
-- default privileges cannot take that away, so every function sql/ (re)creates loses PUBLIC's
-- EXECUTE here; roles hold EXECUTE only where a file of sql/ grants it. Trigger functions need
-- no EXECUTE to fire; record_checkpoint() is for the owner.
-- test/append-only.test.ts fails when a function in the schema is executable by PUBLIC.
revoke execute
  on all functions in schema shipslog
  from public;
