-- "Everything caused by X": a request's X-Correlation-Id (the API uses its request id when
-- there is none) is stored on its events, on the reconcile runs of the generations it made
-- (shipslog.generation_correlation_id) and on the events those runs wrote (whose request_id
-- is the run's id). One list, oldest first, across deployments and tenants the caller may see
-- (SECURITY INVOKER: row-level security applies).
--   select * from shipslog.caused_by('deploy-42');
create or replace function shipslog.caused_by(p_correlation_id text)
returns table (
  kind text,
  occurred_at timestamptz,
  deployment_id uuid,
  tenant text,
  name text,
  seq bigint,
  action text,
  category text,
  severity text,
  run_id uuid,
  run_phase text,
  run_outcome text,
  generation bigint
)
language sql
stable
set search_path = ''
as $$
  select 'event', e.occurred_at, e.deployment_id, e.tenant, e.name, e.seq, e.action,
         shipslog.event_category(e.action), shipslog.event_severity(e.action, e.new_state),
         r.id, r.phase, r.outcome, r.generation
  from shipslog.deployment_events as e
  left join shipslog.reconcile_runs as r
    on e.request_id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
   and r.id = e.request_id::uuid
   and r.correlation_id = p_correlation_id
  where e.correlation_id = p_correlation_id
  union all
  select 'run', r.started_at, r.deployment_id, r.tenant, r.name, null, null, null, null,
         r.id, r.phase, r.outcome, r.generation
  from shipslog.reconcile_runs as r
  where r.correlation_id = p_correlation_id
  order by 2, 6 nulls first
$$;

revoke execute
  on function shipslog.caused_by(text)
  from public;

grant execute
  on function shipslog.caused_by(text)
  to shipslog_app, shipslog_reconciler, shipslog_auditor;
