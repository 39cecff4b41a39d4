-- Which reconcile runs failed, for which deployment, and why? Each run that failed in
-- [from, to), newest failure first (shipslog.reconcile_failed_runs: seed 004's "recent
-- failures by target resource" as rows; reconcile-failures.sql is the same grouped by
-- target): when it failed and started, the target, the deployment and the generation it
-- tried to apply, the failure's reason and message, how long it ran, the replica
-- (worker_id), its correlation id and the run's id.
--
-- Variables (all optional):
--   from        failed at or after, any timestamptz text (default: 24 hours ago)  -v from=2025-06-01
--   to          failed before (default: no end)                                  -v to=2025-06-08
--   target      only this target, <cluster>/<namespace> (default: all)           -v target=https://k8s.example:6443/acme
--   deployment  only TENANT/NAME (default: all)                                  -v deployment=acme/orders-db
--
--   psql -X -v ON_ERROR_STOP=1 -v from=2025-06-01 -f sql/reports/reconcile-failed-runs.sql

\if :{?from}
\else
  \set from ''
\endif
\if :{?to}
\else
  \set to ''
\endif
\if :{?target}
\else
  \set target ''
\endif
\if :{?deployment}
\else
  \set deployment ''
\endif

select
  f.completed_at,
  f.started_at,
  f.target,
  f.tenant,
  f.name,
  f.generation,
  f.failure_reason,
  f.failure_message,
  f.duration_ms,
  f.worker_id,
  f.correlation_id,
  f.run_id,
  f.deployment_id
from shipslog.reconcile_failed_runs(
    coalesce(nullif(:'from', '')::timestamptz, now() - interval '24 hours'),
    coalesce(nullif(:'to', '')::timestamptz, 'infinity'),
    nullif(:'target', '')) as f
where :'deployment' = ''
  or (f.tenant = split_part(:'deployment', '/', 1) and f.name = split_part(:'deployment', '/', 2))
order by f.completed_at desc, f.run_id;
