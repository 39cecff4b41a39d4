-- Auditor views. Targets are "<cluster>/<namespace>".

-- Failed runs whose failure falls in [p_since, p_until), newest first, optionally of one
-- target: seed 004's "recent failures by target resource" query as rows. By completed_at (a
-- run fails when it ends; a run left Running by a lost worker fails when the next holder takes
-- over, possibly long after it started), served by the partial indexes
-- reconcile_runs_failed_idx and reconcile_runs_failed_target_idx (migration 0025). The window
-- is not on the partition key, so every monthly partition's index is probed once: one cheap
-- probe per month of history. A SQL-standard body, so the planner inlines it into the query
-- that calls it (the view below) and uses the caller's constants.
create or replace function shipslog.reconcile_failed_runs(
  p_since timestamptz default now() - interval '24 hours',
  p_until timestamptz default 'infinity',
  p_target text default null
)
returns table (
  completed_at timestamptz,
  started_at timestamptz,
  target text,
  tenant text,
  name text,
  generation bigint,
  failure_reason text,
  failure_message text,
  duration_ms integer,
  worker_id text,
  correlation_id text,
  run_id uuid,
  deployment_id uuid
)
language sql
stable
parallel safe
begin atomic
  select
    r.completed_at,
    r.started_at,
    r.target,
    r.tenant,
    r.name,
    r.generation,
    r.failure_reason,
    r.failure_message,
    r.duration_ms,
    r.worker_id,
    r.correlation_id,
    r.id,
    r.deployment_id
  from shipslog.reconcile_runs as r
  where r.phase = 'Failed'
    and r.completed_at >= p_since
    and r.completed_at < p_until
    and (p_target is null or r.target = p_target)
  order by r.completed_at desc, r.id;
end;

-- The failed runs of the last 24 hours, newest first: one row each.
create or replace view shipslog.reconcile_recent_failed_runs as
select f.*
from shipslog.reconcile_failed_runs() as f;

-- The same failures per target, with the latest reason: the rows above, grouped.
create or replace view shipslog.reconcile_recent_failures as
select
  f.target,
  count(*) as failures,
  count(distinct f.deployment_id) as deployments,
  max(f.completed_at) as last_failure_at,
  (array_agg(f.failure_reason order by f.completed_at desc))[1] as last_failure_reason,
  (array_agg(f.failure_message order by f.completed_at desc))[1] as last_failure_message
from shipslog.reconcile_failed_runs() as f
group by f.target;

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
  on shipslog.reconcile_recent_failed_runs, shipslog.reconcile_recent_failures, shipslog.reconcile_lock_effectiveness,
     shipslog.reconcile_success_rate
  to shipslog_auditor, shipslog_reconciler;

revoke execute
  on function shipslog.reconcile_failed_runs(timestamptz, timestamptz, text)
  from public;

-- Inlined or not, a caller needs EXECUTE on it, the views' readers included.
grant execute
  on function shipslog.reconcile_failed_runs(timestamptz, timestamptz, text)
  to shipslog_auditor, shipslog_reconciler;
