-- Up Migration

-- A reconcile run's correlation_id is now the X-Correlation-Id (or request id) of the request
-- that made its generation (issue 11), no longer its own id: "everything caused by X"
-- (shipslog.caused_by, GET /v1/events?correlation_id=) finds the runs by it.
create index reconcile_runs_correlation_id_idx
  on shipslog.reconcile_runs (correlation_id);

-- Down Migration
drop index shipslog.reconcile_runs_correlation_id_idx;
