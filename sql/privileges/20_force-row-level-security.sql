-- FORCE ROW LEVEL SECURITY on every table of shipslog that has row-level security, so its
-- policies bind the table's owner too: code that runs as the owner (SECURITY DEFINER
-- functions and triggers, or a service that connects as the owner against advice) sees only
-- what the transaction's tenant context allows. Superusers and BYPASSRLS roles are exempt in
-- PostgreSQL whatever this says; the runtime logins are neither (src/db/logins.ts).
--
-- The owner's policy, <table>_owner: with shipslog.tenant unset (migrations, the CLI, the
-- retention job, the reconciler) or '*' (a global API key) every row; with a tenant, that
-- tenant's rows. Tables without a tenant column are left open to their owner. Generated from
-- the catalog so that a table added later gets it with no edit here.
do $$
declare
  t record;
  rule text;
begin
  for t in
    select c.oid::regclass as tbl,
           c.relname,
           pg_catalog.pg_get_userbyid(c.relowner) as owner,
           exists (
             select
             from pg_catalog.pg_attribute as a
             where a.attrelid = c.oid
               and a.attname = 'tenant'
               and not a.attisdropped
           ) as has_tenant
    from pg_catalog.pg_class as c
      join pg_catalog.pg_namespace as n on n.oid = c.relnamespace
    where n.nspname = 'shipslog'
      and c.relkind in ('r', 'p')
      and c.relrowsecurity
      and not c.relispartition
    order by c.relname
  loop
    rule := case
      when t.has_tenant then
        'coalesce(nullif(current_setting(''shipslog.tenant'', true), ''''), tenant) in (''*'', tenant)'
      else 'true'
    end;
    execute format('alter table %s force row level security', t.tbl);
    execute format('drop policy if exists %I on %s', t.relname || '_owner', t.tbl);
    execute format('create policy %I on %s to %I using (%s) with check (%s)', t.relname || '_owner', t.tbl, t.owner, rule, rule);
  end loop;
end
$$;
