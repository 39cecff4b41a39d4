-- Which changes were made outside the API and the reconciler? Events written with no actor
-- context (psql, scripts, a bulk UPDATE): actor_type is 'database' and the actor is the
-- database login. Shows the login, its effective role, application_name and the client
-- address, with one readable line of what changed; newest first.
--
-- Variables (all optional):
--   from    start, inclusive, any timestamptz text (default: the beginning)  -v from=2025-06-01
--   to      end, exclusive (default: no end)                                 -v to=2025-06-08
--   tenant  only this tenant (default: every tenant)                         -v tenant=acme
--
--   psql -X -v ON_ERROR_STOP=1 -f sql/reports/changes-outside-api.sql

\if :{?from}
\else
  \set from ''
\endif
\if :{?to}
\else
  \set to ''
\endif
\if :{?tenant}
\else
  \set tenant ''
\endif

select
  e.occurred_at,
  e.tenant,
  e.name,
  e.action,
  shipslog.describe_event(e.action, shipslog.event_changes(e.previous_state, e.new_state), e.previous_state, e.new_state) as summary,
  e.db_user,
  e.db_role,
  e.application_name,
  e.client_addr,
  e.reason,
  e.chain_index,
  e.deployment_id
from shipslog.deployment_events as e
where e.actor_type = 'database'
  and e.occurred_at >= coalesce(nullif(:'from', '')::timestamptz, '-infinity')
  and e.occurred_at < coalesce(nullif(:'to', '')::timestamptz, 'infinity')
  and (:'tenant' = '' or e.tenant = :'tenant')
order by e.occurred_at desc, e.seq desc;
