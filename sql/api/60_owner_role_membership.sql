-- The service connects as the schema owner (a superuser in the embedded default) and switches
-- to shipslog_app inside each request transaction; a non-superuser owner must be a member of
-- the roles it switches to. Idempotent: does nothing for a superuser or an existing member.
do $$
begin
  if not (select rolsuper from pg_catalog.pg_roles where rolname = current_user)
     and not pg_catalog.pg_has_role(current_user, 'shipslog_app', 'member') then
    execute format('grant shipslog_app, shipslog_reconciler, shipslog_auditor to %I', current_user);
  end if;
end
$$;
