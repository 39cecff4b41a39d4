-- One trigger does all of a write's bookkeeping, in this order: settle the columns callers
-- must not set themselves (version for optimistic concurrency, generation bumped only when
-- the desired state changes, timestamps, the chain head), then write exactly one event per
-- inserted, updated (with an audited change) or deleted row, in the same transaction, and
-- move the chain head on the row. SECURITY DEFINER because no caller may insert into
-- deployment_events directly. It must stay the last BEFORE trigger (names fire in order) so
-- that it hashes the row as stored: another BEFORE trigger on shipslog.deployments must sort
-- before "deployments_audit". It also refuses a config its recipe cannot render (the rule is
-- shipslog.recipe_config_errors(), sql/reconciler/40_recipe_config.sql) before it records
-- anything, and wakes the reconciler when a write gives it new work.
--
-- Why it is written the way it is (issue 10; docs/audit.md has the measurements): a
-- pgbench transaction is one UPDATE, and PostgreSQL sets up every expression a plpgsql
-- function evaluates, and every statement it runs through SPI, afresh in each transaction:
-- roughly 2 K instructions per operator or function call in an expression, whether its value
-- is needed or not. So the common write (config changed, nothing else) takes a path of few,
-- small expressions: one whole-row comparison instead of column lists, the config diff in one
-- statement, the caller's settings checked in one expression, and the event built as one row
-- value, hashed, and inserted from its fields.
create or replace function shipslog.tg_deployments__audit()
returns trigger
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  old_part jsonb;
  new_part jsonb;
  diff record;
  derived_action text;
  next_generation bigint;
  new_config jsonb;
  old_config jsonb;
  unchanged text[];
  ev shipslog.deployment_events;
begin
  if tg_op = 'UPDATE' then
    -- The common write changes config and nothing else. One whole-row comparison, with config
    -- set aside (null on both sides: no jsonb to walk), tells that case apart: cheaper than
    -- comparing column lists (each operator in an expression costs ~2 K instructions to set
    -- up in every transaction). OLD is this function's copy; nothing else reads it. `*=`
    -- compares the columns' bytes (no equality function per column: ~9 K instructions less
    -- than IS NOT DISTINCT FROM); bytes that differ for equal values (a jsonb 1.0 against 1.00)
    -- only send the write down the general path below, which compares by value.
    new_config := new.config;
    old_config := old.config;
    new.config := null;
    old.config := null;
    if new *= old then
      new.config := new_config;
      -- Keys whose values did not change, removed from both sides, leave exactly what
      -- shipslog.jsonb_diff() returns, unless a changed key holds an object (jsonb_diff then
      -- walks into it, so it does the diff instead).
      unchanged := array(select k from jsonb_object_keys(new_config) as k where (old_config -> k) = (new_config -> k));
      old_part := jsonb_build_object('config', old_config - unchanged);
      new_part := jsonb_build_object('config', new_config - unchanged);
      if new_part = '{"config": {}}' and old_part = '{"config": {}}' then
        return new;
      end if;
      if jsonb_path_exists(new_part, '$.config.* ? (@.type() == "object")') then
        diff := shipslog.jsonb_diff(old_config, new_config);
        old_part := jsonb_build_object('config', diff.old_part);
        new_part := jsonb_build_object('config', diff.new_part);
      end if;
      if cardinality(shipslog.recipe_config_errors(new.recipe, new_config)) > 0 then
        raise exception 'deployment %/%: invalid % config: %', new.tenant, new.name, new.recipe,
            array_to_string(shipslog.recipe_config_errors(new.recipe, new_config), '; ')
          using errcode = 'SL210',
                hint = 'See the recipe''s config schema (src/recipes/); shipslog.recipe_config_errors(recipe, config) lists the problems.';
      end if;
      -- Wake the reconcilers (LISTEN shipslog_reconcile) when a write gives them work they
      -- would not find by themselves: a new deployment, or a new generation (as here) of one
      -- that was settled (observed_generation = generation) or failing (its back-off would
      -- hold it). A deployment already pending is in a worker's hands or next in its loop,
      -- which claims work until none is left; so a burst of writes to pending deployments
      -- notifies nothing. That matters: PostgreSQL serialises the commits of notifying
      -- transactions (one lock held through the commit's flush). The payload is the id;
      -- NOTIFY is delivered at commit, so a woken worker sees the committed row, and a lost
      -- one is harmless: workers catch up after every (re)connect and poll slowly as well.
      if old.observed_generation = old.generation or old.status in ('failed', 'removing') then
        perform pg_notify('shipslog_reconcile', new.id::text);
      end if;
    else
      new.config := new_config;
      old.config := old_config;
      -- Callers may not set the bookkeeping columns, nor change what identifies a deployment.
      if (new.id, new.tenant, new.name, new.recipe) is distinct from (old.id, old.tenant, old.name, old.recipe) then
        raise exception 'deployment %/% cannot change its id, tenant, name or recipe', old.tenant, old.name
          using errcode = 'SL010',
                hint = 'Create a new deployment instead; these fields identify it in Kubernetes and in its history.';
      end if;
      new.version := old.version;
      new.generation := old.generation;
      new.created_at := old.created_at;
      new.updated_at := old.updated_at;
      new.chain_length := old.chain_length;
      new.chain_head := old.chain_head;
      -- Every column but the bookkeeping above is audited, so an equal row means no change.
      if new is not distinct from old then
        return new;
      end if;
      -- Status and health writes do not re-check the config (rows stored before the rule keep working).
      if new.config is distinct from old.config and cardinality(shipslog.recipe_config_errors(new.recipe, new.config)) > 0 then
        raise exception 'deployment %/%: invalid % config: %', new.tenant, new.name, new.recipe,
            array_to_string(shipslog.recipe_config_errors(new.recipe, new.config), '; ')
          using errcode = 'SL210',
                hint = 'See the recipe''s config schema (src/recipes/); shipslog.recipe_config_errors(recipe, config) lists the problems.';
      end if;
      diff := shipslog.deployment_diff(old, new);
      if diff.new_part = '{}'::jsonb and diff.old_part = '{}'::jsonb then
        raise exception 'shipslog.deployment_diff() does not know a column that changed on deployment %/%', old.tenant, old.name
          using errcode = 'SL011',
                hint = 'A column was added to shipslog.deployments without re-issuing shipslog.deployment_diff(); nothing was written.';
      end if;
      old_part := diff.old_part;
      new_part := diff.new_part;
      derived_action := shipslog.derive_action(old_part, new_part);
      if (new.environment, new.app_version, new.config, new.secrets_ref, new.secrets_fingerprint,
          new.depends_on, new.restarted_at, new.deletion_requested_at)
         is distinct from
         (old.environment, old.app_version, old.config, old.secrets_ref, old.secrets_fingerprint,
          old.depends_on, old.restarted_at, old.deletion_requested_at) then
        next_generation := old.generation + 1;
        -- The wake-up, as in the common path above.
        if old.observed_generation = old.generation or old.status in ('failed', 'removing') then
          perform pg_notify('shipslog_reconcile', new.id::text);
        end if;
      else
        next_generation := old.generation;
      end if;
    end if;
  elsif tg_op = 'INSERT' then
    if cardinality(shipslog.recipe_config_errors(new.recipe, new.config)) > 0 then
      raise exception 'deployment %/%: invalid % config: %', new.tenant, new.name, new.recipe,
          array_to_string(shipslog.recipe_config_errors(new.recipe, new.config), '; ')
        using errcode = 'SL210',
              hint = 'See the recipe''s config schema (src/recipes/); shipslog.recipe_config_errors(recipe, config) lists the problems.';
    end if;
    new.version := 1;
    new.generation := 1;
    new.observed_generation := 0;
    new.created_at := now();
    if exists (select from shipslog.deployment_events as e where e.deployment_id = new.id) then
      raise exception 'deployment id % already has an audit history', new.id
        using errcode = 'SL003',
              hint = 'A removed deployment''s id is never reused; omit id to get a new one.';
    end if;
    new_part := shipslog.audited_state(new);
    derived_action := 'created';
    -- A new deployment is work for the reconcilers (the wake-up: see the common path above).
    perform pg_notify('shipslog_reconcile', new.id::text);
  else
    old_part := shipslog.audited_state(old);
  end if;

  -- The caller-supplied settings, checked in one expression: lengths summed (within the
  -- smallest limit, each one is), shipslog.source_ip by its characters. Only when something
  -- looks wrong does the branch check each setting exactly and name the one that is. A
  -- source_ip of those characters that is still no address (1.2.3.999) is refused by the
  -- ::inet cast in the INSERT below, with 22P02 too.
  if current_setting('shipslog.actor_type', true) not in ('', 'user', 'service', 'system', 'database')
     or current_setting('shipslog.action', true) not in ('', 'created', 'config_changed', 'upgraded', 'downgraded', 'secrets_rotated', 'restarted',
                                                      'health_changed', 'status_changed', 'resources_changed', 'removal_requested',
                                                      'removed', 'rolled_back')
     or length(concat(current_setting('shipslog.actor', true), current_setting('shipslog.correlation_id', true),
                      current_setting('shipslog.request_id', true))) > 200
     or length(concat(current_setting('shipslog.reason', true), current_setting('shipslog.user_agent', true))) > 500
     or current_setting('shipslog.source_ip', true) !~ '^[0-9A-Fa-f:./]*$' then
    if coalesce(shipslog.context_setting('shipslog.actor_type'), 'database') not in ('user', 'service', 'system', 'database') then
      raise exception 'shipslog.actor_type must be user, service or system, not "%"', current_setting('shipslog.actor_type', true)
        using errcode = '22023',
              hint = 'Set shipslog.actor_type with set_config(''shipslog.actor_type'', ''user'', true), or leave it unset.';
    end if;
    if shipslog.context_setting('shipslog.action') not in ('created', 'config_changed', 'upgraded', 'downgraded', 'secrets_rotated', 'restarted', 'health_changed',
                                                           'status_changed', 'resources_changed', 'removal_requested', 'removed', 'rolled_back') then
      raise exception 'shipslog.action "%" is not an audit action', current_setting('shipslog.action', true)
        using errcode = '22023',
              hint = 'Use one of created, config_changed, upgraded, downgraded, secrets_rotated, restarted, health_changed, status_changed, resources_changed, removal_requested, removed, rolled_back; or leave it unset.';
    end if;
    if length(current_setting('shipslog.actor', true)) > 200 or length(current_setting('shipslog.reason', true)) > 1000
       or length(current_setting('shipslog.correlation_id', true)) > 200 or length(current_setting('shipslog.request_id', true)) > 200
       or length(current_setting('shipslog.user_agent', true)) > 500 then
      raise exception 'an actor context setting is too long'
        using errcode = '22001',
              hint = 'Limits: shipslog.actor 200, shipslog.reason 1000, shipslog.correlation_id 200, shipslog.request_id 200, shipslog.user_agent 500 characters.';
    end if;
    if current_setting('shipslog.source_ip', true) !~ '^[0-9A-Fa-f:./]*$' then
      raise exception 'shipslog.source_ip is not an IP address: %', current_setting('shipslog.source_ip', true)
        using errcode = '22P02',
              hint = 'Set shipslog.source_ip to an IPv4 or IPv6 address, or leave it unset.';
    end if;
  end if;

  -- The event is built as one row value (one expression), hashed (shipslog.event_hash(), SQL,
  -- inlined: exactly the payload an export emits), and inserted field by field: no executor
  -- node of its own to compute the values, each value computed once (~36 K instructions per
  -- write less than one INSERT ... SELECT ... RETURNING over a subquery, callgrind, PostgreSQL
  -- 15). The row value's fields are in the table's column order (a column added to, or moved
  -- in, shipslog.deployment_events must be placed here too). OLD is null on INSERT, NEW on DELETE.
  ev := row(
      nextval('shipslog.deployment_events_seq'),
      coalesce(new.id, old.id),
      coalesce(old.chain_length, 0) + 1,
      coalesce(new.tenant, old.tenant),
      coalesce(new.name, old.name),
      -- A removal is always `removed`, whatever shipslog.action says for the rest of the
      -- transaction: a chain whose row is gone must end in `removed`, or
      -- shipslog.verify_chains() reports it as tampered.
      case
        when tg_op = 'DELETE' then 'removed'
        else coalesce(shipslog.context_setting('shipslog.action'), derived_action, 'config_changed')
      end,
      clock_timestamp(),
      pg_current_xact_id(),
      coalesce(shipslog.context_setting('shipslog.actor'), session_user),
      coalesce(shipslog.context_setting('shipslog.actor_type'), 'database'),
      shipslog.context_setting('shipslog.reason'),
      shipslog.context_setting('shipslog.correlation_id'),
      shipslog.context_setting('shipslog.request_id'),
      shipslog.context_setting('shipslog.source_ip')::inet,
      shipslog.context_setting('shipslog.user_agent'),
      -- Inside SECURITY DEFINER current_user is the owner; the session's role is in "role".
      coalesce(nullif(current_setting('role'), 'none'), session_user),
      session_user::text,
      nullif(current_setting('application_name'), ''),
      inet_client_addr(),
      old_part,
      new_part,
      null::bytea
    )::shipslog.deployment_events;
  ev.hash := shipslog.event_hash(old.chain_head, ev);

  insert into shipslog.deployment_events (seq, deployment_id, chain_index, tenant, name, action, occurred_at, txid, actor,
                                          actor_type, reason, correlation_id, request_id, source_ip, user_agent, db_role,
                                          db_user, application_name, client_addr, previous_state, new_state, hash)
  overriding system value
  values (ev.seq, ev.deployment_id, ev.chain_index, ev.tenant, ev.name, ev.action, ev.occurred_at, ev.txid, ev.actor,
          ev.actor_type, ev.reason, ev.correlation_id, ev.request_id, ev.source_ip, ev.user_agent, ev.db_role, ev.db_user,
          ev.application_name, ev.client_addr, ev.previous_state, ev.new_state, ev.hash);

  -- The chain head and the bookkeeping columns, stored with the row in this same write.
  new.chain_head := ev.hash;
  new.chain_length := ev.chain_index;
  new.version := coalesce(old.version + 1, 1);
  new.generation := coalesce(next_generation, old.generation + 1, 1);
  new.updated_at := now();

  if tg_op = 'DELETE' then
    return old;
  end if;
  return new;
end
$$;

create or replace trigger deployments_audit
  before insert or update or delete
  on shipslog.deployments
  for each row
  execute function shipslog.tg_deployments__audit();

-- TRUNCATE fires no row trigger, so it would remove deployments without their removed
-- events (15_no_truncate.sql). Every DELETE, however it is written, goes through
-- deployments_audit above.
create or replace trigger deployments_no_truncate
  before truncate
  on shipslog.deployments
  for each statement
  execute function shipslog.tg_audit_records__no_truncate('Remove rows of shipslog.deployments with DELETE (by id, with a WHERE clause, or all of them): the audit trigger writes each one''s removed event.');
