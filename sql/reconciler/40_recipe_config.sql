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
  errors text[] := '{}';
  quantity constant text := '^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|Ki|Mi|Gi|Ti|Pi)?$';
  key text;
begin
  if recipe not in ('postgresql', 'redis', 'web') then
    return array[format('recipe: unknown recipe "%s"; known: postgresql, redis, web', recipe)];
  end if;
  if jsonb_typeof(config) is distinct from 'object' then
    return '{}'; -- deployments_config_check (23514) says that, as it always has
  end if;
  if recipe = 'postgresql' then
    if config ? 'storage' and (jsonb_typeof(config -> 'storage') <> 'string' or config ->> 'storage' !~ quantity) then
      errors := errors || 'config.storage: must be a Kubernetes quantity such as 8Gi'::text;
    end if;
    if config ? 'replicas' and jsonb_typeof(config -> 'replicas') <> 'number' then
      errors := errors || 'config.replicas: must be a number'::text;
    end if;
  elsif recipe = 'redis' then
    if config ? 'maxmemory' and (jsonb_typeof(config -> 'maxmemory') <> 'string' or config ->> 'maxmemory' !~ quantity) then
      errors := errors || 'config.maxmemory: must be a Kubernetes quantity such as 256Mi'::text;
    end if;
  elsif recipe = 'web' then
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
  end if;
  return errors;
end
$$;

-- BEFORE triggers run in name order: deployments_20_recipe_config settles validity before
-- deployments_audit records anything ("2" sorts before "a"). deployments_audit must stay the
-- last BEFORE trigger on shipslog.deployments by name.
create or replace function shipslog.tg_deployments__recipe_config()
returns trigger
language plpgsql
stable
set search_path = ''
as $$
declare
  errors text[];
begin
  if tg_op = 'UPDATE' and new.config is not distinct from old.config and new.recipe is not distinct from old.recipe then
    return new; -- rows stored before this check keep working for status and health updates
  end if;
  errors := shipslog.recipe_config_errors(new.recipe, new.config);
  if cardinality(errors) > 0 then
    raise exception 'deployment %/%: invalid % config: %', new.tenant, new.name, new.recipe, array_to_string(errors, '; ')
      using errcode = 'SL210',
            hint = 'See the recipe''s config schema (src/recipes/); shipslog.recipe_config_errors(recipe, config) lists the problems.';
  end if;
  return new;
end
$$;

create or replace trigger deployments_20_recipe_config
  before insert or update
  on shipslog.deployments
  for each row
  execute function shipslog.tg_deployments__recipe_config();

revoke execute
  on function shipslog.recipe_config_errors(text, jsonb), shipslog.tg_deployments__recipe_config()
  from public;

grant execute
  on function shipslog.recipe_config_errors(text, jsonb)
  to shipslog_app, shipslog_reconciler, shipslog_auditor;
