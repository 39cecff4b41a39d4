-- What differs between two events of a deployment? One row per changed path (config.* paths
-- dotted) between the state after event #from and the state after event #to, both rebuilt by
-- replaying its audit chain (shipslog.state_diff): what the events between them composed to,
-- so a value changed and changed back is not listed. from above to: the way back. The
-- chain_index of each event is in deployment-history.sql's output.
--
-- Variables:
--   deployment  required  TENANT/NAME (its newest incarnation) or a deployment id
--   from        required  chain_index of the first event                      -v from=2
--   to          optional  chain_index of the second (default: the last event)  -v to=7
--
--   psql -X -v ON_ERROR_STOP=1 -v deployment=acme/orders-db -v from=2 -f sql/reports/deployment-diff.sql

\if :{?deployment}
  \if :{?from}
  \else
    \set usage_error true
  \endif
\else
  \set usage_error true
\endif
\if :{?usage_error}
  -- psql cannot exit non-zero by itself: let the server refuse, with the usage as the hint.
  do $$
  begin
    raise exception 'deployment-diff.sql needs the deployment and from'
      using errcode = '22023',
            hint = 'psql -v deployment=TENANT/NAME -v from=CHAIN_INDEX [-v to=CHAIN_INDEX] -f sql/reports/deployment-diff.sql';
  end
  $$;
\endif
\if :{?to}
\else
  \set to ''
\endif

select
  d.path,
  d.from_value,
  d.to_value,
  d.description
from (
    select
      coalesce(
        case when :'deployment' ~* '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$' then :'deployment'::text::uuid end,
        (select c.deployment_id
         from shipslog.deployment_events as c
         where c.tenant = split_part(:'deployment', '/', 1)
           and c.name = split_part(:'deployment', '/', 2)
           and c.action = 'created'
         order by c.occurred_at desc
         limit 1),
        '00000000-0000-0000-0000-000000000000') as id
  ) as t
cross join lateral shipslog.state_diff(t.id, nullif(:'from', '')::integer, nullif(:'to', '')::integer) as d
order by d.path;
