-- Up Migration

-- One row per reconciler execution for a deployment, like a workflow engine's run history.
-- Partitioned by month (started_at): runs accumulate forever (one per change and per retry)
-- and old months can be detached and archived whole. The primary key must include the
-- partition key, so a run is (id, started_at); id alone is still unique (gen_random_uuid).
create table shipslog.reconcile_runs (
  id uuid not null default gen_random_uuid(),
  started_at timestamptz not null default clock_timestamp(),
  deployment_id uuid not null,
  tenant text not null,
  name text not null,
  generation bigint not null,
  config_hash text not null
    constraint reconcile_runs_config_hash_check check (config_hash ~ '^sha256:[0-9a-f]{64}$'),
  target text not null,
  image text,
  parameters jsonb not null default '{}'
    constraint reconcile_runs_parameters_check check (jsonb_typeof(parameters) = 'object'),
  phase text not null
    constraint reconcile_runs_phase_check check (phase in ('Pending', 'Running', 'Completed', 'Failed', 'Skipped')),
  outcome text
    constraint reconcile_runs_outcome_check check (outcome in ('Applied', 'Unchanged', 'Planned', 'Removed', 'Removing', 'Failed', 'Skipped')),
  failure_reason text
    constraint reconcile_runs_failure_reason_check check (failure_reason ~ '^[A-Z][A-Za-z]{1,63}$'),
  failure_message text
    constraint reconcile_runs_failure_message_check check (length(failure_message) <= 4000),
  skip_reason text
    constraint reconcile_runs_skip_reason_check check (skip_reason in ('ResourceBusy', 'RecentlyRemediated')),
  conflicting_run_id uuid,
  -- What differed and was applied (or would have been, with no cluster): [{kind,name,namespace,action}]
  change_set jsonb not null default '[]'
    constraint reconcile_runs_change_set_check check (jsonb_typeof(change_set) = 'array'),
  dry_run boolean not null default false,
  completed_at timestamptz,
  duration_ms integer,
  worker_id text not null,
  correlation_id text not null,
  constraint reconcile_runs_pkey primary key (id, started_at),
  constraint reconcile_runs_result_check check (
    (phase in ('Completed', 'Failed', 'Skipped')) = (completed_at is not null and outcome is not null)),
  constraint reconcile_runs_failed_check check ((phase = 'Failed') = (failure_reason is not null)),
  constraint reconcile_runs_skipped_check check ((phase = 'Skipped') = (skip_reason is not null))
) partition by range (started_at);

comment on table shipslog.reconcile_runs is
  'One row per reconciler execution. Phase changes are recorded in reconcile_run_transitions by trigger.';

create index reconcile_runs_deployment_idx
  on shipslog.reconcile_runs (deployment_id, started_at desc);

create index reconcile_runs_phase_idx
  on shipslog.reconcile_runs (started_at, phase);

-- Rows outside every monthly partition (clock skew, a missed ensure call) land here instead
-- of failing a run.
create table shipslog.reconcile_runs_default
  partition of shipslog.reconcile_runs
  default;

-- Creates the monthly partitions from this month to months_ahead ahead. SECURITY DEFINER:
-- the reconciler calls it at start and may not create tables itself.
create function shipslog.ensure_reconcile_run_partitions(months_ahead integer default 3)
returns integer
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  month_start date;
  part_name text;
  created integer := 0;
begin
  for i in 0 .. greatest(months_ahead, 0) loop
    month_start := (date_trunc('month', now() at time zone 'UTC') + make_interval(months => i))::date;
    part_name := format('reconcile_runs_y%sm%s', to_char(month_start, 'YYYY'), to_char(month_start, 'MM'));
    if to_regclass('shipslog.' || part_name) is null then
      begin
        execute format(
          'create table shipslog.%I partition of shipslog.reconcile_runs for values from (%L) to (%L)',
          part_name, month_start::timestamp at time zone 'UTC', (month_start + interval '1 month')::timestamp at time zone 'UTC');
        created := created + 1;
      exception when check_violation then
        -- The default partition already holds rows of that month; they stay there.
        raise notice 'partition % not created: the default partition holds rows of that month', part_name;
      end;
    end if;
  end loop;
  return created;
end
$$;

select shipslog.ensure_reconcile_run_partitions(3);

-- Every phase change of a run, in order. Written only by the trigger on reconcile_runs.
create table shipslog.reconcile_run_transitions (
  id bigint generated always as identity primary key,
  run_id uuid not null,
  run_started_at timestamptz not null,
  deployment_id uuid not null,
  tenant text not null,
  from_phase text,
  to_phase text not null,
  outcome text,
  failure_reason text,
  skip_reason text,
  duration_ms integer,
  worker_id text not null,
  correlation_id text not null,
  occurred_at timestamptz not null default clock_timestamp()
);

create index reconcile_run_transitions_run_idx
  on shipslog.reconcile_run_transitions (run_id, id);

-- The run audit: one row per transition into a result state. References and attribution
-- only; the full result is read by joining the transition (and the run).
create table shipslog.reconcile_run_audit (
  id bigint generated always as identity primary key,
  transition_id bigint not null
    constraint reconcile_run_audit_transition_key unique
    references shipslog.reconcile_run_transitions (id),
  run_id uuid not null,
  deployment_id uuid not null,
  tenant text not null,
  worker_id text not null,
  correlation_id text not null,
  success boolean not null,
  execution_ms integer,
  recorded_at timestamptz not null default clock_timestamp()
);

create index reconcile_run_audit_run_idx
  on shipslog.reconcile_run_audit (run_id);

-- Down Migration
drop table shipslog.reconcile_run_audit;
drop table shipslog.reconcile_run_transitions;
drop function shipslog.ensure_reconcile_run_partitions(integer);
drop table shipslog.reconcile_runs;
