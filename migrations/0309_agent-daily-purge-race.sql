-- Up Migration

-- 0307's purge trigger decided "delete this day's sum row or subtract from it" from its
-- snapshot. A message written into the same (project, day, model) by a transaction that
-- committed while the purge waited for that row's lock made both branches skip the row
-- (the delete's re-check failed, the update never matched), leaving the purged messages
-- counted. Now one UPDATE subtracts (re-checked on the row's latest version by READ
-- COMMITTED's re-evaluation) and a second statement removes the rows it brought to zero.
-- test/agent/daily.test.ts commits such a write under a waiting purge.

alter table shipslog.agent_message_daily
  drop constraint agent_message_daily_counts_check;

alter table shipslog.agent_message_daily
  add constraint agent_message_daily_counts_check check (
    message_count >= 0 and finalised_count between 0 and message_count);

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

-- Down Migration
select 1;
