-- Up Migration

-- The schema of shipslog 0.1.0, squashed from its 30 migrations: roles, the schema, tables,
-- sequences, indexes and table comments, plus the few functions that table definitions
-- themselves call. Every function, trigger, view, policy and grant is defined in sql/ and
-- applied by `shipslog migrate` after the migrations. A database migrated by 0.1.0 records
-- this migration in place of those 30 (src/db/released-history.ts).

-- ===================================================================
-- audit
-- ===================================================================

-- audit: schema, group roles, the tables of the audit trail and the functions their
-- definitions need. Current function bodies, triggers and grants live in sql/common/ and
-- sql/audit/, re-applied by `shipslog migrate`.

-- Group roles are cluster-wide, so another database on the same server may have made them
-- already; create each only when missing.
do $$
declare
  role_name text;
begin
  foreach role_name in array array['shipslog_app', 'shipslog_reconciler', 'shipslog_auditor']
  loop
    if not exists (select from pg_catalog.pg_roles where rolname = role_name) then
      execute format('create role %I nologin', role_name);
    end if;
  end loop;
end
$$;

create schema shipslog;

revoke all
  on schema shipslog
  from public;

-- Functions that the tables' CHECK constraints and column defaults call (is_dns_label and
-- is_resource_list here; context_setting as a column default of shipslog.agent_messages).
-- Their current definitions, comments and grants are in sql/common/20_helpers.sql.

-- Kubernetes object names used for deployments, tenants and secrets: RFC 1123 DNS labels.
create function shipslog.is_dns_label(value text)
returns boolean
language sql
immutable
parallel safe
return value ~ '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';

-- managed_resources: a JSON array of {kind, name, namespace} objects (apiVersion optional,
-- namespace null for cluster-scoped objects). plpgsql, not SQL: a CHECK runs on every
-- update, and a SQL function with subqueries cannot be inlined, so it was planned afresh
-- on each call (~250 us measured here); plpgsql caches its plans.
create function shipslog.is_resource_list(resources jsonb)
returns boolean
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
declare
  item jsonb;
begin
  if jsonb_typeof(resources) <> 'array' then
    return false;
  end if;
  for item in
    select value
    from jsonb_array_elements(resources)
  loop
    if jsonb_typeof(item) <> 'object'
      or not item ?& array['kind', 'name', 'namespace']
      or (item - array['kind', 'name', 'namespace', 'apiVersion']) <> '{}'::jsonb
      or jsonb_typeof(item -> 'kind') <> 'string'
      or jsonb_typeof(item -> 'name') <> 'string'
      or jsonb_typeof(item -> 'namespace') not in ('string', 'null')
      or coalesce(jsonb_typeof(item -> 'apiVersion'), 'string') <> 'string' then
      return false;
    end if;
  end loop;
  return true;
end
$$;

-- Reads one actor-context setting; unset and empty mean the same.
create function shipslog.context_setting(setting_name text)
returns text
language sql
stable
parallel safe
return nullif(current_setting(setting_name, true), '');

-- One row per app: its desired state (what a person asked for) and its observed state (what
-- the reconciler saw). Secrets never live here: only the Kubernetes Secret's name and a keyed
-- fingerprint of the values, so history can say "secrets rotated" without knowing them.
create table shipslog.deployments (
  id uuid primary key default gen_random_uuid(),
  tenant text not null
    constraint deployments_tenant_check check (shipslog.is_dns_label(tenant)),
  name text not null
    constraint deployments_name_check check (shipslog.is_dns_label(name) and length(name) <= 53),
  environment text not null default 'production'
    constraint deployments_environment_check check (shipslog.is_dns_label(environment)),
  recipe text not null
    constraint deployments_recipe_check check (recipe ~ '^[a-z][a-z0-9-]{0,39}$'),
  app_version text not null
    constraint deployments_app_version_check check (app_version ~ '^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$'),
  config jsonb not null default '{}'
    constraint deployments_config_check check (jsonb_typeof(config) = 'object' and pg_column_size(config) <= 65536),
  secrets_ref text
    constraint deployments_secrets_ref_check check (shipslog.is_dns_label(secrets_ref)),
  secrets_fingerprint text
    constraint deployments_secrets_fingerprint_check check (secrets_fingerprint ~ '^hmac-sha256:[0-9a-f]{64}$'),
  status text not null default 'pending'
    constraint deployments_status_check check (status in ('pending', 'reconciling', 'applied', 'failed', 'removing')),
  status_message text
    constraint deployments_status_message_check check (length(status_message) <= 2000),
  health text not null default 'Unknown'
    constraint deployments_health_check check (health in ('Unknown', 'Progressing', 'Healthy', 'Degraded', 'Missing', 'Suspended')),
  health_message text
    constraint deployments_health_message_check check (length(health_message) <= 2000),
  url text
    constraint deployments_url_check check (length(url) <= 2048),
  local_port integer
    constraint deployments_local_port_check check (local_port between 1 and 65535),
  service_port integer
    constraint deployments_service_port_check check (service_port between 1 and 65535),
  service_name text
    constraint deployments_service_name_check check (shipslog.is_dns_label(service_name)),
  depends_on text[] not null default '{}'
    constraint deployments_depends_on_check check (cardinality(depends_on) <= 32),
  managed_resources jsonb not null default '[]'
    constraint deployments_managed_resources_check check (shipslog.is_resource_list(managed_resources)),
  generation bigint not null default 1,
  observed_generation bigint not null default 0,
  restarted_at timestamptz,
  deletion_requested_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  version bigint not null default 1,
  -- The audit chain's head, written only by the audit trigger. A change made while triggers
  -- were bypassed leaves this (and the state the events replay to) behind the row.
  chain_length integer not null default 0,
  chain_head bytea,
  constraint deployments_tenant_name_key unique (tenant, name),
  constraint deployments_observed_generation_check check (observed_generation between 0 and generation)
);

comment on table shipslog.deployments is
  'Desired and observed state of each app. Every insert, update and delete writes one row to shipslog.deployment_events.';

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

-- Signed checkpoints: a digest of every chain head at one moment, signed with a key kept
-- outside the database. A superuser can rewrite a whole chain consistently (hashes and the
-- row's head included); a checkpoint taken earlier still remembers the old heads.
--
-- The moment is a snapshot, not a seq: events are visible in a snapshot exactly when their
-- transaction had committed before it, which stays true forever, whereas a seq bound would
-- move when a transaction that took a lower seq commits after the checkpoint.
create table shipslog.audit_checkpoints (
  id bigint generated always as identity primary key,
  created_at timestamptz not null default clock_timestamp(),
  snapshot pg_snapshot not null,
  chain_count bigint not null,
  event_count bigint not null,
  digest bytea not null
    constraint audit_checkpoints_digest_check check (length(digest) = 32),
  -- SHA-256 of the signing public key (DER, SubjectPublicKeyInfo), hex: which key signed.
  key_id text not null,
  -- Ed25519 over shipslog.checkpoint_message(...).
  signature bytea not null,
  created_by text not null default session_user
);

comment on table shipslog.audit_checkpoints is
  'Signed digests of all audit chain heads at a snapshot. Append-only; written by shipslog.record_checkpoint().';

-- ===================================================================
-- api
-- ===================================================================

-- api: API keys, Idempotency-Key answers, and the index the event feed tails by.
-- Needs shipslog.is_dns_label (created by the audit fragment) and shipslog.deployment_events.

-- API keys. Only a SHA-256 of each key is stored: keys are 32 random bytes, so a fast hash
-- is enough (there is nothing to guess offline), and a lookup is one unique-index probe.
-- tenant null means a global key (every tenant); scopes are read, deploy, audit, admin.
create table shipslog.api_keys (
  id uuid primary key default gen_random_uuid(),
  name text not null
    constraint api_keys_name_check check (name ~ '^[A-Za-z0-9][A-Za-z0-9._@:-]{0,99}$'),
  tenant text
    constraint api_keys_tenant_check check (shipslog.is_dns_label(tenant)),
  scopes text[] not null
    constraint api_keys_scopes_check check (
      cardinality(scopes) between 1 and 4
      and scopes <@ array['read', 'deploy', 'audit', 'admin']
    ),
  actor_type text not null default 'service'
    constraint api_keys_actor_type_check check (actor_type in ('user', 'service')),
  key_hash bytea not null
    constraint api_keys_key_hash_check check (length(key_hash) = 32),
  -- The key's first characters, shown by `shipslog keys list` so a person can tell keys apart.
  key_prefix text not null,
  created_at timestamptz not null default now(),
  revoked_at timestamptz,
  last_used_at timestamptz,
  constraint api_keys_key_hash_key unique (key_hash)
);

comment on table shipslog.api_keys is
  'API keys (SHA-256 of the key only). Read by the service before it switches to shipslog_app.';

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

-- Idempotency-Key answers are kept 24 hours (as Stripe and the IETF draft suggest): a
-- request with a key first deletes its API key's expired answers, through this index, so the
-- table stays as large as one day of keyed POSTs.
create index idempotency_keys_expiry_idx
  on shipslog.idempotency_keys (api_key_id, created_at);

-- The feed tails by (txid, seq): every transaction below the snapshot's xmin has finished, so
-- nothing can later appear behind the cursor.
create index deployment_events_txid_seq_idx
  on shipslog.deployment_events (txid, seq);

-- ===================================================================
-- reconciler
-- ===================================================================

-- Reconciler tables: run history (reconcile_runs, partitioned by month, with its default
-- partition; reconcile_run_transitions; reconcile_run_audit) and the claim queue.
-- The monthly partitions are created by shipslog.ensure_reconcile_run_partitions(), called
-- from sql/reconciler/10_partitions.sql on every migrate. Triggers, views, grants and
-- policies are in sql/reconciler/.

-- One row per reconciler execution for a deployment, like a workflow engine's run history.
-- Partitioned by month (started_at): runs accumulate forever (one per change and per retry)
-- and old months can be detached and archived whole. The primary key must include the
-- partition key, so a run is (id, started_at); id alone is still unique (gen_random_uuid).
create table shipslog.reconcile_runs (
  id uuid not null default gen_random_uuid(),
  started_at timestamptz not null default clock_timestamp(),
  deployment_id uuid not null,
  tenant text not null,
  name text not null,
  generation bigint not null,
  config_hash text not null
    constraint reconcile_runs_config_hash_check check (config_hash ~ '^sha256:[0-9a-f]{64}$'),
  target text not null,
  image text,
  parameters jsonb not null default '{}'
    constraint reconcile_runs_parameters_check check (jsonb_typeof(parameters) = 'object'),
  phase text not null
    constraint reconcile_runs_phase_check check (phase in ('Pending', 'Running', 'Completed', 'Failed', 'Skipped')),
  outcome text
    constraint reconcile_runs_outcome_check check (outcome in ('Applied', 'Unchanged', 'Planned', 'Removed', 'Removing', 'Failed', 'Skipped')),
  failure_reason text
    constraint reconcile_runs_failure_reason_check check (failure_reason ~ '^[A-Z][A-Za-z]{1,63}$'),
  failure_message text
    constraint reconcile_runs_failure_message_check check (length(failure_message) <= 4000),
  skip_reason text
    constraint reconcile_runs_skip_reason_check check (skip_reason in ('ResourceBusy', 'RecentlyRemediated')),
  conflicting_run_id uuid,
  -- What differed and was applied (or would have been, with no cluster): [{kind,name,namespace,action}]
  change_set jsonb not null default '[]'
    constraint reconcile_runs_change_set_check check (jsonb_typeof(change_set) = 'array'),
  dry_run boolean not null default false,
  completed_at timestamptz,
  duration_ms integer,
  worker_id text not null,
  correlation_id text not null,
  constraint reconcile_runs_pkey primary key (id, started_at),
  constraint reconcile_runs_result_check check (
    (phase in ('Completed', 'Failed', 'Skipped')) = (completed_at is not null and outcome is not null)),
  constraint reconcile_runs_failed_check check ((phase = 'Failed') = (failure_reason is not null)),
  constraint reconcile_runs_skipped_check check ((phase = 'Skipped') = (skip_reason is not null))
) partition by range (started_at);

comment on table shipslog.reconcile_runs is
  'One row per reconciler execution. Phase changes are recorded in reconcile_run_transitions by trigger.';

create index reconcile_runs_deployment_idx
  on shipslog.reconcile_runs (deployment_id, started_at desc);

create index reconcile_runs_phase_idx
  on shipslog.reconcile_runs (started_at, phase);

-- Rows outside every monthly partition (clock skew, a missed ensure call) land here instead
-- of failing a run.
create table shipslog.reconcile_runs_default
  partition of shipslog.reconcile_runs
  default;

-- Every phase change of a run, in order. Written only by the trigger on reconcile_runs.
create table shipslog.reconcile_run_transitions (
  id bigint generated always as identity primary key,
  run_id uuid not null,
  run_started_at timestamptz not null,
  deployment_id uuid not null,
  tenant text not null,
  from_phase text,
  to_phase text not null,
  outcome text,
  failure_reason text,
  skip_reason text,
  duration_ms integer,
  worker_id text not null,
  correlation_id text not null,
  occurred_at timestamptz not null default clock_timestamp()
);

create index reconcile_run_transitions_run_idx
  on shipslog.reconcile_run_transitions (run_id, id);

-- The run audit: one row per transition into a result state. References and attribution
-- only; the full result is read by joining the transition (and the run).
create table shipslog.reconcile_run_audit (
  id bigint generated always as identity primary key,
  transition_id bigint not null
    constraint reconcile_run_audit_transition_key unique
    references shipslog.reconcile_run_transitions (id),
  run_id uuid not null,
  deployment_id uuid not null,
  tenant text not null,
  worker_id text not null,
  correlation_id text not null,
  success boolean not null,
  execution_ms integer,
  recorded_at timestamptz not null default clock_timestamp()
);

create index reconcile_run_audit_run_idx
  on shipslog.reconcile_run_audit (run_id);

-- The reconciler's claim on a deployment. A worker holds this row FOR UPDATE (SKIP LOCKED
-- by the others) for the whole run, so two replicas never work on one deployment at once,
-- and a worker that dies releases its claim with its connection. It is a separate table so
-- that claiming never blocks the API's writes to the deployment row, and so that retry
-- bookkeeping (back-off) writes no audit events.
create table shipslog.reconcile_queue (
  deployment_id uuid primary key
    references shipslog.deployments (id) on delete cascade,
  -- Back-off after failures: no new attempt at this generation before not_before.
  not_before timestamptz,
  failures integer not null default 0
    constraint reconcile_queue_failures_check check (failures >= 0),
  failed_generation bigint,
  health_checked_at timestamptz
);

create index reconcile_queue_health_idx
  on shipslog.reconcile_queue (health_checked_at nulls first);

-- ===================================================================
-- agent
-- ===================================================================

-- agent: the agent's model calls (agent_messages), the projects they belong to, retention
-- runs, daily sums, and the index that links deployment changes to agent messages.
-- Needs shipslog.is_dns_label and shipslog.context_setting (created by the audit fragment)
-- and shipslog.deployment_events.

-- The one role allowed to delete agent messages: it owns shipslog.purge_agent_messages
-- (sql/agent/30_retention.sql) and nothing else, and no login is a member of it. The delete
-- guard on agent_messages recognises the retention job by current_user, which only that
-- SECURITY DEFINER function can make it be.
do $$
begin
  if not exists (select from pg_catalog.pg_roles where rolname = 'shipslog_agent_retention') then
    create role shipslog_agent_retention nologin;
  end if;
end
$$;

-- The unit agent messages are grouped and analysed by. Project ids are global and belong to
-- one tenant; a tenant's first message in a new project registers it.
create table shipslog.projects (
  id text primary key
    constraint projects_id_check check (shipslog.is_dns_label(id)),
  tenant text not null
    constraint projects_tenant_check check (shipslog.is_dns_label(tenant)),
  created_at timestamptz not null default now(),
  created_by jsonb not null,
  constraint projects_tenant_id_key unique (tenant, id)
);

comment on table shipslog.projects is
  'Projects that agent messages belong to; each belongs to exactly one tenant.';

-- One row per model call the agent made. A placeholder when the call starts; finalised once
-- with reasoning, tokens and cost when the answer ends. Money is numeric, never float: sums
-- over a million rows must be exact to the last digit a caller sent (scale <= 12).
create table shipslog.agent_messages (
  message_id text primary key
    constraint agent_messages_message_id_check check (message_id ~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$'),
  tenant text not null default shipslog.context_setting('shipslog.tenant')
    constraint agent_messages_tenant_check check (shipslog.is_dns_label(tenant)),
  project_id text not null
    constraint agent_messages_project_id_check check (shipslog.is_dns_label(project_id)),
  model text not null
    constraint agent_messages_model_check check (model ~ '^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,199}$'),
  context_layers integer not null default 0
    constraint agent_messages_context_layers_check check (context_layers between 0 and 10000),
  -- When the call started (the caller may say, e.g. after a buffered write; never in the
  -- future), and when PostgreSQL received the placeholder (always the server's clock).
  created_at timestamptz not null default now(),
  recorded_at timestamptz not null default now(),
  created_by jsonb not null default '{}',
  reasoning text[]
    constraint agent_messages_reasoning_check check (
      array_ndims(reasoning) is null and cardinality(reasoning) = 0
      or array_ndims(reasoning) = 1
        and cardinality(reasoning) <= 1000
        and array_position(reasoning, null) is null
        and octet_length(array_to_string(reasoning, '')) <= 1048576),
  prompt_tokens integer,
  completion_tokens integer,
  total_tokens integer,
  prompt_cost numeric,
  completion_cost numeric,
  total_cost numeric,
  finalised_at timestamptz,
  finalised_by jsonb,
  constraint agent_messages_tokens_check check (
    prompt_tokens >= 0
    and completion_tokens >= 0
    and total_tokens = prompt_tokens::bigint + completion_tokens),
  -- NaN and Infinity fail "< 1e9"; scale() caps precision instead of silently rounding.
  constraint agent_messages_cost_check check (
    prompt_cost >= 0 and prompt_cost < 1e9 and scale(prompt_cost) <= 12
    and completion_cost >= 0 and completion_cost < 1e9 and scale(completion_cost) <= 12
    and total_cost = prompt_cost + completion_cost
    and scale(total_cost) <= 12),
  -- A message is a placeholder (none of these) or finalised (all of them).
  constraint agent_messages_finalised_check check (
    num_nulls(reasoning, prompt_tokens, completion_tokens, total_tokens,
              prompt_cost, completion_cost, total_cost, finalised_at, finalised_by) in (0, 9)),
  constraint agent_messages_project_fkey foreign key (tenant, project_id)
    references shipslog.projects (tenant, id)
);

comment on table shipslog.agent_messages is
  'Audit trail of the agent''s model calls. Finalised once; never changed; deleted only by shipslog.purge_agent_messages past retention.';

-- Analytics and "most recent" for one project over a time range read only this index
-- (index-only scan): tenant first because the RLS predicate and every API read carry it.
create index agent_messages_project_time_idx
  on shipslog.agent_messages (tenant, project_id, created_at)
  include (model, prompt_tokens, completion_tokens, total_tokens, prompt_cost, completion_cost, total_cost);

-- Retention deletes by age across all projects.
create index agent_messages_created_at_idx
  on shipslog.agent_messages (created_at);

-- One row per retention run that did something: proof that retention ran, when, who started
-- it and how many messages it removed. Written only by shipslog.purge_agent_messages.
create table shipslog.agent_message_retention_runs (
  id bigint generated always as identity primary key,
  kind text not null
    constraint agent_message_retention_runs_kind_check check (kind in ('scheduled', 'manual')),
  -- The UTC day a scheduled run belongs to: at most one scheduled run per day.
  run_date date not null,
  older_than interval not null,
  cutoff timestamptz not null,
  deleted_count bigint not null
    constraint agent_message_retention_runs_deleted_count_check check (deleted_count >= 0),
  started_at timestamptz not null,
  finished_at timestamptz not null,
  run_by jsonb not null
);

comment on table shipslog.agent_message_retention_runs is
  'Append-only record of agent message retention runs. Written only by shipslog.purge_agent_messages.';

-- Second guard behind the advisory lock: two replicas can never both record today's run.
create unique index agent_message_retention_runs_scheduled_key
  on shipslog.agent_message_retention_runs (run_date)
  where kind = 'scheduled';

-- Per (tenant, project, UTC day, model) sums of agent messages, kept by triggers in the same
-- transaction as every write, so 30-day analytics reads ~90 rows instead of every message of
-- the project (bench/agent.ts: 10,000 rows per project, p95 21-50 ms on a shared 2-vCPU box).
-- Derived data: shipslog.agent_message_daily_drift() recomputes it from the messages.
-- message_count may reach 0 for a moment: the purge trigger subtracts first, then removes
-- the rows it brought to zero (sql/agent/40_daily.sql).
create table shipslog.agent_message_daily (
  tenant text not null,
  project_id text not null,
  day_start timestamptz not null,
  model text not null,
  message_count bigint not null,
  finalised_count bigint not null default 0,
  prompt_tokens bigint not null default 0,
  completion_tokens bigint not null default 0,
  prompt_cost numeric not null default 0,
  completion_cost numeric not null default 0,
  primary key (tenant, project_id, day_start, model),
  constraint agent_message_daily_counts_check check (
    message_count >= 0 and finalised_count between 0 and message_count)
);

comment on table shipslog.agent_message_daily is
  'Daily sums of shipslog.agent_messages per project and model; written only by its triggers.';

-- The link from deployment changes to the agent messages behind them: a change made with
-- X-Correlation-Id: <message_id> carries the id in deployment_events.correlation_id
-- (view shipslog.agent_message_deployment_changes, shipslog.deployment_agent_cost).
create index deployment_events_correlation_id_idx
  on shipslog.deployment_events (correlation_id)
  where correlation_id is not null;

-- Down Migration
drop schema shipslog cascade;
