-- Up Migration

-- shipslog.deployment_events partitioned by month of occurred_at (issue 12, item 1). Events
-- accumulate forever (one per change); retention (sql/audit/80_retention.sql) removes old
-- chain prefixes, and monthly partitions keep each month's rows and indexes together, so
-- old months stay cold and can be archived or detached whole.
--
-- The table is rebuilt rather than converted in place (PostgreSQL cannot partition an
-- existing table): every row is copied with its seq, the identity sequence keeps counting
-- where it was, and the old table is dropped. Its dependants in sql/ (the functions taking
-- the row type, event_payload()'s SQL body, the views, RLS policies, triggers and grants) go
-- with it and are re-created by `shipslog migrate` right after the migrations, in the same
-- transaction.
--
-- Keys. A unique index of a partitioned table must contain the partition key:
-- - the primary key becomes (seq, occurred_at). seq alone stays unique by construction: it
--   is an identity GENERATED ALWAYS, written only by the audit trigger from its sequence;
-- - the chain key (deployment_id, chain_index) is a unique index on each partition, made by
--   shipslog.guard_deployment_event_partition() (sql/audit/80_retention.sql) for every
--   partition present and future: so a duplicate link within a month is refused by the
--   database. Across months it is guaranteed by how chain_index is made: the audit trigger
--   takes chain_length + 1 under the deployment's row lock (the mechanism; the index was
--   always the second guard), and shipslog.verify_chains() names any duplicate index. A
--   parent-level unique (deployment_id, chain_index, occurred_at) would have cost an index
--   on every write and guaranteed nothing, since occurred_at differs between any two events.
-- Partitions are named deployment_events_yYYYYmMM, UTC months. A default partition takes what
-- no monthly partition covers (a clock far off, a missed ensure call); in normal operation
-- it stays empty (`migrate` and `serve`'s daily job create partitions 3 months ahead).
alter table shipslog.deployment_events
  rename to deployment_events_unpartitioned;

alter sequence shipslog.deployment_events_seq
  rename to deployment_events_unpartitioned_seq;

alter table shipslog.deployment_events_unpartitioned
  rename constraint deployment_events_pkey to deployment_events_unpartitioned_pkey;

create table shipslog.deployment_events (
  seq bigint generated always as identity (sequence name shipslog.deployment_events_seq),
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
  -- row; shipslog.event_changes() derives the readable list from these two.
  previous_state jsonb,
  new_state jsonb,
  -- SHA-256(previous event's hash || exact UTF-8 bytes of shipslog.event_payload(event)).
  hash bytea not null,
  constraint deployment_events_pkey primary key (seq, occurred_at)
  -- No CHECK constraints (0001_baseline.sql says why): rows come only from the audit trigger.
) partition by range (occurred_at);

comment on table shipslog.deployment_events is
  'Append-only, hash-chained audit trail of shipslog.deployments, partitioned by month of occurred_at. Written only by its trigger; old chain prefixes leave only through shipslog.purge_audit_events().';

create table shipslog.deployment_events_default
  partition of shipslog.deployment_events
  default;

-- The months the existing rows fall in, and this month and the next three.
do $$
declare
  month_start date;
  first_month date;
  last_month date := (date_trunc('month', now() at time zone 'UTC') + interval '3 months')::date;
begin
  select coalesce(min(date_trunc('month', occurred_at at time zone 'UTC'))::date, last_month - interval '3 months')
  into first_month
  from shipslog.deployment_events_unpartitioned;
  month_start := first_month;
  while month_start <= last_month loop
    execute format(
      'create table shipslog.%I partition of shipslog.deployment_events for values from (%L) to (%L)',
      format('deployment_events_y%sm%s', to_char(month_start, 'YYYY'), to_char(month_start, 'MM')),
      month_start::timestamp at time zone 'UTC',
      (month_start + interval '1 month')::timestamp at time zone 'UTC');
    month_start := (month_start + interval '1 month')::date;
  end loop;
end
$$;

insert into shipslog.deployment_events
overriding system value
select *
from shipslog.deployment_events_unpartitioned
order by seq;

-- The sequence goes on from where the old one was.
select setval('shipslog.deployment_events_seq', s.last_value, s.is_called)
from shipslog.deployment_events_unpartitioned_seq as s;

drop table shipslog.deployment_events_unpartitioned cascade;

-- The reads' indexes, as before (each serves a read: docs/audit.md), now on every partition.
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

-- The feed tails by (txid, seq).
create index deployment_events_txid_seq_idx
  on shipslog.deployment_events (txid, seq);

-- Deployment changes made for an agent message (X-Correlation-Id).
create index deployment_events_correlation_id_idx
  on shipslog.deployment_events (correlation_id)
  where correlation_id is not null;

-- Retention (sql/audit/80_retention.sql). Events leave the trail only through
-- shipslog.purge_audit_events(), which is owned by this role, and the delete guard on the
-- events recognises it by current_user, which only that SECURITY DEFINER function can make
-- it be (as shipslog_agent_retention does for agent messages). No login is a member of it.
do $$
begin
  if not exists (select from pg_catalog.pg_roles where rolname = 'shipslog_audit_retention') then
    create role shipslog_audit_retention nologin;
  end if;
end
$$;

-- How long each event category is kept (shipslog.event_category()); keep_for null: forever.
-- Defaults from the audit specification (seed 002, "Audit Trail Retention"). Changed with
-- plain SQL by the schema's owner; every change is recorded in audit_retention_changes by a
-- trigger (sql/audit/80_retention.sql).
create table shipslog.audit_retention (
  category text primary key
    constraint audit_retention_category_check check (category in (
      'deployment_lifecycle', 'configuration', 'state_change', 'approval_workflow',
      'compliance_gate', 'rollback', 'security', 'system')),
  keep_for interval
    constraint audit_retention_keep_for_check check (keep_for >= interval '1 day'),
  updated_at timestamptz not null default now()
);

comment on table shipslog.audit_retention is
  'Minimum time an audit event of each category is kept (null: forever). Every change is recorded in shipslog.audit_retention_changes.';

insert into shipslog.audit_retention (category, keep_for)
values
  ('deployment_lifecycle', interval '7 years'),
  ('configuration', interval '7 years'),
  ('rollback', interval '7 years'),
  ('compliance_gate', interval '7 years'),
  ('approval_workflow', null),
  ('security', null),
  ('state_change', interval '1 year'),
  ('system', interval '90 days');

create table shipslog.audit_retention_changes (
  id bigint generated always as identity primary key,
  changed_at timestamptz not null default clock_timestamp(),
  category text not null,
  operation text not null,
  previous_keep_for interval,
  new_keep_for interval,
  db_role text not null,
  db_user text not null,
  actor text,
  reason text
);

comment on table shipslog.audit_retention_changes is
  'Every insert, update and delete of shipslog.audit_retention, written by its trigger. Append-only.';

-- A chain's signed anchor: where its retained part starts. Each purge removes a whole prefix
-- of a chain (events 1..chain_index) and leaves behind, signed with the checkpoint key
-- outside the database, the last purged event's index and hash and the audited state the
-- purged events add up to, so verification starts the chain there. One row per purge per
-- chain; the newest one of a chain is its start.
create table shipslog.audit_chain_anchors (
  id bigint generated always as identity primary key,
  created_at timestamptz not null default clock_timestamp(),
  deployment_id uuid not null,
  -- The last purged event: its chain_index and hash.
  chain_index integer not null
    constraint audit_chain_anchors_chain_index_check check (chain_index >= 1),
  hash bytea not null
    constraint audit_chain_anchors_hash_check check (length(hash) = 32),
  -- The audited state after the last purged event (replay of the purged prefix; null when the
  -- prefix ends with removed), which replay of the retained events starts from.
  state jsonb,
  -- Whether the last purged event was `removed`: the chain is then whole and gone.
  removed boolean not null,
  -- The moment retention was judged at (the purge's p_at), signed: checkpoints taken before it
  -- may cover purged events, so their digests are no longer recomputed (signatures still are).
  judged_at timestamptz not null,
  -- SHA-256 of the signing public key (DER), hex; Ed25519 over shipslog.anchor_message(...).
  key_id text not null,
  signature bytea not null,
  -- The purge that removed the prefix (shipslog.audit_purges.id).
  purge_id bigint not null,
  constraint audit_chain_anchors_cut_key unique (deployment_id, chain_index)
);

comment on table shipslog.audit_chain_anchors is
  'Signed start of each purged audit chain: deployment, index and hash of the last purged event, and the state it leaves. Append-only; written by shipslog.record_chain_anchor().';

-- One row per purge run. Its events_purged event is appended to shipslog's own system chain
-- (deployment_id 00000000-0000-0000-0000-000000000000, which no deployment can have: the row
-- holds that chain's head, as a deployment row holds its chain's head).
create table shipslog.audit_purges (
  id bigint generated always as identity primary key,
  purged_at timestamptz not null default clock_timestamp(),
  chain_count integer not null,
  event_count bigint not null,
  -- The retention periods applied, by category ({"system": "90 days", "security": null, ...}).
  retention jsonb not null,
  -- The events_purged event that records this purge: its chain_index and hash.
  event_chain_index integer not null,
  event_hash bytea not null,
  db_user text not null default session_user,
  actor text
);

comment on table shipslog.audit_purges is
  'Every purge of audit events: how many chains and events, under which retention. Append-only; written by shipslog.purge_audit_events().';

-- The system chain's id (shipslog.system_chain_id()) is never a deployment's.
alter table shipslog.deployments
  add constraint deployments_id_check check (id <> '00000000-0000-0000-0000-000000000000');

-- Down Migration
-- Not reversible: partitions would have to be merged back and purged events cannot return.
