-- Triggers on shipslog.deployments that feed the reconciler: its claim row in
-- shipslog.reconcile_queue (baseline) and the wake-up notification.

-- Every deployment has its claim row. SECURITY DEFINER: the API inserts deployments but has
-- no business with the queue.
create or replace function shipslog.tg_deployments__enqueue()
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

create or replace trigger deployments_enqueue
  after insert
  on shipslog.deployments
  for each row
  execute function shipslog.tg_deployments__enqueue();

-- Wakes reconcilers (LISTEN shipslog_reconcile) when the desired state changes: generation
-- moves on every such change, including restart and removal requests. The payload is the
-- deployment id; NOTIFY is delivered at commit, so a woken worker sees the committed row.
-- A lost notification is harmless: workers run a catch-up query after every (re)connect
-- and poll slowly as well.
create or replace function shipslog.tg_deployments__notify_reconciler()
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

create or replace trigger deployments_notify_reconciler
  after insert or update
  on shipslog.deployments
  for each row
  execute function shipslog.tg_deployments__notify_reconciler();
