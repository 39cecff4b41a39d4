-- Up Migration

-- The audit trail. Rows are written only by shipslog.tg_deployments__audit and never change.
-- No foreign key to deployments: history outlives the deployment.
-- Ready for monthly partitioning by occurred_at: nothing references seq, and the chain's
-- order comes from chain_index, which the audit trigger derives under the deployment's row
-- lock (the unique index is a second guard, not the mechanism).
create table shipslog.deployment_events (
  seq bigint generated always as identity (sequence name shipslog.deployment_events_seq) primary key,
  deployment_id uuid not null,
  chain_index integer not null,
  tenant text not null,
  name text not null,
  action text not null,
  occurred_at timestamptz not null,
  -- pg_current_xact_id(): lets a tail by seq wait for transactions that commit late.
  txid xid8 not null,
  actor text not null,
  actor_type text not null,
  reason text,
  correlation_id text,
  request_id text,
  source_ip inet,
  user_agent text,
  -- Who the database saw: the effective role, the login, the client program and address.
  db_role text not null,
  db_user text not null,
  application_name text,
  client_addr inet,
  -- Changed paths only (the whole audited state on created and removed), nested as in the
  -- row: {"config": {"storage": "8Gi"}} -> {"config": {"storage": "16Gi"}}. The readable
  -- list [{path, from, to}] is derived from these two by shipslog.event_changes() rather
  -- than stored a second time (it would repeat every value: ~100 bytes per event).
  previous_state jsonb,
  new_state jsonb,
  -- SHA-256(previous event's hash || exact UTF-8 bytes of shipslog.event_payload(event)).
  hash bytea not null,
  constraint deployment_events_chain_key unique (deployment_id, chain_index)
  -- No CHECK constraints: PostgreSQL parses and prepares every CHECK expression afresh for
  -- each statement (cost grows with the expression: ~0.28 M instructions per event for the
  -- value checks this table had, measured with callgrind), and every event is its own INSERT.
  -- Rows come only from the audit trigger, which computes chain_index and action itself
  -- and checks every caller-supplied setting before it inserts (naming the setting).
);

comment on table shipslog.deployment_events is
  'Append-only, hash-chained audit trail of shipslog.deployments. Written only by its trigger.';

create index deployment_events_occurred_at_idx
  on shipslog.deployment_events (occurred_at);

create index deployment_events_actor_idx
  on shipslog.deployment_events (actor, occurred_at);

create index deployment_events_action_idx
  on shipslog.deployment_events (action, occurred_at);

-- history(tenant, name) finds every incarnation of a name, including removed ones.
create index deployment_events_created_name_idx
  on shipslog.deployment_events (tenant, name)
  where action = 'created';

-- The exact payload that is hashed and exported. jsonb's text form is deterministic (keys
-- sorted, fixed spacing), so an outside verifier needs only SHA-256 over these bytes.
-- plpgsql rather than SQL: a non-inlinable SQL function (whole-row argument) re-plans on
-- every call; this one runs on every audited write (~25 us here against ~45 us as SQL).
create function shipslog.event_payload(e shipslog.deployment_events)
returns jsonb
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
begin
  return jsonb_build_object(
    'seq', e.seq,
    'deployment_id', e.deployment_id,
    'chain_index', e.chain_index,
    'tenant', e.tenant,
    'name', e.name,
    'action', e.action,
    'occurred_at', shipslog.iso_utc(e.occurred_at),
    'txid', e.txid::text,
    'actor', e.actor,
    'actor_type', e.actor_type,
    'reason', e.reason,
    'correlation_id', e.correlation_id,
    'request_id', e.request_id,
    'source_ip', e.source_ip::text,
    'user_agent', e.user_agent,
    'db_role', e.db_role,
    'db_user', e.db_user,
    'application_name', e.application_name,
    'client_addr', e.client_addr::text,
    'previous_state', e.previous_state,
    'new_state', e.new_state
  );
end
$$;

create function shipslog.event_hash(prev_hash bytea, e shipslog.deployment_events)
returns bytea
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
begin
  return sha256(coalesce(prev_hash, ''::bytea) || convert_to(shipslog.event_payload(e)::text, 'UTF8'));
end
$$;

-- Append-only for every role, the owner included: grants keep other roles out, these
-- triggers stop the owner (and a superuser, unless triggers are bypassed, which
-- shipslog.verify_chains() then detects).
create function shipslog.tg_deployment_events__append_only()
returns trigger
language plpgsql
volatile
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    raise exception 'shipslog.deployment_events is written only by the audit trigger on shipslog.deployments'
      using errcode = 'SL002',
            hint = 'Change the deployment instead; its trigger records the event.';
  end if;
  raise exception 'shipslog.deployment_events is append-only: % refused', tg_op
    using errcode = 'SL001',
          hint = 'Audit history cannot be changed or removed; record a correcting change on the deployment instead.';
end
$$;

create trigger deployment_events_append_only
  before update or delete
  on shipslog.deployment_events
  for each row
  execute function shipslog.tg_deployment_events__append_only();

create trigger deployment_events_no_truncate
  before truncate
  on shipslog.deployment_events
  for each statement
  execute function shipslog.tg_deployment_events__append_only();

-- WHEN is evaluated before this trigger counts itself: depth 0 is an INSERT typed by a
-- client, depth 1 the audit trigger's own insert. The WHEN clause keeps the legitimate
-- path from calling a function at all.
create trigger deployment_events_no_forged_insert
  before insert
  on shipslog.deployment_events
  for each row
  when (pg_trigger_depth() = 0)
  execute function shipslog.tg_deployment_events__append_only();

-- Down Migration
drop table shipslog.deployment_events;
drop function shipslog.tg_deployment_events__append_only();
drop function shipslog.event_hash(bytea, shipslog.deployment_events);
drop function shipslog.event_payload(shipslog.deployment_events);
