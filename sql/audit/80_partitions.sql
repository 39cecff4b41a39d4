-- Monthly partitions of shipslog.deployment_events (the table and its default partition are
-- made by migrations/0035_partition-deployment-events.sql), and what every partition carries.
--
-- Row triggers of the partitioned table (append-only, no forged insert: 20_append_only.sql)
-- are cloned onto every partition by PostgreSQL, present and future. Two things are not:
-- - the TRUNCATE guard: a TRUNCATE naming one partition does not fire its parent's statement
--   triggers, so each partition carries its own (SL005, 15_no_truncate.sql);
-- - the chain key: a unique index of a partitioned table must contain the partition key, so
--   unique (deployment_id, chain_index) is an index of each partition (the migration says why).
-- Only the owner runs this (no grants): through ensure_deployment_event_partitions() and the
-- statement at the end of this file.
create or replace function shipslog.guard_deployment_event_partition(p_table regclass)
returns void
language plpgsql
volatile
set search_path = ''
as $$
declare
  part_name text;
begin
  select c.relname
  into part_name
  from pg_catalog.pg_partition_tree('shipslog.deployment_events'::regclass) as t
    join pg_catalog.pg_class as c on c.oid = t.relid
  where t.relid = p_table
    and t.parentrelid is not null;
  if part_name is null then
    raise exception '% is not a partition of shipslog.deployment_events', p_table
      using errcode = '22023',
            hint = 'Pass a partition of shipslog.deployment_events.';
  end if;
  execute format(
    'create or replace trigger deployment_events_no_truncate before truncate on %s for each statement execute function shipslog.tg_audit_records__no_truncate(%L)',
    p_table,
    'Rows of shipslog.deployment_events (in any of its partitions) are audit history; old chain prefixes leave only through shipslog.purge_audit_events() (`shipslog purge`).');
  execute format('create unique index if not exists %I on %s (deployment_id, chain_index)', part_name || '_chain_key', p_table);
end
$$;

revoke execute
  on function shipslog.guard_deployment_event_partition(regclass)
  from public;

-- Creates the monthly partitions from this month to months_ahead ahead (UTC months), each
-- guarded in the same subtransaction. SECURITY DEFINER: `serve`'s daily job calls it as the
-- reconciler's login, which may not create tables. Replicas may race for a month: the loser
-- skips it. A month whose rows already sit in the default partition is left there (a notice):
-- the default partition is meant to stay empty, and test/partitions.test.ts checks it does.
create or replace function shipslog.ensure_deployment_event_partitions(months_ahead integer default 3)
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
    part_name := format('deployment_events_y%sm%s', to_char(month_start, 'YYYY'), to_char(month_start, 'MM'));
    if to_regclass('shipslog.' || part_name) is null then
      begin
        execute format(
          'create table shipslog.%I partition of shipslog.deployment_events for values from (%L) to (%L)',
          part_name, month_start::timestamp at time zone 'UTC', (month_start + interval '1 month')::timestamp at time zone 'UTC');
        perform shipslog.guard_deployment_event_partition(('shipslog.' || quote_ident(part_name))::regclass);
        created := created + 1;
      exception
        when check_violation then
          raise notice 'partition % not created: the default partition holds events of that month', part_name;
        when duplicate_table or unique_violation then
          null;
      end;
    end if;
  end loop;
  return created;
end
$$;

revoke execute
  on function shipslog.ensure_deployment_event_partitions(integer)
  from public;

grant execute
  on function shipslog.ensure_deployment_event_partitions(integer)
  to shipslog_reconciler;

select shipslog.ensure_deployment_event_partitions(3);

-- The guards on every partition that exists already: the default one, the months the
-- migration made for existing rows, and any made by hand.
select shipslog.guard_deployment_event_partition(t.relid)
from pg_catalog.pg_partition_tree('shipslog.deployment_events'::regclass) as t
where t.parentrelid is not null
order by t.relid::text;
