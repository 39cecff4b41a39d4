-- Time travel: a deployment's audited state at any moment, and the difference between any two
-- of its events, rebuilt from its hash chain. Events hold only the changed paths (the whole
-- state on created and removed; 30_audited_state_and_diffs.sql), so a state is the replay of
-- every event up to it (shipslog.apply_event / replay_state, 50_verify.sql: the same replay
-- verification holds against the row, so what is shown here is what verify checks).
--
-- The state is shipslog.audited_state(): every column of the deployment but version,
-- generation, the timestamps and the chain head. Desired (environment, app_version, config,
-- secrets_ref, secrets_fingerprint, depends_on, restarted_at, deletion_requested_at) and
-- observed (status, health, url, managed_resources, ...) columns alike, as the trail records
-- them. Secret values never enter PostgreSQL: the state holds the Secret's name and an HMAC
-- fingerprint, nothing else.
--
-- Events are addressed by chain_index (1, 2, ... per deployment, no gaps; history shows it)
-- rather than by the global seq: a chain index names an event of this deployment and no
-- other, and says where it stands in the chain. Moments are compared with occurred_at.
--
-- SECURITY INVOKER, all of them: row-level security decides which chains a caller sees, so
-- the API's tenant sees its own deployments only, and another tenant's is "no history" (SL060).
--
-- Errors: SL060 no history (unknown, or not visible to the caller), SL061 a moment before the
-- deployment existed, SL062 a chain index outside the chain.

-- The audited state right after event #p_chain_index: events 1..p_chain_index replayed. Null
-- after the removed event, and for an index below 1.
create or replace function shipslog.state_after_event(p_deployment_id uuid, p_chain_index integer)
returns jsonb
language sql
stable
parallel safe
begin atomic
  select shipslog.replay_state(e.previous_state, e.new_state order by e.chain_index)
  from shipslog.deployment_events as e
  where e.deployment_id = p_deployment_id
    and e.chain_index <= p_chain_index
    -- Events recorded beside row changes (rollouts, approvals, ...) hold details, not state.
    and shipslog.is_row_change(e.action);
end;

-- select * from shipslog.state_at('<deployment id>', '2026-11-22 10:00Z'): the state as of that
-- moment, i.e. after the last event that occurred at or before it. One row:
--   chain_index, seq, occurred_at, action   the last event replayed
--   state                                   the audited state (null: removed by then)
--   head_chain_index                        the chain's last event today
--   matches_current                         when the replay reached the chain's head: whether
--                                           it equals the live row (its audited state and its
--                                           chain head: length and hash), or for a removed
--                                           deployment, that the row is gone; null otherwise
-- A moment after the chain's last event (now, or the future) replays the whole chain and
-- checks it against the row: a false there means the row changed outside the audit trigger,
-- which shipslog.verify_chains() names.
create or replace function shipslog.state_at(p_deployment_id uuid, p_at timestamptz)
returns table (
  deployment_id uuid,
  tenant text,
  name text,
  chain_index integer,
  seq bigint,
  occurred_at timestamptz,
  action text,
  state jsonb,
  head_chain_index integer,
  matches_current boolean
)
language plpgsql
stable
set search_path = ''
as $$
declare
  head shipslog.deployment_events;
  last_event shipslog.deployment_events;
  live shipslog.deployments;
  first_at timestamptz;
begin
  if p_deployment_id is null or p_at is null then
    raise exception 'shipslog.state_at() needs a deployment id and a moment'
      using errcode = '22004',
            hint = 'select * from shipslog.state_at(''<deployment id>'', ''2026-01-01 12:00Z'');';
  end if;
  select e.*
  into head
  from shipslog.deployment_events as e
  where e.deployment_id = p_deployment_id
  order by e.chain_index desc
  limit 1;
  if not found then
    raise exception 'deployment % has no audit history', p_deployment_id
      using errcode = 'SL060',
            hint = 'No such deployment, or not one the caller may see (history outlives removal: a removed deployment still has one).';
  end if;
  select e.*
  into last_event
  from shipslog.deployment_events as e
  where e.deployment_id = p_deployment_id
    and e.occurred_at <= p_at
  order by e.chain_index desc
  limit 1;
  if not found then
    select min(e.occurred_at)
    into first_at
    from shipslog.deployment_events as e
    where e.deployment_id = p_deployment_id;
    raise exception 'deployment %/% (%) did not exist yet at %: it was created at %',
        head.tenant, head.name, p_deployment_id, shipslog.iso_utc(p_at), shipslog.iso_utc(first_at)
      using errcode = 'SL061',
            hint = 'Ask for a moment at or after its creation.';
  end if;

  deployment_id := p_deployment_id;
  tenant := head.tenant;
  name := head.name;
  chain_index := last_event.chain_index;
  seq := last_event.seq;
  occurred_at := last_event.occurred_at;
  action := last_event.action;
  state := shipslog.state_after_event(p_deployment_id, last_event.chain_index);
  head_chain_index := head.chain_index;
  if last_event.chain_index = head.chain_index then
    select d.*
    into live
    from shipslog.deployments as d
    where d.id = p_deployment_id;
    if found then
      matches_current := live.chain_length = head.chain_index
        and live.chain_head is not distinct from head.hash
        and shipslog.audited_state(live) is not distinct from state;
    else
      matches_current := head.action = 'removed' and state is null;
    end if;
  end if;
  return next;
end
$$;

-- select * from shipslog.state_diff('<deployment id>', 3, 7): what differs between the state
-- after event #3 and the state after event #7, one row per changed path (dotted, as
-- shipslog.event_changes() names them), in path order, with the line history would print.
-- It is the composition of events #4..#7: a path changed there and changed back is not listed.
-- Either order: (7, 3) lists the same paths with from and to swapped, i.e. what going back
-- to #3 would change. A removed state (after the removed event) counts as empty, so a diff
-- to it lists every path with to_value null. Equal indexes: no rows. p_to omitted or null:
-- the chain's last event, so state_diff(id, 3) is everything since #3.
create or replace function shipslog.state_diff(p_deployment_id uuid, p_from integer, p_to integer default null)
returns table (path text, from_value jsonb, to_value jsonb, description text)
language plpgsql
stable
set search_path = ''
as $$
declare
  head_index integer;
  diff record;
begin
  select max(e.chain_index)
  into head_index
  from shipslog.deployment_events as e
  where e.deployment_id = p_deployment_id;
  if head_index is null then
    raise exception 'deployment % has no audit history', p_deployment_id
      using errcode = 'SL060',
            hint = 'No such deployment, or not one the caller may see (history outlives removal: a removed deployment still has one).';
  end if;
  -- COLUMN names the argument at fault, so the API can name its query parameter.
  if p_from is null or p_from not between 1 and head_index then
    raise exception 'deployment % has events #1 to #%: #% is not one of them', p_deployment_id, head_index, coalesce(p_from::text, 'null')
      using errcode = 'SL062',
            column = 'from',
            hint = format('Name chain_index values from 1 to %s (its history lists them).', head_index);
  end if;
  if p_to is not null and p_to not between 1 and head_index then
    raise exception 'deployment % has events #1 to #%: #% is not one of them', p_deployment_id, head_index, p_to
      using errcode = 'SL062',
            column = 'to',
            hint = format('Name chain_index values from 1 to %s (its history lists them).', head_index);
  end if;
  diff := shipslog.jsonb_diff(
    coalesce(shipslog.state_after_event(p_deployment_id, p_from), '{}'),
    coalesce(shipslog.state_after_event(p_deployment_id, coalesce(p_to, head_index)), '{}'));
  return query
    select
      array_to_string(w.path, '.'),
      w.old_value,
      w.new_value,
      shipslog.describe_change(array_to_string(w.path, '.'), w.old_value, w.new_value)
    from shipslog.event_change_walk(array[0::bigint], array[diff.old_part], array[diff.new_part]) as w
    order by w.path;
end
$$;

revoke execute
  on function
    shipslog.state_after_event(uuid, integer),
    shipslog.state_at(uuid, timestamptz),
    shipslog.state_diff(uuid, integer, integer)
  from public;

-- Whoever reads history may travel in it: the API (its tenant's chains, by row-level
-- security), the reconciler, and auditors with psql (sql/reports/deployment-state-at.sql).
grant execute
  on function
    shipslog.state_after_event(uuid, integer),
    shipslog.state_at(uuid, timestamptz),
    shipslog.state_diff(uuid, integer, integer)
  to shipslog_app, shipslog_reconciler, shipslog_auditor;
