-- Who may do what with agent messages. PUBLIC executes none of these functions (PostgreSQL
-- grants EXECUTE on every new function to PUBLIC and per-schema default privileges cannot
-- take that away, so it is revoked here by name); trigger functions need no EXECUTE to fire.
revoke execute
  on function
    shipslog.agent_attribution(),
    shipslog.register_project(text, text),
    shipslog.tg_projects__immutable(),
    shipslog.tg_agent_messages__guard(),
    shipslog.tg_agent_messages__no_truncate(),
    shipslog.tg_agent_message_retention_runs__append_only(),
    shipslog.purge_agent_messages(interval, text),
    shipslog.utc_day(timestamptz),
    shipslog.tg_agent_messages__daily(),
    shipslog.tg_agent_messages__daily_delete(),
    shipslog.tg_agent_message_daily__guard(),
    shipslog.agent_message_daily_drift(),
    shipslog.decimal_text(numeric),
    shipslog.agent_analytics(text, timestamptz, timestamptz, integer),
    shipslog.agent_analytics_scan(text, timestamptz, timestamptz, integer),
    shipslog.deployment_agent_cost(uuid)
  from public;

-- The retention job's identity (owner of shipslog.purge_agent_messages, 30_retention.sql):
-- it may read and delete messages and record its runs, and nothing else.
grant usage
  on schema shipslog
  to shipslog_agent_retention;

grant select, delete
  on shipslog.agent_messages
  to shipslog_agent_retention;

grant select, insert
  on shipslog.agent_message_retention_runs
  to shipslog_agent_retention;

grant execute
  on function
    shipslog.context_setting(text),
    shipslog.iso_utc(timestamptz),
    shipslog.agent_attribution()
  to shipslog_agent_retention;

-- The API writes messages (insert placeholder, update to finalise; the guard trigger allows
-- nothing else) and reads its tenant's projects; projects are registered through the
-- SECURITY DEFINER shipslog.register_project called by that trigger. The daily sums are
-- written by SECURITY DEFINER triggers only.
grant select, insert, update
  on shipslog.agent_messages
  to shipslog_app;

grant select
  on shipslog.projects, shipslog.agent_message_retention_runs, shipslog.agent_message_deployment_changes
  to shipslog_app, shipslog_auditor;

grant select
  on shipslog.agent_messages
  to shipslog_auditor;

grant select
  on shipslog.agent_message_daily
  to shipslog_app, shipslog_auditor;

grant execute
  on function
    shipslog.agent_attribution(),
    shipslog.register_project(text, text)
  to shipslog_app;

grant execute
  on function
    shipslog.decimal_text(numeric),
    shipslog.utc_day(timestamptz),
    shipslog.agent_analytics(text, timestamptz, timestamptz, integer),
    shipslog.agent_analytics_scan(text, timestamptz, timestamptz, integer),
    shipslog.deployment_agent_cost(uuid)
  to shipslog_app, shipslog_auditor;

grant execute
  on function shipslog.agent_message_daily_drift()
  to shipslog_auditor;

-- Who may purge: the owner (`shipslog agent-messages purge`) and shipslog_reconciler, whose
-- login runs the service's daily retention job (system work, like reconciling). API request
-- transactions run as shipslog_app and cannot, so they cannot remove everything older than
-- the one-day floor whatever retention the service is configured with.
grant execute
  on function shipslog.purge_agent_messages(interval, text)
  to current_user, shipslog_reconciler;
