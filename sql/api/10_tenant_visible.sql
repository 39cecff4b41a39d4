-- Tenant isolation lives here, not only in handlers. Each API request transaction runs as
-- shipslog_app with shipslog.tenant set (set_config(..., true)) to the caller's tenant, or to
-- '*' for a global key ('*' is no DNS label, so it can never be a tenant's name). Unset or
-- empty means no rows: a code path that forgets the context sees nothing rather than all.
-- The agent tables' policies spell the same rule out with built-ins instead: a function with
-- SET search_path is never inlined, 3.1 ms per 1,000 rows against ~0.1 ms.
create or replace function shipslog.tenant_visible(row_tenant text)
returns boolean
language sql
stable
parallel safe
set search_path = ''
return coalesce(
  nullif(current_setting('shipslog.tenant', true), '') in ('*', row_tenant),
  false);

grant execute
  on function shipslog.tenant_visible(text)
  to shipslog_app, shipslog_reconciler, shipslog_auditor;
