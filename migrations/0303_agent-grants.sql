-- Up Migration

-- The retention job's identity (see 0300): it may read and delete messages and record its
-- runs, and nothing else. current_user = shipslog_agent_retention inside the purge function
-- is what the delete guard checks.
alter function shipslog.purge_agent_messages(interval, text)
  owner to shipslog_agent_retention;

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
-- SECURITY DEFINER shipslog.register_project called by that trigger.
grant select, insert, update
  on shipslog.agent_messages
  to shipslog_app;

grant select
  on shipslog.projects, shipslog.agent_message_retention_runs, shipslog.agent_message_deployment_changes
  to shipslog_app, shipslog_auditor;

grant select
  on shipslog.agent_messages
  to shipslog_auditor;

grant execute
  on function
    shipslog.agent_attribution(),
    shipslog.register_project(text, text),
    shipslog.purge_agent_messages(interval, text)
  to shipslog_app;

grant execute
  on function
    shipslog.decimal_text(numeric),
    shipslog.agent_analytics(text, timestamptz, timestamptz, integer),
    shipslog.deployment_agent_cost(uuid)
  to shipslog_app, shipslog_auditor;

-- Tenant isolation in PostgreSQL with the API's rule (0101): shipslog.tenant_visible() is
-- true for the transaction's shipslog.tenant, or every tenant for a global key ('*'), and
-- false when unset. Not forced: the owner (migrations, psql as owner) sees everything, as
-- for deployments. Auditors read every tenant.
alter table shipslog.agent_messages enable row level security;
alter table shipslog.projects enable row level security;

create policy agent_messages_tenant
  on shipslog.agent_messages
  to shipslog_app
  using (shipslog.tenant_visible(tenant))
  with check (shipslog.tenant_visible(tenant));

create policy agent_messages_auditor
  on shipslog.agent_messages
  for select
  to shipslog_auditor
  using (true);

create policy agent_messages_retention
  on shipslog.agent_messages
  to shipslog_agent_retention
  using (true);

create policy projects_tenant
  on shipslog.projects
  for select
  to shipslog_app
  using (shipslog.tenant_visible(tenant));

create policy projects_auditor
  on shipslog.projects
  for select
  to shipslog_auditor
  using (true);

-- Down Migration
drop policy projects_auditor on shipslog.projects;
drop policy projects_tenant on shipslog.projects;
drop policy agent_messages_retention on shipslog.agent_messages;
drop policy agent_messages_auditor on shipslog.agent_messages;
drop policy agent_messages_tenant on shipslog.agent_messages;
alter table shipslog.projects disable row level security;
alter table shipslog.agent_messages disable row level security;
