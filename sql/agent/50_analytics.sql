-- Exact decimal as text for JSON: jsonb numbers are exact, but JSON.parse in clients is not.
create or replace function shipslog.decimal_text(value numeric)
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
-- The range is at most 400 days: a year and a bit, and a bound on the zero-filled day list.
--
-- Whole UTC days come from the daily sums (shipslog.agent_message_daily, 40_daily.sql), the
-- partial days at the range's edges from the messages. shipslog.agent_analytics_scan below
-- answers the same from the messages alone: the tests hold the two to identical answers.
create or replace function shipslog.agent_analytics(
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
  v_full_from timestamptz;
  v_full_to timestamptz;
begin
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

  -- Whole UTC days inside the range come from the daily sums; the partial days at its
  -- edges (e.g. today so far) from the messages themselves, through the same index.
  v_full_from := shipslog.utc_day(p_from);
  if v_full_from < p_from then
    v_full_from := v_full_from + interval '1 day';
  end if;
  v_full_to := shipslog.utc_day(p_to);
  if v_full_to <= v_full_from then
    v_full_from := p_to;
    v_full_to := p_to;
  end if;

  with grouped as materialized (
    select
      d.day_start,
      d.model,
      d.message_count,
      d.finalised_count,
      d.prompt_tokens,
      d.completion_tokens,
      d.prompt_cost,
      d.completion_cost
    from shipslog.agent_message_daily as d
    where d.tenant = v_tenant
      and d.project_id = p_project_id
      and d.day_start >= v_full_from
      and d.day_start < v_full_to
    union all
    -- Two plain ranges, not one OR: each is an index-only scan.
    select
      shipslog.utc_day(m.created_at),
      m.model,
      count(*),
      count(m.prompt_cost),
      coalesce(sum(m.prompt_tokens), 0),
      coalesce(sum(m.completion_tokens), 0),
      coalesce(sum(m.prompt_cost), 0),
      coalesce(sum(m.completion_cost), 0)
    from shipslog.agent_messages as m
    where m.tenant = v_tenant
      and m.project_id = p_project_id
      and m.created_at >= p_from
      and m.created_at < least(v_full_from, p_to)
    group by 1, 2
    union all
    select
      shipslog.utc_day(m.created_at),
      m.model,
      count(*),
      count(m.prompt_cost),
      coalesce(sum(m.prompt_tokens), 0),
      coalesce(sum(m.completion_tokens), 0),
      coalesce(sum(m.prompt_cost), 0),
      coalesce(sum(m.completion_cost), 0)
    from shipslog.agent_messages as m
    where m.tenant = v_tenant
      and m.project_id = p_project_id
      and m.created_at >= greatest(v_full_to, p_from)
      and m.created_at < p_to
    group by 1, 2
  ),
  grouped_totals as (
    select g.*, g.prompt_tokens + g.completion_tokens as total_tokens, g.prompt_cost + g.completion_cost as total_cost
    from grouped as g
  ),
  totals as (
    select
      coalesce(sum(g.message_count), 0)::bigint as message_count,
      coalesce(sum(g.finalised_count), 0)::bigint as finalised_count,
      coalesce(sum(g.prompt_tokens), 0) as prompt_tokens,
      coalesce(sum(g.completion_tokens), 0) as completion_tokens,
      coalesce(sum(g.total_tokens), 0) as total_tokens,
      coalesce(sum(g.prompt_cost), 0) as prompt_cost,
      coalesce(sum(g.completion_cost), 0) as completion_cost,
      coalesce(sum(g.total_cost), 0) as total_cost
    from grouped_totals as g
  ),
  days as (
    select d as day_start
    from generate_series(
      shipslog.utc_day(p_from),
      p_to - interval '1 microsecond',
      interval '1 day'
    ) as s(d)
  ),
  by_day as (
    select g.day_start, sum(g.message_count) as message_count, sum(g.total_tokens) as total_tokens, sum(g.total_cost) as total_cost
    from grouped_totals as g
    group by g.day_start
  ),
  by_model as (
    select g.model, sum(g.message_count) as message_count, sum(g.total_tokens) as total_tokens, sum(g.total_cost) as total_cost
    from grouped_totals as g
    group by g.model
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
          'day', to_char(d.day_start at time zone 'UTC', 'YYYY-MM-DD'),
          'message_count', coalesce(b.message_count, 0),
          'total_tokens', coalesce(b.total_tokens, 0),
          'total_cost', shipslog.decimal_text(coalesce(b.total_cost, 0)))
        order by d.day_start), '[]')
      from days as d
      left join by_day as b
        on b.day_start = d.day_start),
    'cost_by_model', (
      select coalesce(jsonb_agg(jsonb_build_object(
          'model', bm.model,
          'message_count', bm.message_count,
          'total_tokens', coalesce(bm.total_tokens, 0),
          'total_cost', shipslog.decimal_text(coalesce(bm.total_cost, 0)))
        order by coalesce(bm.total_cost, 0) desc, bm.model), '[]')
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

-- psql: select shipslog.agent_analytics_scan('shop', now() - interval '30 days', now());
-- The same contract and answers as shipslog.agent_analytics, computed from every message in
-- the range (no daily sums): the reference the tests and bench/agent.ts compare it with.
-- Measured with bench/agent.ts (1,000,000 messages, 10,000 in one project's 30 days): it
-- aggregates the index-only scan once into (UTC day, model) groups (at most days x models
-- rows) and derives totals, days and models from those (a materialised CTE scanned four
-- times, converting every row's time zone, took 68 ms). Totals are not summed: the CHECKs
-- make total = prompt + completion on every row, so a group's total is the sum of its two
-- parts (2 numeric and 2 integer sums per row instead of 3 and 3; p95 was 21.4 ms with them).
create or replace function shipslog.agent_analytics_scan(
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

  with grouped as materialized (
    -- date_bin from a UTC midnight is plain arithmetic: the row's UTC day, no zone lookup.
    select
      date_bin('1 day', m.created_at, timestamptz '2000-01-01 00:00:00+00') as day_start,
      m.model,
      count(*) as message_count,
      count(m.prompt_cost) as finalised_count,
      sum(m.prompt_tokens) as prompt_tokens,
      sum(m.completion_tokens) as completion_tokens,
      sum(m.prompt_cost) as prompt_cost,
      sum(m.completion_cost) as completion_cost
    from shipslog.agent_messages as m
    where m.tenant = v_tenant
      and m.project_id = p_project_id
      and m.created_at >= p_from
      and m.created_at < p_to
    group by 1, 2
  ),
  -- total = prompt + completion on every finalised row (agent_messages_tokens_check and
  -- _cost_check), so the totals of a group are the sums of its two parts.
  grouped_totals as (
    select g.*, g.prompt_tokens + g.completion_tokens as total_tokens, g.prompt_cost + g.completion_cost as total_cost
    from grouped as g
  ),
  totals as (
    select
      coalesce(sum(g.message_count), 0)::bigint as message_count,
      coalesce(sum(g.finalised_count), 0)::bigint as finalised_count,
      coalesce(sum(g.prompt_tokens), 0) as prompt_tokens,
      coalesce(sum(g.completion_tokens), 0) as completion_tokens,
      coalesce(sum(g.total_tokens), 0) as total_tokens,
      coalesce(sum(g.prompt_cost), 0) as prompt_cost,
      coalesce(sum(g.completion_cost), 0) as completion_cost,
      coalesce(sum(g.total_cost), 0) as total_cost
    from grouped_totals as g
  ),
  days as (
    select d as day_start
    from generate_series(
      date_bin('1 day', p_from, timestamptz '2000-01-01 00:00:00+00'),
      p_to - interval '1 microsecond',
      interval '1 day'
    ) as s(d)
  ),
  by_day as (
    select g.day_start, sum(g.message_count) as message_count, sum(g.total_tokens) as total_tokens, sum(g.total_cost) as total_cost
    from grouped_totals as g
    group by g.day_start
  ),
  by_model as (
    select g.model, sum(g.message_count) as message_count, sum(g.total_tokens) as total_tokens, sum(g.total_cost) as total_cost
    from grouped_totals as g
    group by g.model
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
          'day', to_char(d.day_start at time zone 'UTC', 'YYYY-MM-DD'),
          'message_count', coalesce(b.message_count, 0),
          'total_tokens', coalesce(b.total_tokens, 0),
          'total_cost', shipslog.decimal_text(coalesce(b.total_cost, 0)))
        order by d.day_start), '[]')
      from days as d
      left join by_day as b
        on b.day_start = d.day_start),
    'cost_by_model', (
      select coalesce(jsonb_agg(jsonb_build_object(
          'model', bm.model,
          'message_count', bm.message_count,
          'total_tokens', coalesce(bm.total_tokens, 0),
          'total_cost', shipslog.decimal_text(coalesce(bm.total_cost, 0)))
        order by coalesce(bm.total_cost, 0) desc, bm.model), '[]')
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
