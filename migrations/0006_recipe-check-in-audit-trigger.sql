-- Up Migration

-- The recipe config check moved into the audit trigger (sql/audit/40_audit_trigger.sql calls
-- shipslog.recipe_config_errors()): one trigger call per write instead of two (issue 10).
-- sql/ only creates, so the old trigger and its function are dropped here.
drop trigger if exists deployments_20_recipe_config on shipslog.deployments;
drop function if exists shipslog.tg_deployments__recipe_config();

-- Down Migration
-- Re-running `shipslog migrate` of the previous version re-creates both from its sql/.
