-- Monthly partitions of shipslog.reconcile_runs (the table and its default partition are in
-- the baseline), and the TRUNCATE guard on the table and on every partition.

-- Runs are history: TRUNCATE is refused (SL005, sql/audit/15_no_truncate.sql) on the
-- partitioned table and on each partition, because a TRUNCATE naming one partition does not
-- fire the statement triggers of its parent. Puts the trigger on one member of the partition
-- tree; create or replace, so re-running it is harmless. Only the owner runs it (no grants):
-- through ensure_reconcile_run_partitions() and the statement at the end of this file.
create or replace function shipslog.guard_reconcile_run_partition(p_table regclass)
returns void
language plpgsql
volatile
set search_path = ''
as $$
begin
  if not exists (
    select
    from pg_catalog.pg_partition_tree('shipslog.reconcile_runs'::regclass) as t
    where t.relid = p_table
  ) then
    raise exception '% is not shipslog.reconcile_runs or one of its partitions', p_table
      using errcode = '22023',
            hint = 'Pass shipslog.reconcile_runs or a partition of it.';
  end if;
  execute format(
    'create or replace trigger reconcile_runs_no_truncate before truncate on %s for each statement execute function shipslog.tg_audit_records__no_truncate(%L)',
    p_table,
    'Rows of shipslog.reconcile_runs (in any of its partitions) are run history and are kept: a run ends as Completed, Failed or Skipped, and a retry is a new run.');
end
$$;

revoke execute
  on function shipslog.guard_reconcile_run_partition(regclass)
  from public;

-- Creates the monthly partitions from this month to months_ahead ahead. SECURITY DEFINER:
-- the reconciler calls it at start and may not create tables itself. Replicas call it at
-- start and daily; two starting together could both see a month's partition missing and
-- race to create it. The loser skips it instead of failing (and taking its replica's start
-- with it).
create or replace function shipslog.ensure_reconcile_run_partitions(months_ahead integer default 3)
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
        -- In the same subtransaction: no partition exists, even for a moment, without it.
        perform shipslog.guard_reconcile_run_partition(('shipslog.' || quote_ident(part_name))::regclass);
        created := created + 1;
      exception
        when check_violation then
          -- The default partition already holds rows of that month; they stay there.
          raise notice 'partition % not created: the default partition holds rows of that month', part_name;
        when duplicate_table or unique_violation then
          -- Another replica created it a moment ago.
          null;
      end;
    end if;
  end loop;
  return created;
end
$$;

revoke execute
  on function shipslog.ensure_reconcile_run_partitions(integer)
  from public;

grant execute
  on function shipslog.ensure_reconcile_run_partitions(integer)
  to shipslog_reconciler;

-- This month and the next three. Idempotent: existing partitions are left alone, so each
-- migrate keeps partitions ready ahead.
select shipslog.ensure_reconcile_run_partitions(3);

-- The guard on the partitioned table and on every partition that exists already: the default
-- one, and monthly ones created before ensure_reconcile_run_partitions() added it (or by hand).
select shipslog.guard_reconcile_run_partition(t.relid)
from pg_catalog.pg_partition_tree('shipslog.reconcile_runs'::regclass) as t
order by t.level, t.relid::text;
