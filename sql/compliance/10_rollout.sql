-- A rollout's life in the trail (issue 11): deployment_started on the first apply attempt of a
-- generation, deployment_completed or deployment_failed (terminal) when a run ends it,
-- deployment_cancelled when a newer generation starts before it ended. The reconciler calls
-- begin_rollout() in its claim's transaction and finish_rollout() in its result's, so the
-- events commit with the run they describe; the rules (which attempt is the first, what a
-- newer generation cancels) live here.

-- The correlation id of what made a deployment's current generation: the newest event that
-- changed its desired state (the columns whose change bumps the generation, as the audit
-- trigger decides), its X-Correlation-Id or request id. The reconcile run stores it, and the
-- events the run writes carry it, so a request can be followed to its runs and their effects.
create or replace function shipslog.generation_correlation_id(p_deployment_id uuid)
returns text
language sql
stable
set search_path = ''
as $$
  select coalesce(e.correlation_id, e.request_id)
  from shipslog.deployment_events as e
  where e.deployment_id = p_deployment_id
    and shipslog.is_row_change(e.action)
    and (e.action = 'created'
         or e.new_state ?| array['environment', 'app_version', 'config', 'secrets_ref', 'secrets_fingerprint',
                                 'depends_on', 'restarted_at', 'deletion_requested_at'])
  order by e.chain_index desc
  limit 1
$$;

-- The newest rollout event of a deployment's chain: the newest generation started, and whether
-- it ended (a newer generation's start cancels the newest unfinished one, so older ones ended).
create or replace function shipslog.latest_rollout(p_deployment_id uuid)
returns table (action text, generation bigint, run_id text, seq bigint)
language sql
stable
set search_path = ''
as $$
  select e.action, (e.new_state -> 'details' ->> 'generation')::bigint, e.new_state -> 'details' ->> 'run_id', e.seq
  from shipslog.deployment_events as e
  where e.deployment_id = p_deployment_id
    and e.action in ('deployment_started', 'deployment_completed', 'deployment_failed', 'deployment_cancelled')
  order by e.chain_index desc
  limit 1
$$;

-- The rollback_started event of a generation, if a rollback made it (60_rollback.sql).
create or replace function shipslog.rollback_started_seq(p_deployment_id uuid, p_generation bigint)
returns bigint
language sql
stable
set search_path = ''
as $$
  select e.seq
  from shipslog.deployment_events as e
  where e.deployment_id = p_deployment_id
    and e.action = 'rollback_started'
    and (e.new_state -> 'details' ->> 'generation')::bigint = p_generation
  order by e.chain_index desc
  limit 1
$$;

-- In the claim's transaction, for a run that applies generation p_generation (not a removal):
-- cancels the newest started generation that had not ended (superseded), then records
-- deployment_started unless a run of this generation started it already (a retry after a
-- failure, or after a lease ran out, is no new rollout). Returns the deployment_started seq,
-- or null for a retry.
create or replace function shipslog.begin_rollout(p_deployment_id uuid, p_generation bigint, p_run_id uuid)
returns bigint
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  latest record;
begin
  select * into latest from shipslog.latest_rollout(p_deployment_id);
  if found and latest.action = 'deployment_started' and latest.generation = p_generation then
    return null;
  end if;
  if found and latest.action = 'deployment_started' and latest.generation < p_generation then
    perform shipslog.append_event(p_deployment_id, 'deployment_cancelled', jsonb_build_object(
      'generation', latest.generation, 'run_id', latest.run_id,
      'superseded_by_generation', p_generation, 'parent_seq', latest.seq));
    if shipslog.rollback_started_seq(p_deployment_id, latest.generation) is not null then
      perform shipslog.append_event(p_deployment_id, 'rollback_failed', jsonb_build_object(
        'generation', latest.generation, 'failure_reason', 'Superseded',
        'superseded_by_generation', p_generation, 'parent_seq', shipslog.rollback_started_seq(p_deployment_id, latest.generation)));
    end if;
  end if;
  if found and latest.generation >= p_generation then
    -- This generation ended already (completed, failed or cancelled): a re-run is no new rollout.
    return null;
  end if;
  return (shipslog.append_event(p_deployment_id, 'deployment_started', jsonb_build_object(
    'generation', p_generation, 'run_id', p_run_id))).seq;
end
$$;

-- In the result's transaction: a Completed run ends its generation's rollout
-- (deployment_completed, with the run's outcome); a Failed one only when it is terminal (the
-- generation will not be retried, e.g. it cannot be rendered): a failure that back-off retries
-- shows as the status change to failed and the Failed run, and the rollout goes on. Nothing
-- when the generation never started here (runs before this existed) or ended already.
create or replace function shipslog.finish_rollout(
  p_deployment_id uuid, p_generation bigint, p_run_id uuid, p_completed boolean, p_outcome text, p_failure_reason text, p_terminal boolean)
returns bigint
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  latest record;
  rollback_seq bigint;
  ended bigint;
begin
  select * into latest from shipslog.latest_rollout(p_deployment_id);
  if not found or latest.action <> 'deployment_started' or latest.generation <> p_generation then
    return null;
  end if;
  rollback_seq := shipslog.rollback_started_seq(p_deployment_id, p_generation);
  if p_completed then
    ended := (shipslog.append_event(p_deployment_id, 'deployment_completed', jsonb_build_object(
      'generation', p_generation, 'run_id', p_run_id, 'outcome', p_outcome, 'parent_seq', latest.seq))).seq;
    if rollback_seq is not null then
      perform shipslog.append_event(p_deployment_id, 'rollback_completed', jsonb_build_object(
        'generation', p_generation, 'run_id', p_run_id, 'parent_seq', rollback_seq, 'related_seqs', jsonb_build_array(ended)));
    end if;
  elsif p_terminal then
    ended := (shipslog.append_event(p_deployment_id, 'deployment_failed', jsonb_build_object(
      'generation', p_generation, 'run_id', p_run_id, 'failure_reason', coalesce(p_failure_reason, 'Failed'),
      'parent_seq', latest.seq))).seq;
    if rollback_seq is not null then
      perform shipslog.append_event(p_deployment_id, 'rollback_failed', jsonb_build_object(
        'generation', p_generation, 'run_id', p_run_id, 'failure_reason', coalesce(p_failure_reason, 'Failed'),
        'parent_seq', rollback_seq, 'related_seqs', jsonb_build_array(ended)));
    end if;
  end if;
  return ended;
end
$$;

revoke execute
  on function
    shipslog.rollback_started_seq(uuid, bigint),
    shipslog.generation_correlation_id(uuid),
    shipslog.latest_rollout(uuid),
    shipslog.begin_rollout(uuid, bigint, uuid),
    shipslog.finish_rollout(uuid, bigint, uuid, boolean, text, text, boolean)
  from public;

grant execute
  on function
    shipslog.rollback_started_seq(uuid, bigint),
    shipslog.generation_correlation_id(uuid),
    shipslog.latest_rollout(uuid)
  to shipslog_app, shipslog_reconciler, shipslog_auditor;

grant execute
  on function
    shipslog.begin_rollout(uuid, bigint, uuid),
    shipslog.finish_rollout(uuid, bigint, uuid, boolean, text, text, boolean)
  to shipslog_reconciler;
