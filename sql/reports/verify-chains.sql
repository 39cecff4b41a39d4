-- Is every audit chain intact? One row per deployment (removed ones included): its events,
-- its last event, and "intact" or the first problem shipslog.verify_chains() finds (a
-- missing, altered, swapped or forged event; a row changed, inserted or deleted while the
-- audit triggers were bypassed). Broken chains first. Signed checkpoints, which also catch a
-- chain rewritten consistently, are in checkpoints.sql.
--
-- Variables: none.
--
--   psql -X -v ON_ERROR_STOP=1 -f sql/reports/verify-chains.sql

with problems as (
  select *
  from shipslog.verify_chains()
),
chains as (
  select
    e.deployment_id,
    min(e.tenant) as tenant,
    min(e.name) as name,
    count(*) as events,
    max(e.chain_index) as last_chain_index,
    max(e.occurred_at) as last_event_at
  from shipslog.deployment_events as e
  group by e.deployment_id
)
select
  coalesce(c.tenant, p.tenant) as tenant,
  coalesce(c.name, p.name) as name,
  coalesce(c.deployment_id, p.deployment_id) as deployment_id,
  coalesce(c.events, 0) as events,
  c.last_chain_index,
  c.last_event_at,
  case when p.problem is null then 'intact' else 'BROKEN' end as status,
  p.chain_index as broken_at,
  p.problem
from chains as c
full join problems as p
  on p.deployment_id = c.deployment_id
order by p.problem is null, tenant, name, deployment_id;
