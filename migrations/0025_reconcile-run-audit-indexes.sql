-- Up Migration

-- Run audit as seeds 003 and 004 query it (issue 11, item 7; docs/reconciler.md, "Run audit
-- queries and their indexes", shows each query's plan): a replica's runs and audit rows by
-- worker, by time, and failures by target. Failed runs are a few percent of all runs, so the
-- failure indexes are partial and small; each one exists on every partition of
-- shipslog.reconcile_runs, those created later included (an index on a partitioned table).

-- Runs of one worker, newest first (seed 004: who ran what; a replica's share in an incident).
create index reconcile_runs_worker_idx
  on shipslog.reconcile_runs (worker_id, started_at desc);

-- Failed runs by the time they failed, newest first: shipslog.reconcile_failed_runs(), the
-- views reconcile_recent_failed_runs (rows) and reconcile_recent_failures (per target).
-- By completed_at, as seed 004's "recent failures" query asks: a run fails when it ends.
create index reconcile_runs_failed_idx
  on shipslog.reconcile_runs (completed_at desc)
  where phase = 'Failed';

-- Failures of one target (<cluster>/<namespace>), newest first.
create index reconcile_runs_failed_target_idx
  on shipslog.reconcile_runs (target, completed_at desc)
  where phase = 'Failed';

-- Run-audit rows (seed 003's step result audit) by worker, by time, and by deployment (the
-- seed's task), each newest first where a window is asked for.
create index reconcile_run_audit_worker_idx
  on shipslog.reconcile_run_audit (worker_id, recorded_at desc);

create index reconcile_run_audit_recorded_at_idx
  on shipslog.reconcile_run_audit (recorded_at);

create index reconcile_run_audit_deployment_idx
  on shipslog.reconcile_run_audit (deployment_id, recorded_at desc);

-- Down Migration
drop index shipslog.reconcile_run_audit_deployment_idx;
drop index shipslog.reconcile_run_audit_recorded_at_idx;
drop index shipslog.reconcile_run_audit_worker_idx;
drop index shipslog.reconcile_runs_failed_target_idx;
drop index shipslog.reconcile_runs_failed_idx;
drop index shipslog.reconcile_runs_worker_idx;
