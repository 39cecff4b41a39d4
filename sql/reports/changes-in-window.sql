-- Who changed what between two moments? Every deployment event in [from, to), newest first,
-- with one readable line of what changed, who made it and how it reached the database (the
-- role and login, application_name). Narrow it to one actor, tenant or action.
--
-- Variables (all optional):
--   from    start, inclusive, any timestamptz text (default: 24 hours ago)  -v from=2025-06-01
--   to      end, exclusive (default: no end)                                -v to='2025-06-02 12:00+00'
--   actor   only this actor (default: everyone)                             -v actor=alice@example.com
--   tenant  only this tenant (default: every tenant)                        -v tenant=acme
--   action  only this action, e.g. removed, rolled_back (default: every)    -v action=removed
--
--   psql -X -v ON_ERROR_STOP=1 -v from=2025-06-01 -v to=2025-06-08 -f sql/reports/changes-in-window.sql

\if :{?from}
\else
  \set from ''
\endif
\if :{?to}
\else
  \set to ''
\endif
\if :{?actor}
\else
  \set actor ''
\endif
\if :{?tenant}
\else
  \set tenant ''
\endif
\if :{?action}
\else
  \set action ''
\endif

select
  e.occurred_at,
  e.tenant,
  e.name,
  e.action,
  shipslog.describe_event(e.action, shipslog.event_changes(e.previous_state, e.new_state), e.previous_state, e.new_state) as summary,
  e.actor,
  e.actor_type,
  e.reason,
  e.db_role,
  e.db_user,
  e.application_name,
  e.chain_index,
  e.deployment_id
from shipslog.deployment_events as e
where e.occurred_at >= coalesce(nullif(:'from', '')::timestamptz, now() - interval '24 hours')
  and e.occurred_at < coalesce(nullif(:'to', '')::timestamptz, 'infinity')
  and (:'actor' = '' or e.actor = :'actor')
  and (:'tenant' = '' or e.tenant = :'tenant')
  and (:'action' = '' or e.action = :'action')
order by e.occurred_at desc, e.seq desc;
