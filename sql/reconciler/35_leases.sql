-- Reconciler leases on shipslog.reconcile_queue (columns: migrations/0005_reconcile-leases.sql;
-- the queries that claim, extend and release them: src/db/reconcile-queue.ts; why:
-- docs/reconciler.md). A claim writes lease_holder, lease_id and lease_expires_at in a short
-- transaction; the run then works with no transaction open and extends its lease.

-- One live lease per deployment, whoever writes the row: a lease that has not expired cannot
-- be replaced by another one (only extended by its own id, or released), and none reaches
-- more than an hour ahead (a run extends its lease as it goes; a far expiry would keep a
-- crashed replica's deployment from everyone). The reconciler's claim query already skips
-- live leases; this makes the rule the database's.
create or replace function shipslog.tg_reconcile_queue__lease_guard()
returns trigger
language plpgsql
volatile
set search_path = ''
as $$
begin
  if new.lease_id is not null
     and old.lease_id is not null
     and new.lease_id <> old.lease_id
     and old.lease_expires_at > clock_timestamp() then
    raise exception 'deployment % is leased to % until %', old.deployment_id, old.lease_holder, old.lease_expires_at
      using errcode = 'SL221',
            hint = 'Another reconciler holds this deployment; claim it after its lease expires.';
  end if;
  if new.lease_expires_at > clock_timestamp() + interval '1 hour' then
    raise exception 'lease on deployment % would run until %, more than an hour ahead', new.deployment_id, new.lease_expires_at
      using errcode = 'SL221',
            hint = 'Lease for minutes and extend while working, so that a crashed replica''s deployment is soon taken over.';
  end if;
  return new;
end
$$;

create or replace trigger reconcile_queue_10_lease_guard
  before update of lease_id, lease_expires_at
  on shipslog.reconcile_queue
  for each row
  execute function shipslog.tg_reconcile_queue__lease_guard();

-- The last step of a run, first statement of the transaction that records its result: locks
-- the deployment's queue row and fails (SL220) unless the given lease still holds it. Other
-- replicas cannot claim a row while it is locked, and the lock lasts until the result commits,
-- so a run whose lease ran out (and was perhaps taken over) cannot record anything: the
-- statements pipelined after this one fail with the transaction.
create or replace function shipslog.hold_reconcile_lease(p_deployment_id uuid, p_lease_id uuid)
returns void
language plpgsql
volatile
set search_path = ''
as $$
declare
  q record;
  why text;
begin
  select lease_id, lease_holder, lease_expires_at
    into q
    from shipslog.reconcile_queue
   where deployment_id = p_deployment_id
     for update;
  if not found then
    why := 'the deployment is gone';
  elsif q.lease_id is null then
    why := 'the lease was released';
  elsif q.lease_id <> p_lease_id then
    why := format('%s holds the deployment now, until %s', q.lease_holder, q.lease_expires_at);
  elsif q.lease_expires_at <= clock_timestamp() then
    why := format('it expired at %s', q.lease_expires_at);
  else
    return;
  end if;
  raise exception 'reconcile lease % on deployment % is no longer held: %', p_lease_id, p_deployment_id, why
    using errcode = 'SL220',
          hint = 'The lease ran out before the run finished (a stalled replica, an unreachable database): the next holder applies the generation; this run records nothing.';
end
$$;

revoke execute
  on function shipslog.hold_reconcile_lease(uuid, uuid)
  from public;

grant execute
  on function shipslog.hold_reconcile_lease(uuid, uuid)
  to shipslog_reconciler;
