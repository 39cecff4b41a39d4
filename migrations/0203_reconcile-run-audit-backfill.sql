-- Up Migration

-- Fills run-audit rows for result transitions that have none (transitions recorded before
-- the audit trigger existed, or while triggers were bypassed for a restore). Idempotent: the
-- unique transition_id makes a second run insert nothing. Returns the number of rows added.
create function shipslog.backfill_reconcile_run_audit()
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

select shipslog.backfill_reconcile_run_audit();

-- Down Migration
drop function shipslog.backfill_reconcile_run_audit();
