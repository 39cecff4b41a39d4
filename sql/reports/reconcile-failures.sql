-- Where did reconciling fail in the last 24 hours? One row per target (<cluster>/<namespace>)
-- from the view shipslog.reconcile_recent_failures: failed runs, how many deployments they
-- touched, and the latest failure's time, reason and message; most failures first. Each
-- failed run is in reconcile-failed-runs.sql.
--
-- Variables: none.
--
--   psql -X -v ON_ERROR_STOP=1 -f sql/reports/reconcile-failures.sql

select
  f.target,
  f.failures,
  f.deployments,
  f.last_failure_at,
  f.last_failure_reason,
  f.last_failure_message
from shipslog.reconcile_recent_failures as f
order by f.failures desc, f.target;
