-- Up Migration

-- PostgreSQL grants EXECUTE on every new function to PUBLIC, and per-schema default
-- privileges cannot take that away. Roles get EXECUTE only where a migration grants it.
-- (Trigger functions need no EXECUTE to fire; record_checkpoint() is for the owner.)
-- test/append-only.test.ts fails when a function in the schema is left executable by PUBLIC.
revoke execute
  on all functions in schema shipslog
  from public;

-- Down Migration
select 1;
