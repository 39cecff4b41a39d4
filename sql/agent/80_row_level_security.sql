-- Tenant isolation in PostgreSQL with the API's rule (sql/api/10_tenant_visible.sql): a row
-- is visible for the transaction's shipslog.tenant, or every tenant for a global key ('*'),
-- and none when unset. Not forced: the owner (migrations, psql as owner) sees everything, as
-- for deployments. Auditors read every tenant; the retention role reads and deletes every
-- tenant's messages (its grants bound what it may do).
--
-- The tenant policies spell that rule out with built-ins instead of calling
-- shipslog.tenant_visible(): a function with SET search_path is never inlined, and per row
-- it cost 3.1 ms per 1,000 rows (31 ms of a 10,000-row scan, bench/agent.ts) against ~0.1 ms.
-- test/agent/analytics.test.ts holds both to the same answers.
alter table shipslog.agent_messages enable row level security;
alter table shipslog.projects enable row level security;
alter table shipslog.agent_message_daily enable row level security;

drop policy if exists agent_messages_tenant on shipslog.agent_messages;
create policy agent_messages_tenant
  on shipslog.agent_messages
  to shipslog_app
  using (coalesce(nullif(current_setting('shipslog.tenant', true), '') in ('*', tenant), false))
  with check (coalesce(nullif(current_setting('shipslog.tenant', true), '') in ('*', tenant), false));

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
  using (coalesce(nullif(current_setting('shipslog.tenant', true), '') in ('*', tenant), false));

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
  using (coalesce(nullif(current_setting('shipslog.tenant', true), '') in ('*', tenant), false));

drop policy if exists agent_message_daily_auditor on shipslog.agent_message_daily;
create policy agent_message_daily_auditor
  on shipslog.agent_message_daily
  for select
  to shipslog_auditor
  using (true);
