-- Up Migration

revoke all
  on all tables in schema shipslog
  from public;

revoke all
  on all functions in schema shipslog
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

grant execute
  on function
    shipslog.is_dns_label(text),
    shipslog.iso_utc(timestamptz),
    shipslog.is_resource_list(jsonb),
    shipslog.event_payload(shipslog.deployment_events),
    shipslog.event_hash(bytea, shipslog.deployment_events),
    shipslog.audited_state(shipslog.deployments),
    shipslog.jsonb_diff(jsonb, jsonb),
    shipslog.event_changes(jsonb, jsonb),
    shipslog.derive_action(jsonb, jsonb),
    shipslog.context_setting(text),
    shipslog.verify_chains(uuid),
    shipslog.apply_event(jsonb, jsonb, jsonb),
    shipslog.replay_state(jsonb, jsonb),
    shipslog.deployment_diff(shipslog.deployments, shipslog.deployments),
    shipslog.relative_time(timestamptz, timestamptz),
    shipslog.describe_value(jsonb),
    shipslog.describe_change(jsonb),
    shipslog.describe_event(text, jsonb, jsonb, jsonb),
    shipslog.history(text, text, integer)
  to shipslog_app, shipslog_reconciler, shipslog_auditor;

-- Down Migration
select 1;
