-- Up Migration

-- Exact decimal as text for JSON: jsonb numbers are exact, but JSON.parse in clients is not.
create function shipslog.decimal_text(value numeric)
returns text
language sql
immutable
parallel safe
set search_path = ''
return trim_scale(value)::text;

-- psql: select shipslog.agent_analytics('shop', now() - interval '30 days', now());
-- Cost and token analytics for one project over [p_from, p_to), days in UTC. Invoker's
-- rights: row-level security limits an API caller to its own tenant, so a project of
-- another tenant is "not found" exactly like a project that does not exist.
-- Costs are strings (exact decimals); only finalised messages carry tokens and cost, so the
-- average cost per message is over finalised messages, rounded to 12 decimal places.
create function shipslog.agent_analytics(
  p_project_id text,
  p_from timestamptz,
  p_to timestamptz,
  p_recent integer default 10
)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  v_tenant text;
  v_result jsonb;
begin
  -- 400 days: a year and a bit, and a bound on the zero-filled day list.
  if p_from is null or p_to is null or p_from >= p_to or p_to - p_from > interval '400 days' then
    raise exception 'analytics range [%, %) is empty, reversed or longer than 400 days', p_from, p_to
      using errcode = 'SL309',
            hint = 'Give from < to, at most 400 days apart.';
  end if;
  if p_recent is null or p_recent not between 0 and 100 then
    raise exception 'recent message count must be between 0 and 100, got %', p_recent
      using errcode = 'SL309',
            hint = 'Ask for at most 100 recent messages.';
  end if;

  select p.tenant
  into v_tenant
  from shipslog.projects as p
  where p.id = p_project_id;
  if not found then
    raise exception 'project % not found', p_project_id
      using errcode = 'SL312',
            hint = 'A project exists once its tenant has recorded an agent message in it.';
  end if;

  with msgs as materialized (
    select m.created_at, m.model, m.prompt_tokens, m.completion_tokens, m.total_tokens,
           m.prompt_cost, m.completion_cost, m.total_cost
    from shipslog.agent_messages as m
    where m.tenant = v_tenant
      and m.project_id = p_project_id
      and m.created_at >= p_from
      and m.created_at < p_to
  ),
  totals as (
    select
      count(*) as message_count,
      count(total_cost) as finalised_count,
      coalesce(sum(prompt_tokens), 0) as prompt_tokens,
      coalesce(sum(completion_tokens), 0) as completion_tokens,
      coalesce(sum(total_tokens), 0) as total_tokens,
      coalesce(sum(prompt_cost), 0) as prompt_cost,
      coalesce(sum(completion_cost), 0) as completion_cost,
      coalesce(sum(total_cost), 0) as total_cost
    from msgs
  ),
  days as (
    select d::date as day
    from generate_series(
      date_trunc('day', p_from at time zone 'UTC'),
      (p_to at time zone 'UTC') - interval '1 microsecond',
      interval '1 day'
    ) as g(d)
  ),
  by_day as (
    select
      (created_at at time zone 'UTC')::date as day,
      count(*) as message_count,
      coalesce(sum(total_tokens), 0) as total_tokens,
      coalesce(sum(total_cost), 0) as total_cost
    from msgs
    group by 1
  ),
  by_model as (
    select
      model,
      count(*) as message_count,
      coalesce(sum(total_tokens), 0) as total_tokens,
      coalesce(sum(total_cost), 0) as total_cost
    from msgs
    group by model
  ),
  recent as (
    select m.message_id, m.model, m.context_layers, m.created_at, m.finalised_at,
           m.prompt_tokens, m.completion_tokens, m.total_tokens,
           m.prompt_cost, m.completion_cost, m.total_cost
    from shipslog.agent_messages as m
    where m.tenant = v_tenant
      and m.project_id = p_project_id
      and m.created_at >= p_from
      and m.created_at < p_to
    order by m.created_at desc, m.message_id desc
    limit p_recent
  )
  select jsonb_build_object(
    'project_id', p_project_id,
    'from', shipslog.iso_utc(p_from),
    'to', shipslog.iso_utc(p_to),
    'message_count', t.message_count,
    'finalised_count', t.finalised_count,
    'tokens', jsonb_build_object('prompt', t.prompt_tokens, 'completion', t.completion_tokens, 'total', t.total_tokens),
    'cost', jsonb_build_object(
      'prompt', shipslog.decimal_text(t.prompt_cost),
      'completion', shipslog.decimal_text(t.completion_cost),
      'total', shipslog.decimal_text(t.total_cost)),
    'average_cost_per_message', shipslog.decimal_text(round(t.total_cost / nullif(t.finalised_count, 0), 12)),
    'cost_by_day', (
      select coalesce(jsonb_agg(jsonb_build_object(
          'day', to_char(d.day, 'YYYY-MM-DD'),
          'message_count', coalesce(b.message_count, 0),
          'total_tokens', coalesce(b.total_tokens, 0),
          'total_cost', shipslog.decimal_text(coalesce(b.total_cost, 0)))
        order by d.day), '[]')
      from days as d
      left join by_day as b
        on b.day = d.day),
    'cost_by_model', (
      select coalesce(jsonb_agg(jsonb_build_object(
          'model', bm.model,
          'message_count', bm.message_count,
          'total_tokens', bm.total_tokens,
          'total_cost', shipslog.decimal_text(bm.total_cost))
        order by bm.total_cost desc, bm.model), '[]')
      from by_model as bm),
    'recent_messages', (
      select coalesce(jsonb_agg(jsonb_build_object(
          'message_id', r.message_id,
          'model', r.model,
          'context_layers', r.context_layers,
          'created_at', shipslog.iso_utc(r.created_at),
          'finalised_at', shipslog.iso_utc(r.finalised_at),
          'tokens', case when r.finalised_at is not null then jsonb_build_object(
            'prompt', r.prompt_tokens, 'completion', r.completion_tokens, 'total', r.total_tokens) end,
          'cost', case when r.finalised_at is not null then jsonb_build_object(
            'prompt', r.prompt_cost::text, 'completion', r.completion_cost::text, 'total', r.total_cost::text) end)
        order by r.created_at desc, r.message_id desc), '[]')
      from recent as r)
  )
  into v_result
  from totals as t;

  return v_result;
end
$$;

-- The link from deployment changes to the agent messages behind them: a change made with
-- X-Correlation-Id: <message_id> carries the id in deployment_events.correlation_id.
-- Same tenant only, so one tenant's id can never claim another tenant's change.
create index deployment_events_correlation_id_idx
  on shipslog.deployment_events (correlation_id)
  where correlation_id is not null;

-- security_invoker: row-level security on both tables applies to whoever reads the view.
create view shipslog.agent_message_deployment_changes
with (security_invoker = true)
as
select
  e.seq,
  e.deployment_id,
  e.tenant,
  e.name,
  e.chain_index,
  e.action,
  e.occurred_at,
  e.actor,
  m.message_id,
  m.project_id,
  m.model,
  m.prompt_tokens,
  m.completion_tokens,
  m.total_tokens,
  m.prompt_cost,
  m.completion_cost,
  m.total_cost,
  m.finalised_at
from shipslog.deployment_events as e
join shipslog.agent_messages as m
  on m.message_id = e.correlation_id
  and m.tenant = e.tenant;

comment on view shipslog.agent_message_deployment_changes is
  'Each deployment change and the agent message (model, tokens, cost) whose id it carried as correlation_id.';

-- psql: select * from shipslog.deployment_agent_cost('<deployment id>');
-- What the agent spent on one deployment: each message counted once, however many changes
-- it made to the deployment.
create function shipslog.deployment_agent_cost(p_deployment_id uuid)
returns table (message_count bigint, total_tokens bigint, total_cost numeric)
language sql
stable
set search_path = ''
as $$
  select
    count(*),
    coalesce(sum(m.total_tokens), 0)::bigint,
    coalesce(sum(m.total_cost), 0)
  from shipslog.agent_messages as m
  where (m.tenant, m.message_id) in (
    select e.tenant, e.correlation_id
    from shipslog.deployment_events as e
    where e.deployment_id = p_deployment_id
      and e.correlation_id is not null
  )
$$;

-- Down Migration
drop function shipslog.deployment_agent_cost(uuid);
drop view shipslog.agent_message_deployment_changes;
drop index shipslog.deployment_events_correlation_id_idx;
drop function shipslog.agent_analytics(text, timestamptz, timestamptz, integer);
drop function shipslog.decimal_text(numeric);
