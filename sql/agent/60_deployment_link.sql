-- The link from deployment changes to the agent messages behind them: a change made with
-- X-Correlation-Id: <message_id> carries the id in deployment_events.correlation_id
-- (indexed by deployment_events_correlation_id_idx). Same tenant only, so one tenant's id
-- can never claim another tenant's change.

-- security_invoker: row-level security on both tables applies to whoever reads the view.
create or replace view shipslog.agent_message_deployment_changes
with (security_invoker = true)
as
select
  e.seq,
  e.deployment_id,
  e.tenant,
  e.name,
  e.chain_index,
  e.action,
  e.occurred_at,
  e.actor,
  m.message_id,
  m.project_id,
  m.model,
  m.prompt_tokens,
  m.completion_tokens,
  m.total_tokens,
  m.prompt_cost,
  m.completion_cost,
  m.total_cost,
  m.finalised_at
from shipslog.deployment_events as e
join shipslog.agent_messages as m
  on m.message_id = e.correlation_id
  and m.tenant = e.tenant;

comment on view shipslog.agent_message_deployment_changes is
  'Each deployment change and the agent message (model, tokens, cost) whose id it carried as correlation_id.';

-- psql: select * from shipslog.deployment_agent_cost('<deployment id>');
-- What the agent spent on one deployment: each message counted once, however many changes
-- it made to the deployment.
create or replace function shipslog.deployment_agent_cost(p_deployment_id uuid)
returns table (message_count bigint, total_tokens bigint, total_cost numeric)
language sql
stable
set search_path = ''
as $$
  select
    count(*),
    coalesce(sum(m.total_tokens), 0)::bigint,
    coalesce(sum(m.total_cost), 0)
  from shipslog.agent_messages as m
  where (m.tenant, m.message_id) in (
    select e.tenant, e.correlation_id
    from shipslog.deployment_events as e
    where e.deployment_id = p_deployment_id
      and e.correlation_id is not null
  )
$$;
