-- Tenant isolation in PostgreSQL with the API's rule (sql/api/10_tenant_visible.sql): a row
-- is visible for the transaction's shipslog.tenant, or every tenant for a global key ('*'),
-- and none when unset. Not forced: the owner (migrations, psql as owner) sees everything, as
-- for deployments. Auditors read every tenant; the retention role reads and deletes every
-- tenant's messages (its grants bound what it may do).
--
-- The tenant policies call shipslog.tenant_visible(), which the planner inlines (~0.1 ms per
-- 1,000 rows; as a function call it cost 3.1 ms, 31 ms of a 10,000-row scan, bench/agent.ts).
alter table shipslog.agent_messages enable row level security;
alter table shipslog.projects enable row level security;
alter table shipslog.agent_message_daily enable row level security;

drop policy if exists agent_messages_tenant on shipslog.agent_messages;
create policy agent_messages_tenant
  on shipslog.agent_messages
  to shipslog_app
  using (shipslog.tenant_visible(tenant))
  with check (shipslog.tenant_visible(tenant));

drop policy if exists agent_messages_auditor on shipslog.agent_messages;
create policy agent_messages_auditor
  on shipslog.agent_messages
  for select
  to shipslog_auditor
  using (true);

drop policy if exists agent_messages_retention on shipslog.agent_messages;
create policy agent_messages_retention
  on shipslog.agent_messages
  to shipslog_agent_retention
  using (true);

drop policy if exists projects_tenant on shipslog.projects;
create policy projects_tenant
  on shipslog.projects
  for select
  to shipslog_app
  using (shipslog.tenant_visible(tenant));

drop policy if exists projects_auditor on shipslog.projects;
create policy projects_auditor
  on shipslog.projects
  for select
  to shipslog_auditor
  using (true);

drop policy if exists agent_message_daily_tenant on shipslog.agent_message_daily;
create policy agent_message_daily_tenant
  on shipslog.agent_message_daily
  for select
  to shipslog_app
  using (shipslog.tenant_visible(tenant));

drop policy if exists agent_message_daily_auditor on shipslog.agent_message_daily;
create policy agent_message_daily_auditor
  on shipslog.agent_message_daily
  for select
  to shipslog_auditor
  using (true);
