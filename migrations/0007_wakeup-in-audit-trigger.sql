-- Up Migration

-- The reconciler wake-up (NOTIFY shipslog_reconcile) is sent by the audit trigger
-- (sql/audit/40_audit_trigger.sql), and only when a write gives the reconcilers new work
-- (issue 10). sql/ only creates, so the old AFTER trigger and its function are dropped here.
drop trigger if exists deployments_notify_reconciler on shipslog.deployments;
drop function if exists shipslog.tg_deployments__notify_reconciler();

-- Down Migration
-- Re-running `shipslog migrate` of the previous version re-creates both from its sql/.
