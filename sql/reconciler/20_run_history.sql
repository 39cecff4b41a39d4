-- Run history: the phase guard on shipslog.reconcile_runs, the transition and run-audit rows
-- written by trigger, the append-only guards on both history tables, and the run-audit
-- backfill.

-- Runs move forward only: Pending -> Running -> Completed | Failed, Pending -> Skipped | Failed.
-- Result states are final, and a run's identity (who, what, which generation) never changes.
-- completed_at and duration_ms are set here so every writer computes them the same way.
create or replace function shipslog.tg_reconcile_runs__transition_guard()
returns trigger
language plpgsql
volatile
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    if new.phase not in ('Pending', 'Running', 'Skipped') then
      raise exception 'reconcile run % cannot start in phase %', new.id, new.phase
        using errcode = 'SL201',
              hint = 'Insert a run as Pending, Running or Skipped, then move it to its result.';
    end if;
  else
    if (new.id, new.started_at, new.deployment_id, new.tenant, new.generation, new.config_hash, new.worker_id, new.correlation_id)
       is distinct from
       (old.id, old.started_at, old.deployment_id, old.tenant, old.generation, old.config_hash, old.worker_id, old.correlation_id) then
      raise exception 'reconcile run % cannot change its identity or attribution', old.id
        using errcode = 'SL202',
              hint = 'Start a new run instead.';
    end if;
    if new.phase is distinct from old.phase
       and not (old.phase, new.phase) in (('Pending', 'Running'), ('Pending', 'Skipped'), ('Pending', 'Failed'),
                                          ('Running', 'Completed'), ('Running', 'Failed')) then
      raise exception 'reconcile run % cannot move from % to %', old.id, old.phase, new.phase
        using errcode = 'SL203',
              hint = 'Completed, Failed and Skipped are final; a retry is a new run.';
    end if;
    if new.phase = old.phase and old.phase in ('Completed', 'Failed', 'Skipped') and new is distinct from old then
      raise exception 'reconcile run % is finished (%) and cannot change', old.id, old.phase
        using errcode = 'SL203',
              hint = 'Completed, Failed and Skipped are final; a retry is a new run.';
    end if;
  end if;
  if new.phase in ('Completed', 'Failed', 'Skipped') and (tg_op = 'INSERT' or old.phase <> new.phase) then
    new.completed_at := clock_timestamp();
    new.duration_ms := greatest(0, round(extract(epoch from new.completed_at - new.started_at) * 1000))::integer;
  end if;
  return new;
end
$$;

create or replace trigger reconcile_runs_10_transition_guard
  before insert or update
  on shipslog.reconcile_runs
  for each row
  execute function shipslog.tg_reconcile_runs__transition_guard();

-- Records each phase change. SECURITY DEFINER: nobody may write transitions directly.
create or replace function shipslog.tg_reconcile_runs__record_transition()
returns trigger
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  if tg_op = 'UPDATE' and new.phase = old.phase then
    return null;
  end if;
  insert into shipslog.reconcile_run_transitions
    (run_id, run_started_at, deployment_id, tenant, from_phase, to_phase, outcome, failure_reason,
     skip_reason, duration_ms, worker_id, correlation_id)
  values
    (new.id, new.started_at, new.deployment_id, new.tenant, case when tg_op = 'UPDATE' then old.phase end, new.phase,
     new.outcome, new.failure_reason, new.skip_reason, new.duration_ms, new.worker_id, new.correlation_id);
  return null;
end
$$;

create or replace trigger reconcile_runs_record_transition
  after insert or update of phase
  on shipslog.reconcile_runs
  for each row
  execute function shipslog.tg_reconcile_runs__record_transition();

-- One audit row per transition into a result state, in the same transaction.
create or replace function shipslog.tg_reconcile_run_transitions__audit()
returns trigger
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  if new.to_phase in ('Completed', 'Failed', 'Skipped') then
    insert into shipslog.reconcile_run_audit
      (transition_id, run_id, deployment_id, tenant, worker_id, correlation_id, success, execution_ms)
    values
      (new.id, new.run_id, new.deployment_id, new.tenant, new.worker_id, new.correlation_id,
       new.to_phase = 'Completed', new.duration_ms);
  end if;
  return null;
end
$$;

create or replace trigger reconcile_run_transitions_audit
  after insert
  on shipslog.reconcile_run_transitions
  for each row
  execute function shipslog.tg_reconcile_run_transitions__audit();

-- Transitions and run audit rows are history: never changed or removed, by anyone including
-- the owner (TRUNCATE: SL005, sql/audit/15_no_truncate.sql). Transitions are written only by the trigger on reconcile_runs (depth >= 2).
create or replace function shipslog.tg_reconcile_history__append_only()
returns trigger
language plpgsql
volatile
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    if pg_trigger_depth() < 2 then
      raise exception '% is written only by the triggers on shipslog.reconcile_runs', tg_table_name
        using errcode = 'SL205',
              hint = 'Insert or update a row of shipslog.reconcile_runs instead.';
    end if;
    return new;
  end if;
  raise exception '% is append-only: % refused', tg_table_name, tg_op
    using errcode = 'SL204',
          hint = 'Run history cannot be changed or removed.';
end
$$;

-- An audit row may only mirror a result transition exactly (what the trigger and the backfill
-- write); anything else is refused, so the audit cannot be padded with invented outcomes.
create or replace function shipslog.tg_reconcile_run_audit__append_only()
returns trigger
language plpgsql
volatile
set search_path = ''
as $$
begin
  if tg_op <> 'INSERT' then
    raise exception 'reconcile_run_audit is append-only: % refused', tg_op
      using errcode = 'SL204',
            hint = 'Run history cannot be changed or removed.';
  end if;
  if not exists (
    select
    from shipslog.reconcile_run_transitions as t
    where t.id = new.transition_id
      and t.to_phase in ('Completed', 'Failed', 'Skipped')
      and (t.run_id, t.deployment_id, t.tenant, t.worker_id, t.correlation_id, t.to_phase = 'Completed', t.duration_ms)
          is not distinct from
          (new.run_id, new.deployment_id, new.tenant, new.worker_id, new.correlation_id, new.success, new.execution_ms)
  ) then
    raise exception 'reconcile_run_audit row for transition % does not mirror a result transition', new.transition_id
      using errcode = 'SL206',
            hint = 'Audit rows are derived from reconcile_run_transitions; run shipslog.backfill_reconcile_run_audit().';
  end if;
  return new;
end
$$;

create or replace trigger reconcile_run_transitions_append_only
  before insert or update or delete
  on shipslog.reconcile_run_transitions
  for each row
  execute function shipslog.tg_reconcile_history__append_only();

create or replace trigger reconcile_run_transitions_no_truncate
  before truncate
  on shipslog.reconcile_run_transitions
  for each statement
  execute function shipslog.tg_audit_records__no_truncate('Rows of shipslog.reconcile_run_transitions are run history and are kept; they follow the phase changes of shipslog.reconcile_runs.');

create or replace trigger reconcile_run_audit_append_only
  before insert or update or delete
  on shipslog.reconcile_run_audit
  for each row
  execute function shipslog.tg_reconcile_run_audit__append_only();

create or replace trigger reconcile_run_audit_no_truncate
  before truncate
  on shipslog.reconcile_run_audit
  for each statement
  execute function shipslog.tg_audit_records__no_truncate('Rows of shipslog.reconcile_run_audit are run history and are kept; missing ones are added by shipslog.backfill_reconcile_run_audit().');

-- Fills run-audit rows for result transitions that have none (transitions recorded before
-- the audit trigger existed, or while triggers were bypassed for a restore). Idempotent: the
-- unique transition_id makes a second run insert nothing. Returns the number of rows added.
-- Only the owner may run it (no grants).
create or replace function shipslog.backfill_reconcile_run_audit()
returns integer
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  added integer;
begin
  insert into shipslog.reconcile_run_audit
    (transition_id, run_id, deployment_id, tenant, worker_id, correlation_id, success, execution_ms, recorded_at)
  select t.id, t.run_id, t.deployment_id, t.tenant, t.worker_id, t.correlation_id, t.to_phase = 'Completed',
         t.duration_ms, t.occurred_at
  from shipslog.reconcile_run_transitions as t
  where t.to_phase in ('Completed', 'Failed', 'Skipped')
    and not exists (
      select
      from shipslog.reconcile_run_audit as a
      where a.transition_id = t.id
    )
  order by t.id
  on conflict (transition_id) do nothing;
  get diagnostics added = row_count;
  return added;
end
$$;

revoke execute
  on function shipslog.backfill_reconcile_run_audit()
  from public;
