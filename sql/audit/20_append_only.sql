-- Append-only for every role, the owner included (but for retention's purge, below): grants
-- keep other roles out, these triggers stop the owner (and a superuser, unless triggers are bypassed, which
-- shipslog.verify_chains() then detects).
create or replace function shipslog.tg_deployment_events__append_only()
returns trigger
language plpgsql
volatile
set search_path = ''
as $$
declare
  stack text;
begin
  -- Retention: shipslog.purge_audit_events() (sql/audit/85_retention.sql), which runs as
  -- shipslog_audit_retention, removes expired chain prefixes and appends its events_purged
  -- event to the system chain. No login is a member of that role; only the function is.
  if current_user = 'shipslog_audit_retention' then
    if tg_op = 'DELETE' then
      return old;
    end if;
    if tg_op = 'INSERT' and new.action = 'events_purged' and new.deployment_id = '00000000-0000-0000-0000-000000000000' then
      return new;
    end if;
  end if;
  if tg_op = 'INSERT' then
    -- The one writer besides the audit trigger: shipslog.append_event() (45_record_event.sql),
    -- a SECURITY DEFINER function that checks the event and takes the chain head under the
    -- deployment's row lock. Its INSERT comes from no trigger (depth 0), so this function runs;
    -- the call stack names the statement (its one line, exactly) and the function that ran it.
    -- No role but the owner may insert at all; this guard is the owner's tripwire (an owner
    -- bent on forgery can disable triggers, which verify_chains() and checkpoints are for).
    get diagnostics stack = pg_context;
    if split_part(stack, E'\n', 2) = 'SQL statement "insert into shipslog.deployment_events overriding system value select (ev).*"'
       and split_part(stack, E'\n', 3) like 'PL/pgSQL function shipslog.append_event(uuid,text,jsonb) line % at SQL statement' then
      return new;
    end if;
    raise exception 'shipslog.deployment_events is written only by the audit trigger on shipslog.deployments and shipslog.append_event()'
      using errcode = 'SL002',
            hint = 'Change the deployment instead (its trigger records the event), or record a lifecycle, approval, gate or rollback event through its function (docs/compliance.md).';
  end if;
  raise exception 'shipslog.deployment_events is append-only: % refused', tg_op
    using errcode = 'SL001',
          hint = 'Audit history cannot be changed or removed; record a correcting change on the deployment instead.';
end
$$;

create or replace trigger deployment_events_append_only
  before update or delete
  on shipslog.deployment_events
  for each row
  execute function shipslog.tg_deployment_events__append_only();

-- TRUNCATE: SL005, like every audited table (15_no_truncate.sql).
create or replace trigger deployment_events_no_truncate
  before truncate
  on shipslog.deployment_events
  for each statement
  execute function shipslog.tg_audit_records__no_truncate('shipslog.deployment_events is audit history and is never removed; record a correcting change on the deployment instead.');

-- WHEN is evaluated before this trigger counts itself: depth 0 is an INSERT typed by a
-- client or made by shipslog.append_event() (the function tells them apart), depth 1 the
-- audit trigger's own insert. The WHEN clause keeps the legitimate
-- path from calling a function at all.
create or replace trigger deployment_events_no_forged_insert
  before insert
  on shipslog.deployment_events
  for each row
  when (pg_trigger_depth() = 0)
  execute function shipslog.tg_deployment_events__append_only();
