-- Up Migration

-- The one role allowed to delete agent messages: it owns shipslog.purge_agent_messages (0301)
-- and nothing else, and no login is a member of it. The delete guard below recognises the
-- retention job by current_user, which only that SECURITY DEFINER function can make it be.
do $$
begin
  if not exists (select from pg_catalog.pg_roles where rolname = 'shipslog_agent_retention') then
    create role shipslog_agent_retention nologin;
  end if;
end
$$;

grant usage
  on schema shipslog
  to shipslog_agent_retention;

-- Who wrote a row, as the audit trigger records it for deployments: the actor context when
-- set (the API), else the database session (psql). Inside a SECURITY DEFINER function
-- current_user is the owner; the session's own role is in the "role" setting.
create function shipslog.agent_attribution()
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

-- The unit agent messages are grouped and analysed by. Project ids are global and belong to
-- one tenant; a tenant's first message in a new project registers it.
create table shipslog.projects (
  id text primary key
    constraint projects_id_check check (shipslog.is_dns_label(id)),
  tenant text not null
    constraint projects_tenant_check check (shipslog.is_dns_label(tenant)),
  created_at timestamptz not null default now(),
  created_by jsonb not null,
  constraint projects_tenant_id_key unique (tenant, id)
);

comment on table shipslog.projects is
  'Projects that agent messages belong to; each belongs to exactly one tenant.';

-- SECURITY DEFINER: a tenant must not see other tenants' projects (RLS), yet its first
-- message has to learn that an id is taken. It learns only "not yours", never whose.
create function shipslog.register_project(p_tenant text, p_project_id text)
returns void
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  owner_tenant text;
begin
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

-- One row per model call the agent made. A placeholder when the call starts; finalised once
-- with reasoning, tokens and cost when the answer ends. Money is numeric, never float: sums
-- over a million rows must be exact to the last digit a caller sent (scale <= 12).
create table shipslog.agent_messages (
  message_id text primary key
    constraint agent_messages_message_id_check check (message_id ~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$'),
  tenant text not null default shipslog.context_setting('shipslog.tenant')
    constraint agent_messages_tenant_check check (shipslog.is_dns_label(tenant)),
  project_id text not null
    constraint agent_messages_project_id_check check (shipslog.is_dns_label(project_id)),
  model text not null
    constraint agent_messages_model_check check (model ~ '^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,199}$'),
  context_layers integer not null default 0
    constraint agent_messages_context_layers_check check (context_layers between 0 and 10000),
  -- When the call started (the caller may say, e.g. after a buffered write; never in the
  -- future), and when PostgreSQL received the placeholder (always the server's clock).
  created_at timestamptz not null default now(),
  recorded_at timestamptz not null default now(),
  created_by jsonb not null default '{}',
  reasoning text[]
    constraint agent_messages_reasoning_check check (
      array_ndims(reasoning) is null and cardinality(reasoning) = 0
      or array_ndims(reasoning) = 1
        and cardinality(reasoning) <= 1000
        and array_position(reasoning, null) is null
        and octet_length(array_to_string(reasoning, '')) <= 1048576),
  prompt_tokens integer,
  completion_tokens integer,
  total_tokens integer,
  prompt_cost numeric,
  completion_cost numeric,
  total_cost numeric,
  finalised_at timestamptz,
  finalised_by jsonb,
  constraint agent_messages_tokens_check check (
    prompt_tokens >= 0
    and completion_tokens >= 0
    and total_tokens = prompt_tokens::bigint + completion_tokens),
  -- NaN and Infinity fail "< 1e9"; scale() caps precision instead of silently rounding.
  constraint agent_messages_cost_check check (
    prompt_cost >= 0 and prompt_cost < 1e9 and scale(prompt_cost) <= 12
    and completion_cost >= 0 and completion_cost < 1e9 and scale(completion_cost) <= 12
    and total_cost = prompt_cost + completion_cost
    and scale(total_cost) <= 12),
  -- A message is a placeholder (none of these) or finalised (all of them).
  constraint agent_messages_finalised_check check (
    num_nulls(reasoning, prompt_tokens, completion_tokens, total_tokens,
              prompt_cost, completion_cost, total_cost, finalised_at, finalised_by) in (0, 9)),
  constraint agent_messages_project_fkey foreign key (tenant, project_id)
    references shipslog.projects (tenant, id)
);

comment on table shipslog.agent_messages is
  'Audit trail of the agent''s model calls. Finalised once; never changed; deleted only by shipslog.purge_agent_messages past retention.';

-- Analytics and "most recent" for one project over a time range read only this index
-- (index-only scan): tenant first because the RLS predicate and every API read carry it.
create index agent_messages_project_time_idx
  on shipslog.agent_messages (tenant, project_id, created_at)
  include (model, prompt_tokens, completion_tokens, total_tokens, prompt_cost, completion_cost, total_cost);

-- Retention deletes by age across all projects.
create index agent_messages_created_at_idx
  on shipslog.agent_messages (created_at);

create function shipslog.tg_agent_messages__guard()
returns trigger
language plpgsql
volatile
set search_path = ''
as $$
begin
  if tg_op = 'DELETE' then
    -- current_user is shipslog_agent_retention only inside shipslog.purge_agent_messages.
    if current_user <> 'shipslog_agent_retention' then
      raise exception 'agent message % cannot be deleted: only the retention job removes agent messages', old.message_id
        using errcode = 'SL303',
              hint = 'Agent messages are removed past retention by shipslog.purge_agent_messages(interval) or `shipslog agent-messages purge`.';
    end if;
    return old;
  end if;

  if tg_op = 'INSERT' then
    if num_nonnulls(new.reasoning, new.prompt_tokens, new.completion_tokens, new.total_tokens,
                    new.prompt_cost, new.completion_cost, new.total_cost, new.finalised_at, new.finalised_by) > 0 then
      raise exception 'agent message % must start as a placeholder', new.message_id
        using errcode = 'SL305',
              hint = 'Insert message_id, project_id and model when the call starts; set reasoning, tokens and cost with one UPDATE when it ends.';
    end if;
    -- Five minutes of clock skew between the agent and the server are tolerated.
    if new.created_at > now() + interval '5 minutes' then
      raise exception 'agent message % starts in the future (%)', new.message_id, new.created_at
        using errcode = 'SL311',
              hint = 'Omit created_at to use the server''s clock.';
    end if;
    new.recorded_at := now();
    new.created_by := shipslog.agent_attribution();
    perform shipslog.register_project(new.tenant, new.project_id);
    return new;
  end if;

  if (new.message_id, new.tenant, new.project_id, new.model, new.context_layers,
      new.created_at, new.recorded_at, new.created_by)
     is distinct from
     (old.message_id, old.tenant, old.project_id, old.model, old.context_layers,
      old.created_at, old.recorded_at, old.created_by) then
    raise exception 'agent message % cannot change its id, tenant, project, model, context layers or start', old.message_id
      using errcode = 'SL302',
            hint = 'Only reasoning, tokens and cost may be set, once, when the message is finalised.';
  end if;

  -- IS NOT DISTINCT FROM compares numeric by value: 0.0150 is the same cost as 0.015.
  if (new.reasoning, new.prompt_tokens, new.completion_tokens, new.total_tokens,
      new.prompt_cost, new.completion_cost, new.total_cost)
     is not distinct from
     (old.reasoning, old.prompt_tokens, old.completion_tokens, old.total_tokens,
      old.prompt_cost, old.completion_cost, old.total_cost) then
    -- Same values again (a retried finalise, or an UPDATE that sets nothing new): no change.
    return old;
  end if;

  if old.finalised_at is not null then
    raise exception 'agent message % is already finalised with other values', old.message_id
      using errcode = 'SL301',
            hint = 'A finalised message never changes; a retry must send exactly the same reasoning, tokens and cost.';
  end if;

  if num_nulls(new.reasoning, new.prompt_tokens, new.completion_tokens, new.total_tokens,
               new.prompt_cost, new.completion_cost, new.total_cost) > 0 then
    raise exception 'finalising agent message % needs reasoning, tokens and cost together', old.message_id
      using errcode = 'SL304',
            hint = 'Set reasoning, prompt/completion/total tokens and prompt/completion/total cost in one UPDATE.';
  end if;

  new.finalised_at := clock_timestamp();
  new.finalised_by := shipslog.agent_attribution();
  return new;
end
$$;

create trigger agent_messages_10_guard
  before insert or update or delete
  on shipslog.agent_messages
  for each row
  execute function shipslog.tg_agent_messages__guard();

create function shipslog.tg_agent_messages__no_truncate()
returns trigger
language plpgsql
volatile
set search_path = ''
as $$
begin
  raise exception 'shipslog.agent_messages cannot be truncated'
    using errcode = 'SL303',
          hint = 'Agent messages are removed past retention by shipslog.purge_agent_messages(interval) only.';
end
$$;

create trigger agent_messages_no_truncate
  before truncate
  on shipslog.agent_messages
  for each statement
  execute function shipslog.tg_agent_messages__no_truncate();

-- Projects are never renamed, moved to another tenant or removed: messages and their
-- analytics point at them, and retention removes messages, not projects.
create function shipslog.tg_projects__immutable()
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

create trigger projects_immutable
  before update or delete
  on shipslog.projects
  for each row
  execute function shipslog.tg_projects__immutable();

create trigger projects_no_truncate
  before truncate
  on shipslog.projects
  for each statement
  execute function shipslog.tg_projects__immutable();

-- Down Migration
drop table shipslog.agent_messages;
drop function shipslog.tg_agent_messages__guard();
drop table shipslog.projects;
drop function shipslog.tg_projects__immutable();
drop function shipslog.tg_agent_messages__no_truncate();
drop function shipslog.register_project(text, text);
drop function shipslog.agent_attribution();
