-- Events that are not row changes: a rollout's start and end, approvals, gates, rollback,
-- refusals and integrity findings (the types of 05_event_taxonomy.sql with required fields).
-- They go on the same per-deployment chain as the audit trigger's events, so verify, history,
-- the feed and /v1/events cover them with no second mechanism:
--
--   * shipslog.append_event() is the one writer. It locks the deployment row (the lock the
--     audit trigger's writers queue on), takes the chain head from it, inserts the event with
--     the next chain_index and hash, and moves the head on the row.
--   * The event's details are stored as new_state = {"details": {...}} with previous_state
--     null. new_state is in the hashed payload (shipslog.event_payload), so the chain covers
--     every detail; no column was added. Replaying a deployment's state skips these events
--     (shipslog.is_row_change(action)).
--   * The append-only guard (20_append_only.sql) admits an INSERT from outside the audit
--     trigger only when append_event() itself makes it.
--   * The row's head cannot be moved by an UPDATE: the audit trigger sets chain_head and
--     chain_length back to the stored ones. So a second BEFORE UPDATE trigger, firing after it
--     (names fire in order), moves the head to the last event this transaction appended beyond
--     it. It touches only the head, which no event hashes, and only when the audit trigger did
--     not move it (WHEN new.chain_length = old.chain_length: one integer comparison per write).
--
-- Public entry points grant exactly what each role may record: record_rollout_event() to the
-- reconciler, record_access_denied() to the API, record_security_violation() to the owner
-- (shipslog verify); approvals, gates and rollback through their own functions
-- (sql/compliance/), which check their rules before they call append_event().

-- Whether an action is a row change (written by the audit trigger, replayed into the state).
create or replace function shipslog.is_row_change(action text)
returns boolean
language sql
immutable
parallel safe
return action in ('created', 'config_changed', 'upgraded', 'downgraded', 'secrets_rotated', 'restarted',
                  'health_changed', 'status_changed', 'resources_changed', 'removal_requested', 'removed',
                  'rolled_back');

-- The caller-supplied actor context, checked as the audit trigger checks it (same errcodes
-- and limits), for the events written outside it.
create or replace function shipslog.check_actor_context()
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  if coalesce(shipslog.context_setting('shipslog.actor_type'), 'database') not in ('user', 'service', 'system', 'database') then
    raise exception 'shipslog.actor_type must be user, service or system, not "%"', current_setting('shipslog.actor_type', true)
      using errcode = '22023',
            hint = 'Set shipslog.actor_type with set_config(''shipslog.actor_type'', ''user'', true), or leave it unset.';
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
end
$$;

-- The details of an event type, checked: an object holding every required field (SL401 names
-- the first missing one), the common fields well-formed (SL403 names the bad one).
create or replace function shipslog.check_event_details(p_action text, p_details jsonb)
returns void
language plpgsql
stable
set search_path = ''
as $$
declare
  required text[] := shipslog.event_required_fields(p_action);
  missing text;
  f text;
begin
  if required is null then
    raise exception '"%" is not an event type recorded outside the audit trigger', p_action
      using errcode = 'SL400',
            hint = case when shipslog.is_row_change(p_action)
                     then 'Row changes are recorded by the audit trigger: change the deployment instead.'
                     else 'See shipslog.event_required_fields(): deployment_*, approval_*, gate_*, rollback_*, access_denied, security_violation.' end;
  end if;
  if p_details is null or jsonb_typeof(p_details) <> 'object' then
    raise exception '% event: details must be a JSON object', p_action
      using errcode = 'SL403',
            hint = format('Required fields: %s.', array_to_string(required, ', '));
  end if;
  select r into missing
  from unnest(required) with ordinality as x(r, ord)
  where coalesce(p_details -> r, 'null'::jsonb) = 'null'::jsonb
     or p_details -> r = '""'::jsonb
  order by x.ord
  limit 1;
  if missing is not null then
    raise exception '% event is missing required field details.%', p_action, missing
      using errcode = 'SL401',
            hint = format('A %s event needs: %s.', p_action, array_to_string(required, ', ')),
            column = missing;
  end if;
  foreach f in array array['generation', 'target_seq', 'target_chain_index', 'superseded_by_generation',
                             'required_approvals', 'approvals', 'parent_seq'] loop
    if p_details ? f and not (jsonb_typeof(p_details -> f) = 'number' and (p_details ->> f) ~ '^[0-9]{1,18}$') then
      raise exception '% event: details.% must be a positive integer', p_action, f
        using errcode = 'SL403', hint = 'Numbers in details are whole and positive.', column = f;
    end if;
  end loop;
  if p_details ? 'evidence_url' and (jsonb_typeof(p_details -> 'evidence_url') <> 'string'
     or p_details ->> 'evidence_url' !~ '^https?://[^[:space:]]+$' or length(p_details ->> 'evidence_url') > 2000) then
    raise exception '% event: details.evidence_url must be an http(s) URL', p_action
      using errcode = 'SL403', hint = 'Link the gate''s evidence: a report, a scan result, a CI run.', column = 'evidence_url';
  end if;
  if p_details ? 'related_seqs' and not (jsonb_typeof(p_details -> 'related_seqs') = 'array'
     and not jsonb_path_exists(p_details -> 'related_seqs', '$[*] ? (@.type() != "number")')) then
    raise exception '% event: details.related_seqs must be an array of event seqs', p_action
      using errcode = 'SL403', hint = 'related_seqs lists the seq of each related event.', column = 'related_seqs';
  end if;
  if length(p_details::text) > 16000 then
    raise exception '% event: details are too large (% bytes)', p_action, length(p_details::text)
      using errcode = 'SL403', hint = 'Keep details under 16000 bytes; link large evidence by URL.';
  end if;
end
$$;

-- The one writer of events that are not row changes. Owner-only (no grants): the entry points
-- below and in sql/compliance/ call it after checking their own rules.
create or replace function shipslog.append_event(p_deployment_id uuid, p_action text, p_details jsonb)
returns shipslog.deployment_events
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  head record;
  ev shipslog.deployment_events;
  linked bigint[];
begin
  perform shipslog.check_event_details(p_action, p_details);
  perform shipslog.check_actor_context();
  -- The row lock the audit trigger's writers queue on: chain_index stays gap-free and ordered.
  select d.chain_length, d.chain_head, d.tenant, d.name
  into head
  from shipslog.deployments as d
  where d.id = p_deployment_id
    -- The caller's tenant (shipslog.tenant; unset: the reconciler, the owner), spelled out
    -- rather than left to row-level security, which a superuser owner would bypass.
    and coalesce(shipslog.context_setting('shipslog.tenant'), d.tenant) in ('*', d.tenant)
  for no key update;
  if not found then
    raise exception 'deployment % not found: % not recorded', p_deployment_id, p_action
      using errcode = 'SL402',
            hint = 'Events are recorded on an existing deployment''s chain (a removed deployment''s chain ends in its removed event).';
  end if;
  -- Linked events must exist and belong to the deployment's tenant.
  linked := array(
    select (v #>> '{}')::bigint
    from jsonb_array_elements(coalesce(p_details -> 'related_seqs', '[]') || coalesce(p_details -> 'parent_seq', '[]')) as v);
  if cardinality(linked) > 0 and exists (
       select
       from unnest(linked) as l(seq)
       where not exists (
         select
         from shipslog.deployment_events as e
         where e.seq = l.seq
           and e.tenant = head.tenant)) then
    raise exception '% event links an event that does not exist in tenant %', p_action, head.tenant
      using errcode = 'SL403', hint = 'parent_seq and related_seqs name events of the same tenant by seq.', column = 'parent_seq';
  end if;

  ev.seq := nextval('shipslog.deployment_events_seq');
  ev.deployment_id := p_deployment_id;
  ev.chain_index := head.chain_length + 1;
  ev.tenant := head.tenant;
  ev.name := head.name;
  ev.action := p_action;
  ev.occurred_at := clock_timestamp();
  ev.txid := pg_current_xact_id();
  ev.actor := coalesce(shipslog.context_setting('shipslog.actor'), session_user);
  ev.actor_type := coalesce(shipslog.context_setting('shipslog.actor_type'), 'database');
  ev.reason := shipslog.context_setting('shipslog.reason');
  ev.correlation_id := shipslog.context_setting('shipslog.correlation_id');
  ev.request_id := shipslog.context_setting('shipslog.request_id');
  ev.source_ip := shipslog.context_setting('shipslog.source_ip')::inet;
  ev.user_agent := shipslog.context_setting('shipslog.user_agent');
  -- Inside SECURITY DEFINER current_user is the owner; the session's role is in "role".
  ev.db_role := coalesce(nullif(current_setting('role'), 'none'), session_user);
  ev.db_user := session_user;
  ev.application_name := nullif(current_setting('application_name'), '');
  ev.client_addr := inet_client_addr();
  ev.previous_state := null;
  ev.new_state := jsonb_build_object('details', p_details);
  ev.hash := shipslog.event_hash(head.chain_head, ev);
  -- One line, exactly as the append-only guard (20_append_only.sql) expects to find it in
  -- the call stack: keep the two in step.
  insert into shipslog.deployment_events overriding system value select (ev).*;

  -- A no-op UPDATE: the audit trigger finds nothing changed and records nothing;
  -- deployments_chain_head then moves the head to the event above.
  update shipslog.deployments as d
  set chain_length = d.chain_length
  where d.id = p_deployment_id;
  return ev;
end
$$;

-- Moves a deployment's chain head to the last event this transaction appended beyond it
-- (append_event's). Events of earlier transactions are never taken: an event forged with the
-- triggers bypassed stays beyond the head, where verify_chains() reports it.
create or replace function shipslog.tg_deployments__chain_head()
returns trigger
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  last record;
begin
  select e.chain_index, e.hash
  into last
  from shipslog.deployment_events as e
  where e.deployment_id = new.id
    and e.chain_index > new.chain_length
    and e.txid = pg_current_xact_id()
  order by e.chain_index desc
  limit 1;
  if found then
    new.chain_length := last.chain_index;
    new.chain_head := last.hash;
  end if;
  return new;
end
$$;

-- After deployments_audit (names fire in order): it sees the head that trigger left, and only
-- when the trigger did not move it (no-op writes and append_event's).
create or replace trigger deployments_chain_head
  before update
  on shipslog.deployments
  for each row
  when (new.chain_length = old.chain_length)
  execute function shipslog.tg_deployments__chain_head();

-- The reconciler's rollout events (deployment_started, _completed, _failed, _cancelled and
-- rollback_completed / rollback_failed when a rollback's generation ends).
create or replace function shipslog.record_rollout_event(p_deployment_id uuid, p_action text, p_details jsonb)
returns bigint
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  if p_action not in ('deployment_started', 'deployment_completed', 'deployment_failed', 'deployment_cancelled',
                      'rollback_completed', 'rollback_failed') then
    raise exception '"%" is not a rollout event', p_action
      using errcode = 'SL400',
            hint = 'Rollout events: deployment_started, deployment_completed, deployment_failed, deployment_cancelled, rollback_completed, rollback_failed.';
  end if;
  return (shipslog.append_event(p_deployment_id, p_action, p_details)).seq;
end
$$;

-- An authenticated client refused by scope or tenant (the API calls it on a connection of its
-- own, so the refusal is recorded although the request's transaction is not). Recorded on the
-- chain of the deployment the request named, when one exists; the caller sees nothing of it.
create or replace function shipslog.record_access_denied(p_deployment_id uuid, p_details jsonb)
returns bigint
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  return (shipslog.append_event(p_deployment_id, 'access_denied', p_details)).seq;
end
$$;

-- A verify finding, appended to the chain it concerns (shipslog verify --record, as the owner).
create or replace function shipslog.record_security_violation(p_deployment_id uuid, p_details jsonb)
returns bigint
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  return (shipslog.append_event(p_deployment_id, 'security_violation', p_details)).seq;
end
$$;

revoke execute
  on function
    shipslog.is_row_change(text),
    shipslog.check_actor_context(),
    shipslog.check_event_details(text, jsonb),
    shipslog.append_event(uuid, text, jsonb),
    shipslog.tg_deployments__chain_head(),
    shipslog.record_rollout_event(uuid, text, jsonb),
    shipslog.record_access_denied(uuid, jsonb),
    shipslog.record_security_violation(uuid, jsonb)
  from public;

grant execute
  on function
    shipslog.is_row_change(text),
    shipslog.event_required_fields(text)
  to shipslog_app, shipslog_reconciler, shipslog_auditor;

grant execute
  on function shipslog.record_rollout_event(uuid, text, jsonb)
  to shipslog_reconciler;

grant execute
  on function shipslog.record_access_denied(uuid, jsonb)
  to shipslog_app;
