-- Row-level security on the API's tables, with shipslog.tenant_visible() (10_tenant_visible.sql).
-- The owner bypasses RLS (not forced): the audit trigger (SECURITY DEFINER, as owner) must
-- still read every chain and write every event.
alter table shipslog.deployments enable row level security;
alter table shipslog.deployment_events enable row level security;
alter table shipslog.idempotency_keys enable row level security;

drop policy if exists deployments_app_tenant on shipslog.deployments;
create policy deployments_app_tenant
  on shipslog.deployments
  for all
  to shipslog_app
  using (shipslog.tenant_visible(tenant))
  with check (shipslog.tenant_visible(tenant));

drop policy if exists deployment_events_app_tenant on shipslog.deployment_events;
create policy deployment_events_app_tenant
  on shipslog.deployment_events
  for select
  to shipslog_app
  using (shipslog.tenant_visible(tenant));

-- The reconciler works across tenants; auditors read everything. Their own grants still bound
-- what they may do (auditors: select only).
drop policy if exists deployments_reconciler_all on shipslog.deployments;
create policy deployments_reconciler_all
  on shipslog.deployments
  for all
  to shipslog_reconciler
  using (true)
  with check (true);

drop policy if exists deployment_events_reconciler_all on shipslog.deployment_events;
create policy deployment_events_reconciler_all
  on shipslog.deployment_events
  for select
  to shipslog_reconciler
  using (true);

drop policy if exists deployments_auditor_all on shipslog.deployments;
create policy deployments_auditor_all
  on shipslog.deployments
  for select
  to shipslog_auditor
  using (true);

drop policy if exists deployment_events_auditor_all on shipslog.deployment_events;
create policy deployment_events_auditor_all
  on shipslog.deployment_events
  for select
  to shipslog_auditor
  using (true);

-- Idempotency-Key answers: the app sees only its tenant's.
drop policy if exists idempotency_keys_app_tenant on shipslog.idempotency_keys;
create policy idempotency_keys_app_tenant
  on shipslog.idempotency_keys
  for all
  to shipslog_app
  using (shipslog.tenant_visible(tenant))
  with check (shipslog.tenant_visible(tenant));
