-- Up Migration

-- Group roles are cluster-wide, so another database on the same server may have made them
-- already; create each only when missing.
do $$
declare
  role_name text;
begin
  foreach role_name in array array['shipslog_app', 'shipslog_reconciler', 'shipslog_auditor']
  loop
    if not exists (select from pg_catalog.pg_roles where rolname = role_name) then
      execute format('create role %I nologin', role_name);
    end if;
  end loop;
end
$$;

create schema shipslog;

revoke all
  on schema shipslog
  from public;

grant usage
  on schema shipslog
  to shipslog_app, shipslog_reconciler, shipslog_auditor;

-- Functions are executable by PUBLIC by default, and per-schema default privileges can only
-- add to that, not take it away. So every migration that creates functions revokes PUBLIC's
-- EXECUTE on them itself; test/append-only.test.ts fails if one is left executable.

-- Small SQL functions use SQL-standard bodies without SET clauses: the body is bound to
-- its objects when created (so search_path cannot redirect it) and the planner can inline
-- it. A SET clause would make every call a non-inlined call costing tens of microseconds,
-- which the audit trigger pays on every write.

-- Kubernetes object names used for deployments, tenants and secrets: RFC 1123 DNS labels.
create function shipslog.is_dns_label(value text)
returns boolean
language sql
immutable
parallel safe
return value ~ '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';

-- Timestamps inside hashed payloads and audited state are rendered as UTC text so the bytes
-- do not depend on the session's TimeZone (to_jsonb(timestamptz) does).
create function shipslog.iso_utc(ts timestamptz)
returns text
language sql
immutable
parallel safe
return to_char(ts at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');

-- managed_resources: a JSON array of {kind, name, namespace} objects (apiVersion optional,
-- namespace null for cluster-scoped objects). plpgsql, not SQL: a CHECK runs on every
-- update, and a SQL function with subqueries cannot be inlined, so it was planned afresh
-- on each call (~250 us measured here); plpgsql caches its plans.
create function shipslog.is_resource_list(resources jsonb)
returns boolean
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
declare
  item jsonb;
begin
  if jsonb_typeof(resources) <> 'array' then
    return false;
  end if;
  for item in
    select value
    from jsonb_array_elements(resources)
  loop
    if jsonb_typeof(item) <> 'object'
      or not item ?& array['kind', 'name', 'namespace']
      or (item - array['kind', 'name', 'namespace', 'apiVersion']) <> '{}'::jsonb
      or jsonb_typeof(item -> 'kind') <> 'string'
      or jsonb_typeof(item -> 'name') <> 'string'
      or jsonb_typeof(item -> 'namespace') not in ('string', 'null')
      or coalesce(jsonb_typeof(item -> 'apiVersion'), 'string') <> 'string' then
      return false;
    end if;
  end loop;
  return true;
end
$$;

-- Down Migration
drop schema shipslog cascade;
