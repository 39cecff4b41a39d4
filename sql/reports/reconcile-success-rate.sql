-- How reliably does each target reconcile? One row per target (<cluster>/<namespace>) over
-- the last 30 days, from the view shipslog.reconcile_success_rate: runs, completed, failed
-- and skipped (a replica met a held claim or a back-off), the share of completed among
-- completed and failed, and the mean duration of a completed run; least reliable first.
--
-- Variables: none.
--
--   psql -X -v ON_ERROR_STOP=1 -f sql/reports/reconcile-success-rate.sql

select
  s.target,
  s.runs,
  s.completed,
  s.failed,
  s.skipped,
  s.success_percent,
  s.avg_duration_ms
from shipslog.reconcile_success_rate as s
order by s.success_percent nulls last, s.target;
