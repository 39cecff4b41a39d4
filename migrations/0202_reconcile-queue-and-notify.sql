-- Up Migration

-- The reconciler's claim on a deployment. A worker holds this row FOR UPDATE (SKIP LOCKED
-- by the others) for the whole run, so two replicas never work on one deployment at once,
-- and a worker that dies releases its claim with its connection. It is a separate table so
-- that claiming never blocks the API's writes to the deployment row, and so that retry
-- bookkeeping (back-off) writes no audit events.
create table shipslog.reconcile_queue (
  deployment_id uuid primary key
    references shipslog.deployments (id) on delete cascade,
  -- Back-off after failures: no new attempt at this generation before not_before.
  not_before timestamptz,
  failures integer not null default 0
    constraint reconcile_queue_failures_check check (failures >= 0),
  failed_generation bigint,
  health_checked_at timestamptz
);

create index reconcile_queue_health_idx
  on shipslog.reconcile_queue (health_checked_at nulls first);

insert into shipslog.reconcile_queue (deployment_id)
select id
from shipslog.deployments
on conflict do nothing;

-- Every deployment has its claim row. SECURITY DEFINER: the API inserts deployments but has
-- no business with the queue.
create function shipslog.tg_deployments__enqueue()
returns trigger
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  insert into shipslog.reconcile_queue (deployment_id)
  values (new.id)
  on conflict do nothing;
  return null;
end
$$;

create trigger deployments_enqueue
  after insert
  on shipslog.deployments
  for each row
  execute function shipslog.tg_deployments__enqueue();

-- Wakes reconcilers (LISTEN shipslog_reconcile) when the desired state changes: generation
-- moves on every such change, including restart and removal requests. The payload is the
-- deployment id; NOTIFY is delivered at commit, so a woken worker sees the committed row.
-- A lost notification is harmless: workers run a catch-up query after every (re)connect
-- and poll slowly as well.
create function shipslog.tg_deployments__notify_reconciler()
returns trigger
language plpgsql
volatile
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' or new.generation <> old.generation then
    perform pg_notify('shipslog_reconcile', new.id::text);
  end if;
  return null;
end
$$;

create trigger deployments_notify_reconciler
  after insert or update
  on shipslog.deployments
  for each row
  execute function shipslog.tg_deployments__notify_reconciler();

-- Down Migration
drop trigger deployments_notify_reconciler on shipslog.deployments;
drop function shipslog.tg_deployments__notify_reconciler();
drop trigger deployments_enqueue on shipslog.deployments;
drop function shipslog.tg_deployments__enqueue();
drop table shipslog.reconcile_queue;
