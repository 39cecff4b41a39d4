-- The trigger on shipslog.deployments that feeds the reconciler its claim row in
-- shipslog.reconcile_queue (baseline).

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

-- The wake-up (NOTIFY shipslog_reconcile, '<id>') is sent by the audit trigger
-- (sql/audit/40_audit_trigger.sql), which decides that the desired state changed: only when a
-- write gives the reconcilers work they would not find by themselves (issue 10). It used to be
-- an AFTER trigger here, notifying on every desired-state change (dropped by migration 0007).
