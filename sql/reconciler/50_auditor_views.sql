-- Auditor views. Targets are "<cluster>/<namespace>".

-- Failures in the last 24 hours per target, with the latest reason.
create or replace view shipslog.reconcile_recent_failures as
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
create or replace view shipslog.reconcile_lock_effectiveness as
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
create or replace view shipslog.reconcile_success_rate as
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

grant select
  on shipslog.reconcile_recent_failures, shipslog.reconcile_lock_effectiveness, shipslog.reconcile_success_rate
  to shipslog_auditor, shipslog_reconciler;
