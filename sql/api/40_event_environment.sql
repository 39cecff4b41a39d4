-- The environment a deployment was in when an event happened: the newest event at or before
-- it that recorded one (created records the whole state, so there always is one).
create or replace function shipslog.event_environment(p_deployment_id uuid, p_chain_index integer)
returns text
language sql
stable
parallel safe
set search_path = ''
as $$
  select e.new_state ->> 'environment'
  from shipslog.deployment_events as e
  where e.deployment_id = p_deployment_id
    and e.chain_index <= p_chain_index
    and e.new_state ? 'environment'
  order by e.chain_index desc
  limit 1
$$;

grant execute
  on function shipslog.event_environment(uuid, integer)
  to shipslog_app, shipslog_reconciler, shipslog_auditor;
