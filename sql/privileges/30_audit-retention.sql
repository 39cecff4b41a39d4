-- The grants of shipslog_audit_retention, the role that owns shipslog.purge_audit_events()
-- (sql/audit/85_retention.sql): it reads and deletes events, appends the purge's event, writes
-- anchors and purges, and calls what the purge calls. Applied after every other file's grants:
-- PostgreSQL appends a new grantee to an object's ACL, so granting last keeps each ACL in the
-- same order in a fresh database and in one upgraded from a version without this role
-- (test/schema/upgrade.test.ts compares the two).
grant usage
  on schema shipslog
  to shipslog_audit_retention;

grant select, insert, delete
  on shipslog.deployment_events
  to shipslog_audit_retention;

grant select
  on shipslog.audit_retention, shipslog.audit_chain_anchors, shipslog.audit_chain_starts, shipslog.audit_purges
  to shipslog_audit_retention;

grant insert
  on shipslog.audit_chain_anchors, shipslog.audit_purges
  to shipslog_audit_retention;

grant usage
  on sequence shipslog.deployment_events_seq
  to shipslog_audit_retention;

grant usage, select
  on sequence shipslog.audit_purges_id_seq
  to shipslog_audit_retention;

grant execute
  on function
    shipslog.system_chain_id(),
    shipslog.audit_retention_cuts(timestamptz),
    shipslog.replay_state_from(jsonb, uuid, integer, integer),
    shipslog.is_row_change(text),
    shipslog.anchor_message(uuid, integer, bytea, jsonb, boolean, timestamptz),
    shipslog.event_category(text),
    shipslog.event_hash(bytea, shipslog.deployment_events),
    shipslog.event_payload(shipslog.deployment_events),
    shipslog.apply_event(jsonb, jsonb, jsonb),
    -- replay_state_from() replays row changes only (45_record_event.sql).
    shipslog.is_row_change(text),
    shipslog.replay_state(jsonb, jsonb),
    shipslog.context_setting(text),
    shipslog.iso_utc(timestamptz)
  to shipslog_audit_retention;
