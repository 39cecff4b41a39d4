-- Up Migration

-- Idempotency-Key: the first answer to a POST, kept per API key. The row is inserted at the
-- start of the request's own transaction, so a concurrent retry with the same key waits on
-- the unique index until the first commits (then replays its answer) or aborts (then runs).
create table shipslog.idempotency_keys (
  api_key_id uuid not null,
  idempotency_key text not null
    constraint idempotency_keys_key_check check (length(idempotency_key) between 1 and 200),
  tenant text not null,
  -- SHA-256 of method, path and body: the same key with another request is refused.
  request_hash bytea not null,
  status integer,
  response jsonb,
  location text,
  created_at timestamptz not null default now(),
  constraint idempotency_keys_pkey primary key (api_key_id, idempotency_key)
);

create index idempotency_keys_created_at_idx
  on shipslog.idempotency_keys (created_at);

alter table shipslog.idempotency_keys enable row level security;

create policy idempotency_keys_app_tenant
  on shipslog.idempotency_keys
  for all
  to shipslog_app
  using (shipslog.tenant_visible(tenant))
  with check (shipslog.tenant_visible(tenant));

grant select, insert, update
  on shipslog.idempotency_keys
  to shipslog_app;

-- RFC 7396 JSON merge patch: null removes a key, objects merge recursively, anything else
-- replaces. In SQL so psql users and the API change config the same way.
create function shipslog.jsonb_merge_patch(target jsonb, patch jsonb)
returns jsonb
language sql
immutable
parallel safe
set search_path = ''
as $$
  select case
    when jsonb_typeof(patch) is distinct from 'object' then patch
    else (
      select coalesce(jsonb_object_agg(k, v), '{}'::jsonb)
      from (
        select
          coalesce(p.key, t.key) as k,
          case
            when p.key is null then t.value
            else shipslog.jsonb_merge_patch(t.value, p.value)
          end as v
        from jsonb_each(case when jsonb_typeof(target) = 'object' then target else '{}'::jsonb end) as t
        full join jsonb_each(patch) as p
          on p.key = t.key
        where p.value is distinct from 'null'::jsonb
      ) as merged
    )
  end
$$;

-- The environment a deployment was in when an event happened: the newest event at or before
-- it that recorded one (created records the whole state, so there always is one).
create function shipslog.event_environment(p_deployment_id uuid, p_chain_index integer)
returns text
language sql
stable
parallel safe
set search_path = ''
as $$
  select e.new_state ->> 'environment'
  from shipslog.deployment_events as e
  where e.deployment_id = p_deployment_id
    and e.chain_index <= p_chain_index
    and e.new_state ? 'environment'
  order by e.chain_index desc
  limit 1
$$;

-- The feed tails by (txid, seq): every transaction below the snapshot's xmin has finished, so
-- nothing can later appear behind the cursor.
create index deployment_events_txid_seq_idx
  on shipslog.deployment_events (txid, seq);

grant execute
  on function
    shipslog.jsonb_merge_patch(jsonb, jsonb),
    shipslog.event_environment(uuid, integer)
  to shipslog_app, shipslog_reconciler, shipslog_auditor;

-- Down Migration
drop index shipslog.deployment_events_txid_seq_idx;
drop function shipslog.event_environment(uuid, integer);
drop function shipslog.jsonb_merge_patch(jsonb, jsonb);
drop table shipslog.idempotency_keys;
