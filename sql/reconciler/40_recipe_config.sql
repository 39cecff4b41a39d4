-- Recipe config check on shipslog.deployments, the same rule in SQL as the API's zod schemas.

-- What the reconciler cannot render must not be stored, whoever writes it: the API validates
-- config with the recipe's zod schema (src/recipes/); this is the same rule for the fields a
-- render depends on, for writes that bypass the API (psql, scripts). It checks the recipe name
-- and the types and formats of known fields; policy limits stay in the zod schemas, which are
-- stricter (unknown keys, postgresql replicas = 1, tuning values), so every config refused here
-- is refused by zod too (test/reconciler/recipe-config-sql.test.ts checks that on samples).
create or replace function shipslog.recipe_config_errors(recipe text, config jsonb)
returns text[]
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
declare
  -- Null until the first error (appending to a null array starts one). No defaults: the audit
  -- trigger calls this on every config change, and each initialised variable is one more
  -- expression set up per transaction; a valid postgresql config takes three statements.
  errors text[];
  key text;
begin
  if recipe = 'postgresql' and jsonb_typeof(config) = 'object' then
    if config ? 'storage' and (jsonb_typeof(config -> 'storage') <> 'string'
                               or config ->> 'storage' !~ '^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|Ki|Mi|Gi|Ti|Pi)?$') then
      errors := errors || 'config.storage: must be a Kubernetes quantity such as 8Gi'::text;
    end if;
    if config ? 'replicas' and jsonb_typeof(config -> 'replicas') <> 'number' then
      errors := errors || 'config.replicas: must be a number'::text;
    end if;
  elsif recipe = 'redis' and jsonb_typeof(config) = 'object' then
    if config ? 'maxmemory' and (jsonb_typeof(config -> 'maxmemory') <> 'string'
                                 or config ->> 'maxmemory' !~ '^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|Ki|Mi|Gi|Ti|Pi)?$') then
      errors := errors || 'config.maxmemory: must be a Kubernetes quantity such as 256Mi'::text;
    end if;
  elsif recipe = 'web' and jsonb_typeof(config) = 'object' then
    if jsonb_typeof(config -> 'image') is distinct from 'string' or length(config ->> 'image') not between 1 and 255 then
      errors := errors || 'config.image: required, an image repository without a tag'::text;
    end if;
    foreach key in array array['port', 'servicePort'] loop
      if config ? key and (jsonb_typeof(config -> key) <> 'number' or (config ->> key)::numeric not between 1 and 65535
                           or (config ->> key)::numeric <> trunc((config ->> key)::numeric)) then
        errors := errors || format('config.%s: must be a port number (1-65535)', key);
      end if;
    end loop;
    if config ? 'replicas' and (jsonb_typeof(config -> 'replicas') <> 'number' or (config ->> 'replicas')::numeric not between 1 and 50
                                or (config ->> 'replicas')::numeric <> trunc((config ->> 'replicas')::numeric)) then
      errors := errors || 'config.replicas: must be a whole number from 1 to 50'::text;
    end if;
  elsif recipe not in ('postgresql', 'redis', 'web') then
    return array[format('recipe: unknown recipe "%s"; known: postgresql, redis, web', recipe)];
  end if;
  -- A config that is no object at all: deployments_config_check (23514) says that, as it always has.
  return coalesce(errors, '{}');
end
$$;

-- The audit trigger (sql/audit/40_audit_trigger.sql) refuses, with SL210, an insert or config
-- change for which this returns anything, before it records the write. It used to be a BEFORE
-- trigger of its own (deployments_20_recipe_config, dropped by migration 0006): a second
-- trigger call per write (~0.1 M instructions per UPDATE on PostgreSQL 15, issue 10).
revoke execute
  on function shipslog.recipe_config_errors(text, jsonb)
  from public;

grant execute
  on function shipslog.recipe_config_errors(text, jsonb)
  to shipslog_app, shipslog_reconciler, shipslog_auditor;
