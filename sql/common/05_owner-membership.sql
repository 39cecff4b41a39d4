-- The schema's owner (whoever runs `shipslog migrate`) must be a member of the group roles:
-- sql/agent/30_retention.sql hands shipslog.purge_agent_messages to shipslog_agent_retention
-- (and sql/audit/85_retention.sql shipslog.purge_audit_events to shipslog_audit_retention)
-- (re-creating it needs that membership), and a service that falls back to the owner's login
-- switches to shipslog_app per request. A superuser needs nothing. A CREATEROLE owner that
-- created the roles itself holds their ADMIN OPTION (PostgreSQL 16+) or may grant them anyway
-- (15); roles that someone else created need a superuser's grant first, which the hint names.
do $$
declare
  missing text[];
begin
  if (select rolsuper from pg_catalog.pg_roles where rolname = current_user) then
    return;
  end if;
  select array_agg(r order by r)
  into missing
  from unnest(array['shipslog_app', 'shipslog_reconciler', 'shipslog_auditor', 'shipslog_agent_retention', 'shipslog_audit_retention']) as r
  where not pg_catalog.pg_has_role(current_user, r, 'member');
  if missing is null then
    return;
  end if;
  begin
    execute format('grant %s to %I', (select string_agg(format('%I', r), ', ') from unnest(missing) as r), current_user);
  exception when insufficient_privilege then
    raise exception 'the schema owner % is not a member of %, and may not grant them to itself', current_user, array_to_string(missing, ', ')
      using errcode = '42501',
            hint = format('As a superuser: grant %s to %I with admin option;', array_to_string(missing, ', '), current_user);
  end;
end
$$;
