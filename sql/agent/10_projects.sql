-- Who wrote a row, as the audit trigger records it for deployments: the actor context when
-- set (the API), else the database session (psql). Inside a SECURITY DEFINER function
-- current_user is the owner; the session's own role is in the "role" setting.
create or replace function shipslog.agent_attribution()
returns jsonb
language sql
volatile
set search_path = ''
return jsonb_strip_nulls(jsonb_build_object(
  'at', shipslog.iso_utc(clock_timestamp()),
  'actor', coalesce(shipslog.context_setting('shipslog.actor'), session_user::text),
  'actor_type', coalesce(shipslog.context_setting('shipslog.actor_type'), 'database'),
  'reason', shipslog.context_setting('shipslog.reason'),
  'correlation_id', shipslog.context_setting('shipslog.correlation_id'),
  'request_id', shipslog.context_setting('shipslog.request_id'),
  'source_ip', shipslog.context_setting('shipslog.source_ip'),
  'user_agent', shipslog.context_setting('shipslog.user_agent'),
  'db_role', case when current_setting('role') = 'none' then session_user::text else current_setting('role') end,
  'db_user', session_user::text,
  'application_name', nullif(current_setting('application_name'), ''),
  'client_addr', inet_client_addr()::text,
  'txid', pg_current_xact_id()::text));

-- SECURITY DEFINER: a tenant must not see other tenants' projects (RLS), yet its first
-- message has to learn that an id is taken. It learns only "not yours", never whose.
-- Called by the guard trigger on agent_messages. Because it is SECURITY DEFINER, an app
-- session calling it directly could otherwise claim project ids in another tenant: under
-- SET ROLE (the API's sessions) it registers only for the session's tenant (the row-level
-- security rule of sql/api/10_tenant_visible.sql); the owner's sessions (psql, migrations)
-- are free.
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
     and not shipslog.tenant_visible(p_tenant) then
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

-- Projects are never renamed, moved to another tenant or removed: messages and their
-- analytics point at them, and retention removes messages, not projects.
create or replace function shipslog.tg_projects__immutable()
returns trigger
language plpgsql
volatile
set search_path = ''
as $$
begin
  raise exception 'shipslog.projects rows cannot be changed or removed: % refused', tg_op
    using errcode = 'SL310',
          hint = 'A project is registered by its first agent message and kept; use a new project id instead.';
end
$$;

create or replace trigger projects_immutable
  before update or delete
  on shipslog.projects
  for each row
  execute function shipslog.tg_projects__immutable();

create or replace trigger projects_no_truncate
  before truncate
  on shipslog.projects
  for each statement
  execute function shipslog.tg_audit_records__no_truncate('Rows of shipslog.projects are kept for the agent messages that point at them; register a new project id instead.');
