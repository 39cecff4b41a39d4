-- What did the agent's model calls behind each deployment's changes cost? One row per
-- deployment (removed ones included) that has a change whose correlation_id names an agent
-- message of its tenant: the messages, their tokens and cost, each message counted once
-- however many changes it made (shipslog.deployment_agent_cost); costliest first. Costs
-- are exact decimals as the agent reported them; a message not yet finalised counts with
-- no tokens and no cost.
--
-- Variables (all optional):
--   tenant  only this tenant (default: every tenant)  -v tenant=acme
--
--   psql -X -v ON_ERROR_STOP=1 -f sql/reports/agent-cost-by-deployment.sql

\if :{?tenant}
\else
  \set tenant ''
\endif

select
  d.tenant,
  d.name,
  c.message_count,
  c.total_tokens,
  c.total_cost,
  d.last_change_at,
  d.deployment_id
from (
    select
      l.deployment_id,
      min(l.tenant) as tenant,
      min(l.name) as name,
      max(l.occurred_at) as last_change_at
    from shipslog.agent_message_deployment_changes as l
    where :'tenant' = ''
      or l.tenant = :'tenant'
    group by l.deployment_id
  ) as d
cross join lateral shipslog.deployment_agent_cost(d.deployment_id) as c
order by c.total_cost desc, d.tenant, d.name;
