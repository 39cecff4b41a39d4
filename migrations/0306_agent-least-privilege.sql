-- Up Migration

-- Two holes an API session (role shipslog_app) could use, closed:
--
-- 0. PUBLIC could execute every function of 0300-0305. 0001's
--    `alter default privileges in schema shipslog revoke execute on functions from public`
--    does not take effect: a per-schema default can only add to the global default, which
--    grants EXECUTE to PUBLIC (PostgreSQL docs, ALTER DEFAULT PRIVILEGES). So any role,
--    shipslog_auditor included, could run the purge. Revoked explicitly; the roles that
--    need a function keep their own grants (0303).
revoke execute
  on function
    shipslog.agent_attribution(),
    shipslog.register_project(text, text),
    shipslog.tg_agent_messages__guard(),
    shipslog.tg_agent_messages__no_truncate(),
    shipslog.tg_projects__immutable(),
    shipslog.tg_agent_message_retention_runs__append_only(),
    shipslog.purge_agent_messages(interval, text),
    shipslog.decimal_text(numeric),
    shipslog.agent_analytics(text, timestamptz, timestamptz, integer),
    shipslog.deployment_agent_cost(uuid)
  from public;

-- 1. shipslog_app could call shipslog.purge_agent_messages itself and remove everything older
--    than the one-day floor, whatever retention the service is configured with. Only the
--    service's own login (the one that runs migrations and the daily job, without SET ROLE)
--    may purge now; API request transactions run as shipslog_app and cannot.
revoke execute
  on function shipslog.purge_agent_messages(interval, text)
  from shipslog_app;

grant execute
  on function shipslog.purge_agent_messages(interval, text)
  to current_user;

-- 2. shipslog.register_project is SECURITY DEFINER (it must see every tenant's project ids),
--    so an app session calling it directly could claim project ids in another tenant.
--    Under SET ROLE (the API's sessions) it now registers only for the session's tenant
--    (the row-level security rule of 0101); the owner's sessions (psql, migrations) are free.
create or replace function shipslog.register_project(p_tenant text, p_project_id text)
returns void
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  owner_tenant text;
begin
  -- Inside SECURITY DEFINER current_user is the owner; "role" is the session's SET ROLE.
  if current_setting('role') <> 'none'
     and not coalesce(nullif(current_setting('shipslog.tenant', true), '') in ('*', p_tenant), false) then
    raise exception 'project % cannot be registered for tenant % in this session', p_project_id, p_tenant
      using errcode = 'SL306',
            hint = 'A session registers projects only for its own tenant (shipslog.tenant).';
  end if;

  insert into shipslog.projects (id, tenant, created_by)
  values (p_project_id, p_tenant, shipslog.agent_attribution())
  on conflict (id) do nothing;

  select p.tenant
  into owner_tenant
  from shipslog.projects as p
  where p.id = p_project_id;

  if owner_tenant is distinct from p_tenant then
    raise exception 'project % is not a project of tenant %', p_project_id, p_tenant
      using errcode = 'SL306',
            hint = 'Project ids are global: use one of your tenant''s projects or a new id.';
  end if;
end
$$;

-- Down Migration
grant execute
  on function shipslog.purge_agent_messages(interval, text)
  to shipslog_app;
