-- The event taxonomy: every action the trail can hold, its category and its default severity.
--
-- Category and severity are derived from the action, never stored: the action is part of the
-- hashed payload, so they are covered by the chain as they are, cost nothing per write, and a
-- later refinement of the table below re-labels old events consistently. Categories follow the
-- audit specification shipslog was built from (docs/compliance.md maps its event types) and
-- decide retention (sql/audit/ retention functions read shipslog.event_category()).
--
--   deployment_lifecycle  a deployment's existence and its rollouts
--   configuration         its desired state: config, versions, secrets
--   state_change          what the reconciler observed: status, health, resources
--   approval_workflow     approvals of a change
--   compliance_gate       gates a change passed or failed
--   rollback              returning to an earlier desired state
--   security              refusals and integrity findings
--   system                shipslog's own housekeeping (purges, checkpoints)
create or replace function shipslog.event_category(action text)
returns text
language sql
immutable
parallel safe
return case action
    when 'created' then 'deployment_lifecycle'
    when 'removal_requested' then 'deployment_lifecycle'
    when 'removed' then 'deployment_lifecycle'
    when 'restarted' then 'deployment_lifecycle'
    when 'deployment_started' then 'deployment_lifecycle'
    when 'deployment_completed' then 'deployment_lifecycle'
    when 'deployment_failed' then 'deployment_lifecycle'
    when 'deployment_cancelled' then 'deployment_lifecycle'
    when 'config_changed' then 'configuration'
    when 'upgraded' then 'configuration'
    when 'downgraded' then 'configuration'
    when 'secrets_rotated' then 'configuration'
    when 'status_changed' then 'state_change'
    when 'health_changed' then 'state_change'
    when 'resources_changed' then 'state_change'
    when 'approval_requested' then 'approval_workflow'
    when 'approval_granted' then 'approval_workflow'
    when 'approval_denied' then 'approval_workflow'
    when 'approval_expired' then 'approval_workflow'
    when 'approval_cancelled' then 'approval_workflow'
    when 'gate_started' then 'compliance_gate'
    when 'gate_passed' then 'compliance_gate'
    when 'gate_failed' then 'compliance_gate'
    when 'gate_warned' then 'compliance_gate'
    when 'gate_skipped' then 'compliance_gate'
    when 'rolled_back' then 'rollback'
    when 'rollback_started' then 'rollback'
    when 'rollback_completed' then 'rollback'
    when 'rollback_failed' then 'rollback'
    when 'access_denied' then 'security'
    when 'security_violation' then 'security'
    when 'events_purged' then 'system'
  end;

comment on function shipslog.event_category(text) is
  'Category of an audit action (deployment_lifecycle, configuration, state_change, approval_workflow, compliance_gate, rollback, security, system); null for an unknown action.';

-- Default severity of an action: info, warning, error or critical. An event's own severity
-- (shipslog.event_severity(event)) refines it where the payload tells more, e.g. a health
-- change to unhealthy.
create or replace function shipslog.action_severity(action text)
returns text
language sql
immutable
parallel safe
return case action
    when 'deployment_failed' then 'error'
    when 'deployment_cancelled' then 'warning'
    when 'downgraded' then 'warning'
    when 'approval_denied' then 'warning'
    when 'approval_expired' then 'warning'
    when 'gate_failed' then 'error'
    when 'gate_warned' then 'warning'
    when 'gate_skipped' then 'warning'
    when 'rolled_back' then 'warning'
    when 'rollback_started' then 'warning'
    when 'rollback_failed' then 'critical'
    when 'access_denied' then 'warning'
    when 'security_violation' then 'critical'
    else case when shipslog.event_category(action) is not null then 'info' end
  end;

comment on function shipslog.action_severity(text) is
  'Default severity (info, warning, error, critical) of an audit action; null for an unknown action.';

grant execute
  on function
    shipslog.event_category(text),
    shipslog.action_severity(text)
  to shipslog_app, shipslog_reconciler, shipslog_auditor;
