-- Up Migration

-- Replays one event onto a deployment's audited state: the inverse of the diff the audit
-- trigger stored. Where both partial states hold an object the walk goes deeper; a path the
-- new side holds is set, a path only the old side holds was removed. A created event (no
-- previous state) starts the state, a removed event (no new state) ends it.
create function shipslog.apply_event(state jsonb, previous_part jsonb, new_part jsonb)
returns jsonb
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
declare
  key text;
begin
  if previous_part is null then
    return new_part;
  end if;
  if new_part is null then
    return null;
  end if;
  for key in
    select jsonb_object_keys(previous_part)
    union
    select jsonb_object_keys(new_part)
  loop
    if jsonb_typeof(previous_part -> key) = 'object' and jsonb_typeof(new_part -> key) = 'object' then
      state := coalesce(state, '{}') || jsonb_build_object(
        key, shipslog.apply_event(coalesce(state -> key, '{}'), previous_part -> key, new_part -> key));
    elsif new_part ? key then
      state := coalesce(state, '{}') || jsonb_build_object(key, new_part -> key);
    else
      state := state - key;
    end if;
  end loop;
  return state;
end
$$;

-- select shipslog.replay_state(previous_state, new_state order by chain_index): the audited
-- state a deployment's events add up to. Verification compares it with the row, so a row
-- changed while the audit trigger was bypassed stands out without the writer paying for a
-- whole-state hash on every event.
create aggregate shipslog.replay_state(jsonb, jsonb) (
  sfunc = shipslog.apply_event,
  stype = jsonb
);

-- Checks every chain (or one deployment's) and returns the first broken link per
-- deployment. Each link is checked on its own: hash = SHA-256(stored previous hash ||
-- payload), so one pass with lag() suffices. Then the chain's end is held against the
-- deployment row: its chain head, and its contents against the state the events replay to.
create function shipslog.verify_chains(p_deployment_id uuid default null)
returns table (deployment_id uuid, tenant text, name text, chain_index integer, problem text)
language sql
stable
set search_path = ''
as $$
  with links as (
    select
      e as ev,
      lag(e.hash) over w as prev_hash,
      lag(e.chain_index) over w as prev_index,
      lag(e.action) over w as prev_action
    from shipslog.deployment_events as e
    where p_deployment_id is null
      or e.deployment_id = p_deployment_id
    window w as (partition by e.deployment_id order by e.chain_index)
  ),
  link_problems as (
    select
      (l.ev).deployment_id,
      (l.ev).tenant,
      (l.ev).name,
      (l.ev).chain_index,
      case
        when (l.ev).chain_index <> coalesce(l.prev_index, 0) + 1 then
          format('event #%s follows #%s: %s event(s) missing', (l.ev).chain_index,
                 coalesce(l.prev_index, 0), (l.ev).chain_index - coalesce(l.prev_index, 0) - 1)
        when (l.ev).hash <> shipslog.event_hash(l.prev_hash, l.ev) then
          format('event #%s (%s) does not match its hash: altered, swapped or forged',
                 (l.ev).chain_index, (l.ev).action)
        when l.prev_action = 'removed' then
          format('event #%s (%s) follows the removed event', (l.ev).chain_index, (l.ev).action)
        when (l.ev).chain_index = 1 and (l.ev).action <> 'created' then
          format('event #1 is %s, not created: the chain''s start is missing', (l.ev).action)
      end as problem
    from links as l
  ),
  heads as (
    select distinct on (e.deployment_id)
      e.deployment_id, e.tenant, e.name, e.chain_index, e.hash, e.action
    from shipslog.deployment_events as e
    where p_deployment_id is null
      or e.deployment_id = p_deployment_id
    order by e.deployment_id, e.chain_index desc
  ),
  replays as (
    select e.deployment_id, shipslog.replay_state(e.previous_state, e.new_state order by e.chain_index) as state
    from shipslog.deployment_events as e
    where e.deployment_id in (
      select d.id
      from shipslog.deployments as d
      where p_deployment_id is null
        or d.id = p_deployment_id
    )
    group by e.deployment_id
  ),
  rows as (
    select d.*
    from shipslog.deployments as d
    where p_deployment_id is null
      or d.id = p_deployment_id
  ),
  head_problems as (
    select
      coalesce(h.deployment_id, d.id) as deployment_id,
      coalesce(h.tenant, d.tenant) as tenant,
      coalesce(h.name, d.name) as name,
      coalesce(h.chain_index, 0) + 1 as chain_index,
      case
        when h.deployment_id is null then
          'deployment row has no audit events: inserted while audit triggers were bypassed'
        when d.id is null and h.action <> 'removed' then
          format('chain ends at #%s (%s) but the deployment row is gone: deleted while triggers were bypassed, or the chain''s tail was removed',
                 h.chain_index, h.action)
        when d.id is not null and h.action = 'removed' then
          'deployment row exists after its removed event'
        when d.id is not null and (d.chain_length <> h.chain_index or d.chain_head is distinct from h.hash) then
          format('deployment row''s chain head is #%s but the chain ends at #%s: events removed, truncated or forged',
                 d.chain_length, h.chain_index)
        when d.id is not null and shipslog.audited_state(d) is distinct from r.state then
          'deployment row differs from the state its events replay to: changed while audit triggers were bypassed'
      end as problem
    from heads as h
    full join rows as d
      on d.id = h.deployment_id
    left join replays as r
      on r.deployment_id = d.id
  )
  select distinct on (p.deployment_id)
    p.deployment_id, p.tenant, p.name, p.chain_index, p.problem
  from (
    select * from link_problems
    union all
    select * from head_problems
  ) as p
  where p.problem is not null
  order by p.deployment_id, p.chain_index
$$;

-- The readable list of what an update changed, [{path, from, to}] with dotted paths such
-- as "config.storage", derived from the event's two partial states: where both sides hold
-- an object the walk goes deeper, anywhere else the two values are one change. Created and
-- removed events (one side null) list none: their state is whole.
create function shipslog.event_changes(previous_state jsonb, new_state jsonb)
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
create function shipslog.relative_time(ts timestamptz, now_ts timestamptz default now())
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
create function shipslog.describe_value(value jsonb)
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
create function shipslog.describe_change(change jsonb)
returns text
language sql
immutable
parallel safe
set search_path = ''
as $$
  select case change ->> 'path'
    when 'secrets_fingerprint' then 'secrets rotated'
    when 'app_version' then 'upgraded ' || shipslog.describe_value(change -> 'from')
                            || ' -> ' || shipslog.describe_value(change -> 'to')
    when 'managed_resources' then 'resources: '
                            || coalesce(jsonb_array_length(change -> 'from'), 0) || ' -> '
                            || coalesce(jsonb_array_length(change -> 'to'), 0) || ' objects'
    else regexp_replace(change ->> 'path', '^config\.', '') || ': '
         || shipslog.describe_value(change -> 'from') || ' -> ' || shipslog.describe_value(change -> 'to')
  end
$$;

-- An event as one readable line.
create function shipslog.describe_event(action text, changes jsonb, previous_state jsonb, new_state jsonb)
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
create function shipslog.history(p_tenant text, p_name text, p_limit integer default 100)
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

-- Down Migration
drop function shipslog.history(text, text, integer);
drop function shipslog.describe_event(text, jsonb, jsonb, jsonb);
drop function shipslog.describe_change(jsonb);
drop function shipslog.describe_value(jsonb);
drop function shipslog.relative_time(timestamptz, timestamptz);
drop function shipslog.event_changes(jsonb, jsonb);
drop function shipslog.verify_chains(uuid);
drop aggregate shipslog.replay_state(jsonb, jsonb);
drop function shipslog.apply_event(jsonb, jsonb, jsonb);
