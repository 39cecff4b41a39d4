-- The readable list of what an update changed, [{path, from, to}] with dotted paths such
-- as "config.storage", derived from the event's two partial states: where both sides hold
-- an object the walk goes deeper, anywhere else the two values are one change. Created and
-- removed events (one side null) list none: their state is whole.
create or replace function shipslog.event_changes(previous_state jsonb, new_state jsonb)
returns jsonb
language sql
immutable
parallel safe
set search_path = ''
as $$
  with recursive walk(path, old_value, new_value) as (
    select array[k.key], previous_state -> k.key, new_state -> k.key
    from (
      select jsonb_object_keys(previous_state)
      union
      select jsonb_object_keys(new_state)
    ) as k(key)
    union all
    select w.path || k.key, w.old_value -> k.key, w.new_value -> k.key
    from walk as w
    cross join lateral (
      select jsonb_object_keys(case when jsonb_typeof(w.old_value) = 'object' then w.old_value else '{}' end)
      union
      select jsonb_object_keys(case when jsonb_typeof(w.new_value) = 'object' then w.new_value else '{}' end)
    ) as k(key)
    where jsonb_typeof(w.old_value) = 'object'
      and jsonb_typeof(w.new_value) = 'object'
  )
  select case
    when previous_state is null or new_state is null then '[]'::jsonb
    else coalesce(
      jsonb_agg(
        jsonb_build_object('path', array_to_string(w.path, '.'), 'from', w.old_value, 'to', w.new_value)
        order by w.path),
      '[]'::jsonb)
  end
  from walk as w
  where not coalesce(jsonb_typeof(w.old_value) = 'object' and jsonb_typeof(w.new_value) = 'object', false)
$$;

-- "3 hours ago", as a person reads it.
create or replace function shipslog.relative_time(ts timestamptz, now_ts timestamptz default now())
returns text
language sql
immutable
parallel safe
set search_path = ''
as $$
  select case
    when s < 0 then 'in the future'
    when s < 45 then 'just now'
    when s < 90 then '1 minute ago'
    when s < 2700 then round(s / 60) || ' minutes ago'
    when s < 5400 then '1 hour ago'
    when s < 79200 then round(s / 3600) || ' hours ago'
    when s < 129600 then '1 day ago'
    when s < 2592000 then round(s / 86400) || ' days ago'
    when s < 3888000 then '1 month ago'
    when s < 31536000 then round(s / 2592000) || ' months ago'
    when s < 47304000 then '1 year ago'
    else round(s / 31536000) || ' years ago'
  end
  from (select extract(epoch from now_ts - ts) as s) as t
$$;

-- A JSON value as a person reads it: strings bare, null as "none", long values cut.
create or replace function shipslog.describe_value(value jsonb)
returns text
language sql
immutable
parallel safe
set search_path = ''
as $$
  select case
    when value is null or value = 'null'::jsonb then 'none'
    when jsonb_typeof(value) = 'string' then left(value #>> '{}', 80)
    when jsonb_typeof(value) = 'array' and pg_column_size(value) > 80 then jsonb_array_length(value) || ' items'
    else left(value::text, 80)
  end
$$;

-- One change as a line: "storage: 8Gi -> 16Gi". config.* paths drop their prefix.
create or replace function shipslog.describe_change(change jsonb)
returns text
language sql
immutable
parallel safe
set search_path = ''
as $$
  select case change ->> 'path'
    when 'secrets_fingerprint' then 'secrets rotated'
    when 'app_version' then case when shipslog.version_order(change ->> 'from', change ->> 'to') < 0 then 'downgraded ' else 'upgraded ' end
                            || shipslog.describe_value(change -> 'from')
                            || ' -> ' || shipslog.describe_value(change -> 'to')
    when 'managed_resources' then 'resources: '
                            || coalesce(jsonb_array_length(change -> 'from'), 0) || ' -> '
                            || coalesce(jsonb_array_length(change -> 'to'), 0) || ' objects'
    else regexp_replace(change ->> 'path', '^config\.', '') || ': '
         || shipslog.describe_value(change -> 'from') || ' -> ' || shipslog.describe_value(change -> 'to')
  end
$$;

-- An event as one readable line.
create or replace function shipslog.describe_event(action text, changes jsonb, previous_state jsonb, new_state jsonb)
returns text
language sql
immutable
parallel safe
set search_path = ''
as $$
  select case action
    when 'created' then format('created %s %s', new_state ->> 'recipe', new_state ->> 'app_version')
    when 'removed' then format('removed %s %s', previous_state ->> 'recipe', previous_state ->> 'app_version')
    else coalesce(
      (select string_agg(shipslog.describe_change(c.item), '; ' order by c.ord)
       from jsonb_array_elements(changes) with ordinality as c(item, ord)),
      action)
  end
$$;

-- psql: select * from shipslog.history('acme', 'orders-db');
-- Every incarnation of the name, removed ones included, newest first.
create or replace function shipslog.history(p_tenant text, p_name text, p_limit integer default 100)
returns table (
  occurred_at timestamptz,
  "when" text,
  action text,
  summary text,
  actor text,
  actor_type text,
  reason text,
  correlation_id text,
  chain_index integer,
  deployment_id uuid,
  seq bigint
)
language sql
stable
set search_path = ''
as $$
  select
    e.occurred_at,
    shipslog.relative_time(e.occurred_at),
    e.action,
    shipslog.describe_event(e.action, shipslog.event_changes(e.previous_state, e.new_state), e.previous_state, e.new_state),
    e.actor,
    e.actor_type,
    e.reason,
    e.correlation_id,
    e.chain_index,
    e.deployment_id,
    e.seq
  from (
      select c.deployment_id
      from shipslog.deployment_events as c
      where c.tenant = p_tenant
        and c.name = p_name
        and c.action = 'created'
      union
      select d.id
      from shipslog.deployments as d
      where d.tenant = p_tenant
        and d.name = p_name
    ) as ids
  -- The newest p_limit of each incarnation by its chain index (an index scan each), then
  -- the newest p_limit of those: no sort of a long history to show its last page.
  cross join lateral (
      select *
      from shipslog.deployment_events as x
      where x.deployment_id = ids.deployment_id
      order by x.chain_index desc
      limit p_limit
    ) as e
  order by e.occurred_at desc, e.seq desc
  limit p_limit
$$;
