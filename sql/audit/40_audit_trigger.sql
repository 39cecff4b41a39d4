-- One trigger does all of a write's bookkeeping, in this order: settle the columns callers
-- must not set themselves (version for optimistic concurrency, generation bumped only when
-- the desired state changes, timestamps, the chain head), then write exactly one event per
-- inserted, updated (with an audited change) or deleted row, in the same transaction, and
-- move the chain head on the row. One function rather than two triggers: the row comparison
-- after settling the bookkeeping doubles as the "did anything change" test. SECURITY
-- DEFINER because no caller may insert into deployment_events directly. It must stay the
-- last BEFORE trigger (names fire in order) so that it hashes the row as stored: another
-- BEFORE trigger on shipslog.deployments must sort before "deployments_audit", as
-- deployments_20_recipe_config (sql/reconciler/) does.
create or replace function shipslog.tg_deployments__audit()
returns trigger
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  diff record;
  prev_hash bytea;
  ev shipslog.deployment_events;
begin
  if tg_op = 'INSERT' then
    new.version := 1;
    new.generation := 1;
    new.observed_generation := 0;
    new.created_at := now();
    new.updated_at := now();
    if exists (select from shipslog.deployment_events as e where e.deployment_id = new.id) then
      raise exception 'deployment id % already has an audit history', new.id
        using errcode = 'SL003',
              hint = 'A removed deployment''s id is never reused; omit id to get a new one.';
    end if;
    ev.new_state := shipslog.audited_state(new);
    ev.chain_index := 1;
  elsif tg_op = 'UPDATE' then
    if new.id <> old.id or new.tenant <> old.tenant or new.name <> old.name or new.recipe <> old.recipe then
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
    diff := shipslog.deployment_diff(old, new);
    if diff.new_part = '{}'::jsonb and diff.old_part = '{}'::jsonb then
      raise exception 'shipslog.deployment_diff() does not know a column that changed on deployment %/%', old.tenant, old.name
        using errcode = 'SL011',
              hint = 'A column was added to shipslog.deployments without re-issuing shipslog.deployment_diff(); nothing was written.';
    end if;
    ev.previous_state := diff.old_part;
    ev.new_state := diff.new_part;
    if (new.environment, new.app_version, new.config, new.secrets_ref, new.secrets_fingerprint,
        new.depends_on, new.restarted_at, new.deletion_requested_at)
       is distinct from
       (old.environment, old.app_version, old.config, old.secrets_ref, old.secrets_fingerprint,
        old.depends_on, old.restarted_at, old.deletion_requested_at) then
      new.generation := old.generation + 1;
    end if;
    new.version := old.version + 1;
    new.updated_at := now();
  else
    ev.previous_state := shipslog.audited_state(old);
  end if;

  if tg_op <> 'INSERT' then
    -- OLD is the row version this statement locked, so concurrent writers line up here in
    -- commit order and chain_index has no gaps.
    ev.chain_index := old.chain_length + 1;
    prev_hash := old.chain_head;
  end if;

  -- One assignment per field: each is a plpgsql "simple expression", evaluated without
  -- starting an executor, which a multi-column SELECT INTO would (~0.13 M instructions more
  -- per event, measured with callgrind).
  ev.deployment_id := coalesce(new.id, old.id);
  ev.tenant := coalesce(new.tenant, old.tenant);
  ev.name := coalesce(new.name, old.name);
  ev.seq := nextval('shipslog.deployment_events_seq');
  ev.occurred_at := clock_timestamp();
  ev.txid := pg_current_xact_id();
  -- A removal is always `removed`, whatever shipslog.action says for the rest of the
  -- transaction (a restart of one deployment, then the removal of another): a chain whose
  -- row is gone must end in `removed`, or shipslog.verify_chains() reports it as tampered.
  ev.action := case
                 when tg_op = 'DELETE' then 'removed'
                 else coalesce(shipslog.context_setting('shipslog.action'), shipslog.derive_action(ev.previous_state, ev.new_state))
               end;
  ev.actor := coalesce(shipslog.context_setting('shipslog.actor'), session_user);
  ev.actor_type := coalesce(shipslog.context_setting('shipslog.actor_type'), 'database');
  ev.reason := shipslog.context_setting('shipslog.reason');
  ev.correlation_id := shipslog.context_setting('shipslog.correlation_id');
  ev.request_id := shipslog.context_setting('shipslog.request_id');
  ev.user_agent := shipslog.context_setting('shipslog.user_agent');
  -- Inside SECURITY DEFINER current_user is the owner; the session's role is in "role".
  ev.db_role := case when current_setting('role') = 'none' then session_user::text else current_setting('role') end;
  ev.db_user := session_user;
  ev.application_name := nullif(current_setting('application_name'), '');
  ev.client_addr := inet_client_addr();
  -- The caller-supplied settings, checked here so that the error names the setting.
  if ev.actor_type not in ('user', 'service', 'system', 'database') then
    raise exception 'shipslog.actor_type must be user, service or system, not "%"', ev.actor_type
      using errcode = '22023',
            hint = 'Set shipslog.actor_type with set_config(''shipslog.actor_type'', ''user'', true), or leave it unset.';
  end if;
  if ev.action not in ('created', 'config_changed', 'upgraded', 'downgraded', 'secrets_rotated', 'restarted', 'health_changed',
                       'status_changed', 'resources_changed', 'removal_requested', 'removed', 'rolled_back') then
    raise exception 'shipslog.action "%" is not an audit action', ev.action
      using errcode = '22023',
            hint = 'Use one of created, config_changed, upgraded, downgraded, secrets_rotated, restarted, health_changed, status_changed, resources_changed, removal_requested, removed, rolled_back; or leave it unset.';
  end if;
  if length(ev.actor) > 200 or length(ev.reason) > 1000 or length(ev.correlation_id) > 200
     or length(ev.request_id) > 200 or length(ev.user_agent) > 500 then
    raise exception 'an actor context setting is too long'
      using errcode = '22001',
            hint = 'Limits: shipslog.actor 200, shipslog.reason 1000, shipslog.correlation_id 200, shipslog.request_id 200, shipslog.user_agent 500 characters.';
  end if;
  begin
    ev.source_ip := shipslog.context_setting('shipslog.source_ip')::inet;
  exception when invalid_text_representation then
    raise exception 'shipslog.source_ip is not an IP address: %', current_setting('shipslog.source_ip', true)
      using errcode = '22P02',
            hint = 'Set shipslog.source_ip to an IPv4 or IPv6 address, or leave it unset.';
  end;
  ev.hash := shipslog.event_hash(prev_hash, ev);

  insert into shipslog.deployment_events
  overriding system value
  select ev.*;

  if tg_op = 'DELETE' then
    return old;
  end if;
  new.chain_length := ev.chain_index;
  new.chain_head := ev.hash;
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
