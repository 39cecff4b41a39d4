-- Up Migration

-- History shows each event's category and severity (derived from the hashed action,
-- sql/audit/05_event_taxonomy.sql) and the details of events that are not row changes
-- (issue 11). A function's result columns cannot change with create or replace: drop the two
-- here; sql/audit/60_history.sql creates them again with the new columns.
drop function if exists shipslog.history(text, text, integer);
drop function if exists shipslog.readable_events(shipslog.deployment_events[]);

-- Down Migration
-- sql/ of the previous version creates both again.
