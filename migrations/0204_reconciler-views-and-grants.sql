-- Up Migration

-- Auditor views. Targets are "<cluster>/<namespace>".

-- Failures in the last 24 hours per target, with the latest reason.
create view shipslog.reconcile_recent_failures as
select
  r.target,
  count(*) as failures,
  count(distinct r.deployment_id) as deployments,
  max(r.completed_at) as last_failure_at,
  (array_agg(r.failure_reason order by r.completed_at desc))[1] as last_failure_reason,
  (array_agg(r.failure_message order by r.completed_at desc))[1] as last_failure_message
from shipslog.reconcile_runs as r
where r.phase = 'Failed'
  and r.started_at > now() - interval '24 hours'
group by r.target;

-- How often replicas met a held claim (ResourceBusy) or a back-off (RecentlyRemediated) in
-- 7 days, against all runs: a high busy share means replicas are racing for the same work.
create view shipslog.reconcile_lock_effectiveness as
with recent as (
  select r.skip_reason, r.deployment_id
  from shipslog.reconcile_runs as r
  where r.started_at > now() - interval '7 days'
)
select
  coalesce(recent.skip_reason, 'none') as skip_reason,
  count(*) as runs,
  count(distinct recent.deployment_id) as deployments,
  round(100.0 * count(*) / sum(count(*)) over (), 2) as percent_of_runs
from recent
group by recent.skip_reason;

-- Success rate per target over 30 days (skipped runs are neither success nor failure).
create view shipslog.reconcile_success_rate as
select
  r.target,
  count(*) as runs,
  count(*) filter (where r.phase = 'Completed') as completed,
  count(*) filter (where r.phase = 'Failed') as failed,
  count(*) filter (where r.phase = 'Skipped') as skipped,
  round(100.0 * count(*) filter (where r.phase = 'Completed')
        / nullif(count(*) filter (where r.phase in ('Completed', 'Failed')), 0), 2) as success_percent,
  round(avg(r.duration_ms) filter (where r.phase = 'Completed')) as avg_duration_ms
from shipslog.reconcile_runs as r
where r.started_at > now() - interval '30 days'
group by r.target;

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

grant select
  on shipslog.reconcile_recent_failures, shipslog.reconcile_lock_effectiveness, shipslog.reconcile_success_rate
  to shipslog_auditor, shipslog_reconciler;

revoke all
  on function
    shipslog.ensure_reconcile_run_partitions(integer),
    shipslog.backfill_reconcile_run_audit()
  from public;

grant execute
  on function shipslog.ensure_reconcile_run_partitions(integer)
  to shipslog_reconciler;

-- The API reads runs per tenant, like deployments (see 0101).
alter table shipslog.reconcile_runs enable row level security;
alter table shipslog.reconcile_run_transitions enable row level security;
alter table shipslog.reconcile_run_audit enable row level security;

create policy reconcile_runs_app_tenant
  on shipslog.reconcile_runs
  for select
  to shipslog_app
  using (shipslog.tenant_visible(tenant));

create policy reconcile_run_transitions_app_tenant
  on shipslog.reconcile_run_transitions
  for select
  to shipslog_app
  using (shipslog.tenant_visible(tenant));

create policy reconcile_run_audit_app_tenant
  on shipslog.reconcile_run_audit
  for select
  to shipslog_app
  using (shipslog.tenant_visible(tenant));

create policy reconcile_runs_reconciler_all
  on shipslog.reconcile_runs
  for all
  to shipslog_reconciler, shipslog_auditor
  using (true)
  with check (true);

create policy reconcile_run_transitions_read_all
  on shipslog.reconcile_run_transitions
  for select
  to shipslog_reconciler, shipslog_auditor
  using (true);

create policy reconcile_run_audit_read_all
  on shipslog.reconcile_run_audit
  for select
  to shipslog_reconciler, shipslog_auditor
  using (true);

-- Down Migration
drop policy reconcile_run_audit_read_all on shipslog.reconcile_run_audit;
drop policy reconcile_run_transitions_read_all on shipslog.reconcile_run_transitions;
drop policy reconcile_runs_reconciler_all on shipslog.reconcile_runs;
drop policy reconcile_run_audit_app_tenant on shipslog.reconcile_run_audit;
drop policy reconcile_run_transitions_app_tenant on shipslog.reconcile_run_transitions;
drop policy reconcile_runs_app_tenant on shipslog.reconcile_runs;
alter table shipslog.reconcile_run_audit disable row level security;
alter table shipslog.reconcile_run_transitions disable row level security;
alter table shipslog.reconcile_runs disable row level security;
drop view shipslog.reconcile_success_rate;
drop view shipslog.reconcile_lock_effectiveness;
drop view shipslog.reconcile_recent_failures;
