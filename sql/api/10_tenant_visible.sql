-- Tenant isolation lives here, not only in handlers. Each API request transaction runs as
-- shipslog_app with shipslog.tenant set (set_config(..., true)) to the caller's tenant, or to
-- '*' for a global key ('*' is no DNS label, so it can never be a tenant's name). Unset or
-- empty means no rows: a code path that forgets the context sees nothing rather than all.
--
-- Every tenant policy calls it, and the planner inlines it into the policy's filter, so a row
-- costs an expression (~0.1 us), not a function call (~1-3 us: 137 ms against 22 ms for a
-- count of 100,000 events as shipslog_app on PostgreSQL 15). Inlining needs a SQL function
-- without SET, so, like the other inlined helpers (is_dns_label, event_payload, ...), it has
-- no `set search_path`. It needs none: a SQL-standard body (`return ...`) is parsed when the
-- function is created, its names resolved then (pg_catalog first), never at call time.
-- test/api/tenant-policies-inlined.test.ts fails if a policy stops inlining it.
create or replace function shipslog.tenant_visible(row_tenant text)
returns boolean
language sql
stable
parallel safe
return coalesce(
  nullif(current_setting('shipslog.tenant', true), '') in ('*', row_tenant),
  false);

grant execute
  on function shipslog.tenant_visible(text)
  to shipslog_app, shipslog_reconciler, shipslog_auditor;
