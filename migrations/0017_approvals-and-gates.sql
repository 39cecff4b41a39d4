-- Up Migration

-- Approvals and gates (issue 11, items 2 and 3): an environment of a tenant can require N approvals from
-- distinct approvers before the reconciler applies a generation. The rules live in
-- sql/compliance/30_approvals.sql; these are the tables. Every decision is also an event on
-- the deployment's hash chain (approval_requested, _granted, _denied, _expired, _cancelled).

-- One policy per tenant and environment. Written only by shipslog.set_approval_policy() and
-- shipslog.remove_approval_policy(), which record every change in approval_policy_changes.
create table shipslog.approval_policies (
  tenant text not null
    constraint approval_policies_tenant_check check (shipslog.is_dns_label(tenant)),
  environment text not null
    constraint approval_policies_environment_check check (shipslog.is_dns_label(environment)),
  required_approvals integer not null
    constraint approval_policies_required_approvals_check check (required_approvals between 0 and 10),
  -- Gates that must have passed for a generation before it is applied (sql/compliance/40_gates.sql).
  required_gates text[] not null default '{}'
    constraint approval_policies_required_gates_check check (
      cardinality(required_gates) <= 20 and array_position(required_gates, null) is null),
  expires_after interval not null default interval '24 hours'
    constraint approval_policies_expires_after_check check (
      expires_after between interval '1 minute' and interval '30 days'),
  updated_at timestamptz not null default now(),
  updated_by text not null,
  primary key (tenant, environment)
);

comment on table shipslog.approval_policies is
  'What an environment requires before a generation is applied: N approvals from distinct approvers (expiring) and named gates. Changed only through shipslog.set_approval_policy(); every change is in approval_policy_changes.';

-- The policies' own append-only trail: who changed which policy, from what to what, and why.
create table shipslog.approval_policy_changes (
  id bigint generated always as identity primary key,
  tenant text not null,
  environment text not null,
  change text not null
    constraint approval_policy_changes_change_check check (change in ('set', 'removed')),
  previous_policy jsonb,
  new_policy jsonb,
  actor text not null,
  actor_type text not null,
  reason text,
  correlation_id text,
  request_id text,
  db_role text not null,
  occurred_at timestamptz not null default clock_timestamp()
);

create index approval_policy_changes_tenant_idx
  on shipslog.approval_policy_changes (tenant, environment, id);

-- An approval request for one generation of a deployment. requested_by and change_actor (who
-- made the generation) can never approve it.
create table shipslog.approval_requests (
  id uuid primary key default gen_random_uuid(),
  tenant text not null,
  deployment_id uuid not null,
  name text not null,
  environment text not null,
  generation bigint not null,
  required_approvals integer not null
    constraint approval_requests_required_approvals_check check (required_approvals between 1 and 10),
  requested_by text not null,
  change_actor text,
  requested_at timestamptz not null default clock_timestamp(),
  expires_at timestamptz not null,
  state text not null default 'pending'
    constraint approval_requests_state_check check (state in ('pending', 'approved', 'denied', 'expired', 'cancelled')),
  closed_at timestamptz,
  -- The approval_requested event on the deployment's chain.
  requested_seq bigint not null,
  constraint approval_requests_closed_check check ((state = 'pending') = (closed_at is null))
);

-- At most one open request per generation.
create unique index approval_requests_pending_key
  on shipslog.approval_requests (deployment_id, generation)
  where state = 'pending';

create index approval_requests_tenant_state_idx
  on shipslog.approval_requests (tenant, state, requested_at);

-- Each approver's decision on a request, once (distinct approvers). Append-only.
create table shipslog.approval_decisions (
  id bigint generated always as identity primary key,
  request_id uuid not null
    references shipslog.approval_requests (id),
  tenant text not null,
  approver text not null,
  decision text not null
    constraint approval_decisions_decision_check check (decision in ('granted', 'denied')),
  reason text,
  decided_at timestamptz not null default clock_timestamp(),
  -- The approval_granted / approval_denied event on the deployment's chain.
  event_seq bigint not null,
  constraint approval_decisions_approver_key unique (request_id, approver)
);

-- Gate results reported by external systems (a security scan, a test run) for a generation:
-- the newest result of each gate counts (sql/compliance/40_gates.sql). Append-only; each one is
-- also a gate_* event on the deployment's chain.
create table shipslog.gate_results (
  id bigint generated always as identity primary key,
  tenant text not null,
  deployment_id uuid not null,
  generation bigint not null,
  gate text not null
    constraint gate_results_gate_check check (gate ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
  result text not null
    constraint gate_results_result_check check (result in ('started', 'passed', 'failed', 'warned', 'skipped')),
  evidence_url text,
  details jsonb not null default '{}'
    constraint gate_results_details_check check (jsonb_typeof(details) = 'object'),
  reported_by text not null,
  reported_at timestamptz not null default clock_timestamp(),
  event_seq bigint not null
);

create index gate_results_generation_idx
  on shipslog.gate_results (deployment_id, generation, gate, id);

-- The reconciler holds back a generation that awaits approval or gates: it does not claim the
-- deployment again until the generation changes or shipslog.release_generation() (an approval
-- or a passed gate) lets it go.
alter table shipslog.reconcile_queue
  add column held_generation bigint,
  add column held_reason text
    constraint reconcile_queue_held_reason_check check (held_reason in ('AwaitingApproval', 'AwaitingGates')),
  add constraint reconcile_queue_held_check check ((held_generation is null) = (held_reason is null));

alter table shipslog.reconcile_runs
  drop constraint reconcile_runs_skip_reason_check,
  add constraint reconcile_runs_skip_reason_check check (
    skip_reason in ('ResourceBusy', 'RecentlyRemediated', 'AwaitingApproval', 'AwaitingGates'));

-- Two scopes: approve (grant or deny approval requests) and gates (report gate results).
alter table shipslog.api_keys
  drop constraint api_keys_scopes_check,
  add constraint api_keys_scopes_check check (
    cardinality(scopes) between 1 and 6
    and scopes <@ array['read', 'deploy', 'audit', 'admin', 'approve', 'gates']);

-- Down Migration
alter table shipslog.api_keys
  drop constraint api_keys_scopes_check,
  add constraint api_keys_scopes_check check (
    cardinality(scopes) between 1 and 4
    and scopes <@ array['read', 'deploy', 'audit', 'admin']);
alter table shipslog.reconcile_runs
  drop constraint reconcile_runs_skip_reason_check,
  add constraint reconcile_runs_skip_reason_check check (skip_reason in ('ResourceBusy', 'RecentlyRemediated'));
alter table shipslog.reconcile_queue
  drop constraint reconcile_queue_held_check,
  drop column held_generation,
  drop column held_reason;
drop table shipslog.gate_results;
drop table shipslog.approval_decisions;
drop table shipslog.approval_requests;
drop table shipslog.approval_policy_changes;
drop table shipslog.approval_policies;
