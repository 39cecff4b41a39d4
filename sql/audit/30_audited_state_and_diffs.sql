-- What the audit trail records of a deployment: everything but bookkeeping that changes
-- with every write (version, timestamps, generation, the chain itself). Timestamps are UTC
-- text so the state does not depend on the session's TimeZone. Created and removed events
-- hold it whole; shipslog.verify_chains() compares it with the state the events replay to.
create or replace function shipslog.audited_state(d shipslog.deployments)
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
create or replace function shipslog.jsonb_diff(
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
-- update). A column added to shipslog.deployments must be added here; until it is, the
-- audit trigger (40_audit_trigger.sql) refuses changes to it (SL011) rather than losing them.
create or replace function shipslog.deployment_diff(
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

-- How two app versions (image tags) compare: 1 when to_version is newer, -1 when older, 0 when
-- their leading numbers are equal, null when either has none. Only the leading dotted numbers
-- count, as numbers ("v" allowed before them, trailing ".0" ignored): 9 < 10, 16.2 < 16.10,
-- 16 = 16.0, 16.4-alpine < 17; "latest", "stable" or "16-alpine" vs "16-bookworm" have no
-- order. A SQL-standard body: bound when created, so no search_path is needed or consulted.
create or replace function shipslog.version_order(from_version text, to_version text)
returns integer
language sql
immutable
parallel safe
return (
  select case
      when v.a is null or v.b is null then null
      when v.b > v.a then 1
      when v.b < v.a then -1
      else 0
    end
  from (
    select
      string_to_array(regexp_replace(substring(from_version from '^[vV]?([0-9]+(?:\.[0-9]+)*)'), '(\.0+)+$', ''), '.')::numeric[],
      string_to_array(regexp_replace(substring(to_version from '^[vV]?([0-9]+(?:\.[0-9]+)*)'), '(\.0+)+$', ''), '.')::numeric[]
  ) as v(a, b)
);

-- The action a change means, most significant first. shipslog.action overrides it. A version
-- change is `downgraded` when the new version is older by shipslog.version_order, else `upgraded`.
create or replace function shipslog.derive_action(old_state jsonb, new_state jsonb)
returns text
language sql
immutable
parallel safe
return case
    when old_state is null then 'created'
    when new_state is null then 'removed'
    when old_state -> 'deletion_requested_at' is distinct from new_state -> 'deletion_requested_at'
      and new_state ->> 'deletion_requested_at' is not null then 'removal_requested'
    when old_state -> 'app_version' is distinct from new_state -> 'app_version' then
      case
        when shipslog.version_order(old_state ->> 'app_version', new_state ->> 'app_version') < 0 then 'downgraded'
        else 'upgraded'
      end
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
