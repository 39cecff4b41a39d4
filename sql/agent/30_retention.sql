-- shipslog.agent_message_retention_runs is append-only and written only by the purge below.
create or replace function shipslog.tg_agent_message_retention_runs__append_only()
returns trigger
language plpgsql
volatile
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' and current_user = 'shipslog_agent_retention' then
    return new;
  end if;
  raise exception 'shipslog.agent_message_retention_runs is written only by shipslog.purge_agent_messages: % refused', tg_op
    using errcode = 'SL307',
          hint = 'Run retention with shipslog.purge_agent_messages(interval) or `shipslog agent-messages purge`; its record never changes.';
end
$$;

create or replace trigger agent_message_retention_runs_append_only
  before insert or update or delete
  on shipslog.agent_message_retention_runs
  for each row
  execute function shipslog.tg_agent_message_retention_runs__append_only();

create or replace trigger agent_message_retention_runs_no_truncate
  before truncate
  on shipslog.agent_message_retention_runs
  for each statement
  execute function shipslog.tg_audit_records__no_truncate('shipslog.agent_message_retention_runs records every purge and is kept; run retention with shipslog.purge_agent_messages(interval) or `shipslog agent-messages purge`.');

-- The only path that deletes agent messages. Owned by shipslog_agent_retention, so inside it
-- current_user is that role, which the delete guard on agent_messages requires.
--   kind 'scheduled': the daily job of every `shipslog serve` replica. A try-lock plus the
--     per-day record make it run exactly once per UTC day however many replicas call it:
--     'locked' = another replica is running it now, 'already_ran' = done today.
--   kind 'manual': `shipslog agent-messages purge`; waits for a running purge, then runs.
-- older_than is at least one day: this path cannot be used to remove fresh audit records.
-- Only the service's own login may run it (90_grants.sql), never shipslog_app.
create or replace function shipslog.purge_agent_messages(p_older_than interval, p_kind text default 'manual')
returns table (outcome text, run_id bigint, deleted_count bigint, cutoff timestamptz)
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  -- Arbitrary constant shared by every replica; 'SL' 0x534C, issue 5, job 1.
  lock_key constant bigint := 5459973005001;
  v_started timestamptz := clock_timestamp();
  v_cutoff timestamptz;
  v_day date := (now() at time zone 'UTC')::date;
  v_deleted bigint;
  v_run_id bigint;
begin
  if p_older_than is null or p_older_than < interval '1 day' then
    raise exception 'agent message retention must be at least 1 day, got %', p_older_than
      using errcode = 'SL308',
            hint = 'Pass an age such as ''7 days''; keeping messages forever means not running the purge.';
  end if;
  if p_kind is null or p_kind not in ('scheduled', 'manual') then
    raise exception 'purge kind must be scheduled or manual, got %', p_kind
      using errcode = '22023',
            hint = 'The daily job passes scheduled; a person running it by hand passes manual.';
  end if;

  if p_kind = 'scheduled' then
    if not pg_try_advisory_xact_lock(lock_key) then
      return query select 'locked'::text, null::bigint, 0::bigint, null::timestamptz;
      return;
    end if;
    if exists (
      select
      from shipslog.agent_message_retention_runs as r
      where r.kind = 'scheduled'
        and r.run_date = v_day
    ) then
      return query select 'already_ran'::text, null::bigint, 0::bigint, null::timestamptz;
      return;
    end if;
  else
    perform pg_advisory_xact_lock(lock_key);
  end if;

  v_cutoff := now() - p_older_than;

  delete from shipslog.agent_messages as m
  where m.created_at < v_cutoff;
  get diagnostics v_deleted = row_count;

  insert into shipslog.agent_message_retention_runs
    (kind, run_date, older_than, cutoff, deleted_count, started_at, finished_at, run_by)
  values
    (p_kind, v_day, p_older_than, v_cutoff, v_deleted, v_started, clock_timestamp(), shipslog.agent_attribution())
  returning id
  into v_run_id;

  return query select 'ran'::text, v_run_id, v_deleted, v_cutoff;
end
$$;

-- The retention job's identity: it may read and delete messages and record its runs, and
-- nothing else (its grants are in 90_grants.sql). current_user = shipslog_agent_retention
-- inside this function is what the delete guard checks. Changing the owner needs a
-- superuser or a member of shipslog_agent_retention (sql/common/05_owner-membership.sql),
-- and so does replacing the function above once the role owns it. PostgreSQL also wants the
-- new owner to hold CREATE on the schema at that moment: given for this statement only.
grant create
  on schema shipslog
  to shipslog_agent_retention;

alter function shipslog.purge_agent_messages(interval, text)
  owner to shipslog_agent_retention;

revoke create
  on schema shipslog
  from shipslog_agent_retention;
