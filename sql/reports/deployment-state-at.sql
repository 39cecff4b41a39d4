-- What did a deployment look like at a given moment? Its audited state then (every column but
-- version, generation and the timestamps: desired and observed, no secret values), rebuilt by
-- replaying its audit chain up to the last event at or before the moment
-- (shipslog.state_at). One row per top-level field, in field order, each with the event the
-- replay stopped at. When the moment is after the chain's last event, matches_current says
-- whether the rebuilt state equals the live row and its chain head (false: the row was
-- changed behind the audit trigger; `shipslog verify` names it); otherwise it is empty. A
-- removed deployment is one row with no field.
--
-- Variables:
--   deployment  required  TENANT/NAME (the incarnation alive at that moment, when the name was
--                         removed and created again) or a deployment id
--   at          optional  any timestamptz text (default: now)                -v at='2026-11-20 14:00Z'
--
--   psql -X -v ON_ERROR_STOP=1 -v deployment=acme/orders-db -v at='2026-11-20 14:00Z' -f sql/reports/deployment-state-at.sql

\if :{?deployment}
\else
  -- psql cannot exit non-zero by itself: let the server refuse, with the usage as the hint.
  do $$
  begin
    raise exception 'deployment-state-at.sql needs the deployment'
      using errcode = '22023',
            hint = 'psql -v deployment=TENANT/NAME -v at=TIMESTAMP -f sql/reports/deployment-state-at.sql';
  end
  $$;
\endif
\if :{?at}
\else
  \set at ''
\endif

with moment as (
  select coalesce(nullif(:'at', '')::timestamptz, clock_timestamp()) as at
),
target as (
  -- An id as given. A name: its newest incarnation created by then, else its first (state_at
  -- then says when that was created); nothing of that name: the all-zero id, which state_at
  -- refuses as having no audit history.
  select coalesce(
      case when :'deployment' ~* '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$' then :'deployment'::text::uuid end,
      (select c.deployment_id
       from shipslog.deployment_events as c
       where c.tenant = split_part(:'deployment', '/', 1)
         and c.name = split_part(:'deployment', '/', 2)
         and c.action = 'created'
       order by c.occurred_at <= m.at desc,
                case when c.occurred_at <= m.at then c.occurred_at end desc,
                c.occurred_at
       limit 1),
      '00000000-0000-0000-0000-000000000000') as id,
    m.at
  from moment as m
)
select
  s.tenant,
  s.name,
  s.chain_index,
  s.occurred_at,
  s.action,
  s.head_chain_index,
  s.matches_current,
  f.key as field,
  f.value,
  s.deployment_id
from target as t
cross join lateral shipslog.state_at(t.id, t.at) as s
left join lateral jsonb_each(s.state) as f
  on true
order by f.key;
