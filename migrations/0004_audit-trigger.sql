-- Up Migration

-- What the audit trail records of a deployment: everything but bookkeeping that changes
-- with every write (version, timestamps, generation, the chain itself). Timestamps are UTC
-- text so the state does not depend on the session's TimeZone. Created and removed events
-- hold it whole; shipslog.verify_chains() compares it with the state the events replay to.
create function shipslog.audited_state(d shipslog.deployments)
returns jsonb
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
begin
  return (to_jsonb(d) - array['version', 'created_at', 'updated_at', 'generation', 'chain_length', 'chain_head'])
    || jsonb_build_object(
         'restarted_at', shipslog.iso_utc(d.restarted_at),
         'deletion_requested_at', shipslog.iso_utc(d.deletion_requested_at));
end
$$;

-- Field-level diff of two JSON objects: the changed subtrees of each side. Objects are
-- compared key by key (recursively); anything else as a whole. shipslog.event_changes()
-- turns the result back into a flat list of {path, from, to}.
create function shipslog.jsonb_diff(
  old_value jsonb,
  new_value jsonb,
  out old_part jsonb,
  out new_part jsonb
)
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
declare
  key text;
  old_item jsonb;
  new_item jsonb;
  sub record;
begin
  old_part := '{}';
  new_part := '{}';
  -- Changed and added keys, then removed ones.
  for key, old_item, new_item in
    select n.key, old_value -> n.key, n.value
    from jsonb_each(new_value) as n
    where (old_value -> n.key) is distinct from n.value
    union all
    select o.key, o.value, null
    from jsonb_each(old_value) as o
    where not new_value ? o.key
  loop
    if jsonb_typeof(old_item) = 'object' and jsonb_typeof(new_item) = 'object' then
      sub := shipslog.jsonb_diff(old_item, new_item);
      old_part := old_part || jsonb_build_object(key, sub.old_part);
      new_part := new_part || jsonb_build_object(key, sub.new_part);
    else
      if old_item is not null then
        old_part := old_part || jsonb_build_object(key, old_item);
      end if;
      if new_item is not null then
        new_part := new_part || jsonb_build_object(key, new_item);
      end if;
    end if;
  end loop;
end
$$;

-- What one UPDATE changed, as the changed subtrees of the audited state: the same result
-- as shipslog.jsonb_diff(audited_state(old), audited_state(new)), column by column. It
-- runs on every update, and comparing columns costs a small fraction of turning both whole
-- rows into jsonb and diffing them (measured with callgrind: ~0.8 M instructions less per
-- update). A column added to shipslog.deployments must be added here (and in the CHECK
-- below); until it is, the audit trigger refuses changes to it rather than losing them.
create function shipslog.deployment_diff(
  o shipslog.deployments,
  n shipslog.deployments,
  out old_part jsonb,
  out new_part jsonb
)
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
declare
  sub record;
begin
  old_part := '{}';
  new_part := '{}';
  if n.config is distinct from o.config then
    sub := shipslog.jsonb_diff(o.config, n.config);
    old_part := jsonb_build_object('config', sub.old_part);
    new_part := jsonb_build_object('config', sub.new_part);
  end if;
  if n.environment is distinct from o.environment then
    old_part := old_part || jsonb_build_object('environment', o.environment);
    new_part := new_part || jsonb_build_object('environment', n.environment);
  end if;
  if n.app_version is distinct from o.app_version then
    old_part := old_part || jsonb_build_object('app_version', o.app_version);
    new_part := new_part || jsonb_build_object('app_version', n.app_version);
  end if;
  if n.secrets_ref is distinct from o.secrets_ref then
    old_part := old_part || jsonb_build_object('secrets_ref', o.secrets_ref);
    new_part := new_part || jsonb_build_object('secrets_ref', n.secrets_ref);
  end if;
  if n.secrets_fingerprint is distinct from o.secrets_fingerprint then
    old_part := old_part || jsonb_build_object('secrets_fingerprint', o.secrets_fingerprint);
    new_part := new_part || jsonb_build_object('secrets_fingerprint', n.secrets_fingerprint);
  end if;
  if n.depends_on is distinct from o.depends_on then
    old_part := old_part || jsonb_build_object('depends_on', o.depends_on);
    new_part := new_part || jsonb_build_object('depends_on', n.depends_on);
  end if;
  if n.restarted_at is distinct from o.restarted_at then
    old_part := old_part || jsonb_build_object('restarted_at', shipslog.iso_utc(o.restarted_at));
    new_part := new_part || jsonb_build_object('restarted_at', shipslog.iso_utc(n.restarted_at));
  end if;
  if n.deletion_requested_at is distinct from o.deletion_requested_at then
    old_part := old_part || jsonb_build_object('deletion_requested_at', shipslog.iso_utc(o.deletion_requested_at));
    new_part := new_part || jsonb_build_object('deletion_requested_at', shipslog.iso_utc(n.deletion_requested_at));
  end if;
  if n.status is distinct from o.status then
    old_part := old_part || jsonb_build_object('status', o.status);
    new_part := new_part || jsonb_build_object('status', n.status);
  end if;
  if n.status_message is distinct from o.status_message then
    old_part := old_part || jsonb_build_object('status_message', o.status_message);
    new_part := new_part || jsonb_build_object('status_message', n.status_message);
  end if;
  if n.health is distinct from o.health then
    old_part := old_part || jsonb_build_object('health', o.health);
    new_part := new_part || jsonb_build_object('health', n.health);
  end if;
  if n.health_message is distinct from o.health_message then
    old_part := old_part || jsonb_build_object('health_message', o.health_message);
    new_part := new_part || jsonb_build_object('health_message', n.health_message);
  end if;
  if n.url is distinct from o.url then
    old_part := old_part || jsonb_build_object('url', o.url);
    new_part := new_part || jsonb_build_object('url', n.url);
  end if;
  if n.local_port is distinct from o.local_port then
    old_part := old_part || jsonb_build_object('local_port', o.local_port);
    new_part := new_part || jsonb_build_object('local_port', n.local_port);
  end if;
  if n.service_port is distinct from o.service_port then
    old_part := old_part || jsonb_build_object('service_port', o.service_port);
    new_part := new_part || jsonb_build_object('service_port', n.service_port);
  end if;
  if n.service_name is distinct from o.service_name then
    old_part := old_part || jsonb_build_object('service_name', o.service_name);
    new_part := new_part || jsonb_build_object('service_name', n.service_name);
  end if;
  if n.managed_resources is distinct from o.managed_resources then
    old_part := old_part || jsonb_build_object('managed_resources', o.managed_resources);
    new_part := new_part || jsonb_build_object('managed_resources', n.managed_resources);
  end if;
  if n.observed_generation is distinct from o.observed_generation then
    old_part := old_part || jsonb_build_object('observed_generation', o.observed_generation);
    new_part := new_part || jsonb_build_object('observed_generation', n.observed_generation);
  end if;
end
$$;

-- The action a change means, most significant first. shipslog.action overrides it.
create function shipslog.derive_action(old_state jsonb, new_state jsonb)
returns text
language sql
immutable
parallel safe
return case
    when old_state is null then 'created'
    when new_state is null then 'removed'
    when old_state -> 'deletion_requested_at' is distinct from new_state -> 'deletion_requested_at'
      and new_state ->> 'deletion_requested_at' is not null then 'removal_requested'
    when old_state -> 'app_version' is distinct from new_state -> 'app_version' then 'upgraded'
    when (old_state -> 'config', old_state -> 'environment', old_state -> 'depends_on', old_state -> 'secrets_ref')
      is distinct from (new_state -> 'config', new_state -> 'environment', new_state -> 'depends_on', new_state -> 'secrets_ref')
      then 'config_changed'
    when old_state -> 'secrets_fingerprint' is distinct from new_state -> 'secrets_fingerprint' then 'secrets_rotated'
    when old_state -> 'restarted_at' is distinct from new_state -> 'restarted_at' then 'restarted'
    when old_state -> 'managed_resources' is distinct from new_state -> 'managed_resources' then 'resources_changed'
    when (old_state -> 'health', old_state -> 'health_message')
      is distinct from (new_state -> 'health', new_state -> 'health_message') then 'health_changed'
    else 'status_changed'
  end;

-- Reads one actor-context setting; unset and empty mean the same.
create function shipslog.context_setting(setting_name text)
returns text
language sql
stable
parallel safe
return nullif(current_setting(setting_name, true), '');

-- One trigger does all of a write's bookkeeping, in this order: settle the columns callers
-- must not set themselves (version for optimistic concurrency, generation bumped only when
-- the desired state changes, timestamps, the chain head), then write exactly one event per
-- inserted, updated (with an audited change) or deleted row, in the same transaction, and
-- move the chain head on the row. One function rather than two triggers: the row comparison
-- after settling the bookkeeping doubles as the "did anything change" test. SECURITY DEFINER because no caller
-- may insert into deployment_events directly. It must stay the last BEFORE trigger (names
-- fire in order) so that it hashes the row as stored.
create function shipslog.tg_deployments__audit()
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
  ev.action := coalesce(shipslog.context_setting('shipslog.action'), shipslog.derive_action(ev.previous_state, ev.new_state));
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
  if ev.action not in ('created', 'config_changed', 'upgraded', 'secrets_rotated', 'restarted', 'health_changed',
                       'status_changed', 'resources_changed', 'removal_requested', 'removed', 'rolled_back') then
    raise exception 'shipslog.action "%" is not an audit action', ev.action
      using errcode = '22023',
            hint = 'Use one of created, config_changed, upgraded, secrets_rotated, restarted, health_changed, status_changed, resources_changed, removal_requested, removed, rolled_back; or leave it unset.';
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

create trigger deployments_audit
  before insert or update or delete
  on shipslog.deployments
  for each row
  execute function shipslog.tg_deployments__audit();

-- Down Migration
drop trigger deployments_audit on shipslog.deployments;
drop function shipslog.tg_deployments__audit();
drop function shipslog.context_setting(text);
drop function shipslog.derive_action(jsonb, jsonb);
drop function shipslog.deployment_diff(shipslog.deployments, shipslog.deployments);
drop function shipslog.jsonb_diff(jsonb, jsonb);
drop function shipslog.audited_state(shipslog.deployments);
