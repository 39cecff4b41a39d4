-- Privileges and row-level security on the reconciler's tables (baseline). Function grants
-- are with their functions; view grants with the views (50_auditor_views.sql).

revoke all
  on shipslog.reconcile_runs, shipslog.reconcile_run_transitions, shipslog.reconcile_run_audit,
     shipslog.reconcile_queue, shipslog.reconcile_runs_default
  from public;

-- The reconciler writes runs (transitions and audit rows follow by trigger) and its queue.
grant select, insert, update
  on shipslog.reconcile_runs
  to shipslog_reconciler;

grant select, update
  on shipslog.reconcile_queue
  to shipslog_reconciler;

grant select
  on shipslog.reconcile_runs, shipslog.reconcile_run_transitions, shipslog.reconcile_run_audit
  to shipslog_app, shipslog_reconciler, shipslog_auditor;

-- The API reads runs per tenant, like deployments (shipslog.tenant_visible, sql/api). The
-- reconciler works across tenants; auditors read everything.
alter table shipslog.reconcile_runs enable row level security;
alter table shipslog.reconcile_run_transitions enable row level security;
alter table shipslog.reconcile_run_audit enable row level security;

drop policy if exists reconcile_runs_app_tenant
  on shipslog.reconcile_runs;
create policy reconcile_runs_app_tenant
  on shipslog.reconcile_runs
  for select
  to shipslog_app
  using (shipslog.tenant_visible(tenant));

drop policy if exists reconcile_run_transitions_app_tenant
  on shipslog.reconcile_run_transitions;
create policy reconcile_run_transitions_app_tenant
  on shipslog.reconcile_run_transitions
  for select
  to shipslog_app
  using (shipslog.tenant_visible(tenant));

drop policy if exists reconcile_run_audit_app_tenant
  on shipslog.reconcile_run_audit;
create policy reconcile_run_audit_app_tenant
  on shipslog.reconcile_run_audit
  for select
  to shipslog_app
  using (shipslog.tenant_visible(tenant));

drop policy if exists reconcile_runs_reconciler_all
  on shipslog.reconcile_runs;
create policy reconcile_runs_reconciler_all
  on shipslog.reconcile_runs
  for all
  to shipslog_reconciler, shipslog_auditor
  using (true)
  with check (true);

drop policy if exists reconcile_run_transitions_read_all
  on shipslog.reconcile_run_transitions;
create policy reconcile_run_transitions_read_all
  on shipslog.reconcile_run_transitions
  for select
  to shipslog_reconciler, shipslog_auditor
  using (true);

drop policy if exists reconcile_run_audit_read_all
  on shipslog.reconcile_run_audit;
create policy reconcile_run_audit_read_all
  on shipslog.reconcile_run_audit
  for select
  to shipslog_reconciler, shipslog_auditor
  using (true);
