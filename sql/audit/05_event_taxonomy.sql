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

-- An event's severity: the action's default, refined where the payload tells more. A status
-- change to failed is an error, a health change to Degraded or Missing a warning (the same
-- action, health_changed, is info when it recovers).
create or replace function shipslog.event_severity(action text, new_state jsonb)
returns text
language sql
immutable
parallel safe
return case
    when action = 'status_changed' and new_state ->> 'status' = 'failed' then 'error'
    when action = 'health_changed' and new_state ->> 'health' in ('Degraded', 'Missing') then 'warning'
    else shipslog.action_severity(action)
  end;

comment on function shipslog.event_severity(text, jsonb) is
  'Severity (info, warning, error, critical) of one event: shipslog.action_severity(action), refined by what the event set.';

-- The severities in order, for "this severity or worse" filters.
create or replace function shipslog.severity_rank(severity text)
returns integer
language sql
immutable
parallel safe
return array_position(array['info', 'warning', 'error', 'critical'], severity);

-- The fields each event type that is not a row change must carry in its details
-- (new_state -> 'details'), checked by shipslog.append_event() (SL401 names the missing one).
-- Null for a row-change action (the audit trigger records those) and for an unknown one: neither
-- can be recorded through append_event(). Every type also takes optional parent_seq (the event
-- it follows from, e.g. the approval_requested of an approval_granted) and related_seqs.
create or replace function shipslog.event_required_fields(action text)
returns text[]
language sql
immutable
parallel safe
return case action
    when 'deployment_started' then array['generation', 'run_id']
    when 'deployment_completed' then array['generation', 'run_id', 'outcome']
    when 'deployment_failed' then array['generation', 'run_id', 'failure_reason']
    when 'deployment_cancelled' then array['generation', 'superseded_by_generation']
    when 'approval_requested' then array['approval_id', 'generation', 'required_approvals', 'expires_at']
    when 'approval_granted' then array['approval_id', 'generation', 'approver', 'approvals', 'required_approvals']
    when 'approval_denied' then array['approval_id', 'generation', 'approver']
    when 'approval_expired' then array['approval_id', 'generation', 'expires_at']
    when 'approval_cancelled' then array['approval_id', 'generation', 'cancelled_because']
    when 'gate_started' then array['gate', 'generation']
    when 'gate_passed' then array['gate', 'generation', 'evidence_url']
    when 'gate_failed' then array['gate', 'generation', 'evidence_url']
    when 'gate_warned' then array['gate', 'generation', 'evidence_url']
    when 'gate_skipped' then array['gate', 'generation', 'skipped_because']
    when 'rollback_started' then array['generation', 'target_seq', 'target_chain_index']
    when 'rollback_completed' then array['generation', 'run_id']
    when 'rollback_failed' then array['generation', 'failure_reason']
    when 'access_denied' then array['method', 'path', 'denied_because']
    when 'security_violation' then array['finding']
  end;

comment on function shipslog.event_required_fields(text) is
  'Fields the details of a non-row-change event type must hold (shipslog.append_event checks them); null for row-change and unknown actions.';

grant execute
  on function
    shipslog.event_category(text),
    shipslog.action_severity(text),
    shipslog.event_severity(text, jsonb),
    shipslog.severity_rank(text),
    shipslog.event_required_fields(text)
  to shipslog_app, shipslog_reconciler, shipslog_auditor;
