-- Which reconcile runs failed, for which deployment, and why? Each failed run started in
-- [from, to), newest first: the deployment and the generation it tried to apply, the
-- target, the failure's reason and message, the replica (worker_id) and the run's id,
-- which is also its correlation id in the reconciler's logs.
--
-- Variables (all optional):
--   from        start, inclusive, any timestamptz text (default: 24 hours ago)  -v from=2025-06-01
--   to          end, exclusive (default: no end)                                -v to=2025-06-08
--   deployment  only TENANT/NAME (default: all)                                 -v deployment=acme/orders-db
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
\if :{?deployment}
\else
  \set deployment ''
\endif

select
  r.started_at,
  r.completed_at,
  r.tenant,
  r.name,
  r.generation,
  r.target,
  r.failure_reason,
  r.failure_message,
  r.duration_ms,
  r.worker_id,
  r.id as run_id,
  r.deployment_id
from shipslog.reconcile_runs as r
where r.phase = 'Failed'
  and r.started_at >= coalesce(nullif(:'from', '')::timestamptz, now() - interval '24 hours')
  and r.started_at < coalesce(nullif(:'to', '')::timestamptz, 'infinity')
  and (:'deployment' = ''
    or (r.tenant = split_part(:'deployment', '/', 1) and r.name = split_part(:'deployment', '/', 2)))
order by r.started_at desc, r.id;
