-- Monthly partitions of shipslog.reconcile_runs (the table and its default partition are in
-- the baseline).

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
