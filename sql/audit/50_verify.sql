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
  for key in
    select jsonb_object_keys(previous_part)
    union
    select jsonb_object_keys(new_part)
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

-- Checks every chain (or one deployment's) and returns the first broken link per
-- deployment. Each link is checked on its own: hash = SHA-256(stored previous hash ||
-- payload), so one pass with lag() suffices. Then the chain's end is held against the
-- deployment row: its chain head, and its contents against the state the events replay to.
create or replace function shipslog.verify_chains(p_deployment_id uuid default null)
returns table (deployment_id uuid, tenant text, name text, chain_index integer, problem text)
language sql
stable
set search_path = ''
as $$
  with links as (
    select
      e as ev,
      lag(e.hash) over w as prev_hash,
      lag(e.chain_index) over w as prev_index,
      lag(e.action) over w as prev_action
    from shipslog.deployment_events as e
    where p_deployment_id is null
      or e.deployment_id = p_deployment_id
    window w as (partition by e.deployment_id order by e.chain_index)
  ),
  link_problems as (
    select
      (l.ev).deployment_id,
      (l.ev).tenant,
      (l.ev).name,
      (l.ev).chain_index,
      case
        when (l.ev).chain_index <> coalesce(l.prev_index, 0) + 1 then
          format('event #%s follows #%s: %s event(s) missing', (l.ev).chain_index,
                 coalesce(l.prev_index, 0), (l.ev).chain_index - coalesce(l.prev_index, 0) - 1)
        when (l.ev).hash <> shipslog.event_hash(l.prev_hash, l.ev) then
          format('event #%s (%s) does not match its hash: altered, swapped or forged',
                 (l.ev).chain_index, (l.ev).action)
        when l.prev_action = 'removed' then
          format('event #%s (%s) follows the removed event', (l.ev).chain_index, (l.ev).action)
        when (l.ev).chain_index = 1 and (l.ev).action <> 'created' then
          format('event #1 is %s, not created: the chain''s start is missing', (l.ev).action)
      end as problem
    from links as l
  ),
  heads as (
    select distinct on (e.deployment_id)
      e.deployment_id, e.tenant, e.name, e.chain_index, e.hash, e.action
    from shipslog.deployment_events as e
    where p_deployment_id is null
      or e.deployment_id = p_deployment_id
    order by e.deployment_id, e.chain_index desc
  ),
  replays as (
    -- Events that are not row changes (rollouts, approvals, gates, ...: 45_record_event.sql)
    -- change no state; their hashes are checked above like every event's.
    select e.deployment_id,
           shipslog.replay_state(e.previous_state, e.new_state order by e.chain_index)
             filter (where shipslog.is_row_change(e.action)) as state
    from shipslog.deployment_events as e
    where e.deployment_id in (
      select d.id
      from shipslog.deployments as d
      where p_deployment_id is null
        or d.id = p_deployment_id
    )
    group by e.deployment_id
  ),
  rows as (
    select d.*
    from shipslog.deployments as d
    where p_deployment_id is null
      or d.id = p_deployment_id
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
        when d.id is null and h.action <> 'removed' then
          format('chain ends at #%s (%s) but the deployment row is gone: deleted while triggers were bypassed, or the chain''s tail was removed',
                 h.chain_index, h.action)
        when d.id is not null and h.action = 'removed' then
          'deployment row exists after its removed event'
        when d.id is not null and (d.chain_length <> h.chain_index or d.chain_head is distinct from h.hash) then
          format('deployment row''s chain head is #%s but the chain ends at #%s: events removed, truncated or forged',
                 d.chain_length, h.chain_index)
        when d.id is not null and shipslog.audited_state(d) is distinct from r.state then
          'deployment row differs from the state its events replay to: changed while audit triggers were bypassed'
      end as problem
    from heads as h
    full join rows as d
      on d.id = h.deployment_id
    left join replays as r
      on r.deployment_id = d.id
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
