-- Who may read and call what in the audit subject. Functions are executable by PUBLIC by
-- default, so PUBLIC's EXECUTE is revoked here on the functions of 10_..50_ (and on every
-- function in the schema, those of 60_ and 70_ included, by
-- sql/privileges/90_revoke-public-execute.sql, applied last); the roles get what they call.
-- Trigger functions need no EXECUTE to fire, and shipslog.record_checkpoint() is for the
-- owner: neither is granted to anyone.

revoke all
  on shipslog.deployments, shipslog.deployment_events, shipslog.audit_checkpoints
  from public;

-- The API creates, changes and requests removal; the reconciler records what it observed
-- and deletes the row once Kubernetes holds nothing of it. Neither can write an event: the
-- audit trigger does, as its owner.
grant select, insert, update, delete
  on shipslog.deployments
  to shipslog_app;

grant select, update, delete
  on shipslog.deployments
  to shipslog_reconciler;

grant select
  on shipslog.deployments, shipslog.deployment_events
  to shipslog_app, shipslog_reconciler, shipslog_auditor;

-- No role holds INSERT on the checkpoints: they are written only by
-- shipslog.record_checkpoint(), which recomputes the digest.
grant select
  on shipslog.audit_checkpoints
  to shipslog_app, shipslog_reconciler, shipslog_auditor;

revoke execute
  on function
    shipslog.event_payload(shipslog.deployment_events),
    shipslog.event_hash(bytea, shipslog.deployment_events),
    shipslog.tg_audit_records__no_truncate(),
    shipslog.tg_deployment_events__append_only(),
    shipslog.audited_state(shipslog.deployments),
    shipslog.jsonb_diff(jsonb, jsonb),
    shipslog.deployment_diff(shipslog.deployments, shipslog.deployments),
    shipslog.derive_action(jsonb, jsonb),
    shipslog.version_order(text, text),
    shipslog.tg_deployments__audit(),
    shipslog.apply_event(jsonb, jsonb, jsonb),
    shipslog.replay_state(jsonb, jsonb),
    shipslog.verify_chains(uuid)
  from public;

grant execute
  on function
    shipslog.event_payload(shipslog.deployment_events),
    shipslog.event_hash(bytea, shipslog.deployment_events),
    shipslog.audited_state(shipslog.deployments),
    shipslog.jsonb_diff(jsonb, jsonb),
    shipslog.derive_action(jsonb, jsonb),
    shipslog.version_order(text, text),
    shipslog.verify_chains(uuid),
    shipslog.apply_event(jsonb, jsonb, jsonb),
    shipslog.replay_state(jsonb, jsonb),
    shipslog.deployment_diff(shipslog.deployments, shipslog.deployments),
    shipslog.chain_digest(pg_snapshot),
    shipslog.checkpoint_message(pg_snapshot, bigint, bigint, bytea),
    shipslog.event_payload_text(shipslog.deployment_events)
  to shipslog_app, shipslog_reconciler, shipslog_auditor;

-- Which schema a database holds (the migrations and sql/ digest): the runtime logins check it
-- at start when they run without the owner's URL (src/cli/database.ts).
grant select
  on shipslog.schema_definitions
  to shipslog_app, shipslog_reconciler, shipslog_auditor;
