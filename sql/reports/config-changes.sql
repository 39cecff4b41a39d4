-- Every change of a configuration path, with its old and new value: which deployment, when,
-- by whom and why; per tenant and name, in the order they happened (incarnations of a
-- name one after the other). A path names a leaf (config.storage) or a subtree (config:
-- every key under it); any audited path works (app_version, health).
-- A created event shows the value it started with (from is empty), a removed event the
-- value it ended with (to is empty). Values are JSON text where they are not strings.
--
-- Variables (all optional):
--   path        dot-separated path in the audited state (default: config)  -v path=config.storage
--   deployment  only TENANT/NAME, every incarnation (default: all)         -v deployment=acme/orders-db
--
--   psql -X -v ON_ERROR_STOP=1 -v path=config.storage -f sql/reports/config-changes.sql

\if :{?path}
\else
  \set path config
\endif
\if :{?deployment}
\else
  \set deployment ''
\endif

select
  e.occurred_at,
  e.tenant,
  e.name,
  e.action,
  c.path,
  c.from_value,
  c.to_value,
  e.actor,
  e.actor_type,
  e.reason,
  e.chain_index,
  e.deployment_id
from shipslog.deployment_events as e
cross join lateral (
    select x ->> 'path' as path, x ->> 'from' as from_value, x ->> 'to' as to_value
    from jsonb_array_elements(shipslog.event_changes(e.previous_state, e.new_state)) as x
    where x ->> 'path' = :'path'
      or starts_with(x ->> 'path', :'path' || '.')
    union all
    -- created and removed events keep the whole state and no changes: the value itself.
    select :'path', e.previous_state #>> string_to_array(:'path', '.'), e.new_state #>> string_to_array(:'path', '.')
    where (e.previous_state is null or e.new_state is null)
      and coalesce(e.previous_state, e.new_state) #> string_to_array(:'path', '.') is not null
  ) as c
where :'deployment' = ''
  or (e.tenant = split_part(:'deployment', '/', 1) and e.name = split_part(:'deployment', '/', 2))
order by e.tenant, e.name, e.seq, c.path;
