-- Who made how many changes between two moments? One row per actor (and actor_type): how
-- many events, to how many deployments, which actions, through which database logins, the
-- first and the last; most active first. The detail is in changes-in-window.sql.
--
-- Variables (all optional):
--   from    start, inclusive, any timestamptz text (default: 24 hours ago)  -v from=2025-06-01
--   to      end, exclusive (default: no end)                                -v to=2025-06-08
--   tenant  only this tenant (default: every tenant)                        -v tenant=acme
--
--   psql -X -v ON_ERROR_STOP=1 -v from=2025-06-01 -v to=2025-06-08 -f sql/reports/changes-by-actor.sql

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
  e.actor,
  e.actor_type,
  count(*) as changes,
  count(distinct e.deployment_id) as deployments,
  string_agg(distinct e.action, ' ' order by e.action) as actions,
  string_agg(distinct e.db_user, ' ' order by e.db_user) as db_users,
  min(e.occurred_at) as first_at,
  max(e.occurred_at) as last_at
from shipslog.deployment_events as e
where e.occurred_at >= coalesce(nullif(:'from', '')::timestamptz, now() - interval '24 hours')
  and e.occurred_at < coalesce(nullif(:'to', '')::timestamptz, 'infinity')
  and (:'tenant' = '' or e.tenant = :'tenant')
group by e.actor, e.actor_type
order by changes desc, e.actor, e.actor_type;
