-- Up Migration

-- Tenant isolation lives here, not only in handlers. Each API request transaction runs as
-- shipslog_app with shipslog.tenant set (set_config(..., true)) to the caller's tenant, or to
-- '*' for a global key ('*' is no DNS label, so it can never be a tenant's name). Unset or
-- empty means no rows: a code path that forgets the context sees nothing rather than all.
create function shipslog.tenant_visible(row_tenant text)
returns boolean
language sql
stable
parallel safe
set search_path = ''
return coalesce(
  nullif(current_setting('shipslog.tenant', true), '') in ('*', row_tenant),
  false);

grant execute
  on function shipslog.tenant_visible(text)
  to shipslog_app, shipslog_reconciler, shipslog_auditor;

-- The owner bypasses RLS (not forced): the audit trigger (SECURITY DEFINER, as owner) must
-- still read every chain and write every event.
alter table shipslog.deployments enable row level security;
alter table shipslog.deployment_events enable row level security;

create policy deployments_app_tenant
  on shipslog.deployments
  for all
  to shipslog_app
  using (shipslog.tenant_visible(tenant))
  with check (shipslog.tenant_visible(tenant));

create policy deployment_events_app_tenant
  on shipslog.deployment_events
  for select
  to shipslog_app
  using (shipslog.tenant_visible(tenant));

-- The reconciler works across tenants; auditors read everything. Their own grants still bound
-- what they may do (auditors: select only).
create policy deployments_reconciler_all
  on shipslog.deployments
  for all
  to shipslog_reconciler
  using (true)
  with check (true);

create policy deployment_events_reconciler_all
  on shipslog.deployment_events
  for select
  to shipslog_reconciler
  using (true);

create policy deployments_auditor_all
  on shipslog.deployments
  for select
  to shipslog_auditor
  using (true);

create policy deployment_events_auditor_all
  on shipslog.deployment_events
  for select
  to shipslog_auditor
  using (true);

-- Down Migration
drop policy deployment_events_auditor_all on shipslog.deployment_events;
drop policy deployments_auditor_all on shipslog.deployments;
drop policy deployment_events_reconciler_all on shipslog.deployment_events;
drop policy deployments_reconciler_all on shipslog.deployments;
drop policy deployment_events_app_tenant on shipslog.deployment_events;
drop policy deployments_app_tenant on shipslog.deployments;
alter table shipslog.deployment_events disable row level security;
alter table shipslog.deployments disable row level security;
drop function shipslog.tenant_visible(text);
