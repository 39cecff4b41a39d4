-- What happened to a deployment? Every event of every incarnation of TENANT/NAME (a name
-- removed and created again keeps both histories), newest first: the action, one readable
-- line of what changed, who (actor, actor_type) and why (reason, correlation_id).
--
-- Variables:
--   deployment  required  TENANT/NAME, as `shipslog verify` prints it
--   limit       optional  the newest N events (default 1000)
--
--   psql -X -v ON_ERROR_STOP=1 -v deployment=acme/orders-db -f sql/reports/deployment-history.sql

\if :{?deployment}
\else
  -- psql cannot exit non-zero by itself: let the server refuse, with the usage as the hint.
  do $$
  begin
    raise exception 'deployment-history.sql needs the deployment'
      using errcode = '22023',
            hint = 'psql -v deployment=TENANT/NAME -f sql/reports/deployment-history.sql';
  end
  $$;
\endif
\if :{?limit}
\else
  \set limit 1000
\endif

select
  h.occurred_at,
  h.action,
  h.summary,
  h.actor,
  h.actor_type,
  h.reason,
  h.correlation_id,
  h.chain_index,
  h.deployment_id
from shipslog.history(split_part(:'deployment', '/', 1), split_part(:'deployment', '/', 2), :'limit'::int) as h
order by h.occurred_at desc, h.seq desc;
