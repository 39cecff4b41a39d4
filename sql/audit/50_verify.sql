-- Replays one event onto a deployment's audited state: the inverse of the diff the audit
-- trigger stored. Where both partial states hold an object the walk goes deeper; a path the
-- new side holds is set, a path only the old side holds was removed. A created event (no
-- previous state) starts the state, a removed event (no new state) ends it.
create or replace function shipslog.apply_event(state jsonb, previous_part jsonb, new_part jsonb)
returns jsonb
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
declare
  key text;
begin
  if previous_part is null then
    return new_part;
  end if;
  if new_part is null then
    return null;
  end if;
  -- The keys of either side: those of their concatenation (cheaper than a UNION of both).
  for key in
    select jsonb_object_keys(previous_part || new_part)
  loop
    if jsonb_typeof(previous_part -> key) = 'object' and jsonb_typeof(new_part -> key) = 'object' then
      state := coalesce(state, '{}') || jsonb_build_object(
        key, shipslog.apply_event(coalesce(state -> key, '{}'), previous_part -> key, new_part -> key));
    elsif new_part ? key then
      state := coalesce(state, '{}') || jsonb_build_object(key, new_part -> key);
    else
      state := state - key;
    end if;
  end loop;
  return state;
end
$$;

-- select shipslog.replay_state(previous_state, new_state order by chain_index): the audited
-- state a deployment's events add up to. Verification compares it with the row, so a row
-- changed while the audit trigger was bypassed stands out without the writer paying for a
-- whole-state hash on every event.
create or replace aggregate shipslog.replay_state(jsonb, jsonb) (
  sfunc = shipslog.apply_event,
  stype = jsonb
);

-- shipslog.event_payload(e)::text, the bytes the chain hashes, written by concatenation
-- instead of through a jsonb value: the same text (keys in jsonb's order, ", " and ": ",
-- strings escaped by to_json(), which uses the same escape_json() as jsonb's output), at about
-- half the server's CPU per event (no jsonb built, sorted and printed; BENCHMARKS.md). For
-- reading the trail fast (`shipslog verify`); test/verify-fast.test.ts holds it equal to
-- event_payload()'s text over every kind of value, and verify re-checks any link it fails with
-- event_hash() itself before reporting, so a difference could only cost time.
create or replace function shipslog.event_payload_text(e shipslog.deployment_events)
returns text
language sql
stable
parallel safe
return '{"seq": ' || e.seq
  || ', "name": ' || to_json(e.name)
  || ', "txid": "' || e.txid
  || '", "actor": ' || to_json(e.actor)
  || ', "action": ' || to_json(e.action)
  || ', "reason": ' || coalesce(to_json(e.reason)::text, 'null')
  || ', "tenant": ' || to_json(e.tenant)
  || ', "db_role": ' || to_json(e.db_role)
  || ', "db_user": ' || to_json(e.db_user)
  || ', "new_state": ' || coalesce(e.new_state::text, 'null')
  || ', "source_ip": ' || coalesce(to_json(e.source_ip::text)::text, 'null')
  || ', "actor_type": ' || to_json(e.actor_type)
  || ', "request_id": ' || coalesce(to_json(e.request_id)::text, 'null')
  || ', "user_agent": ' || coalesce(to_json(e.user_agent)::text, 'null')
  || ', "chain_index": ' || e.chain_index
  || ', "client_addr": ' || coalesce(to_json(e.client_addr::text)::text, 'null')
  || ', "occurred_at": "' || shipslog.iso_utc(e.occurred_at)
  || '", "deployment_id": "' || e.deployment_id
  || '", "correlation_id": ' || coalesce(to_json(e.correlation_id)::text, 'null')
  || ', "previous_state": ' || coalesce(e.previous_state::text, 'null')
  || ', "application_name": ' || coalesce(to_json(e.application_name)::text, 'null')
  || '}';

-- The system chain: shipslog's own events (events_purged), chained like a deployment's.
create or replace function shipslog.system_chain_id()
returns uuid
language sql
immutable
parallel safe
return '00000000-0000-0000-0000-000000000000'::uuid;

-- Each chain's newest anchor: where its retained part starts.
create or replace view shipslog.audit_chain_starts as
select distinct on (a.deployment_id)
  a.deployment_id, a.chain_index, a.hash, a.state, a.removed, a.id as anchor_id
from shipslog.audit_chain_anchors as a
order by a.deployment_id, a.chain_index desc;

-- The audited state of a chain after event p_to, replayed from p_state (the state after
-- event p_from, an anchor's) over the events p_from+1 .. p_to.
create or replace function shipslog.replay_state_from(p_state jsonb, p_deployment_id uuid, p_from integer, p_to integer)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  ev record;
  state jsonb := p_state;
begin
  for ev in
    select e.previous_state, e.new_state
    from shipslog.deployment_events as e
    where e.deployment_id = p_deployment_id
      and e.chain_index > p_from
      and e.chain_index <= p_to
      -- Events that are not row changes (rollouts, approvals, gates, ...: 45_record_event.sql)
      -- change no state; their hashes are checked like every event's.
      and shipslog.is_row_change(e.action)
    order by e.chain_index
  loop
    state := shipslog.apply_event(state, ev.previous_state, ev.new_state);
  end loop;
  return state;
end
$$;

-- Checks every chain (or one deployment's) and returns the first broken link per
-- deployment. Each link is checked on its own: hash = SHA-256(stored previous hash ||
-- payload), so one pass with lag() suffices. Then the chain's end is held against the
-- deployment row: its chain head, and its contents against the state the events replay to.
-- A chain whose prefix was purged (sql/audit/85_retention.sql) starts at its newest anchor:
-- the anchor's hash is the first retained event's previous hash, its index the one before,
-- its state where replay starts. The anchors' signatures are checked outside PostgreSQL
-- (src/audit/anchors.ts), as are the checkpoints'. shipslog's own system chain (purge events)
-- has no deployment row: its end is held against the newest shipslog.audit_purges row.
--
-- `shipslog verify` runs the same checks streaming the events to Node (src/audit/verify.ts,
-- several times faster on a million events); this function is the reference that auditors
-- run in SQL (sql/reports/verify-chains.sql), and test/tamper.test.ts holds both to every
-- tampering.
create or replace function shipslog.verify_chains(p_deployment_id uuid default null)
returns table (deployment_id uuid, tenant text, name text, chain_index integer, problem text)
language sql
stable
set search_path = ''
as $$
  with starts as (
    select s.deployment_id, s.chain_index, s.hash, s.state, s.removed
    from shipslog.audit_chain_starts as s
    where p_deployment_id is null
      or s.deployment_id = p_deployment_id
  ),
  links as (
    select
      e.deployment_id,
      e.tenant,
      e.name,
      e.chain_index,
      e.action,
      e.hash = shipslog.event_hash(coalesce(lag(e.hash) over w, s.hash), e) as hash_ok,
      coalesce(lag(e.chain_index) over w, s.chain_index, 0) as prev_index,
      coalesce(lag(e.action) over w, case when s.removed then 'removed' end) as prev_action,
      s.chain_index as anchor_index
    from shipslog.deployment_events as e
      left join starts as s
        on s.deployment_id = e.deployment_id
    where p_deployment_id is null
      or e.deployment_id = p_deployment_id
    window w as (partition by e.deployment_id order by e.chain_index)
  ),
  link_problems as (
    select
      l.deployment_id,
      l.tenant,
      l.name,
      l.chain_index,
      case
        when l.chain_index <= l.anchor_index then
          format('event #%s lies in the purged prefix its signed anchor ends at #%s', l.chain_index, l.anchor_index)
        when l.chain_index <= l.prev_index then
          format('event #%s follows #%s: a chain index repeated', l.chain_index, l.prev_index)
        when l.chain_index <> l.prev_index + 1 then
          format('event #%s follows #%s: %s event(s) missing', l.chain_index,
                 l.prev_index, l.chain_index - l.prev_index - 1)
        when not l.hash_ok then
          format('event #%s (%s) does not match its hash: altered, swapped or forged',
                 l.chain_index, l.action)
        when l.prev_action = 'removed' then
          format('event #%s (%s) follows the removed event', l.chain_index, l.action)
        when l.chain_index = 1 and l.action <> 'created' and l.deployment_id <> shipslog.system_chain_id() then
          format('event #1 is %s, not created: the chain''s start is missing', l.action)
      end as problem
    from links as l
  ),
  -- Each chain's end: its last event, else (every event purged) its anchor.
  heads as (
    select distinct on (h.deployment_id)
      h.deployment_id, h.tenant, h.name, h.chain_index, h.hash, h.action
    from (
      select e.deployment_id, e.tenant, e.name, e.chain_index, e.hash, e.action
      from shipslog.deployment_events as e
      where p_deployment_id is null
        or e.deployment_id = p_deployment_id
      union all
      select s.deployment_id, null, null, s.chain_index, s.hash, case when s.removed then 'removed' else '(purged)' end
      from starts as s
    ) as h
    order by h.deployment_id, h.chain_index desc, h.tenant nulls last
  ),
  rows as (
    select
      d.id, d.tenant, d.name, d.chain_length, d.chain_head,
      shipslog.audited_state(d) as state
    from shipslog.deployments as d
    where p_deployment_id is null
      or d.id = p_deployment_id
    union all
    -- The system chain's "row": the newest purge names its last event.
    select shipslog.system_chain_id(), '_system', 'audit-retention', p.event_chain_index, p.event_hash, null
    from (
      select pu.event_chain_index, pu.event_hash
      from shipslog.audit_purges as pu
      order by pu.id desc
      limit 1
    ) as p
    where p_deployment_id is null
      or p_deployment_id = shipslog.system_chain_id()
  ),
  head_problems as (
    select
      coalesce(h.deployment_id, d.id) as deployment_id,
      coalesce(h.tenant, d.tenant) as tenant,
      coalesce(h.name, d.name) as name,
      coalesce(h.chain_index, 0) + 1 as chain_index,
      case
        when h.deployment_id is null then
          'deployment row has no audit events: inserted while audit triggers were bypassed'
        when d.id is null and h.deployment_id = shipslog.system_chain_id() then
          format('the system chain ends at #%s but no purge recorded it: forged', h.chain_index)
        when d.id is null and h.action <> 'removed' then
          format('chain ends at #%s (%s) but the deployment row is gone: deleted while triggers were bypassed, or the chain''s tail was removed',
                 h.chain_index, h.action)
        when d.id is not null and h.action = 'removed' then
          'deployment row exists after its removed event'
        when d.id is not null and (d.chain_length <> h.chain_index or d.chain_head is distinct from h.hash) then
          format('deployment row''s chain head is #%s but the chain ends at #%s: events removed, truncated or forged',
                 d.chain_length, h.chain_index)
        when d.id is not null and d.id <> shipslog.system_chain_id()
             and d.state is distinct from shipslog.replay_state_from(s.state, d.id, coalesce(s.chain_index, 0), h.chain_index) then
          'deployment row differs from the state its events replay to: changed while audit triggers were bypassed'
      end as problem
    from heads as h
      full join rows as d
        on d.id = h.deployment_id
      left join starts as s
        on s.deployment_id = d.id
  )
  select distinct on (p.deployment_id)
    p.deployment_id, p.tenant, p.name, p.chain_index, p.problem
  from (
    select * from link_problems
    union all
    select * from head_problems
  ) as p
  where p.problem is not null
  order by p.deployment_id, p.chain_index
$$;
