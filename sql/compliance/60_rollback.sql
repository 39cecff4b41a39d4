-- Rollback (issue 11, item 4): return a deployment's desired state to what it was at an earlier
-- event, as a NEW generation (Helm's N+1): the history is never rewritten. The state is
-- rebuilt from the chain itself (the row changes up to that event, replayed as verify does),
-- written through the audit trigger as a `rolled_back` change, and announced with
-- rollback_started; the reconciler's finish of that generation records rollback_completed or
-- rollback_failed (10_rollout.sql).
--
-- SQLSTATEs: SL451 no such event on this deployment's chain; SL450 the state cannot be rebuilt
-- (secrets rotated since: their values were never stored; a removal; nothing to change).

-- The desired state (the columns whose change makes a generation) a deployment's chain holds
-- at one of its events: its row changes up to it, replayed.
create or replace function shipslog.desired_state_at(p_deployment_id uuid, p_chain_index integer)
returns jsonb
language sql
stable
set search_path = ''
as $$
  select jsonb_build_object(
           'environment', s -> 'environment', 'app_version', s -> 'app_version', 'config', s -> 'config',
           'secrets_ref', s -> 'secrets_ref', 'secrets_fingerprint', s -> 'secrets_fingerprint',
           'depends_on', s -> 'depends_on', 'deletion_requested_at', s -> 'deletion_requested_at')
  from (
    select shipslog.replay_state(e.previous_state, e.new_state order by e.chain_index)
             filter (where shipslog.is_row_change(e.action)) as s
    from shipslog.deployment_events as e
    where e.deployment_id = p_deployment_id
      and e.chain_index <= p_chain_index
  ) as x
$$;

create or replace function shipslog.start_rollback(p_deployment_id uuid, p_target_seq bigint, p_target_chain_index integer)
returns table (generation bigint, target_seq bigint, target_chain_index integer, rolled_back_seq bigint, rollback_started_seq bigint)
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  d shipslog.deployments;
  target shipslog.deployment_events;
  want jsonb;
  saved_action text := current_setting('shipslog.action', true);
  changed shipslog.deployments;
  rolled shipslog.deployment_events;
  started shipslog.deployment_events;
begin
  select * into d from shipslog.deployments as x
  where x.id = p_deployment_id and shipslog.caller_sees_tenant(x.tenant)
  for no key update;
  if not found then
    raise exception 'deployment % not found', p_deployment_id using errcode = 'SL402';
  end if;
  select * into target from shipslog.deployment_events as e
  where e.deployment_id = d.id
    and (e.seq = p_target_seq or e.chain_index = p_target_chain_index);
  if not found then
    raise exception 'deployment % has no event %', d.id, coalesce('seq ' || p_target_seq, '#' || p_target_chain_index)
      using errcode = 'SL451', hint = 'Name an event of this deployment''s history by seq or chain_index.';
  end if;
  want := shipslog.desired_state_at(d.id, target.chain_index);
  if want ->> 'deletion_requested_at' is not null then
    raise exception 'the state at event #% is a removal request; it cannot be rolled back to', target.chain_index
      using errcode = 'SL450', hint = 'Choose an event before the removal was requested.';
  end if;
  if (want ->> 'secrets_fingerprint') is distinct from d.secrets_fingerprint or (want ->> 'secrets_ref') is distinct from d.secrets_ref then
    raise exception 'cannot rebuild the state at event #%: its secrets were rotated since (fingerprint % then, % now), and secret values are never stored',
        target.chain_index, coalesce(left(want ->> 'secrets_fingerprint', 20) || '...', 'none'), coalesce(left(d.secrets_fingerprint, 20) || '...', 'none')
      using errcode = 'SL450',
            hint = 'Restore the old secret values first (PATCH secrets), or roll back to an event after the last rotation.';
  end if;
  if (want -> 'environment', want -> 'app_version', want -> 'config', want -> 'depends_on')
     is not distinct from (to_jsonb(d.environment), to_jsonb(d.app_version), d.config, to_jsonb(d.depends_on)) then
    raise exception 'nothing to roll back: the desired state at event #% is the current one', target.chain_index
      using errcode = 'SL450', hint = 'Choose an event whose desired state differs from the current one.';
  end if;
  -- The change itself goes through the audit trigger, recorded as rolled_back (a row change:
  -- the generation moves to N+1 and the reconciler applies it). shipslog.action is put back
  -- as the caller had it, so later writes of the transaction are not mislabelled.
  perform set_config('shipslog.action', 'rolled_back', true);
  update shipslog.deployments as x
  set environment = want ->> 'environment',
      app_version = want ->> 'app_version',
      config = want -> 'config',
      depends_on = array(select jsonb_array_elements_text(want -> 'depends_on'))
  where x.id = d.id
  returning * into changed;
  perform set_config('shipslog.action', coalesce(saved_action, ''), true);
  select * into rolled from shipslog.deployment_events as e
  where e.deployment_id = d.id and e.chain_index = changed.chain_length;
  started := shipslog.append_event(d.id, 'rollback_started', jsonb_build_object(
    'generation', changed.generation, 'target_seq', target.seq, 'target_chain_index', target.chain_index,
    'from_generation', d.generation, 'parent_seq', target.seq, 'related_seqs', jsonb_build_array(rolled.seq)));
  return query select changed.generation, target.seq, target.chain_index, rolled.seq, started.seq;
end
$$;

revoke execute
  on function
    shipslog.desired_state_at(uuid, integer),
    shipslog.start_rollback(uuid, bigint, integer)
  from public;

grant execute
  on function shipslog.desired_state_at(uuid, integer)
  to shipslog_app, shipslog_reconciler, shipslog_auditor;

grant execute
  on function shipslog.start_rollback(uuid, bigint, integer)
  to shipslog_app;
