-- General helpers used by every subject: in CHECK constraints and column defaults (so the
-- baseline migration creates is_dns_label, is_resource_list and context_setting before the
-- tables; this file holds their current definitions), in hashed payloads and in triggers.

-- Small SQL functions use SQL-standard bodies without SET clauses: the body is bound to
-- its objects when created (so search_path cannot redirect it) and the planner can inline
-- it. A SET clause would make every call a non-inlined call costing tens of microseconds,
-- which the audit trigger pays on every write.

-- Kubernetes object names used for deployments, tenants and secrets: RFC 1123 DNS labels.
create or replace function shipslog.is_dns_label(value text)
returns boolean
language sql
immutable
parallel safe
return value ~ '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';

-- Timestamps inside hashed payloads and audited state are rendered as UTC text so the bytes
-- do not depend on the session's TimeZone (to_jsonb(timestamptz) does).
create or replace function shipslog.iso_utc(ts timestamptz)
returns text
language sql
immutable
parallel safe
return to_char(ts at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');

-- managed_resources: a JSON array of {kind, name, namespace} objects (apiVersion optional,
-- namespace null for cluster-scoped objects). plpgsql, not SQL: a CHECK runs on every
-- update, and a SQL function with subqueries cannot be inlined, so it was planned afresh
-- on each call (~250 us measured here); plpgsql caches its plans.
create or replace function shipslog.is_resource_list(resources jsonb)
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

-- Reads one actor-context setting; unset and empty mean the same.
create or replace function shipslog.context_setting(setting_name text)
returns text
language sql
stable
parallel safe
return nullif(current_setting(setting_name, true), '');

-- Functions are executable by PUBLIC by default, and per-schema default privileges can only
-- add to that, not take it away; so PUBLIC's EXECUTE is revoked explicitly (and again on every
-- function in the schema by sql/privileges/90_revoke-public-execute.sql, applied last;
-- test/append-only.test.ts fails if one is left executable). The roles get what they call;
-- sql/agent/ grants context_setting and iso_utc to shipslog_agent_retention as well.
revoke execute
  on function
    shipslog.is_dns_label(text),
    shipslog.iso_utc(timestamptz),
    shipslog.is_resource_list(jsonb),
    shipslog.context_setting(text)
  from public;

grant execute
  on function
    shipslog.is_dns_label(text),
    shipslog.iso_utc(timestamptz),
    shipslog.is_resource_list(jsonb),
    shipslog.context_setting(text)
  to shipslog_app, shipslog_reconciler, shipslog_auditor;
