-- History as a person reads it: "storage: 8Gi -> 16Gi", "upgraded 16 -> 17", "3 hours ago".
-- This file is the only implementation of that text. psql users call history(),
-- event_changes() and describe_event(); the API renders each page with readable_events().
--
-- The functions a page calls per event and per change (describe_value, describe_change,
-- event_summary, relative_time, event_change_walk) are written to be inlined by the planner:
-- a SQL-standard body (`return ...` or `begin atomic`, names bound when created, so no
-- `set search_path` is needed; a SET clause would prevent inlining), no FROM in a scalar
-- body, and declared no less volatile than what they call (an IMMUTABLE function that calls
-- a STABLE one, such as array_to_string or pg_column_size, is not inlined). A call that is not
-- inlined runs as a query of its own per row: event_summary alone, left so, made a 50-event
-- page ~1.5x slower (measured). Created in dependency order: a SQL-standard body is bound
-- when created.

-- A JSON value as a person reads it: strings bare, null as "none", long values cut.
-- An array is "N items" when its jsonb is over 80 bytes, measured on a fresh copy
-- (value::text::jsonb): pg_column_size counts the varlena header, which is 3 bytes shorter
-- in a value read back from a tuple than in one just computed, so the same array would
-- otherwise be described differently depending on the query that reached it.
create or replace function shipslog.describe_value(value jsonb)
returns text
language sql
stable
parallel safe
return case
    when value is null or value = 'null'::jsonb then 'none'
    when jsonb_typeof(value) = 'string' then left(value #>> '{}', 80)
    when jsonb_typeof(value) = 'array' and pg_column_size(value::text::jsonb) > 80 then jsonb_array_length(value) || ' items'
    else left(value::text, 80)
  end;

-- One change as a line: "storage: 8Gi -> 16Gi". config.* paths drop their prefix. A version
-- change says "downgraded" when the new version is older by shipslog.version_order (also for
-- events recorded as upgraded or rolled_back), else "upgraded".
create or replace function shipslog.describe_change(path text, old_value jsonb, new_value jsonb)
returns text
language sql
stable
parallel safe
return case path
    when 'secrets_fingerprint' then 'secrets rotated'
    when 'managed_resources' then 'resources: '
                            || coalesce(jsonb_array_length(old_value), 0) || ' -> '
                            || coalesce(jsonb_array_length(new_value), 0) || ' objects'
    else case path
           when 'app_version' then
             case when shipslog.version_order(old_value #>> '{}', new_value #>> '{}') < 0 then 'downgraded ' else 'upgraded ' end
           else regexp_replace(path, '^config\.', '') || ': '
         end
         || shipslog.describe_value(old_value) || ' -> ' || shipslog.describe_value(new_value)
  end;

-- The same for one element of event_changes(): {path, from, to}.
create or replace function shipslog.describe_change(change jsonb)
returns text
language sql
stable
parallel safe
return shipslog.describe_change(change ->> 'path', change -> 'from', change -> 'to');

-- An event that is not a row change (45_record_event.sql) as one line, from its details:
-- "rollout of generation 4 failed: ImagePullBackOff", "approval granted by alice (1 of 2)".
create or replace function shipslog.describe_details(action text, d jsonb)
returns text
language sql
immutable
parallel safe
return case action
    when 'deployment_started' then 'rollout of generation ' || (d ->> 'generation') || ' started'
    when 'deployment_completed' then 'rollout of generation ' || (d ->> 'generation') || ' completed (' || (d ->> 'outcome') || ')'
    when 'deployment_failed' then 'rollout of generation ' || (d ->> 'generation') || ' failed: ' || (d ->> 'failure_reason')
    when 'deployment_cancelled' then 'generation ' || (d ->> 'generation') || ' cancelled: superseded by generation ' || (d ->> 'superseded_by_generation')
    when 'approval_requested' then 'approval requested for generation ' || (d ->> 'generation') || ' (' || (d ->> 'required_approvals') || ' needed)'
    when 'approval_granted' then 'approval granted by ' || (d ->> 'approver') || ' for generation ' || (d ->> 'generation')
                                 || ' (' || (d ->> 'approvals') || ' of ' || (d ->> 'required_approvals') || ')'
    when 'approval_denied' then 'approval denied by ' || (d ->> 'approver') || ' for generation ' || (d ->> 'generation')
    when 'approval_expired' then 'approval request for generation ' || (d ->> 'generation') || ' expired'
    when 'approval_cancelled' then 'approval request for generation ' || (d ->> 'generation') || ' cancelled: ' || (d ->> 'cancelled_because')
    when 'rollback_started' then 'rollback to event #' || (d ->> 'target_chain_index') || ' started as generation ' || (d ->> 'generation')
    when 'rollback_completed' then 'rollback completed (generation ' || (d ->> 'generation') || ')'
    when 'rollback_failed' then 'rollback failed (generation ' || (d ->> 'generation') || '): ' || (d ->> 'failure_reason')
    when 'access_denied' then 'access denied: ' || (d ->> 'method') || ' ' || (d ->> 'path') || ' (' || (d ->> 'denied_because') || ')'
    when 'security_violation' then 'security violation: ' || (d ->> 'finding')
    else case
           when action like 'gate\_%' then 'gate ' || (d ->> 'gate') || ' ' || substr(action, 6) || ' for generation ' || (d ->> 'generation')
         end
  end;

-- An event as one line: created and removed events name what was created or removed, an event
-- that is not a row change says what its details hold, any other event is its change lines (in
-- path order) joined, or its action when it has none.
create or replace function shipslog.event_summary(action text, previous_state jsonb, new_state jsonb, lines text[])
returns text
language sql
stable
parallel safe
return case action
    when 'created' then 'created ' || coalesce(new_state ->> 'recipe', '') || ' ' || coalesce(new_state ->> 'app_version', '')
    when 'removed' then 'removed ' || coalesce(previous_state ->> 'recipe', '') || ' ' || coalesce(previous_state ->> 'app_version', '')
    else coalesce(
           case when previous_state is null then shipslog.describe_details(action, new_state -> 'details') end,
           nullif(array_to_string(lines, '; '), ''),
           action)
  end;

-- The same with the changes as event_changes() lists them.
create or replace function shipslog.describe_event(action text, changes jsonb, previous_state jsonb, new_state jsonb)
returns text
language sql
stable
parallel safe
return shipslog.event_summary(
    action,
    previous_state,
    new_state,
    array(
      select shipslog.describe_change(c.item ->> 'path', c.item -> 'from', c.item -> 'to')
      from jsonb_array_elements(changes) with ordinality as c(item, ord)
      order by c.ord));

-- What each event of a set changed, from its two partial states: where both sides hold an
-- object the walk goes deeper (into the keys of either: those of old || new), anywhere else
-- the two values are one change, with its dotted path as a text[]. Created and removed events (one side null) have none. The three arrays
-- are parallel (the id names the event); one walk serves a whole page, because a recursive
-- walk per event costs 2-4x more than one over all of them (measured on 50-event pages).
create or replace function shipslog.event_change_walk(ids bigint[], previous_states jsonb[], new_states jsonb[])
returns table (id bigint, path text[], old_value jsonb, new_value jsonb)
language sql
immutable
parallel safe
begin atomic
  with recursive walk(id, path, old_value, new_value) as (
    select p.id, array[k.key], p.previous_state -> k.key, p.new_state -> k.key
    from unnest(ids, previous_states, new_states) as p(id, previous_state, new_state)
    cross join lateral jsonb_object_keys(p.previous_state || p.new_state) as k(key)
    where p.previous_state is not null
      and p.new_state is not null
    union all
    select w.id, w.path || k.key, w.old_value -> k.key, w.new_value -> k.key
    from walk as w
    cross join lateral jsonb_object_keys(
      case
        when jsonb_typeof(w.old_value) = 'object' and jsonb_typeof(w.new_value) = 'object' then w.old_value || w.new_value
        else '{}'
      end) as k(key)
    where jsonb_typeof(w.old_value) = 'object'
      and jsonb_typeof(w.new_value) = 'object'
  )
  select w.id, w.path, w.old_value, w.new_value
  from walk as w
  where not coalesce(jsonb_typeof(w.old_value) = 'object' and jsonb_typeof(w.new_value) = 'object', false);
end;

-- The readable list of what an update changed, [{path, from, to}] with dotted paths such
-- as "config.storage", derived from the event's two partial states. Created and removed
-- events list none: their state is whole.
create or replace function shipslog.event_changes(previous_state jsonb, new_state jsonb)
returns jsonb
language sql
immutable
parallel safe
return (
  select coalesce(
      jsonb_agg(
        jsonb_build_object('path', array_to_string(w.path, '.'), 'from', w.old_value, 'to', w.new_value)
        order by w.path),
      '[]'::jsonb)
  from shipslog.event_change_walk(array[0::bigint], array[previous_state], array[new_state]) as w);

-- "3 hours ago", as a person reads it. Thresholds compare intervals (exact, and cheap:
-- the epoch as numeric is computed only for the branch that prints a number).
create or replace function shipslog.relative_time(ts timestamptz, now_ts timestamptz default now())
returns text
language sql
immutable
parallel safe
return case
    when now_ts - ts < interval '0' then 'in the future'
    when now_ts - ts < interval '45 seconds' then 'just now'
    when now_ts - ts < interval '90 seconds' then '1 minute ago'
    when now_ts - ts < interval '2700 seconds' then round(extract(epoch from now_ts - ts) / 60)::text || ' minutes ago'
    when now_ts - ts < interval '5400 seconds' then '1 hour ago'
    when now_ts - ts < interval '79200 seconds' then round(extract(epoch from now_ts - ts) / 3600)::text || ' hours ago'
    when now_ts - ts < interval '129600 seconds' then '1 day ago'
    when now_ts - ts < interval '2592000 seconds' then round(extract(epoch from now_ts - ts) / 86400)::text || ' days ago'
    when now_ts - ts < interval '3888000 seconds' then '1 month ago'
    when now_ts - ts < interval '31536000 seconds' then round(extract(epoch from now_ts - ts) / 2592000)::text || ' months ago'
    when now_ts - ts < interval '47304000 seconds' then '1 year ago'
    else round(extract(epoch from now_ts - ts) / 31536000)::text || ' years ago'
  end;

-- A page of events as a person reads them, in the order given: each event's who, what and
-- why, "when", the one-line summary, and the change lines (the summary alone for an event
-- without any). What the API's history and event pages return, and what history() shows:
--   select * from shipslog.readable_events(array(
--     select e from shipslog.deployment_events as e where e.name = 'orders-db' order by e.seq desc limit 50));
-- It takes the rows rather than their seqs: the query that chose them has applied row-level
-- security already, and reading them again would cost the policy check a second time per row
-- (0.2 ms of a 50-event page as shipslog_app, measured). One walk over the whole page (one
-- per event costs 2-4x more). plpgsql, because it keeps the query's plan for the session: a
-- SQL function's body is planned at every call before PostgreSQL 18, 2.2 ms of server CPU per
-- 50-event page on PostgreSQL 15 against 1.1 ms with the plan kept (measured). The plan is the
-- same for any page, so the generic one is used from the first call.
create or replace function shipslog.readable_events(events shipslog.deployment_events[])
returns table (
  seq bigint,
  deployment_id uuid,
  chain_index integer,
  tenant text,
  name text,
  action text,
  occurred_at timestamptz,
  actor text,
  actor_type text,
  reason text,
  correlation_id text,
  request_id text,
  "when" text,
  summary text,
  changes text[],
  category text,
  severity text,
  details jsonb
)
language plpgsql
stable
parallel safe
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
#variable_conflict use_column
begin
  -- The result's columns are named as the events' are: in the query a name is the column.
  return query
  with page as materialized (
    select
      e.ordinality as ord,
      e.seq,
      e.deployment_id,
      e.chain_index,
      e.tenant,
      e.name,
      e.action,
      e.occurred_at,
      e.actor,
      e.actor_type,
      e.reason,
      e.correlation_id,
      e.request_id,
      e.previous_state,
      e.new_state
    from unnest(events) with ordinality as e
  ),
  lines as (
    select w.id as ord, array_agg(shipslog.describe_change(array_to_string(w.path, '.'), w.old_value, w.new_value) order by w.path) as lines
    from (
        select array_agg(x.ord), array_agg(x.previous_state), array_agg(x.new_state)
        from page as x
      ) as a(ids, previous_states, new_states)
    cross join lateral shipslog.event_change_walk(a.ids, a.previous_states, a.new_states) as w
    group by w.id
  )
  select
    r.seq,
    r.deployment_id,
    r.chain_index,
    r.tenant,
    r.name,
    r.action,
    r.occurred_at,
    r.actor,
    r.actor_type,
    r.reason,
    r.correlation_id,
    r.request_id,
    r."when",
    r.summary,
    case when cardinality(r.lines) > 0 then r.lines else array[r.summary] end,
    shipslog.event_category(r.action),
    shipslog.event_severity(r.action, r.new_state),
    -- The details of an event that is not a row change (gate, evidence URL, approval, run...).
    case when r.previous_state is null and r.action <> 'created' then r.new_state -> 'details' end
  from (
      select
        p.*,
        shipslog.relative_time(p.occurred_at) as "when",
        shipslog.event_summary(p.action, p.previous_state, p.new_state, coalesce(l.lines, '{}')) as summary,
        l.lines
      from page as p
      left join lines as l
        on l.ord = p.ord
    ) as r
  order by r.ord;
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
  seq bigint,
  category text,
  severity text
)
language sql
stable
set search_path = ''
as $$
  select
    r.occurred_at,
    r."when",
    r.action,
    r.summary,
    r.actor,
    r.actor_type,
    r.reason,
    r.correlation_id,
    r.chain_index,
    r.deployment_id,
    r.seq,
    r.category,
    r.severity
  from shipslog.readable_events(array(
      select e.event
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
          select x as event, x.occurred_at, x.seq
          from shipslog.deployment_events as x
          where x.deployment_id = ids.deployment_id
          order by x.chain_index desc
          limit p_limit
        ) as e
      order by e.occurred_at desc, e.seq desc
      limit p_limit
    )) as r
  order by r.occurred_at desc, r.seq desc
$$;

revoke execute
  on function
    shipslog.describe_value(jsonb),
    shipslog.describe_change(text, jsonb, jsonb),
    shipslog.describe_change(jsonb),
    shipslog.describe_details(text, jsonb),
    shipslog.event_summary(text, jsonb, jsonb, text[]),
    shipslog.describe_event(text, jsonb, jsonb, jsonb),
    shipslog.event_change_walk(bigint[], jsonb[], jsonb[]),
    shipslog.event_changes(jsonb, jsonb),
    shipslog.relative_time(timestamptz, timestamptz),
    shipslog.readable_events(shipslog.deployment_events[]),
    shipslog.history(text, text, integer)
  from public;

-- Everyone who reads history reads it as text; a function that is inlined still needs
-- EXECUTE (without it the planner does not inline it, and the call fails).
grant execute
  on function
    shipslog.describe_value(jsonb),
    shipslog.describe_change(text, jsonb, jsonb),
    shipslog.describe_change(jsonb),
    shipslog.describe_details(text, jsonb),
    shipslog.event_summary(text, jsonb, jsonb, text[]),
    shipslog.describe_event(text, jsonb, jsonb, jsonb),
    shipslog.event_change_walk(bigint[], jsonb[], jsonb[]),
    shipslog.event_changes(jsonb, jsonb),
    shipslog.relative_time(timestamptz, timestamptz),
    shipslog.readable_events(shipslog.deployment_events[]),
    shipslog.history(text, text, integer)
  to shipslog_app, shipslog_reconciler, shipslog_auditor;
