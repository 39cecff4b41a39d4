-- shipslog.agent_message_daily: per (tenant, project, UTC day, model) sums of agent messages,
-- kept by triggers in the same transaction as every write (see the table's comment in the
-- baseline); shipslog.agent_message_daily_drift() checks them against the messages.

-- The UTC day a timestamp falls in: date_bin from a UTC midnight is plain arithmetic.
-- A SQL-standard body is bound when created (no search_path lookup at run time), and
-- without a SET clause the planner can inline it.
create or replace function shipslog.utc_day(ts timestamptz)
returns timestamptz
language sql
immutable
parallel safe
return date_bin('1 day', ts, timestamptz '2000-01-01 00:00:00+00');

-- SECURITY DEFINER: the API role may not write sums itself, yet each of its writes must
-- move them. A placeholder counts a message; the finalise adds its tokens and cost.
create or replace function shipslog.tg_agent_messages__daily()
returns trigger
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    insert into shipslog.agent_message_daily as d (tenant, project_id, day_start, model, message_count)
    values (new.tenant, new.project_id, shipslog.utc_day(new.created_at), new.model, 1)
    on conflict (tenant, project_id, day_start, model)
    do update set message_count = d.message_count + 1;
  elsif old.finalised_at is null and new.finalised_at is not null then
    update shipslog.agent_message_daily as d
    set finalised_count = d.finalised_count + 1,
        prompt_tokens = d.prompt_tokens + new.prompt_tokens,
        completion_tokens = d.completion_tokens + new.completion_tokens,
        prompt_cost = d.prompt_cost + new.prompt_cost,
        completion_cost = d.completion_cost + new.completion_cost
    where d.tenant = new.tenant
      and d.project_id = new.project_id
      and d.day_start = shipslog.utc_day(new.created_at)
      and d.model = new.model;
  end if;
  return null;
end
$$;

-- Retention deletes many rows at once: subtract them per group in one statement.
-- One UPDATE subtracts (re-checked on the row's latest version by READ COMMITTED's
-- re-evaluation), and a second statement removes the rows it brought to zero. Deciding
-- "delete the row or subtract from it" from the purge's snapshot would skip a row that a
-- write into the same (project, day, model) changed while the purge waited for its lock,
-- leaving the purged messages counted; test/agent/daily.test.ts commits such a write under
-- a waiting purge.
create or replace function shipslog.tg_agent_messages__daily_delete()
returns trigger
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  with gone as (
    select
      r.tenant, r.project_id, shipslog.utc_day(r.created_at) as day_start, r.model,
      count(*) as message_count,
      count(r.finalised_at) as finalised_count,
      coalesce(sum(r.prompt_tokens), 0) as prompt_tokens,
      coalesce(sum(r.completion_tokens), 0) as completion_tokens,
      coalesce(sum(r.prompt_cost), 0) as prompt_cost,
      coalesce(sum(r.completion_cost), 0) as completion_cost
    from removed as r
    group by 1, 2, 3, 4
  )
  update shipslog.agent_message_daily as d
  set message_count = d.message_count - g.message_count,
      finalised_count = d.finalised_count - g.finalised_count,
      prompt_tokens = d.prompt_tokens - g.prompt_tokens,
      completion_tokens = d.completion_tokens - g.completion_tokens,
      prompt_cost = d.prompt_cost - g.prompt_cost,
      completion_cost = d.completion_cost - g.completion_cost
  from gone as g
  where d.tenant = g.tenant
    and d.project_id = g.project_id
    and d.day_start = g.day_start
    and d.model = g.model;

  -- A separate statement sees the subtraction (and anything committed meanwhile).
  delete from shipslog.agent_message_daily as d
  where d.message_count = 0
    and (d.tenant, d.project_id, d.day_start, d.model) in (
      select distinct r.tenant, r.project_id, shipslog.utc_day(r.created_at), r.model
      from removed as r
    );
  return null;
end
$$;

create or replace trigger agent_messages_daily
  after insert or update
  on shipslog.agent_messages
  for each row
  execute function shipslog.tg_agent_messages__daily();

create or replace trigger agent_messages_daily_delete
  after delete
  on shipslog.agent_messages
  referencing old table as removed
  for each statement
  execute function shipslog.tg_agent_messages__daily_delete();

-- Only the triggers above write it (they run at trigger depth 2), as for deployment_events.
create or replace function shipslog.tg_agent_message_daily__guard()
returns trigger
language plpgsql
volatile
set search_path = ''
as $$
begin
  if tg_level = 'ROW' and pg_trigger_depth() >= 2 then
    return coalesce(new, old);
  end if;
  raise exception 'shipslog.agent_message_daily is written only by the triggers on shipslog.agent_messages: % refused', tg_op
    using errcode = 'SL313',
          hint = 'Write agent messages instead; their triggers keep the daily sums.';
end
$$;

create or replace trigger agent_message_daily_guard
  before insert or update or delete
  on shipslog.agent_message_daily
  for each row
  execute function shipslog.tg_agent_message_daily__guard();

create or replace trigger agent_message_daily_no_truncate
  before truncate
  on shipslog.agent_message_daily
  for each statement
  execute function shipslog.tg_audit_records__no_truncate('shipslog.agent_message_daily follows shipslog.agent_messages through its triggers; purge messages with shipslog.purge_agent_messages(interval) and the sums follow.');

-- Rows where the sums differ from the messages: empty unless triggers were bypassed.
create or replace function shipslog.agent_message_daily_drift()
returns table (tenant text, project_id text, day_start timestamptz, model text, stored jsonb, actual jsonb)
language sql
stable
set search_path = ''
as $$
  with actual as (
    select m.tenant, m.project_id, shipslog.utc_day(m.created_at) as day_start, m.model,
           jsonb_build_object('messages', count(*), 'finalised', count(m.finalised_at),
             'prompt_tokens', coalesce(sum(m.prompt_tokens), 0), 'completion_tokens', coalesce(sum(m.completion_tokens), 0),
             'prompt_cost', coalesce(sum(m.prompt_cost), 0), 'completion_cost', coalesce(sum(m.completion_cost), 0)) as sums
    from shipslog.agent_messages as m
    group by 1, 2, 3, 4
  ),
  stored as (
    select d.tenant, d.project_id, d.day_start, d.model,
           jsonb_build_object('messages', d.message_count, 'finalised', d.finalised_count,
             'prompt_tokens', d.prompt_tokens, 'completion_tokens', d.completion_tokens,
             'prompt_cost', d.prompt_cost, 'completion_cost', d.completion_cost) as sums
    from shipslog.agent_message_daily as d
  )
  select coalesce(s.tenant, a.tenant), coalesce(s.project_id, a.project_id),
         coalesce(s.day_start, a.day_start), coalesce(s.model, a.model), s.sums, a.sums
  from stored as s
  full join actual as a
    on a.tenant = s.tenant
    and a.project_id = s.project_id
    and a.day_start = s.day_start
    and a.model = s.model
  where s.sums is distinct from a.sums
$$;
