table agent_message_daily row level security forced
view agent_message_deployment_changes
table agent_message_retention_runs
sequence agent_message_retention_runs_id_seq
table agent_messages row level security forced
table api_keys
table approval_decisions row level security forced
sequence approval_decisions_id_seq
table approval_policies row level security forced
table approval_policy_changes row level security forced
sequence approval_policy_changes_id_seq
table approval_requests row level security forced
table audit_chain_anchors
sequence audit_chain_anchors_id_seq
view audit_chain_starts
table audit_checkpoint_heads
table audit_checkpoints
sequence audit_checkpoints_id_seq
table audit_purges
sequence audit_purges_id_seq
table audit_retention
table audit_retention_changes
sequence audit_retention_changes_id_seq
table deployment_events partition by RANGE (occurred_at) row level security forced
table deployment_events_default partition of deployment_events DEFAULT
sequence deployment_events_seq
table deployments row level security forced
table gate_results row level security forced
sequence gate_results_id_seq
table idempotency_keys row level security forced
table projects row level security forced
view reconcile_lock_effectiveness
table reconcile_queue
view reconcile_recent_failed_runs
view reconcile_recent_failures
table reconcile_run_audit row level security forced
sequence reconcile_run_audit_id_seq
table reconcile_run_transitions row level security forced
sequence reconcile_run_transitions_id_seq
table reconcile_runs partition by RANGE (started_at) row level security forced
table reconcile_runs_default partition of reconcile_runs DEFAULT
view reconcile_success_rate
table schema_definitions
sequence schema_definitions_id_seq
column agent_message_daily.tenant text not null
column agent_message_daily.project_id text not null
column agent_message_daily.day_start timestamp with time zone not null
column agent_message_daily.model text not null
column agent_message_daily.message_count bigint not null
column agent_message_daily.finalised_count bigint not null default 0
column agent_message_daily.prompt_tokens bigint not null default 0
column agent_message_daily.completion_tokens bigint not null default 0
column agent_message_daily.prompt_cost numeric not null default 0
column agent_message_daily.completion_cost numeric not null default 0
column agent_message_deployment_changes.seq bigint
column agent_message_deployment_changes.deployment_id uuid
column agent_message_deployment_changes.tenant text
column agent_message_deployment_changes.name text
column agent_message_deployment_changes.chain_index integer
column agent_message_deployment_changes.action text
column agent_message_deployment_changes.occurred_at timestamp with time zone
column agent_message_deployment_changes.actor text
column agent_message_deployment_changes.message_id text
column agent_message_deployment_changes.project_id text
column agent_message_deployment_changes.model text
column agent_message_deployment_changes.prompt_tokens integer
column agent_message_deployment_changes.completion_tokens integer
column agent_message_deployment_changes.total_tokens integer
column agent_message_deployment_changes.prompt_cost numeric
column agent_message_deployment_changes.completion_cost numeric
column agent_message_deployment_changes.total_cost numeric
column agent_message_deployment_changes.finalised_at timestamp with time zone
column agent_message_retention_runs.id bigint not null identity a
column agent_message_retention_runs.kind text not null
column agent_message_retention_runs.run_date date not null
column agent_message_retention_runs.older_than interval not null
column agent_message_retention_runs.cutoff timestamp with time zone not null
column agent_message_retention_runs.deleted_count bigint not null
column agent_message_retention_runs.started_at timestamp with time zone not null
column agent_message_retention_runs.finished_at timestamp with time zone not null
column agent_message_retention_runs.run_by jsonb not null
column agent_messages.message_id text not null
column agent_messages.tenant text not null default shipslog.context_setting('shipslog.tenant'::text)
column agent_messages.project_id text not null
column agent_messages.model text not null
column agent_messages.context_layers integer not null default 0
column agent_messages.created_at timestamp with time zone not null default now()
column agent_messages.recorded_at timestamp with time zone not null default now()
column agent_messages.created_by jsonb not null default '{}'::jsonb
column agent_messages.reasoning text[]
column agent_messages.prompt_tokens integer
column agent_messages.completion_tokens integer
column agent_messages.total_tokens integer
column agent_messages.prompt_cost numeric
column agent_messages.completion_cost numeric
column agent_messages.total_cost numeric
column agent_messages.finalised_at timestamp with time zone
column agent_messages.finalised_by jsonb
column api_keys.id uuid not null default gen_random_uuid()
column api_keys.name text not null
column api_keys.tenant text
column api_keys.scopes text[] not null
column api_keys.actor_type text not null default 'service'::text
column api_keys.key_hash bytea not null
column api_keys.key_prefix text not null
column api_keys.created_at timestamp with time zone not null default now()
column api_keys.revoked_at timestamp with time zone
column api_keys.last_used_at timestamp with time zone
column api_keys.expires_at timestamp with time zone
column approval_decisions.id bigint not null identity a
column approval_decisions.request_id uuid not null
column approval_decisions.tenant text not null
column approval_decisions.approver text not null
column approval_decisions.decision text not null
column approval_decisions.reason text
column approval_decisions.decided_at timestamp with time zone not null default clock_timestamp()
column approval_decisions.event_seq bigint not null
column approval_policies.tenant text not null
column approval_policies.environment text not null
column approval_policies.required_approvals integer not null
column approval_policies.required_gates text[] not null default '{}'::text[]
column approval_policies.expires_after interval not null default '24:00:00'::interval
column approval_policies.updated_at timestamp with time zone not null default now()
column approval_policies.updated_by text not null
column approval_policy_changes.id bigint not null identity a
column approval_policy_changes.tenant text not null
column approval_policy_changes.environment text not null
column approval_policy_changes.change text not null
column approval_policy_changes.previous_policy jsonb
column approval_policy_changes.new_policy jsonb
column approval_policy_changes.actor text not null
column approval_policy_changes.actor_type text not null
column approval_policy_changes.reason text
column approval_policy_changes.correlation_id text
column approval_policy_changes.request_id text
column approval_policy_changes.db_role text not null
column approval_policy_changes.occurred_at timestamp with time zone not null default clock_timestamp()
column approval_requests.id uuid not null default gen_random_uuid()
column approval_requests.tenant text not null
column approval_requests.deployment_id uuid not null
column approval_requests.name text not null
column approval_requests.environment text not null
column approval_requests.generation bigint not null
column approval_requests.required_approvals integer not null
column approval_requests.requested_by text not null
column approval_requests.change_actor text
column approval_requests.requested_at timestamp with time zone not null default clock_timestamp()
column approval_requests.expires_at timestamp with time zone not null
column approval_requests.state text not null default 'pending'::text
column approval_requests.closed_at timestamp with time zone
column approval_requests.requested_seq bigint not null
column audit_chain_anchors.id bigint not null identity a
column audit_chain_anchors.created_at timestamp with time zone not null default clock_timestamp()
column audit_chain_anchors.deployment_id uuid not null
column audit_chain_anchors.chain_index integer not null
column audit_chain_anchors.hash bytea not null
column audit_chain_anchors.state jsonb
column audit_chain_anchors.removed boolean not null
column audit_chain_anchors.judged_at timestamp with time zone not null
column audit_chain_anchors.key_id text not null
column audit_chain_anchors.signature bytea not null
column audit_chain_anchors.purge_id bigint not null
column audit_chain_starts.deployment_id uuid
column audit_chain_starts.chain_index integer
column audit_chain_starts.hash bytea
column audit_chain_starts.state jsonb
column audit_chain_starts.removed boolean
column audit_chain_starts.anchor_id bigint
column audit_checkpoint_heads.checkpoint_id bigint not null
column audit_checkpoint_heads.leaf_index integer not null
column audit_checkpoint_heads.deployment_id uuid not null
column audit_checkpoint_heads.chain_index integer not null
column audit_checkpoint_heads.hash bytea not null
column audit_checkpoints.id bigint not null identity a
column audit_checkpoints.created_at timestamp with time zone not null default clock_timestamp()
column audit_checkpoints.snapshot pg_snapshot not null
column audit_checkpoints.chain_count bigint not null
column audit_checkpoints.event_count bigint not null
column audit_checkpoints.digest bytea not null
column audit_checkpoints.key_id text not null
column audit_checkpoints.signature bytea not null
column audit_checkpoints.created_by text not null default SESSION_USER
column audit_checkpoints.version smallint not null
column audit_purges.id bigint not null identity a
column audit_purges.purged_at timestamp with time zone not null default clock_timestamp()
column audit_purges.chain_count integer not null
column audit_purges.event_count bigint not null
column audit_purges.retention jsonb not null
column audit_purges.event_chain_index integer not null
column audit_purges.event_hash bytea not null
column audit_purges.db_user text not null default SESSION_USER
column audit_purges.actor text
column audit_retention.category text not null
column audit_retention.keep_for interval
column audit_retention.updated_at timestamp with time zone not null default now()
column audit_retention_changes.id bigint not null identity a
column audit_retention_changes.changed_at timestamp with time zone not null default clock_timestamp()
column audit_retention_changes.category text not null
column audit_retention_changes.operation text not null
column audit_retention_changes.previous_keep_for interval
column audit_retention_changes.new_keep_for interval
column audit_retention_changes.db_role text not null
column audit_retention_changes.db_user text not null
column audit_retention_changes.actor text
column audit_retention_changes.reason text
column deployment_events.seq bigint not null identity a
column deployment_events.deployment_id uuid not null
column deployment_events.chain_index integer not null
column deployment_events.tenant text not null
column deployment_events.name text not null
column deployment_events.action text not null
column deployment_events.occurred_at timestamp with time zone not null
column deployment_events.txid xid8 not null
column deployment_events.actor text not null
column deployment_events.actor_type text not null
column deployment_events.reason text
column deployment_events.correlation_id text
column deployment_events.request_id text
column deployment_events.source_ip inet
column deployment_events.user_agent text
column deployment_events.db_role text not null
column deployment_events.db_user text not null
column deployment_events.application_name text
column deployment_events.client_addr inet
column deployment_events.previous_state jsonb
column deployment_events.new_state jsonb
column deployment_events.hash bytea not null
column deployment_events_default.seq bigint not null
column deployment_events_default.deployment_id uuid not null
column deployment_events_default.chain_index integer not null
column deployment_events_default.tenant text not null
column deployment_events_default.name text not null
column deployment_events_default.action text not null
column deployment_events_default.occurred_at timestamp with time zone not null
column deployment_events_default.txid xid8 not null
column deployment_events_default.actor text not null
column deployment_events_default.actor_type text not null
column deployment_events_default.reason text
column deployment_events_default.correlation_id text
column deployment_events_default.request_id text
column deployment_events_default.source_ip inet
column deployment_events_default.user_agent text
column deployment_events_default.db_role text not null
column deployment_events_default.db_user text not null
column deployment_events_default.application_name text
column deployment_events_default.client_addr inet
column deployment_events_default.previous_state jsonb
column deployment_events_default.new_state jsonb
column deployment_events_default.hash bytea not null
column deployments.id uuid not null default gen_random_uuid()
column deployments.tenant text not null
column deployments.name text not null
column deployments.environment text not null default 'production'::text
column deployments.recipe text not null
column deployments.app_version text not null
column deployments.config jsonb not null default '{}'::jsonb
column deployments.secrets_ref text
column deployments.secrets_fingerprint text
column deployments.status text not null default 'pending'::text
column deployments.status_message text
column deployments.health text not null default 'Unknown'::text
column deployments.health_message text
column deployments.url text
column deployments.local_port integer
column deployments.service_port integer
column deployments.service_name text
column deployments.depends_on text[] not null default '{}'::text[]
column deployments.managed_resources jsonb not null default '[]'::jsonb
column deployments.generation bigint not null default 1
column deployments.observed_generation bigint not null default 0
column deployments.restarted_at timestamp with time zone
column deployments.deletion_requested_at timestamp with time zone
column deployments.created_at timestamp with time zone not null default now()
column deployments.updated_at timestamp with time zone not null default now()
column deployments.version bigint not null default 1
column deployments.chain_length integer not null default 0
column deployments.chain_head bytea
column gate_results.id bigint not null identity a
column gate_results.tenant text not null
column gate_results.deployment_id uuid not null
column gate_results.generation bigint not null
column gate_results.gate text not null
column gate_results.result text not null
column gate_results.evidence_url text
column gate_results.details jsonb not null default '{}'::jsonb
column gate_results.reported_by text not null
column gate_results.reported_at timestamp with time zone not null default clock_timestamp()
column gate_results.event_seq bigint not null
column idempotency_keys.api_key_id uuid not null
column idempotency_keys.idempotency_key text not null
column idempotency_keys.tenant text not null
column idempotency_keys.request_hash bytea not null
column idempotency_keys.status integer
column idempotency_keys.response jsonb
column idempotency_keys.location text
column idempotency_keys.created_at timestamp with time zone not null default now()
column projects.id text not null
column projects.tenant text not null
column projects.created_at timestamp with time zone not null default now()
column projects.created_by jsonb not null
column reconcile_lock_effectiveness.skip_reason text
column reconcile_lock_effectiveness.runs bigint
column reconcile_lock_effectiveness.deployments bigint
column reconcile_lock_effectiveness.percent_of_runs numeric
column reconcile_queue.deployment_id uuid not null
column reconcile_queue.not_before timestamp with time zone
column reconcile_queue.failures integer not null default 0
column reconcile_queue.failed_generation bigint
column reconcile_queue.health_checked_at timestamp with time zone
column reconcile_queue.lease_holder text
column reconcile_queue.lease_id uuid
column reconcile_queue.lease_expires_at timestamp with time zone
column reconcile_queue.held_generation bigint
column reconcile_queue.held_reason text
column reconcile_recent_failed_runs.completed_at timestamp with time zone
column reconcile_recent_failed_runs.started_at timestamp with time zone
column reconcile_recent_failed_runs.target text
column reconcile_recent_failed_runs.tenant text
column reconcile_recent_failed_runs.name text
column reconcile_recent_failed_runs.generation bigint
column reconcile_recent_failed_runs.failure_reason text
column reconcile_recent_failed_runs.failure_message text
column reconcile_recent_failed_runs.duration_ms integer
column reconcile_recent_failed_runs.worker_id text
column reconcile_recent_failed_runs.correlation_id text
column reconcile_recent_failed_runs.run_id uuid
column reconcile_recent_failed_runs.deployment_id uuid
column reconcile_recent_failures.target text
column reconcile_recent_failures.failures bigint
column reconcile_recent_failures.deployments bigint
column reconcile_recent_failures.last_failure_at timestamp with time zone
column reconcile_recent_failures.last_failure_reason text
column reconcile_recent_failures.last_failure_message text
column reconcile_run_audit.id bigint not null identity a
column reconcile_run_audit.transition_id bigint not null
column reconcile_run_audit.run_id uuid not null
column reconcile_run_audit.deployment_id uuid not null
column reconcile_run_audit.tenant text not null
column reconcile_run_audit.worker_id text not null
column reconcile_run_audit.correlation_id text not null
column reconcile_run_audit.success boolean not null
column reconcile_run_audit.execution_ms integer
column reconcile_run_audit.recorded_at timestamp with time zone not null default clock_timestamp()
column reconcile_run_transitions.id bigint not null identity a
column reconcile_run_transitions.run_id uuid not null
column reconcile_run_transitions.run_started_at timestamp with time zone not null
column reconcile_run_transitions.deployment_id uuid not null
column reconcile_run_transitions.tenant text not null
column reconcile_run_transitions.from_phase text
column reconcile_run_transitions.to_phase text not null
column reconcile_run_transitions.outcome text
column reconcile_run_transitions.failure_reason text
column reconcile_run_transitions.skip_reason text
column reconcile_run_transitions.duration_ms integer
column reconcile_run_transitions.worker_id text not null
column reconcile_run_transitions.correlation_id text not null
column reconcile_run_transitions.occurred_at timestamp with time zone not null default clock_timestamp()
column reconcile_runs.id uuid not null default gen_random_uuid()
column reconcile_runs.started_at timestamp with time zone not null default clock_timestamp()
column reconcile_runs.deployment_id uuid not null
column reconcile_runs.tenant text not null
column reconcile_runs.name text not null
column reconcile_runs.generation bigint not null
column reconcile_runs.config_hash text not null
column reconcile_runs.target text not null
column reconcile_runs.image text
column reconcile_runs.parameters jsonb not null default '{}'::jsonb
column reconcile_runs.phase text not null
column reconcile_runs.outcome text
column reconcile_runs.failure_reason text
column reconcile_runs.failure_message text
column reconcile_runs.skip_reason text
column reconcile_runs.conflicting_run_id uuid
column reconcile_runs.change_set jsonb not null default '[]'::jsonb
column reconcile_runs.dry_run boolean not null default false
column reconcile_runs.completed_at timestamp with time zone
column reconcile_runs.duration_ms integer
column reconcile_runs.worker_id text not null
column reconcile_runs.correlation_id text not null
column reconcile_runs_default.id uuid not null default gen_random_uuid()
column reconcile_runs_default.started_at timestamp with time zone not null default clock_timestamp()
column reconcile_runs_default.deployment_id uuid not null
column reconcile_runs_default.tenant text not null
column reconcile_runs_default.name text not null
column reconcile_runs_default.generation bigint not null
column reconcile_runs_default.config_hash text not null
column reconcile_runs_default.target text not null
column reconcile_runs_default.image text
column reconcile_runs_default.parameters jsonb not null default '{}'::jsonb
column reconcile_runs_default.phase text not null
column reconcile_runs_default.outcome text
column reconcile_runs_default.failure_reason text
column reconcile_runs_default.failure_message text
column reconcile_runs_default.skip_reason text
column reconcile_runs_default.conflicting_run_id uuid
column reconcile_runs_default.change_set jsonb not null default '[]'::jsonb
column reconcile_runs_default.dry_run boolean not null default false
column reconcile_runs_default.completed_at timestamp with time zone
column reconcile_runs_default.duration_ms integer
column reconcile_runs_default.worker_id text not null
column reconcile_runs_default.correlation_id text not null
column reconcile_success_rate.target text
column reconcile_success_rate.runs bigint
column reconcile_success_rate.completed bigint
column reconcile_success_rate.failed bigint
column reconcile_success_rate.skipped bigint
column reconcile_success_rate.success_percent numeric
column reconcile_success_rate.avg_duration_ms numeric
column schema_definitions.id bigint not null identity a
column schema_definitions.applied_at timestamp with time zone not null default clock_timestamp()
column schema_definitions.applied_by text not null default SESSION_USER
column schema_definitions.digest text not null
column schema_definitions.file_count integer not null
constraint agent_message_daily.agent_message_daily_counts_check CHECK (((message_count >= 0) AND ((finalised_count >= 0) AND (finalised_count <= message_count))))
constraint agent_message_daily.agent_message_daily_pkey PRIMARY KEY (tenant, project_id, day_start, model)
constraint agent_message_retention_runs.agent_message_retention_runs_deleted_count_check CHECK ((deleted_count >= 0))
constraint agent_message_retention_runs.agent_message_retention_runs_kind_check CHECK ((kind = ANY (ARRAY['scheduled'::text, 'manual'::text])))
constraint agent_message_retention_runs.agent_message_retention_runs_pkey PRIMARY KEY (id)
constraint agent_messages.agent_messages_context_layers_check CHECK (((context_layers >= 0) AND (context_layers <= 10000)))
constraint agent_messages.agent_messages_cost_check CHECK (((prompt_cost >= (0)::numeric) AND (prompt_cost < '1000000000'::numeric) AND (scale(prompt_cost) <= 12) AND (completion_cost >= (0)::numeric) AND (completion_cost < '1000000000'::numeric) AND (scale(completion_cost) <= 12) AND (total_cost = (prompt_cost + completion_cost)) AND (scale(total_cost) <= 12)))
constraint agent_messages.agent_messages_finalised_check CHECK ((num_nulls(reasoning, prompt_tokens, completion_tokens, total_tokens, prompt_cost, completion_cost, total_cost, finalised_at, finalised_by) = ANY (ARRAY[0, 9])))
constraint agent_messages.agent_messages_message_id_check CHECK ((message_id ~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$'::text))
constraint agent_messages.agent_messages_model_check CHECK ((model ~ '^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,199}$'::text))
constraint agent_messages.agent_messages_pkey PRIMARY KEY (message_id, tenant)
constraint agent_messages.agent_messages_project_fkey FOREIGN KEY (tenant, project_id) REFERENCES shipslog.projects(tenant, id)
constraint agent_messages.agent_messages_project_id_check CHECK (shipslog.is_dns_label(project_id))
constraint agent_messages.agent_messages_reasoning_check CHECK ((((array_ndims(reasoning) IS NULL) AND (cardinality(reasoning) = 0)) OR ((array_ndims(reasoning) = 1) AND (cardinality(reasoning) <= 1000) AND (array_position(reasoning, NULL::text) IS NULL) AND (octet_length(array_to_string(reasoning, ''::text)) <= 1048576))))
constraint agent_messages.agent_messages_tenant_check CHECK (shipslog.is_dns_label(tenant))
constraint agent_messages.agent_messages_tokens_check CHECK (((prompt_tokens >= 0) AND (completion_tokens >= 0) AND (total_tokens = ((prompt_tokens)::bigint + completion_tokens))))
constraint api_keys.api_keys_actor_type_check CHECK ((actor_type = ANY (ARRAY['user'::text, 'service'::text])))
constraint api_keys.api_keys_expires_at_check CHECK ((expires_at > created_at))
constraint api_keys.api_keys_key_hash_check CHECK ((length(key_hash) = 32))
constraint api_keys.api_keys_key_hash_key UNIQUE (key_hash)
constraint api_keys.api_keys_name_check CHECK ((name ~ '^[A-Za-z0-9][A-Za-z0-9._@:-]{0,99}$'::text))
constraint api_keys.api_keys_pkey PRIMARY KEY (id)
constraint api_keys.api_keys_scopes_check CHECK ((((cardinality(scopes) >= 1) AND (cardinality(scopes) <= 6)) AND (scopes <@ ARRAY['read'::text, 'deploy'::text, 'audit'::text, 'admin'::text, 'approve'::text, 'gates'::text])))
constraint api_keys.api_keys_tenant_check CHECK (shipslog.is_dns_label(tenant))
constraint approval_decisions.approval_decisions_approver_key UNIQUE (request_id, approver)
constraint approval_decisions.approval_decisions_decision_check CHECK ((decision = ANY (ARRAY['granted'::text, 'denied'::text])))
constraint approval_decisions.approval_decisions_pkey PRIMARY KEY (id)
constraint approval_decisions.approval_decisions_request_id_fkey FOREIGN KEY (request_id) REFERENCES shipslog.approval_requests(id)
constraint approval_policies.approval_policies_environment_check CHECK (shipslog.is_dns_label(environment))
constraint approval_policies.approval_policies_expires_after_check CHECK (((expires_after >= '00:01:00'::interval) AND (expires_after <= '30 days'::interval)))
constraint approval_policies.approval_policies_pkey PRIMARY KEY (tenant, environment)
constraint approval_policies.approval_policies_required_approvals_check CHECK (((required_approvals >= 0) AND (required_approvals <= 10)))
constraint approval_policies.approval_policies_required_gates_check CHECK (((cardinality(required_gates) <= 20) AND (array_position(required_gates, NULL::text) IS NULL)))
constraint approval_policies.approval_policies_tenant_check CHECK (shipslog.is_dns_label(tenant))
constraint approval_policy_changes.approval_policy_changes_change_check CHECK ((change = ANY (ARRAY['set'::text, 'removed'::text])))
constraint approval_policy_changes.approval_policy_changes_pkey PRIMARY KEY (id)
constraint approval_requests.approval_requests_closed_check CHECK (((state = 'pending'::text) = (closed_at IS NULL)))
constraint approval_requests.approval_requests_pkey PRIMARY KEY (id)
constraint approval_requests.approval_requests_required_approvals_check CHECK (((required_approvals >= 1) AND (required_approvals <= 10)))
constraint approval_requests.approval_requests_state_check CHECK ((state = ANY (ARRAY['pending'::text, 'approved'::text, 'denied'::text, 'expired'::text, 'cancelled'::text])))
constraint audit_chain_anchors.audit_chain_anchors_chain_index_check CHECK ((chain_index >= 1))
constraint audit_chain_anchors.audit_chain_anchors_cut_key UNIQUE (deployment_id, chain_index)
constraint audit_chain_anchors.audit_chain_anchors_hash_check CHECK ((length(hash) = 32))
constraint audit_chain_anchors.audit_chain_anchors_pkey PRIMARY KEY (id)
constraint audit_checkpoint_heads.audit_checkpoint_heads_pkey PRIMARY KEY (checkpoint_id, leaf_index)
constraint audit_checkpoints.audit_checkpoints_digest_check CHECK ((length(digest) = 32))
constraint audit_checkpoints.audit_checkpoints_pkey PRIMARY KEY (id)
constraint audit_checkpoints.audit_checkpoints_version_check CHECK ((version = ANY (ARRAY[1, 2])))
constraint audit_purges.audit_purges_pkey PRIMARY KEY (id)
constraint audit_retention.audit_retention_category_check CHECK ((category = ANY (ARRAY['deployment_lifecycle'::text, 'configuration'::text, 'state_change'::text, 'approval_workflow'::text, 'compliance_gate'::text, 'rollback'::text, 'security'::text, 'system'::text])))
constraint audit_retention.audit_retention_keep_for_check CHECK ((keep_for >= '1 day'::interval))
constraint audit_retention.audit_retention_pkey PRIMARY KEY (category)
constraint audit_retention_changes.audit_retention_changes_pkey PRIMARY KEY (id)
constraint deployment_events.deployment_events_pkey PRIMARY KEY (seq, occurred_at)
constraint deployment_events_default.deployment_events_default_pkey PRIMARY KEY (seq, occurred_at)
constraint deployments.deployments_app_version_check CHECK ((app_version ~ '^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$'::text))
constraint deployments.deployments_config_check CHECK (((jsonb_typeof(config) = 'object'::text) AND (pg_column_size(config) <= 65536)))
constraint deployments.deployments_depends_on_check CHECK ((cardinality(depends_on) <= 32))
constraint deployments.deployments_environment_check CHECK (shipslog.is_dns_label(environment))
constraint deployments.deployments_health_check CHECK ((health = ANY (ARRAY['Unknown'::text, 'Progressing'::text, 'Healthy'::text, 'Degraded'::text, 'Missing'::text, 'Suspended'::text])))
constraint deployments.deployments_health_message_check CHECK ((length(health_message) <= 2000))
constraint deployments.deployments_id_check CHECK ((id <> '00000000-0000-0000-0000-000000000000'::uuid))
constraint deployments.deployments_local_port_check CHECK (((local_port >= 1) AND (local_port <= 65535)))
constraint deployments.deployments_managed_resources_check CHECK (shipslog.is_resource_list(managed_resources))
constraint deployments.deployments_name_check CHECK ((shipslog.is_dns_label(name) AND (length(name) <= 53)))
constraint deployments.deployments_observed_generation_check CHECK (((observed_generation >= 0) AND (observed_generation <= generation)))
constraint deployments.deployments_pkey PRIMARY KEY (id)
constraint deployments.deployments_recipe_check CHECK ((recipe ~ '^[a-z][a-z0-9-]{0,39}$'::text))
constraint deployments.deployments_secrets_fingerprint_check CHECK ((secrets_fingerprint ~ '^hmac-sha256:[0-9a-f]{64}$'::text))
constraint deployments.deployments_secrets_ref_check CHECK (shipslog.is_dns_label(secrets_ref))
constraint deployments.deployments_service_name_check CHECK (shipslog.is_dns_label(service_name))
constraint deployments.deployments_service_port_check CHECK (((service_port >= 1) AND (service_port <= 65535)))
constraint deployments.deployments_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'reconciling'::text, 'applied'::text, 'failed'::text, 'removing'::text])))
constraint deployments.deployments_status_message_check CHECK ((length(status_message) <= 2000))
constraint deployments.deployments_tenant_check CHECK (shipslog.is_dns_label(tenant))
constraint deployments.deployments_tenant_name_key UNIQUE (tenant, name)
constraint deployments.deployments_url_check CHECK ((length(url) <= 2048))
constraint gate_results.gate_results_details_check CHECK ((jsonb_typeof(details) = 'object'::text))
constraint gate_results.gate_results_gate_check CHECK ((gate ~ '^[a-z0-9][a-z0-9._-]{0,62}$'::text))
constraint gate_results.gate_results_pkey PRIMARY KEY (id)
constraint gate_results.gate_results_result_check CHECK ((result = ANY (ARRAY['started'::text, 'passed'::text, 'failed'::text, 'warned'::text, 'skipped'::text])))
constraint idempotency_keys.idempotency_keys_key_check CHECK (((length(idempotency_key) >= 1) AND (length(idempotency_key) <= 200)))
constraint idempotency_keys.idempotency_keys_pkey PRIMARY KEY (api_key_id, idempotency_key)
constraint projects.projects_id_check CHECK (shipslog.is_dns_label(id))
constraint projects.projects_pkey PRIMARY KEY (id)
constraint projects.projects_tenant_check CHECK (shipslog.is_dns_label(tenant))
constraint projects.projects_tenant_id_key UNIQUE (tenant, id)
constraint reconcile_queue.reconcile_queue_deployment_id_fkey FOREIGN KEY (deployment_id) REFERENCES shipslog.deployments(id) ON DELETE CASCADE
constraint reconcile_queue.reconcile_queue_failures_check CHECK ((failures >= 0))
constraint reconcile_queue.reconcile_queue_held_check CHECK (((held_generation IS NULL) = (held_reason IS NULL)))
constraint reconcile_queue.reconcile_queue_held_reason_check CHECK ((held_reason = ANY (ARRAY['AwaitingApproval'::text, 'AwaitingGates'::text])))
constraint reconcile_queue.reconcile_queue_lease_check CHECK ((((lease_id IS NULL) = (lease_holder IS NULL)) AND ((lease_id IS NULL) = (lease_expires_at IS NULL))))
constraint reconcile_queue.reconcile_queue_lease_holder_check CHECK (((length(lease_holder) >= 1) AND (length(lease_holder) <= 200)))
constraint reconcile_queue.reconcile_queue_pkey PRIMARY KEY (deployment_id)
constraint reconcile_run_audit.reconcile_run_audit_pkey PRIMARY KEY (id)
constraint reconcile_run_audit.reconcile_run_audit_transition_id_fkey FOREIGN KEY (transition_id) REFERENCES shipslog.reconcile_run_transitions(id)
constraint reconcile_run_audit.reconcile_run_audit_transition_key UNIQUE (transition_id)
constraint reconcile_run_transitions.reconcile_run_transitions_pkey PRIMARY KEY (id)
constraint reconcile_runs.reconcile_runs_change_set_check CHECK ((jsonb_typeof(change_set) = 'array'::text))
constraint reconcile_runs.reconcile_runs_config_hash_check CHECK ((config_hash ~ '^sha256:[0-9a-f]{64}$'::text))
constraint reconcile_runs.reconcile_runs_failed_check CHECK (((phase = 'Failed'::text) = (failure_reason IS NOT NULL)))
constraint reconcile_runs.reconcile_runs_failure_message_check CHECK ((length(failure_message) <= 4000))
constraint reconcile_runs.reconcile_runs_failure_reason_check CHECK ((failure_reason ~ '^[A-Z][A-Za-z]{1,63}$'::text))
constraint reconcile_runs.reconcile_runs_outcome_check CHECK ((outcome = ANY (ARRAY['Applied'::text, 'Unchanged'::text, 'Planned'::text, 'Removed'::text, 'Removing'::text, 'Failed'::text, 'Skipped'::text])))
constraint reconcile_runs.reconcile_runs_parameters_check CHECK ((jsonb_typeof(parameters) = 'object'::text))
constraint reconcile_runs.reconcile_runs_phase_check CHECK ((phase = ANY (ARRAY['Pending'::text, 'Running'::text, 'Completed'::text, 'Failed'::text, 'Skipped'::text])))
constraint reconcile_runs.reconcile_runs_pkey PRIMARY KEY (id, started_at)
constraint reconcile_runs.reconcile_runs_result_check CHECK (((phase = ANY (ARRAY['Completed'::text, 'Failed'::text, 'Skipped'::text])) = ((completed_at IS NOT NULL) AND (outcome IS NOT NULL))))
constraint reconcile_runs.reconcile_runs_skip_reason_check CHECK ((skip_reason = ANY (ARRAY['ResourceBusy'::text, 'RecentlyRemediated'::text, 'AwaitingApproval'::text, 'AwaitingGates'::text])))
constraint reconcile_runs.reconcile_runs_skipped_check CHECK (((phase = 'Skipped'::text) = (skip_reason IS NOT NULL)))
constraint reconcile_runs_default.reconcile_runs_change_set_check CHECK ((jsonb_typeof(change_set) = 'array'::text))
constraint reconcile_runs_default.reconcile_runs_config_hash_check CHECK ((config_hash ~ '^sha256:[0-9a-f]{64}$'::text))
constraint reconcile_runs_default.reconcile_runs_default_pkey PRIMARY KEY (id, started_at)
constraint reconcile_runs_default.reconcile_runs_failed_check CHECK (((phase = 'Failed'::text) = (failure_reason IS NOT NULL)))
constraint reconcile_runs_default.reconcile_runs_failure_message_check CHECK ((length(failure_message) <= 4000))
constraint reconcile_runs_default.reconcile_runs_failure_reason_check CHECK ((failure_reason ~ '^[A-Z][A-Za-z]{1,63}$'::text))
constraint reconcile_runs_default.reconcile_runs_outcome_check CHECK ((outcome = ANY (ARRAY['Applied'::text, 'Unchanged'::text, 'Planned'::text, 'Removed'::text, 'Removing'::text, 'Failed'::text, 'Skipped'::text])))
constraint reconcile_runs_default.reconcile_runs_parameters_check CHECK ((jsonb_typeof(parameters) = 'object'::text))
constraint reconcile_runs_default.reconcile_runs_phase_check CHECK ((phase = ANY (ARRAY['Pending'::text, 'Running'::text, 'Completed'::text, 'Failed'::text, 'Skipped'::text])))
constraint reconcile_runs_default.reconcile_runs_result_check CHECK (((phase = ANY (ARRAY['Completed'::text, 'Failed'::text, 'Skipped'::text])) = ((completed_at IS NOT NULL) AND (outcome IS NOT NULL))))
constraint reconcile_runs_default.reconcile_runs_skip_reason_check CHECK ((skip_reason = ANY (ARRAY['ResourceBusy'::text, 'RecentlyRemediated'::text, 'AwaitingApproval'::text, 'AwaitingGates'::text])))
constraint reconcile_runs_default.reconcile_runs_skipped_check CHECK (((phase = 'Skipped'::text) = (skip_reason IS NOT NULL)))
constraint schema_definitions.schema_definitions_digest_check CHECK ((digest ~ '^[0-9a-f]{64}$'::text))
constraint schema_definitions.schema_definitions_pkey PRIMARY KEY (id)
index CREATE UNIQUE INDEX agent_message_daily_pkey ON shipslog.agent_message_daily USING btree (tenant, project_id, day_start, model)
index CREATE UNIQUE INDEX agent_message_retention_runs_pkey ON shipslog.agent_message_retention_runs USING btree (id)
index CREATE UNIQUE INDEX agent_message_retention_runs_scheduled_key ON shipslog.agent_message_retention_runs USING btree (run_date) WHERE (kind = 'scheduled'::text)
index CREATE INDEX agent_messages_created_at_idx ON shipslog.agent_messages USING btree (created_at)
index CREATE UNIQUE INDEX agent_messages_pkey ON shipslog.agent_messages USING btree (message_id, tenant)
index CREATE INDEX agent_messages_project_time_idx ON shipslog.agent_messages USING btree (tenant, project_id, created_at) INCLUDE (model, prompt_tokens, completion_tokens, total_tokens, prompt_cost, completion_cost, total_cost)
index CREATE UNIQUE INDEX api_keys_key_hash_key ON shipslog.api_keys USING btree (key_hash)
index CREATE UNIQUE INDEX api_keys_pkey ON shipslog.api_keys USING btree (id)
index CREATE UNIQUE INDEX approval_decisions_approver_key ON shipslog.approval_decisions USING btree (request_id, approver)
index CREATE UNIQUE INDEX approval_decisions_pkey ON shipslog.approval_decisions USING btree (id)
index CREATE UNIQUE INDEX approval_policies_pkey ON shipslog.approval_policies USING btree (tenant, environment)
index CREATE UNIQUE INDEX approval_policy_changes_pkey ON shipslog.approval_policy_changes USING btree (id)
index CREATE INDEX approval_policy_changes_tenant_idx ON shipslog.approval_policy_changes USING btree (tenant, environment, id)
index CREATE UNIQUE INDEX approval_requests_pending_key ON shipslog.approval_requests USING btree (deployment_id, generation) WHERE (state = 'pending'::text)
index CREATE UNIQUE INDEX approval_requests_pkey ON shipslog.approval_requests USING btree (id)
index CREATE INDEX approval_requests_tenant_state_idx ON shipslog.approval_requests USING btree (tenant, state, requested_at)
index CREATE UNIQUE INDEX audit_chain_anchors_cut_key ON shipslog.audit_chain_anchors USING btree (deployment_id, chain_index)
index CREATE UNIQUE INDEX audit_chain_anchors_pkey ON shipslog.audit_chain_anchors USING btree (id)
index CREATE INDEX audit_checkpoint_heads_chain_idx ON shipslog.audit_checkpoint_heads USING btree (deployment_id, chain_index)
index CREATE UNIQUE INDEX audit_checkpoint_heads_pkey ON shipslog.audit_checkpoint_heads USING btree (checkpoint_id, leaf_index)
index CREATE UNIQUE INDEX audit_checkpoints_pkey ON shipslog.audit_checkpoints USING btree (id)
index CREATE UNIQUE INDEX audit_purges_pkey ON shipslog.audit_purges USING btree (id)
index CREATE UNIQUE INDEX audit_retention_changes_pkey ON shipslog.audit_retention_changes USING btree (id)
index CREATE UNIQUE INDEX audit_retention_pkey ON shipslog.audit_retention USING btree (category)
index CREATE INDEX deployment_events_action_idx ON ONLY shipslog.deployment_events USING btree (action, occurred_at)
index CREATE INDEX deployment_events_actor_idx ON ONLY shipslog.deployment_events USING btree (actor, occurred_at)
index CREATE INDEX deployment_events_correlation_id_idx ON ONLY shipslog.deployment_events USING btree (correlation_id) WHERE (correlation_id IS NOT NULL)
index CREATE INDEX deployment_events_created_name_idx ON ONLY shipslog.deployment_events USING btree (tenant, name) WHERE (action = 'created'::text)
index CREATE INDEX deployment_events_default_action_occurred_at_idx ON shipslog.deployment_events_default USING btree (action, occurred_at)
index CREATE INDEX deployment_events_default_actor_occurred_at_idx ON shipslog.deployment_events_default USING btree (actor, occurred_at)
index CREATE UNIQUE INDEX deployment_events_default_chain_key ON shipslog.deployment_events_default USING btree (deployment_id, chain_index)
index CREATE INDEX deployment_events_default_correlation_id_idx ON shipslog.deployment_events_default USING btree (correlation_id) WHERE (correlation_id IS NOT NULL)
index CREATE INDEX deployment_events_default_occurred_at_idx ON shipslog.deployment_events_default USING btree (occurred_at)
index CREATE UNIQUE INDEX deployment_events_default_pkey ON shipslog.deployment_events_default USING btree (seq, occurred_at)
index CREATE INDEX deployment_events_default_tenant_name_idx ON shipslog.deployment_events_default USING btree (tenant, name) WHERE (action = 'created'::text)
index CREATE INDEX deployment_events_default_tenant_occurred_at_idx ON shipslog.deployment_events_default USING btree (tenant, occurred_at)
index CREATE INDEX deployment_events_default_tenant_txid_seq_idx ON shipslog.deployment_events_default USING btree (tenant, txid, seq)
index CREATE INDEX deployment_events_default_txid_seq_idx ON shipslog.deployment_events_default USING btree (txid, seq)
index CREATE INDEX deployment_events_occurred_at_idx ON ONLY shipslog.deployment_events USING btree (occurred_at)
index CREATE UNIQUE INDEX deployment_events_pkey ON ONLY shipslog.deployment_events USING btree (seq, occurred_at)
index CREATE INDEX deployment_events_tenant_occurred_at_idx ON ONLY shipslog.deployment_events USING btree (tenant, occurred_at)
index CREATE INDEX deployment_events_tenant_txid_seq_idx ON ONLY shipslog.deployment_events USING btree (tenant, txid, seq)
index CREATE INDEX deployment_events_txid_seq_idx ON ONLY shipslog.deployment_events USING btree (txid, seq)
index CREATE UNIQUE INDEX deployments_pkey ON shipslog.deployments USING btree (id)
index CREATE UNIQUE INDEX deployments_tenant_name_key ON shipslog.deployments USING btree (tenant, name)
index CREATE INDEX gate_results_generation_idx ON shipslog.gate_results USING btree (deployment_id, generation, gate, id)
index CREATE UNIQUE INDEX gate_results_pkey ON shipslog.gate_results USING btree (id)
index CREATE INDEX idempotency_keys_created_at_idx ON shipslog.idempotency_keys USING btree (created_at)
index CREATE INDEX idempotency_keys_expiry_idx ON shipslog.idempotency_keys USING btree (api_key_id, created_at)
index CREATE UNIQUE INDEX idempotency_keys_pkey ON shipslog.idempotency_keys USING btree (api_key_id, idempotency_key)
index CREATE UNIQUE INDEX projects_pkey ON shipslog.projects USING btree (id)
index CREATE UNIQUE INDEX projects_tenant_id_key ON shipslog.projects USING btree (tenant, id)
index CREATE INDEX reconcile_queue_health_idx ON shipslog.reconcile_queue USING btree (health_checked_at NULLS FIRST)
index CREATE INDEX reconcile_queue_lease_idx ON shipslog.reconcile_queue USING btree (lease_id) WHERE (lease_id IS NOT NULL)
index CREATE UNIQUE INDEX reconcile_queue_pkey ON shipslog.reconcile_queue USING btree (deployment_id)
index CREATE INDEX reconcile_run_audit_deployment_idx ON shipslog.reconcile_run_audit USING btree (deployment_id, recorded_at DESC)
index CREATE UNIQUE INDEX reconcile_run_audit_pkey ON shipslog.reconcile_run_audit USING btree (id)
index CREATE INDEX reconcile_run_audit_recorded_at_idx ON shipslog.reconcile_run_audit USING btree (recorded_at)
index CREATE INDEX reconcile_run_audit_run_idx ON shipslog.reconcile_run_audit USING btree (run_id)
index CREATE UNIQUE INDEX reconcile_run_audit_transition_key ON shipslog.reconcile_run_audit USING btree (transition_id)
index CREATE INDEX reconcile_run_audit_worker_idx ON shipslog.reconcile_run_audit USING btree (worker_id, recorded_at DESC)
index CREATE UNIQUE INDEX reconcile_run_transitions_pkey ON shipslog.reconcile_run_transitions USING btree (id)
index CREATE INDEX reconcile_run_transitions_run_idx ON shipslog.reconcile_run_transitions USING btree (run_id, id)
index CREATE INDEX reconcile_runs_correlation_id_idx ON ONLY shipslog.reconcile_runs USING btree (correlation_id)
index CREATE INDEX reconcile_runs_default_completed_at_idx ON shipslog.reconcile_runs_default USING btree (completed_at DESC) WHERE (phase = 'Failed'::text)
index CREATE INDEX reconcile_runs_default_correlation_id_idx ON shipslog.reconcile_runs_default USING btree (correlation_id)
index CREATE INDEX reconcile_runs_default_deployment_id_started_at_idx ON shipslog.reconcile_runs_default USING btree (deployment_id, started_at DESC)
index CREATE UNIQUE INDEX reconcile_runs_default_pkey ON shipslog.reconcile_runs_default USING btree (id, started_at)
index CREATE INDEX reconcile_runs_default_started_at_phase_idx ON shipslog.reconcile_runs_default USING btree (started_at, phase)
index CREATE INDEX reconcile_runs_default_target_completed_at_idx ON shipslog.reconcile_runs_default USING btree (target, completed_at DESC) WHERE (phase = 'Failed'::text)
index CREATE INDEX reconcile_runs_default_worker_id_started_at_idx ON shipslog.reconcile_runs_default USING btree (worker_id, started_at DESC)
index CREATE INDEX reconcile_runs_deployment_idx ON ONLY shipslog.reconcile_runs USING btree (deployment_id, started_at DESC)
index CREATE INDEX reconcile_runs_failed_idx ON ONLY shipslog.reconcile_runs USING btree (completed_at DESC) WHERE (phase = 'Failed'::text)
index CREATE INDEX reconcile_runs_failed_target_idx ON ONLY shipslog.reconcile_runs USING btree (target, completed_at DESC) WHERE (phase = 'Failed'::text)
index CREATE INDEX reconcile_runs_phase_idx ON ONLY shipslog.reconcile_runs USING btree (started_at, phase)
index CREATE UNIQUE INDEX reconcile_runs_pkey ON ONLY shipslog.reconcile_runs USING btree (id, started_at)
index CREATE INDEX reconcile_runs_worker_idx ON ONLY shipslog.reconcile_runs USING btree (worker_id, started_at DESC)
index CREATE UNIQUE INDEX schema_definitions_pkey ON shipslog.schema_definitions USING btree (id)
function shipslog.action_severity(action text)
CREATE OR REPLACE FUNCTION shipslog.action_severity(action text)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
RETURN CASE action WHEN 'deployment_failed'::text THEN 'error'::text WHEN 'deployment_cancelled'::text THEN 'warning'::text WHEN 'downgraded'::text THEN 'warning'::text WHEN 'approval_denied'::text THEN 'warning'::text WHEN 'approval_expired'::text THEN 'warning'::text WHEN 'gate_failed'::text THEN 'error'::text WHEN 'gate_warned'::text THEN 'warning'::text WHEN 'gate_skipped'::text THEN 'warning'::text WHEN 'rolled_back'::text THEN 'warning'::text WHEN 'rollback_started'::text THEN 'warning'::text WHEN 'rollback_failed'::text THEN 'critical'::text WHEN 'access_denied'::text THEN 'warning'::text WHEN 'security_violation'::text THEN 'critical'::text ELSE CASE WHEN (shipslog.event_category(action) IS NOT NULL) THEN 'info'::text ELSE NULL::text END END
function shipslog.agent_analytics(p_project_id text, p_from timestamp with time zone, p_to timestamp with time zone, p_recent integer)
CREATE OR REPLACE FUNCTION shipslog.agent_analytics(p_project_id text, p_from timestamp with time zone, p_to timestamp with time zone, p_recent integer DEFAULT 10)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
 SET search_path TO ''
AS $function$
declare
  v_tenant text;
  v_result jsonb;
  v_full_from timestamptz;
  v_full_to timestamptz;
begin
  if p_from is null or p_to is null or p_from >= p_to or p_to - p_from > interval '400 days' then
    raise exception 'analytics range [%, %) is empty, reversed or longer than 400 days', p_from, p_to
      using errcode = 'SL309',
            hint = 'Give from < to, at most 400 days apart.';
  end if;
  if p_recent is null or p_recent not between 0 and 100 then
    raise exception 'recent message count must be between 0 and 100, got %', p_recent
      using errcode = 'SL309',
            hint = 'Ask for at most 100 recent messages.';
  end if;

  select p.tenant
  into v_tenant
  from shipslog.projects as p
  where p.id = p_project_id;
  if not found then
    raise exception 'project % not found', p_project_id
      using errcode = 'SL312',
            hint = 'A project exists once its tenant has recorded an agent message in it.';
  end if;

  -- Whole UTC days inside the range come from the daily sums; the partial days at its
  -- edges (e.g. today so far) from the messages themselves, through the same index.
  v_full_from := shipslog.utc_day(p_from);
  if v_full_from < p_from then
    v_full_from := v_full_from + interval '1 day';
  end if;
  v_full_to := shipslog.utc_day(p_to);
  if v_full_to <= v_full_from then
    v_full_from := p_to;
    v_full_to := p_to;
  end if;

  with grouped as materialized (
    select
      d.day_start,
      d.model,
      d.message_count,
      d.finalised_count,
      d.prompt_tokens,
      d.completion_tokens,
      d.prompt_cost,
      d.completion_cost
    from shipslog.agent_message_daily as d
    where d.tenant = v_tenant
      and d.project_id = p_project_id
      and d.day_start >= v_full_from
      and d.day_start < v_full_to
    union all
    -- Two plain ranges, not one OR: each is an index-only scan.
    select
      shipslog.utc_day(m.created_at),
      m.model,
      count(*),
      count(m.prompt_cost),
      coalesce(sum(m.prompt_tokens), 0),
      coalesce(sum(m.completion_tokens), 0),
      coalesce(sum(m.prompt_cost), 0),
      coalesce(sum(m.completion_cost), 0)
    from shipslog.agent_messages as m
    where m.tenant = v_tenant
      and m.project_id = p_project_id
      and m.created_at >= p_from
      and m.created_at < least(v_full_from, p_to)
    group by 1, 2
    union all
    select
      shipslog.utc_day(m.created_at),
      m.model,
      count(*),
      count(m.prompt_cost),
      coalesce(sum(m.prompt_tokens), 0),
      coalesce(sum(m.completion_tokens), 0),
      coalesce(sum(m.prompt_cost), 0),
      coalesce(sum(m.completion_cost), 0)
    from shipslog.agent_messages as m
    where m.tenant = v_tenant
      and m.project_id = p_project_id
      and m.created_at >= greatest(v_full_to, p_from)
      and m.created_at < p_to
    group by 1, 2
  ),
  grouped_totals as (
    select g.*, g.prompt_tokens + g.completion_tokens as total_tokens, g.prompt_cost + g.completion_cost as total_cost
    from grouped as g
  ),
  totals as (
    select
      coalesce(sum(g.message_count), 0)::bigint as message_count,
      coalesce(sum(g.finalised_count), 0)::bigint as finalised_count,
      coalesce(sum(g.prompt_tokens), 0) as prompt_tokens,
      coalesce(sum(g.completion_tokens), 0) as completion_tokens,
      coalesce(sum(g.total_tokens), 0) as total_tokens,
      coalesce(sum(g.prompt_cost), 0) as prompt_cost,
      coalesce(sum(g.completion_cost), 0) as completion_cost,
      coalesce(sum(g.total_cost), 0) as total_cost
    from grouped_totals as g
  ),
  days as (
    select d as day_start
    from generate_series(
      shipslog.utc_day(p_from),
      p_to - interval '1 microsecond',
      interval '1 day'
    ) as s(d)
  ),
  by_day as (
    select g.day_start, sum(g.message_count) as message_count, sum(g.total_tokens) as total_tokens, sum(g.total_cost) as total_cost
    from grouped_totals as g
    group by g.day_start
  ),
  by_model as (
    select g.model, sum(g.message_count) as message_count, sum(g.total_tokens) as total_tokens, sum(g.total_cost) as total_cost
    from grouped_totals as g
    group by g.model
  ),
  recent as (
    select m.message_id, m.model, m.context_layers, m.created_at, m.finalised_at,
           m.prompt_tokens, m.completion_tokens, m.total_tokens,
           m.prompt_cost, m.completion_cost, m.total_cost
    from shipslog.agent_messages as m
    where m.tenant = v_tenant
      and m.project_id = p_project_id
      and m.created_at >= p_from
      and m.created_at < p_to
    order by m.created_at desc, m.message_id desc
    limit p_recent
  )
  select jsonb_build_object(
    'project_id', p_project_id,
    'from', shipslog.iso_utc(p_from),
    'to', shipslog.iso_utc(p_to),
    'message_count', t.message_count,
    'finalised_count', t.finalised_count,
    'tokens', jsonb_build_object('prompt', t.prompt_tokens, 'completion', t.completion_tokens, 'total', t.total_tokens),
    'cost', jsonb_build_object(
      'prompt', shipslog.decimal_text(t.prompt_cost),
      'completion', shipslog.decimal_text(t.completion_cost),
      'total', shipslog.decimal_text(t.total_cost)),
    'average_cost_per_message', shipslog.decimal_text(round(t.total_cost / nullif(t.finalised_count, 0), 12)),
    'cost_by_day', (
      select coalesce(jsonb_agg(jsonb_build_object(
          'day', to_char(d.day_start at time zone 'UTC', 'YYYY-MM-DD'),
          'message_count', coalesce(b.message_count, 0),
          'total_tokens', coalesce(b.total_tokens, 0),
          'total_cost', shipslog.decimal_text(coalesce(b.total_cost, 0)))
        order by d.day_start), '[]')
      from days as d
      left join by_day as b
        on b.day_start = d.day_start),
    'cost_by_model', (
      select coalesce(jsonb_agg(jsonb_build_object(
          'model', bm.model,
          'message_count', bm.message_count,
          'total_tokens', coalesce(bm.total_tokens, 0),
          'total_cost', shipslog.decimal_text(coalesce(bm.total_cost, 0)))
        order by coalesce(bm.total_cost, 0) desc, bm.model), '[]')
      from by_model as bm),
    'recent_messages', (
      select coalesce(jsonb_agg(jsonb_build_object(
          'message_id', r.message_id,
          'model', r.model,
          'context_layers', r.context_layers,
          'created_at', shipslog.iso_utc(r.created_at),
          'finalised_at', shipslog.iso_utc(r.finalised_at),
          'tokens', case when r.finalised_at is not null then jsonb_build_object(
            'prompt', r.prompt_tokens, 'completion', r.completion_tokens, 'total', r.total_tokens) end,
          'cost', case when r.finalised_at is not null then jsonb_build_object(
            'prompt', r.prompt_cost::text, 'completion', r.completion_cost::text, 'total', r.total_cost::text) end)
        order by r.created_at desc, r.message_id desc), '[]')
      from recent as r)
  )
  into v_result
  from totals as t;

  return v_result;
end
$function$
function shipslog.agent_analytics_scan(p_project_id text, p_from timestamp with time zone, p_to timestamp with time zone, p_recent integer)
CREATE OR REPLACE FUNCTION shipslog.agent_analytics_scan(p_project_id text, p_from timestamp with time zone, p_to timestamp with time zone, p_recent integer DEFAULT 10)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
 SET search_path TO ''
AS $function$
declare
  v_tenant text;
  v_result jsonb;
begin
  if p_from is null or p_to is null or p_from >= p_to or p_to - p_from > interval '400 days' then
    raise exception 'analytics range [%, %) is empty, reversed or longer than 400 days', p_from, p_to
      using errcode = 'SL309',
            hint = 'Give from < to, at most 400 days apart.';
  end if;
  if p_recent is null or p_recent not between 0 and 100 then
    raise exception 'recent message count must be between 0 and 100, got %', p_recent
      using errcode = 'SL309',
            hint = 'Ask for at most 100 recent messages.';
  end if;

  select p.tenant
  into v_tenant
  from shipslog.projects as p
  where p.id = p_project_id;
  if not found then
    raise exception 'project % not found', p_project_id
      using errcode = 'SL312',
            hint = 'A project exists once its tenant has recorded an agent message in it.';
  end if;

  with grouped as materialized (
    -- date_bin from a UTC midnight is plain arithmetic: the row's UTC day, no zone lookup.
    select
      date_bin('1 day', m.created_at, timestamptz '2000-01-01 00:00:00+00') as day_start,
      m.model,
      count(*) as message_count,
      count(m.prompt_cost) as finalised_count,
      sum(m.prompt_tokens) as prompt_tokens,
      sum(m.completion_tokens) as completion_tokens,
      sum(m.prompt_cost) as prompt_cost,
      sum(m.completion_cost) as completion_cost
    from shipslog.agent_messages as m
    where m.tenant = v_tenant
      and m.project_id = p_project_id
      and m.created_at >= p_from
      and m.created_at < p_to
    group by 1, 2
  ),
  -- total = prompt + completion on every finalised row (agent_messages_tokens_check and
  -- _cost_check), so the totals of a group are the sums of its two parts.
  grouped_totals as (
    select g.*, g.prompt_tokens + g.completion_tokens as total_tokens, g.prompt_cost + g.completion_cost as total_cost
    from grouped as g
  ),
  totals as (
    select
      coalesce(sum(g.message_count), 0)::bigint as message_count,
      coalesce(sum(g.finalised_count), 0)::bigint as finalised_count,
      coalesce(sum(g.prompt_tokens), 0) as prompt_tokens,
      coalesce(sum(g.completion_tokens), 0) as completion_tokens,
      coalesce(sum(g.total_tokens), 0) as total_tokens,
      coalesce(sum(g.prompt_cost), 0) as prompt_cost,
      coalesce(sum(g.completion_cost), 0) as completion_cost,
      coalesce(sum(g.total_cost), 0) as total_cost
    from grouped_totals as g
  ),
  days as (
    select d as day_start
    from generate_series(
      date_bin('1 day', p_from, timestamptz '2000-01-01 00:00:00+00'),
      p_to - interval '1 microsecond',
      interval '1 day'
    ) as s(d)
  ),
  by_day as (
    select g.day_start, sum(g.message_count) as message_count, sum(g.total_tokens) as total_tokens, sum(g.total_cost) as total_cost
    from grouped_totals as g
    group by g.day_start
  ),
  by_model as (
    select g.model, sum(g.message_count) as message_count, sum(g.total_tokens) as total_tokens, sum(g.total_cost) as total_cost
    from grouped_totals as g
    group by g.model
  ),
  recent as (
    select m.message_id, m.model, m.context_layers, m.created_at, m.finalised_at,
           m.prompt_tokens, m.completion_tokens, m.total_tokens,
           m.prompt_cost, m.completion_cost, m.total_cost
    from shipslog.agent_messages as m
    where m.tenant = v_tenant
      and m.project_id = p_project_id
      and m.created_at >= p_from
      and m.created_at < p_to
    order by m.created_at desc, m.message_id desc
    limit p_recent
  )
  select jsonb_build_object(
    'project_id', p_project_id,
    'from', shipslog.iso_utc(p_from),
    'to', shipslog.iso_utc(p_to),
    'message_count', t.message_count,
    'finalised_count', t.finalised_count,
    'tokens', jsonb_build_object('prompt', t.prompt_tokens, 'completion', t.completion_tokens, 'total', t.total_tokens),
    'cost', jsonb_build_object(
      'prompt', shipslog.decimal_text(t.prompt_cost),
      'completion', shipslog.decimal_text(t.completion_cost),
      'total', shipslog.decimal_text(t.total_cost)),
    'average_cost_per_message', shipslog.decimal_text(round(t.total_cost / nullif(t.finalised_count, 0), 12)),
    'cost_by_day', (
      select coalesce(jsonb_agg(jsonb_build_object(
          'day', to_char(d.day_start at time zone 'UTC', 'YYYY-MM-DD'),
          'message_count', coalesce(b.message_count, 0),
          'total_tokens', coalesce(b.total_tokens, 0),
          'total_cost', shipslog.decimal_text(coalesce(b.total_cost, 0)))
        order by d.day_start), '[]')
      from days as d
      left join by_day as b
        on b.day_start = d.day_start),
    'cost_by_model', (
      select coalesce(jsonb_agg(jsonb_build_object(
          'model', bm.model,
          'message_count', bm.message_count,
          'total_tokens', coalesce(bm.total_tokens, 0),
          'total_cost', shipslog.decimal_text(coalesce(bm.total_cost, 0)))
        order by coalesce(bm.total_cost, 0) desc, bm.model), '[]')
      from by_model as bm),
    'recent_messages', (
      select coalesce(jsonb_agg(jsonb_build_object(
          'message_id', r.message_id,
          'model', r.model,
          'context_layers', r.context_layers,
          'created_at', shipslog.iso_utc(r.created_at),
          'finalised_at', shipslog.iso_utc(r.finalised_at),
          'tokens', case when r.finalised_at is not null then jsonb_build_object(
            'prompt', r.prompt_tokens, 'completion', r.completion_tokens, 'total', r.total_tokens) end,
          'cost', case when r.finalised_at is not null then jsonb_build_object(
            'prompt', r.prompt_cost::text, 'completion', r.completion_cost::text, 'total', r.total_cost::text) end)
        order by r.created_at desc, r.message_id desc), '[]')
      from recent as r)
  )
  into v_result
  from totals as t;

  return v_result;
end
$function$
function shipslog.agent_attribution()
CREATE OR REPLACE FUNCTION shipslog.agent_attribution()
 RETURNS jsonb
 LANGUAGE sql
 SET search_path TO ''
RETURN jsonb_strip_nulls(jsonb_build_object('at', shipslog.iso_utc(clock_timestamp()), 'actor', COALESCE(shipslog.context_setting('shipslog.actor'::text), (SESSION_USER)::text), 'actor_type', COALESCE(shipslog.context_setting('shipslog.actor_type'::text), 'database'::text), 'reason', shipslog.context_setting('shipslog.reason'::text), 'correlation_id', shipslog.context_setting('shipslog.correlation_id'::text), 'request_id', shipslog.context_setting('shipslog.request_id'::text), 'source_ip', shipslog.context_setting('shipslog.source_ip'::text), 'user_agent', shipslog.context_setting('shipslog.user_agent'::text), 'db_role', CASE WHEN (current_setting('role'::text) = 'none'::text) THEN (SESSION_USER)::text ELSE current_setting('role'::text) END, 'db_user', (SESSION_USER)::text, 'application_name', NULLIF(current_setting('application_name'::text), ''::text), 'client_addr', (inet_client_addr())::text, 'txid', (pg_current_xact_id())::text))
function shipslog.agent_message_daily_drift()
CREATE OR REPLACE FUNCTION shipslog.agent_message_daily_drift()
 RETURNS TABLE(tenant text, project_id text, day_start timestamp with time zone, model text, stored jsonb, actual jsonb)
 LANGUAGE sql
 STABLE
 SET search_path TO ''
AS $function$
  with actual as (
    select m.tenant, m.project_id, shipslog.utc_day(m.created_at) as day_start, m.model,
           jsonb_build_object('messages', count(*), 'finalised', count(m.finalised_at),
             'prompt_tokens', coalesce(sum(m.prompt_tokens), 0), 'completion_tokens', coalesce(sum(m.completion_tokens), 0),
             'prompt_cost', coalesce(sum(m.prompt_cost), 0), 'completion_cost', coalesce(sum(m.completion_cost), 0)) as sums
    from shipslog.agent_messages as m
    group by 1, 2, 3, 4
  ),
  stored as (
    select d.tenant, d.project_id, d.day_start, d.model,
           jsonb_build_object('messages', d.message_count, 'finalised', d.finalised_count,
             'prompt_tokens', d.prompt_tokens, 'completion_tokens', d.completion_tokens,
             'prompt_cost', d.prompt_cost, 'completion_cost', d.completion_cost) as sums
    from shipslog.agent_message_daily as d
  )
  select coalesce(s.tenant, a.tenant), coalesce(s.project_id, a.project_id),
         coalesce(s.day_start, a.day_start), coalesce(s.model, a.model), s.sums, a.sums
  from stored as s
  full join actual as a
    on a.tenant = s.tenant
    and a.project_id = s.project_id
    and a.day_start = s.day_start
    and a.model = s.model
  where s.sums is distinct from a.sums
$function$
function shipslog.anchor_message(p_deployment_id uuid, p_chain_index integer, p_hash bytea, p_state jsonb, p_removed boolean, p_judged_at timestamp with time zone)
CREATE OR REPLACE FUNCTION shipslog.anchor_message(p_deployment_id uuid, p_chain_index integer, p_hash bytea, p_state jsonb, p_removed boolean, p_judged_at timestamp with time zone)
 RETURNS text
 LANGUAGE sql
 STABLE PARALLEL SAFE
RETURN (((((((((((('shipslog-anchor v1'::text || '
'::text) || (p_deployment_id)::text) || '
'::text) || p_chain_index) || '
'::text) || encode(p_hash, 'hex'::text)) || '
'::text) || COALESCE(encode(sha256(convert_to((p_state)::text, 'UTF8'::name)), 'hex'::text), 'null'::text)) || '
'::text) || CASE WHEN p_removed THEN 'removed'::text ELSE 'open'::text END) || '
'::text) || shipslog.iso_utc(p_judged_at))
function shipslog.append_event(p_deployment_id uuid, p_action text, p_details jsonb)
CREATE OR REPLACE FUNCTION shipslog.append_event(p_deployment_id uuid, p_action text, p_details jsonb)
 RETURNS shipslog.deployment_events
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  head record;
  ev shipslog.deployment_events;
  linked bigint[];
begin
  perform shipslog.check_event_details(p_action, p_details);
  perform shipslog.check_actor_context();
  -- The row lock the audit trigger's writers queue on: chain_index stays gap-free and ordered.
  select d.chain_length, d.chain_head, d.tenant, d.name
  into head
  from shipslog.deployments as d
  where d.id = p_deployment_id
    -- The caller's tenant (shipslog.tenant; unset: the reconciler, the owner), spelled out
    -- rather than left to row-level security, which a superuser owner would bypass.
    and coalesce(shipslog.context_setting('shipslog.tenant'), d.tenant) in ('*', d.tenant)
  for no key update;
  if not found then
    raise exception 'deployment % not found: % not recorded', p_deployment_id, p_action
      using errcode = 'SL402',
            hint = 'Events are recorded on an existing deployment''s chain (a removed deployment''s chain ends in its removed event).';
  end if;
  -- Linked events must exist and belong to the deployment's tenant.
  linked := array(
    select (v #>> '{}')::bigint
    from jsonb_array_elements(coalesce(p_details -> 'related_seqs', '[]') || coalesce(p_details -> 'parent_seq', '[]')) as v);
  if cardinality(linked) > 0 and exists (
       select
       from unnest(linked) as l(seq)
       where not exists (
         select
         from shipslog.deployment_events as e
         where e.seq = l.seq
           and e.tenant = head.tenant)) then
    raise exception '% event links an event that does not exist in tenant %', p_action, head.tenant
      using errcode = 'SL403', hint = 'parent_seq and related_seqs name events of the same tenant by seq.', column = 'parent_seq';
  end if;

  ev.seq := nextval('shipslog.deployment_events_seq');
  ev.deployment_id := p_deployment_id;
  ev.chain_index := head.chain_length + 1;
  ev.tenant := head.tenant;
  ev.name := head.name;
  ev.action := p_action;
  ev.occurred_at := clock_timestamp();
  ev.txid := pg_current_xact_id();
  ev.actor := coalesce(shipslog.context_setting('shipslog.actor'), session_user);
  ev.actor_type := coalesce(shipslog.context_setting('shipslog.actor_type'), 'database');
  ev.reason := shipslog.context_setting('shipslog.reason');
  ev.correlation_id := shipslog.context_setting('shipslog.correlation_id');
  ev.request_id := shipslog.context_setting('shipslog.request_id');
  ev.source_ip := shipslog.context_setting('shipslog.source_ip')::inet;
  ev.user_agent := shipslog.context_setting('shipslog.user_agent');
  -- Inside SECURITY DEFINER current_user is the owner; the session's role is in "role".
  ev.db_role := coalesce(nullif(current_setting('role'), 'none'), session_user);
  ev.db_user := session_user;
  ev.application_name := nullif(current_setting('application_name'), '');
  ev.client_addr := inet_client_addr();
  ev.previous_state := null;
  ev.new_state := jsonb_build_object('details', p_details);
  ev.hash := shipslog.event_hash(head.chain_head, ev);
  -- One line, exactly as the append-only guard (20_append_only.sql) expects to find it in
  -- the call stack: keep the two in step.
  insert into shipslog.deployment_events overriding system value select (ev).*;

  -- A no-op UPDATE: the audit trigger finds nothing changed and records nothing;
  -- deployments_chain_head then moves the head to the event above.
  update shipslog.deployments as d
  set chain_length = d.chain_length
  where d.id = p_deployment_id;
  return ev;
end
$function$
function shipslog.apply_event(state jsonb, previous_part jsonb, new_part jsonb)
CREATE OR REPLACE FUNCTION shipslog.apply_event(state jsonb, previous_part jsonb, new_part jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
 IMMUTABLE PARALLEL SAFE
 SET search_path TO ''
AS $function$
declare
  key text;
begin
  if previous_part is null then
    return new_part;
  end if;
  if new_part is null then
    return null;
  end if;
  -- The keys of either side: those of their concatenation (cheaper than a UNION of both).
  for key in
    select jsonb_object_keys(previous_part || new_part)
  loop
    if jsonb_typeof(previous_part -> key) = 'object' and jsonb_typeof(new_part -> key) = 'object' then
      state := coalesce(state, '{}') || jsonb_build_object(
        key, shipslog.apply_event(coalesce(state -> key, '{}'), previous_part -> key, new_part -> key));
    elsif new_part ? key then
      state := coalesce(state, '{}') || jsonb_build_object(key, new_part -> key);
    else
      state := state - key;
    end if;
  end loop;
  return state;
end
$function$
function shipslog.audit_retention_cuts(p_at timestamp with time zone)
CREATE OR REPLACE FUNCTION shipslog.audit_retention_cuts(p_at timestamp with time zone)
 RETURNS TABLE(deployment_id uuid, chain_index integer, hash bytea, state jsonb, removed boolean, event_count bigint, message text)
 LANGUAGE sql
 STABLE
 SET search_path TO ''
AS $function$
  with events as (
    select
      e.deployment_id, e.chain_index, e.hash, e.action, e.previous_state, e.new_state,
      coalesce(e.occurred_at < p_at - r.keep_for, false) as expired
    from shipslog.deployment_events as e
      left join shipslog.audit_retention as r on r.category = shipslog.event_category(e.action)
      left join shipslog.audit_chain_starts as s on s.deployment_id = e.deployment_id
    where e.chain_index > coalesce(s.chain_index, 0)
  ),
  cuts as (
    select
      e.deployment_id,
      coalesce(min(e.chain_index) filter (where not e.expired) - 1, max(e.chain_index)) as cut
    from events as e
    group by e.deployment_id
  ),
  prefixes as (
    select
      c.deployment_id,
      c.cut,
      count(*) as event_count,
      (array_agg(e.hash order by e.chain_index desc))[1] as hash,
      (array_agg(e.action order by e.chain_index desc))[1] as action
    from cuts as c
      join events as e on e.deployment_id = c.deployment_id and e.chain_index <= c.cut
    group by c.deployment_id, c.cut
  )
  select
    p.deployment_id,
    p.cut,
    p.hash,
    x.state,
    p.action = 'removed',
    p.event_count,
    shipslog.anchor_message(p.deployment_id, p.cut, p.hash, x.state, p.action = 'removed', p_at)
  from prefixes as p
    left join shipslog.audit_chain_starts as s on s.deployment_id = p.deployment_id
    cross join lateral (
      -- The replay of the purged events continues from the previous anchor's state. A prefix
      -- that starts with created (or follows an anchor of a removed chain) starts afresh.
      select case
        when p.action = 'removed' then null
        else shipslog.replay_state_from(s.state, p.deployment_id, coalesce(s.chain_index, 0), p.cut)
      end as state
    ) as x
  where p.cut > coalesce(s.chain_index, 0)
$function$
function shipslog.audit_retention_minimums()
CREATE OR REPLACE FUNCTION shipslog.audit_retention_minimums()
 RETURNS TABLE(category text, keep_for interval)
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
 SET search_path TO ''
AS $function$
  values
    ('approval_workflow', null::interval),
    ('compliance_gate', interval '7 years'),
    ('configuration', interval '7 years'),
    ('deployment_lifecycle', interval '7 years'),
    ('rollback', interval '7 years'),
    ('security', null::interval),
    ('state_change', interval '1 year'),
    ('system', interval '90 days')
$function$
function shipslog.audited_state(d shipslog.deployments)
CREATE OR REPLACE FUNCTION shipslog.audited_state(d shipslog.deployments)
 RETURNS jsonb
 LANGUAGE plpgsql
 IMMUTABLE PARALLEL SAFE
 SET search_path TO ''
AS $function$
begin
  return (to_jsonb(d) - array['version', 'created_at', 'updated_at', 'generation', 'chain_length', 'chain_head'])
    || jsonb_build_object(
         'restarted_at', shipslog.iso_utc(d.restarted_at),
         'deletion_requested_at', shipslog.iso_utc(d.deletion_requested_at));
end
$function$
function shipslog.backfill_reconcile_run_audit()
CREATE OR REPLACE FUNCTION shipslog.backfill_reconcile_run_audit()
 RETURNS integer
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  added integer;
begin
  insert into shipslog.reconcile_run_audit
    (transition_id, run_id, deployment_id, tenant, worker_id, correlation_id, success, execution_ms, recorded_at)
  select t.id, t.run_id, t.deployment_id, t.tenant, t.worker_id, t.correlation_id, t.to_phase = 'Completed',
         t.duration_ms, t.occurred_at
  from shipslog.reconcile_run_transitions as t
  where t.to_phase in ('Completed', 'Failed', 'Skipped')
    and not exists (
      select
      from shipslog.reconcile_run_audit as a
      where a.transition_id = t.id
    )
  order by t.id
  on conflict (transition_id) do nothing;
  get diagnostics added = row_count;
  return added;
end
$function$
function shipslog.begin_rollout(p_deployment_id uuid, p_generation bigint, p_run_id uuid)
CREATE OR REPLACE FUNCTION shipslog.begin_rollout(p_deployment_id uuid, p_generation bigint, p_run_id uuid)
 RETURNS bigint
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  latest record;
begin
  select * into latest from shipslog.latest_rollout(p_deployment_id);
  if found and latest.action = 'deployment_started' and latest.generation = p_generation then
    return null;
  end if;
  if found and latest.action = 'deployment_started' and latest.generation < p_generation then
    perform shipslog.append_event(p_deployment_id, 'deployment_cancelled', jsonb_build_object(
      'generation', latest.generation, 'run_id', latest.run_id,
      'superseded_by_generation', p_generation, 'parent_seq', latest.seq));
    if shipslog.rollback_started_seq(p_deployment_id, latest.generation) is not null then
      perform shipslog.append_event(p_deployment_id, 'rollback_failed', jsonb_build_object(
        'generation', latest.generation, 'failure_reason', 'Superseded',
        'superseded_by_generation', p_generation, 'parent_seq', shipslog.rollback_started_seq(p_deployment_id, latest.generation)));
    end if;
  end if;
  if found and latest.generation >= p_generation then
    -- This generation ended already (completed, failed or cancelled): a re-run is no new rollout.
    return null;
  end if;
  return (shipslog.append_event(p_deployment_id, 'deployment_started', jsonb_build_object(
    'generation', p_generation, 'run_id', p_run_id))).seq;
end
$function$
function shipslog.caller_sees_tenant(p_tenant text)
CREATE OR REPLACE FUNCTION shipslog.caller_sees_tenant(p_tenant text)
 RETURNS boolean
 LANGUAGE sql
 STABLE
RETURN (COALESCE(shipslog.context_setting('shipslog.tenant'::text), p_tenant) = ANY (ARRAY['*'::text, p_tenant]))
function shipslog.cancel_approval(p_request_id uuid, p_because text)
CREATE OR REPLACE FUNCTION shipslog.cancel_approval(p_request_id uuid, p_because text)
 RETURNS shipslog.approval_requests
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  r shipslog.approval_requests;
begin
  select * into r from shipslog.approval_requests as a
  where a.id = p_request_id and shipslog.caller_sees_tenant(a.tenant)
  for update;
  if not found then
    raise exception 'approval request % not found', p_request_id using errcode = 'SL431';
  end if;
  if r.state <> 'pending' then
    raise exception 'approval request % is %, not pending', p_request_id, r.state using errcode = 'SL432';
  end if;
  return shipslog.close_approval_request(r, 'cancelled', coalesce(nullif(p_because, ''), 'cancelled by ' || shipslog.context_actor()));
end
$function$
function shipslog.caused_by(p_correlation_id text)
CREATE OR REPLACE FUNCTION shipslog.caused_by(p_correlation_id text)
 RETURNS TABLE(kind text, occurred_at timestamp with time zone, deployment_id uuid, tenant text, name text, seq bigint, action text, category text, severity text, run_id uuid, run_phase text, run_outcome text, generation bigint)
 LANGUAGE sql
 STABLE
 SET search_path TO ''
AS $function$
  select 'event', e.occurred_at, e.deployment_id, e.tenant, e.name, e.seq, e.action,
         shipslog.event_category(e.action), shipslog.event_severity(e.action, e.new_state),
         r.id, r.phase, r.outcome, r.generation
  from shipslog.deployment_events as e
  left join shipslog.reconcile_runs as r
    on e.request_id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
   and r.id = e.request_id::uuid
   and r.correlation_id = p_correlation_id
  where e.correlation_id = p_correlation_id
  union all
  select 'run', r.started_at, r.deployment_id, r.tenant, r.name, null, null, null, null,
         r.id, r.phase, r.outcome, r.generation
  from shipslog.reconcile_runs as r
  where r.correlation_id = p_correlation_id
  order by 2, 6 nulls first
$function$
function shipslog.chain_digest(p_snapshot pg_snapshot)
CREATE OR REPLACE FUNCTION shipslog.chain_digest(p_snapshot pg_snapshot)
 RETURNS TABLE(digest bytea, chain_count bigint, event_count bigint)
 LANGUAGE sql
 STABLE
 SET search_path TO ''
AS $function$
  with visible as (
    select e.deployment_id, e.chain_index, e.hash
    from shipslog.deployment_events as e
    where pg_visible_in_snapshot(e.txid, p_snapshot)
  ),
  heads as (
    select distinct on (v.deployment_id) v.deployment_id, v.chain_index, v.hash
    from visible as v
    order by v.deployment_id, v.chain_index desc
  )
  select
    sha256(convert_to(coalesce(string_agg(
      h.deployment_id::text || ' ' || h.chain_index || ' ' || encode(h.hash, 'hex'), e'\n'
      order by h.deployment_id), ''), 'UTF8')),
    count(*),
    (select count(*) from visible)
  from heads as h
$function$
function shipslog.check_actor_context()
CREATE OR REPLACE FUNCTION shipslog.check_actor_context()
 RETURNS void
 LANGUAGE plpgsql
 STABLE
 SET search_path TO ''
AS $function$
begin
  if coalesce(shipslog.context_setting('shipslog.actor_type'), 'database') not in ('user', 'service', 'system', 'database') then
    raise exception 'shipslog.actor_type must be user, service or system, not "%"', current_setting('shipslog.actor_type', true)
      using errcode = '22023',
            hint = 'Set shipslog.actor_type with set_config(''shipslog.actor_type'', ''user'', true), or leave it unset.';
  end if;
  if length(current_setting('shipslog.actor', true)) > 200 or length(current_setting('shipslog.reason', true)) > 1000
     or length(current_setting('shipslog.correlation_id', true)) > 200 or length(current_setting('shipslog.request_id', true)) > 200
     or length(current_setting('shipslog.user_agent', true)) > 500 then
    raise exception 'an actor context setting is too long'
      using errcode = '22001',
            hint = 'Limits: shipslog.actor 200, shipslog.reason 1000, shipslog.correlation_id 200, shipslog.request_id 200, shipslog.user_agent 500 characters.';
  end if;
  if current_setting('shipslog.source_ip', true) !~ '^[0-9A-Fa-f:./]*$' then
    raise exception 'shipslog.source_ip is not an IP address: %', current_setting('shipslog.source_ip', true)
      using errcode = '22P02',
            hint = 'Set shipslog.source_ip to an IPv4 or IPv6 address, or leave it unset.';
  end if;
end
$function$
function shipslog.check_event_details(p_action text, p_details jsonb)
CREATE OR REPLACE FUNCTION shipslog.check_event_details(p_action text, p_details jsonb)
 RETURNS void
 LANGUAGE plpgsql
 STABLE
 SET search_path TO ''
AS $function$
declare
  required text[] := shipslog.event_required_fields(p_action);
  missing text;
  f text;
begin
  if required is null then
    raise exception '"%" is not an event type recorded outside the audit trigger', p_action
      using errcode = 'SL400',
            hint = case when shipslog.is_row_change(p_action)
                     then 'Row changes are recorded by the audit trigger: change the deployment instead.'
                     else 'See shipslog.event_required_fields(): deployment_*, approval_*, gate_*, rollback_*, access_denied, security_violation.' end;
  end if;
  if p_details is null or jsonb_typeof(p_details) <> 'object' then
    raise exception '% event: details must be a JSON object', p_action
      using errcode = 'SL403',
            hint = format('Required fields: %s.', array_to_string(required, ', '));
  end if;
  select r into missing
  from unnest(required) with ordinality as x(r, ord)
  where coalesce(p_details -> r, 'null'::jsonb) = 'null'::jsonb
     or p_details -> r = '""'::jsonb
  order by x.ord
  limit 1;
  if missing is not null then
    raise exception '% event is missing required field details.%', p_action, missing
      using errcode = 'SL401',
            hint = format('A %s event needs: %s.', p_action, array_to_string(required, ', ')),
            column = missing;
  end if;
  foreach f in array array['generation', 'target_seq', 'target_chain_index', 'superseded_by_generation',
                             'required_approvals', 'approvals', 'parent_seq'] loop
    if p_details ? f and not (jsonb_typeof(p_details -> f) = 'number' and (p_details ->> f) ~ '^[0-9]{1,18}$') then
      raise exception '% event: details.% must be a positive integer', p_action, f
        using errcode = 'SL403', hint = 'Numbers in details are whole and positive.', column = f;
    end if;
  end loop;
  if p_details ? 'evidence_url' and (jsonb_typeof(p_details -> 'evidence_url') <> 'string'
     or p_details ->> 'evidence_url' !~ '^https?://[^[:space:]]+$' or length(p_details ->> 'evidence_url') > 2000) then
    raise exception '% event: details.evidence_url must be an http(s) URL', p_action
      using errcode = 'SL403', hint = 'Link the gate''s evidence: a report, a scan result, a CI run.', column = 'evidence_url';
  end if;
  if p_details ? 'related_seqs' and not (jsonb_typeof(p_details -> 'related_seqs') = 'array'
     and not jsonb_path_exists(p_details -> 'related_seqs', '$[*] ? (@.type() != "number")')) then
    raise exception '% event: details.related_seqs must be an array of event seqs', p_action
      using errcode = 'SL403', hint = 'related_seqs lists the seq of each related event.', column = 'related_seqs';
  end if;
  if length(p_details::text) > 16000 then
    raise exception '% event: details are too large (% bytes)', p_action, length(p_details::text)
      using errcode = 'SL403', hint = 'Keep details under 16000 bytes; link large evidence by URL.';
  end if;
end
$function$
function shipslog.checkpoint_digest(p_version smallint, p_snapshot pg_snapshot)
CREATE OR REPLACE FUNCTION shipslog.checkpoint_digest(p_version smallint, p_snapshot pg_snapshot)
 RETURNS bytea
 LANGUAGE sql
 STABLE
 SET search_path TO ''
AS $function$
  select case p_version
    when 1 then (select d.digest from shipslog.chain_digest(p_snapshot) as d)
    when 2 then (select r.root from shipslog.checkpoint_root(p_snapshot) as r)
  end
$function$
function shipslog.checkpoint_heads(p_snapshot pg_snapshot)
CREATE OR REPLACE FUNCTION shipslog.checkpoint_heads(p_snapshot pg_snapshot)
 RETURNS TABLE(deployment_ids uuid[], chain_indexes integer[], hashes bytea[], event_count bigint)
 LANGUAGE sql
 STABLE
 SET search_path TO ''
AS $function$
  with visible as (
    select e.deployment_id, e.chain_index, e.hash
    from shipslog.deployment_events as e
    where pg_visible_in_snapshot(e.txid, p_snapshot)
  ),
  heads as (
    select distinct on (v.deployment_id) v.deployment_id, v.chain_index, v.hash
    from visible as v
    order by v.deployment_id, v.chain_index desc
  )
  select
    coalesce(array_agg(h.deployment_id order by h.deployment_id), '{}'),
    coalesce(array_agg(h.chain_index order by h.deployment_id), '{}'),
    coalesce(array_agg(h.hash order by h.deployment_id), '{}'),
    (select count(*) from visible)
  from heads as h
$function$
function shipslog.checkpoint_message(c shipslog.audit_checkpoints)
CREATE OR REPLACE FUNCTION shipslog.checkpoint_message(c shipslog.audit_checkpoints)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
RETURN shipslog.checkpoint_message((c).version, (c).snapshot, (c).chain_count, (c).event_count, (c).digest)
function shipslog.checkpoint_message(p_snapshot pg_snapshot, p_chain_count bigint, p_event_count bigint, p_digest bytea)
CREATE OR REPLACE FUNCTION shipslog.checkpoint_message(p_snapshot pg_snapshot, p_chain_count bigint, p_event_count bigint, p_digest bytea)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
RETURN (((((((('shipslog-checkpoint v1'::text || '
'::text) || (p_snapshot)::text) || '
'::text) || p_chain_count) || '
'::text) || p_event_count) || '
'::text) || encode(p_digest, 'hex'::text))
function shipslog.checkpoint_message(p_version smallint, p_snapshot pg_snapshot, p_chain_count bigint, p_event_count bigint, p_digest bytea)
CREATE OR REPLACE FUNCTION shipslog.checkpoint_message(p_version smallint, p_snapshot pg_snapshot, p_chain_count bigint, p_event_count bigint, p_digest bytea)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
RETURN ((((((((('shipslog-checkpoint v'::text || p_version) || '
'::text) || (p_snapshot)::text) || '
'::text) || p_chain_count) || '
'::text) || p_event_count) || '
'::text) || encode(p_digest, 'hex'::text))
function shipslog.checkpoint_root(p_snapshot pg_snapshot)
CREATE OR REPLACE FUNCTION shipslog.checkpoint_root(p_snapshot pg_snapshot)
 RETURNS TABLE(root bytea, chain_count bigint, event_count bigint)
 LANGUAGE sql
 STABLE
 SET search_path TO ''
AS $function$
  select
    shipslog.merkle_root(array(
      select shipslog.merkle_leaf(l.deployment_id, l.chain_index, l.hash)
      from unnest(h.deployment_ids, h.chain_indexes, h.hashes) with ordinality as l(deployment_id, chain_index, hash, ord)
      order by l.ord)),
    cardinality(h.deployment_ids),
    h.event_count
  from shipslog.checkpoint_heads(p_snapshot) as h
$function$
function shipslog.close_approval_request(r shipslog.approval_requests, p_state text, p_because text)
CREATE OR REPLACE FUNCTION shipslog.close_approval_request(r shipslog.approval_requests, p_state text, p_because text)
 RETURNS shipslog.approval_requests
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
begin
  perform shipslog.append_event(r.deployment_id,
    case p_state when 'expired' then 'approval_expired' else 'approval_cancelled' end,
    jsonb_build_object('approval_id', r.id, 'generation', r.generation, 'parent_seq', r.requested_seq)
      || case p_state
           when 'expired' then jsonb_build_object('expires_at', shipslog.iso_utc(r.expires_at))
           else jsonb_build_object('cancelled_because', p_because)
         end);
  update shipslog.approval_requests
  set state = p_state, closed_at = clock_timestamp()
  where id = r.id
  returning * into r;
  return r;
end
$function$
function shipslog.compliance_applied_changes(p_from timestamp with time zone, p_to timestamp with time zone, p_tenant text, p_deployment_id uuid, p_environment text)
CREATE OR REPLACE FUNCTION shipslog.compliance_applied_changes(p_from timestamp with time zone, p_to timestamp with time zone, p_tenant text, p_deployment_id uuid, p_environment text)
 RETURNS TABLE(deployment_id uuid, tenant text, name text, generation bigint, environment text, author text, applied_at timestamp with time zone, first_applied_at timestamp with time zone, applied_by text, evidence text[], required_approvals integer, required_gates text[], policy_since timestamp with time zone)
 LANGUAGE sql
 STABLE
 SET search_path TO ''
AS $function$
  with scope as materialized (
    -- Not narrowed by environment here: a deployment's environment now need not be the one
    -- a generation was made for; the generation's own environment is compared below.
    select s.deployment_id
    from shipslog.compliance_deployments(p_tenant, p_deployment_id, null) as s
  ),
  records as materialized (
    select e.deployment_id, e.tenant, e.name, (e.new_state -> 'details' ->> 'generation')::bigint as generation,
           e.occurred_at as at, e.action = 'deployment_completed' as completes, e.action as source, e.actor
    from shipslog.deployment_events as e
    where e.deployment_id in (select s.deployment_id from scope as s)
      and e.occurred_at < p_to
      and e.action in ('deployment_started', 'deployment_completed')
    union all
    select e.deployment_id, e.tenant, e.name, (e.new_state ->> 'observed_generation')::bigint,
           e.occurred_at, true, 'observed_generation', e.actor
    from shipslog.deployment_events as e
    where e.deployment_id in (select s.deployment_id from scope as s)
      and e.occurred_at < p_to
      and shipslog.is_row_change(e.action)
      and e.action not in ('created', 'removed')
      and e.new_state ? 'observed_generation'
      and (e.new_state ->> 'observed_generation')::bigint > 0
    union all
    select r.deployment_id, r.tenant, r.name, r.generation, r.started_at, false, 'run_started', r.worker_id
    from shipslog.reconcile_runs as r
    where r.deployment_id in (select s.deployment_id from scope as s)
      and r.started_at < p_to
      and r.phase = 'Completed' and r.outcome in ('Applied', 'Unchanged') and not r.dry_run
    union all
    select r.deployment_id, r.tenant, r.name, r.generation, r.completed_at, true, 'run_completed', r.worker_id
    from shipslog.reconcile_runs as r
    where r.deployment_id in (select s.deployment_id from scope as s)
      and r.started_at < p_to
      and r.completed_at < p_to
      and r.phase = 'Completed' and r.outcome in ('Applied', 'Unchanged') and not r.dry_run
  ),
  applied as materialized (
    select
      x.deployment_id, min(x.tenant) as tenant, min(x.name) as name, x.generation,
      min(x.at) filter (where x.completes) as applied_at,
      min(x.at) as first_applied_at,
      (array_agg(x.actor order by x.at) filter (where x.completes))[1] as applied_by,
      array_agg(distinct x.source order by x.source) as evidence
    from records as x
    where x.generation is not null
    group by x.deployment_id, x.generation
    having min(x.at) filter (where x.completes) >= p_from
  ),
  -- Generation N of a deployment: its N-th desired-state event (see above).
  made as (
    select e.deployment_id, e.chain_index, e.actor, e.new_state ->> 'environment' as environment,
           row_number() over (partition by e.deployment_id order by e.chain_index) as generation,
           count(e.new_state -> 'environment') over (partition by e.deployment_id order by e.chain_index) as environment_group
    from shipslog.deployment_events as e
    where e.deployment_id in (select a.deployment_id from applied as a)
      and shipslog.is_row_change(e.action)
      and (e.action = 'created'
           or e.new_state ?| array['environment', 'app_version', 'config', 'secrets_ref', 'secrets_fingerprint',
                                   'depends_on', 'restarted_at', 'deletion_requested_at'])
  ),
  generations as (
    select m.deployment_id, m.generation, m.actor as author,
           first_value(m.environment) over (partition by m.deployment_id, m.environment_group order by m.chain_index) as environment
    from made as m
  )
  select a.deployment_id, a.tenant, a.name, a.generation, g.environment, g.author,
         a.applied_at, a.first_applied_at, a.applied_by, a.evidence,
         coalesce(p.required_approvals, 0), coalesce(p.required_gates, '{}'), p.since
  from applied as a
    left join generations as g
      on g.deployment_id = a.deployment_id
     and g.generation = a.generation
    left join lateral (
      select case when c.change = 'set' then (c.new_policy ->> 'required_approvals')::integer end as required_approvals,
             case when c.change = 'set' then array(select jsonb_array_elements_text(c.new_policy -> 'required_gates')) end as required_gates,
             c.occurred_at as since
      from shipslog.approval_policy_changes as c
      where c.tenant = a.tenant
        and c.environment = g.environment
        and c.occurred_at <= a.first_applied_at
      order by c.id desc
      limit 1
    ) as recorded on true
    left join lateral (
      select recorded.required_approvals, recorded.required_gates, recorded.since
      where recorded.since is not null
      union all
      select ap.required_approvals, ap.required_gates, ap.updated_at
      from shipslog.approval_policies as ap
      where ap.tenant = a.tenant
        and ap.environment = g.environment
        and ap.updated_at <= a.first_applied_at
        and not exists (
          select from shipslog.approval_policy_changes as c
          where c.tenant = ap.tenant and c.environment = ap.environment)
    ) as p on true
  where p_environment is null
    or g.environment = p_environment
$function$
function shipslog.compliance_check_approvals(p_from timestamp with time zone, p_to timestamp with time zone, p_tenant text, p_deployment_id uuid, p_environment text)
CREATE OR REPLACE FUNCTION shipslog.compliance_check_approvals(p_from timestamp with time zone, p_to timestamp with time zone, p_tenant text, p_deployment_id uuid, p_environment text)
 RETURNS TABLE("check" text, status text, summary text, evidence jsonb)
 LANGUAGE sql
 STABLE
 SET search_path TO ''
AS $function$
  with changes as materialized (
    select c.*
    from shipslog.compliance_applied_changes(p_from, p_to, p_tenant, p_deployment_id, p_environment) as c
  ),
  production as (
    select c.* from changes as c where c.required_approvals > 0
  ),
  grants as (
    select
      c.deployment_id, c.generation, x.approver, x.decided_at, r.id as request_id,
      case
        when x.decided_at > c.first_applied_at then 'recorded after the apply began'
        when x.decided_at >= r.expires_at then 'made after the request expired'
        when x.approver in (r.requested_by, coalesce(c.author, ''), coalesce(r.change_actor, '')) then 'by the requester or the change''s author'
        when ev.seq is null then 'no approval_granted event on the chain'
      end as not_counted
    from production as c
      join shipslog.approval_requests as r
        on r.deployment_id = c.deployment_id
       and r.generation = c.generation
      join shipslog.approval_decisions as x
        on x.request_id = r.id
       and x.decision = 'granted'
      left join shipslog.deployment_events as ev
        on ev.seq = x.event_seq
       and ev.deployment_id = c.deployment_id
       and ev.action = 'approval_granted'
       and ev.new_state -> 'details' ->> 'approver' = x.approver
       and ev.new_state -> 'details' ->> 'approval_id' = r.id::text
  ),
  judged as (
    select
      c.*,
      coalesce((
        select max(n.approvers)
        from (select count(distinct g.approver) as approvers
              from grants as g
              where g.deployment_id = c.deployment_id and g.generation = c.generation and g.not_counted is null
              group by g.request_id) as n), 0) as approvals,
      coalesce((
        select jsonb_agg(jsonb_build_object('approver', g.approver, 'decided_at', shipslog.iso_utc(g.decided_at),
                 'request_id', g.request_id, 'counted', g.not_counted is null, 'not_counted_because', g.not_counted)
               order by g.decided_at)
        from grants as g
        where g.deployment_id = c.deployment_id and g.generation = c.generation), '[]') as approvers,
      (select count(*) from shipslog.approval_requests as r
       where r.deployment_id = c.deployment_id and r.generation = c.generation) as requests
    from production as c
  ),
  violations as (
    select j.*
    from judged as j
    where j.approvals < j.required_approvals
  ),
  counts as (
    select
      (select count(*) from changes) as applied,
      (select count(*) from judged) as production,
      (select count(*) from violations) as violated,
      (select count(*) from shipslog.compliance_policies_in_scope(p_to, p_tenant, p_deployment_id, p_environment) as p
       where p.required_approvals > 0) as policies
  )
  select
    'approvals_complete',
    case
      when n.violated > 0 then 'fail'
      when n.production = 0 and n.policies = 0 then 'not_applicable'
      else 'pass'
    end,
    case
      when n.violated > 0 then format('%s of %s production change(s) applied without the approvals their policy required; first: %s',
        n.violated, n.production,
        (select format('%s/%s generation %s in %s: %s of %s approval(s) before it was applied at %s', v.tenant, v.name, v.generation,
                       v.environment, v.approvals, v.required_approvals, shipslog.iso_utc(v.first_applied_at))
         from violations as v order by v.first_applied_at, v.deployment_id limit 1))
      when n.production = 0 and n.policies = 0 then
        'no approval policy in scope requires approvals: no change needed any'
      else format('%s production change(s) applied in the window, each with the distinct approvals its environment''s policy required before it was applied (%s other applied change(s) needed none)',
        n.production, n.applied - n.production)
    end,
    jsonb_build_object(
      'applied_changes', n.applied,
      'production_changes', n.production,
      'policies_requiring_approvals', n.policies,
      'changes', coalesce((
        select jsonb_agg(jsonb_build_object(
                 'deployment_id', j.deployment_id, 'tenant', j.tenant, 'name', j.name, 'environment', j.environment,
                 'generation', j.generation, 'author', j.author, 'applied_at', shipslog.iso_utc(j.first_applied_at),
                 'applied_by', j.applied_by, 'applied_evidence', to_jsonb(j.evidence),
                 'required_approvals', j.required_approvals, 'policy_since', shipslog.iso_utc(j.policy_since),
                 'approvals', j.approvals, 'requests', j.requests, 'approvers', j.approvers)
               order by j.first_applied_at desc, j.deployment_id)
        from (select * from judged order by first_applied_at desc, deployment_id limit 200) as j), '[]'),
      'violations', coalesce((
        select jsonb_agg(jsonb_build_object(
                 'deployment_id', v.deployment_id, 'tenant', v.tenant, 'name', v.name, 'environment', v.environment,
                 'generation', v.generation, 'applied_at', shipslog.iso_utc(v.first_applied_at), 'applied_by', v.applied_by,
                 'applied_evidence', to_jsonb(v.evidence), 'required_approvals', v.required_approvals, 'approvals', v.approvals,
                 'problem', case
                   when v.requests = 0 then 'no approval request for this generation'
                   when jsonb_array_length(v.approvers) = 0 then 'no approval granted'
                   else format('%s of %s counted approval(s) before the apply began', v.approvals, v.required_approvals)
                 end,
                 'approvers', v.approvers)
               order by v.first_applied_at, v.deployment_id)
        from (select * from violations order by first_applied_at, deployment_id limit 200) as v), '[]'),
      'method', 'each generation applied in the window (deployment_completed event, observed_generation set, or a Completed run), its environment and author from the chain, the policy in force when its apply began (approval_policy_changes), and the distinct granted approvals of its requests made before that, before expiry, by others than the requester and author, each with its approval_granted event')
  from counts as n
$function$
function shipslog.compliance_check_chains(p_from timestamp with time zone, p_to timestamp with time zone, p_tenant text, p_deployment_id uuid, p_environment text)
CREATE OR REPLACE FUNCTION shipslog.compliance_check_chains(p_from timestamp with time zone, p_to timestamp with time zone, p_tenant text, p_deployment_id uuid, p_environment text)
 RETURNS TABLE("check" text, status text, summary text, evidence jsonb)
 LANGUAGE sql
 STABLE
 SET search_path TO ''
AS $function$
  with scope as materialized (
    select s.deployment_id
    from shipslog.compliance_deployments(p_tenant, p_deployment_id, p_environment) as s
  ),
  -- One deployment, or everything the caller sees: one call. A tenant's or an environment's
  -- deployments: one call each, rather than verifying every chain to keep a few. (The
  -- conditions on the parameters alone gate each branch before it runs.)
  findings as materialized (
    select f.deployment_id, f.tenant, f.name, f.chain_index, f.problem
    from shipslog.verify_chains(p_deployment_id) as f
    where (p_deployment_id is not null or (p_tenant is null and p_environment is null))
      and f.deployment_id in (select s.deployment_id from scope as s)
    union all
    select f.deployment_id, f.tenant, f.name, f.chain_index, f.problem
    from scope as s
      cross join lateral shipslog.verify_chains(s.deployment_id) as f
    where p_deployment_id is null
      and (p_tenant is not null or p_environment is not null)
  ),
  counts as (
    select
      (select count(*) from scope) as chains,
      (select count(*) from shipslog.deployment_events as e where e.deployment_id in (select s.deployment_id from scope as s)) as events,
      (select count(*) from findings) as broken
  )
  select
    'chains_intact',
    case when c.broken = 0 then 'pass' else 'fail' end,
    case
      when c.broken = 0 then format('%s chain(s) with %s event(s) verified from their start: every hash links and every chain ends in its deployment''s row', c.chains, c.events)
      else format('%s of %s chain(s) broken; first: %s', c.broken, c.chains,
        (select f.tenant || '/' || f.name || ' at event #' || f.chain_index || ': ' || f.problem from findings as f order by f.tenant, f.name, f.deployment_id limit 1))
    end,
    jsonb_build_object(
      'chains', c.chains,
      'events', c.events,
      'broken', coalesce((select jsonb_agg(jsonb_build_object('deployment_id', f.deployment_id, 'tenant', f.tenant, 'name', f.name,
                  'chain_index', f.chain_index, 'problem', f.problem) order by f.tenant, f.name, f.deployment_id) from findings as f), '[]'),
      'method', 'shipslog.verify_chains(): each event''s SHA-256 over the previous hash and its payload, chain_index without gaps, the chain''s end against the row''s chain head and the state its events replay to')
  from counts as c
$function$
function shipslog.compliance_check_changes_outside_api(p_from timestamp with time zone, p_to timestamp with time zone, p_tenant text, p_deployment_id uuid, p_environment text)
CREATE OR REPLACE FUNCTION shipslog.compliance_check_changes_outside_api(p_from timestamp with time zone, p_to timestamp with time zone, p_tenant text, p_deployment_id uuid, p_environment text)
 RETURNS TABLE("check" text, status text, summary text, evidence jsonb)
 LANGUAGE sql
 STABLE
 SET search_path TO ''
AS $function$
  with scope as materialized (
    select s.deployment_id
    from shipslog.compliance_deployments(p_tenant, p_deployment_id, p_environment) as s
  ),
  outside as materialized (
    select e.*
    from shipslog.deployment_events as e
    where e.deployment_id in (select s.deployment_id from scope as s)
      and e.occurred_at >= p_from
      and e.occurred_at < p_to
      and e.actor_type = 'database'
  ),
  listed as (
    select o.*
    from outside as o
    order by o.occurred_at desc, o.seq desc
    limit 100
  ),
  n as (
    select count(*) as total from outside
  )
  select
    'changes_outside_api',
    case when n.total = 0 then 'pass' else 'fail' end,
    case when n.total = 0
      then 'every change in the window came through the API or the reconciler (each carries an actor context)'
      else format('%s change(s) made outside the API and the reconciler (no actor context), listed with the database login that made them', n.total)
    end,
    jsonb_build_object(
      'count', n.total,
      'listed', (select count(*) from listed),
      'changes', coalesce((select jsonb_agg(jsonb_build_object(
          'occurred_at', shipslog.iso_utc(l.occurred_at),
          'deployment_id', l.deployment_id,
          'tenant', l.tenant,
          'name', l.name,
          'chain_index', l.chain_index,
          'action', l.action,
          'summary', shipslog.describe_event(l.action, shipslog.event_changes(l.previous_state, l.new_state), l.previous_state, l.new_state),
          'db_user', l.db_user,
          'db_role', l.db_role,
          'application_name', l.application_name,
          'client_addr', host(l.client_addr)) order by l.occurred_at desc, l.seq desc) from listed as l), '[]'))
  from n
$function$
function shipslog.compliance_check_checkpoints(p_from timestamp with time zone, p_to timestamp with time zone, p_tenant text, p_deployment_id uuid, p_environment text)
CREATE OR REPLACE FUNCTION shipslog.compliance_check_checkpoints(p_from timestamp with time zone, p_to timestamp with time zone, p_tenant text, p_deployment_id uuid, p_environment text)
 RETURNS TABLE("check" text, status text, summary text, evidence jsonb)
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  caller_tenant text := current_setting('shipslog.tenant', true);
  newest shipslog.audit_checkpoints;
  max_age interval := coalesce(nullif(current_setting('shipslog.checkpoint_max_age', true), '')::interval, interval '24 hours');
  total bigint;
  digest_now bytea;
  age interval;
  problems text[] := '{}';
begin
  select count(*) into total from shipslog.audit_checkpoints;
  select * into newest from shipslog.audit_checkpoints as c order by c.id desc limit 1;
  if newest.id is null then
    return query select 'checkpoints'::text, 'fail'::text,
      'no signed checkpoint exists: take one with shipslog checkpoint'::text,
      jsonb_build_object('checkpoints', 0, 'max_age', max_age::text);
    return;
  end if;
  perform set_config('shipslog.tenant', '', true);
  -- The digest of the checkpoint's own version (1: chain_digest, 2: the heads' Merkle root).
  digest_now := shipslog.checkpoint_digest(newest.version, newest.snapshot);
  perform set_config('shipslog.tenant', coalesce(caller_tenant, ''), true);
  age := clock_timestamp() - newest.created_at;
  if digest_now is distinct from newest.digest then
    problems := problems || format('the chains no longer produce the digest checkpoint #%s signed: history it covers was rewritten, or the checkpoint forged', newest.id);
  end if;
  if age > max_age then
    problems := problems || format('the newest checkpoint (#%s) is %s old, more than %s', newest.id, date_trunc('second', age), max_age);
  end if;
  return query select
    'checkpoints'::text,
    case when cardinality(problems) = 0 then 'pass' else 'fail' end,
    case when cardinality(problems) = 0
      then format('checkpoint #%s, %s old (at most %s), still matches the chains: %s chain(s), %s event(s)',
                  newest.id, date_trunc('second', age), max_age, newest.chain_count, newest.event_count)
      else array_to_string(problems, '; ')
    end,
    jsonb_build_object(
      'checkpoints', total,
      'max_age', max_age::text,
      'newest', jsonb_build_object(
        'id', newest.id,
        'created_at', shipslog.iso_utc(newest.created_at),
        'age_seconds', floor(extract(epoch from age)),
        'chain_count', newest.chain_count,
        'event_count', newest.event_count,
        'digest', encode(newest.digest, 'hex'),
        'digest_matches', digest_now is not distinct from newest.digest,
        'key_id', newest.key_id,
        'version', newest.version,
        'message', shipslog.checkpoint_message(newest),
        'signature', encode(newest.signature, 'base64')),
      'signature_checked', false);
end
$function$
function shipslog.compliance_check_gates(p_from timestamp with time zone, p_to timestamp with time zone, p_tenant text, p_deployment_id uuid, p_environment text)
CREATE OR REPLACE FUNCTION shipslog.compliance_check_gates(p_from timestamp with time zone, p_to timestamp with time zone, p_tenant text, p_deployment_id uuid, p_environment text)
 RETURNS TABLE("check" text, status text, summary text, evidence jsonb)
 LANGUAGE sql
 STABLE
 SET search_path TO ''
AS $function$
  with changes as materialized (
    select c.*
    from shipslog.compliance_applied_changes(p_from, p_to, p_tenant, p_deployment_id, p_environment) as c
    where cardinality(c.required_gates) > 0
  ),
  gates as materialized (
    select
      c.deployment_id, c.generation, g.gate,
      before.result, before.reported_at, before.evidence_url, before.reported_by,
      before.event_ok,
      (select r.result || ' at ' || shipslog.iso_utc(r.reported_at)
       from shipslog.gate_results as r
       where r.deployment_id = c.deployment_id and r.generation = c.generation and r.gate = g.gate
         and r.reported_at > c.first_applied_at
       order by r.id
       limit 1) as reported_after_apply
    from changes as c
      cross join lateral unnest(c.required_gates) as g(gate)
      left join lateral (
        select r.result, r.reported_at, r.evidence_url, r.reported_by,
               exists (select from shipslog.deployment_events as ev
                       where ev.seq = r.event_seq and ev.deployment_id = r.deployment_id
                         and ev.action = 'gate_' || r.result
                         and ev.new_state -> 'details' ->> 'gate' = r.gate) as event_ok
        from shipslog.gate_results as r
        where r.deployment_id = c.deployment_id
          and r.generation = c.generation
          and r.gate = g.gate
          and r.reported_at <= c.first_applied_at
        order by r.id desc
        limit 1
      ) as before on true
  ),
  judged as (
    select
      g.*,
      case
        when g.result is null and g.reported_after_apply is not null then 'reported only after the apply began: ' || g.reported_after_apply
        when g.result is null then 'no result reported'
        when g.result not in ('passed', 'warned') then 'newest result before the apply: ' || g.result
        when not g.event_ok then 'no gate_' || g.result || ' event on the chain'
      end as problem
    from gates as g
  ),
  counts as (
    select
      (select count(*) from changes) as gated,
      (select count(*) from judged where problem is not null) as failed,
      (select count(distinct (j.deployment_id, j.generation)) from judged as j where j.problem is not null) as failed_changes,
      (select count(*) from shipslog.compliance_policies_in_scope(p_to, p_tenant, p_deployment_id, p_environment) as p
       where cardinality(p.required_gates) > 0) as policies
  )
  select
    'gates_passed',
    case
      when n.failed > 0 then 'fail'
      when n.gated = 0 and n.policies = 0 then 'not_applicable'
      else 'pass'
    end,
    case
      when n.failed > 0 then format('%s of %s gated change(s) applied without every required gate passed (%s gate result(s) missing or failing); first: %s',
        n.failed_changes, n.gated, n.failed,
        (select format('%s/%s generation %s gate %s: %s', c.tenant, c.name, c.generation, j.gate, j.problem)
         from judged as j join changes as c on c.deployment_id = j.deployment_id and c.generation = j.generation
         where j.problem is not null
         order by c.first_applied_at, c.deployment_id, j.gate limit 1))
      when n.gated = 0 and n.policies = 0 then 'no approval policy in scope requires gates: no change needed any'
      else format('%s gated change(s) applied in the window, each with every required gate passed (or warned) before it was applied', n.gated)
    end,
    jsonb_build_object(
      'gated_changes', n.gated,
      'policies_requiring_gates', n.policies,
      'changes', coalesce((
        select jsonb_agg(jsonb_build_object(
                 'deployment_id', c.deployment_id, 'tenant', c.tenant, 'name', c.name, 'environment', c.environment,
                 'generation', c.generation, 'applied_at', shipslog.iso_utc(c.first_applied_at), 'applied_by', c.applied_by,
                 'applied_evidence', to_jsonb(c.evidence), 'required_gates', to_jsonb(c.required_gates),
                 'policy_since', shipslog.iso_utc(c.policy_since),
                 'gates', (select jsonb_agg(jsonb_build_object('gate', j.gate, 'result', j.result, 'reported_at', shipslog.iso_utc(j.reported_at),
                             'reported_by', j.reported_by, 'evidence_url', j.evidence_url, 'passed', j.problem is null, 'problem', j.problem) order by j.gate)
                           from judged as j where j.deployment_id = c.deployment_id and j.generation = c.generation))
               order by c.first_applied_at desc, c.deployment_id)
        from (select * from changes order by first_applied_at desc, deployment_id limit 200) as c), '[]'),
      'failures', coalesce((
        select jsonb_agg(jsonb_build_object(
                 'deployment_id', c.deployment_id, 'tenant', c.tenant, 'name', c.name, 'environment', c.environment,
                 'generation', c.generation, 'applied_at', shipslog.iso_utc(c.first_applied_at), 'gate', j.gate, 'problem', j.problem)
               order by c.first_applied_at, c.deployment_id, j.gate)
        from judged as j join changes as c on c.deployment_id = j.deployment_id and c.generation = j.generation
        where j.problem is not null), '[]'),
      'method', 'each generation applied in the window (deployment_completed event, observed_generation set, or a Completed run), the gates its environment''s policy required when its apply began, and each gate''s newest result reported before that (passed or warned counts), with its gate_* event on the chain')
  from counts as n
$function$
function shipslog.compliance_check_immutable_storage(p_from timestamp with time zone, p_to timestamp with time zone, p_tenant text, p_deployment_id uuid, p_environment text)
CREATE OR REPLACE FUNCTION shipslog.compliance_check_immutable_storage(p_from timestamp with time zone, p_to timestamp with time zone, p_tenant text, p_deployment_id uuid, p_environment text)
 RETURNS TABLE("check" text, status text, summary text, evidence jsonb)
 LANGUAGE sql
 STABLE
 SET search_path TO ''
AS $function$
  with guards (tbl, trg, purpose) as (
    values
      ('shipslog.deployment_events', 'deployment_events_append_only', 'refuses UPDATE and DELETE of events'),
      ('shipslog.deployment_events', 'deployment_events_no_forged_insert', 'refuses an INSERT not made by the audit trigger'),
      ('shipslog.deployment_events', 'deployment_events_no_truncate', 'refuses TRUNCATE of events'),
      ('shipslog.audit_checkpoints', 'audit_checkpoints_append_only', 'refuses UPDATE and DELETE of checkpoints'),
      ('shipslog.audit_checkpoints', 'audit_checkpoints_no_truncate', 'refuses TRUNCATE of checkpoints'),
      ('shipslog.deployments', 'deployments_audit', 'writes the event of every change of a deployment'),
      ('shipslog.deployments', 'deployments_no_truncate', 'refuses a TRUNCATE that would write no removed events')
  ),
  triggers as (
    select
      g.tbl,
      g.trg,
      g.purpose,
      t.oid is not null as present,
      -- O: fires in origin and local mode, A: always; D: disabled, R: on replicas only.
      coalesce(t.tgenabled in ('O', 'A'), false) as enabled
    from guards as g
      left join pg_catalog.pg_trigger as t
        on t.tgrelid = to_regclass(g.tbl)
       and t.tgname = g.trg
  ),
  -- The tables and, once partitioned, every partition (pg_partition_tree() lists nothing for
  -- a table that is not partitioned).
  audit_tables as (
    select to_regclass(n.tbl) as relid
    from unnest(array['shipslog.deployment_events', 'shipslog.audit_checkpoints']) as n(tbl)
    union
    select p.relid
    from unnest(array['shipslog.deployment_events', 'shipslog.audit_checkpoints']) as n(tbl)
      cross join lateral pg_catalog.pg_partition_tree(to_regclass(n.tbl)) as p
  ),
  grants as (
    select
      a.relid::regclass::text as tbl,
      case when x.grantee = 0 then 'PUBLIC' else pg_catalog.pg_get_userbyid(x.grantee) end as grantee,
      x.privilege_type
    from audit_tables as a
      join pg_catalog.pg_class as c
        on c.oid = a.relid
      cross join lateral aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) as x
    where x.grantee <> c.relowner
      and x.privilege_type in ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')
  ),
  -- The purge's own role (sql/audit/85_retention.sql) may INSERT (the purge event) and DELETE
  -- (expired prefixes) events, and nothing else: it is sanctioned only while no one can act as
  -- it but shipslog.purge_audit_events(), which it owns: no login, no members.
  purge_role as (
    select r.oid, r.rolname
    from pg_catalog.pg_roles as r
    where r.rolname = 'shipslog_audit_retention'
      and not r.rolcanlogin
      and not exists (
        select
        from pg_catalog.pg_auth_members as m
        where m.roleid = r.oid
      )
  ),
  sanctioned as (
    select g.*
    from grants as g
    where g.grantee in (select rolname from purge_role)
      and g.tbl = 'shipslog.deployment_events'
      and g.privilege_type in ('INSERT', 'DELETE')
  ),
  runtime as (
    select a.relid::regclass::text as tbl, r.rolname as grantee, 'through membership' as privilege_type
    from audit_tables as a
      cross join pg_catalog.pg_roles as r
    where r.rolname in ('shipslog_app', 'shipslog_reconciler', 'shipslog_auditor')
      and has_table_privilege(r.oid, a.relid, 'INSERT, UPDATE, DELETE, TRUNCATE')
  ),
  writers as (
    (select * from grants
     except
     select * from sanctioned)
    union
    select * from runtime
  ),
  verdict as (
    select
      (select count(*) from triggers where not (present and enabled)) as bad_triggers,
      (select count(*) from writers) as writer_count,
      (select count(*) from audit_tables) as table_count
  )
  select
    'immutable_storage',
    case when v.bad_triggers = 0 and v.writer_count = 0 then 'pass' else 'fail' end,
    case
      when v.bad_triggers = 0 and v.writer_count = 0 then
        format('all %s guard triggers are enabled and no role but the owner may write the %s audit table(s)', (select count(*) from triggers), v.table_count)
      else concat_ws('; ',
        case when v.bad_triggers > 0 then format('%s guard trigger(s) missing or disabled: %s', v.bad_triggers,
          (select string_agg(t.tbl || '.' || t.trg, ', ' order by t.tbl, t.trg) from triggers as t where not (t.present and t.enabled))) end,
        case when v.writer_count > 0 then format('write privileges on audit tables: %s',
          (select string_agg(w.privilege_type || ' on ' || w.tbl || ' to ' || w.grantee, ', ' order by w.tbl, w.grantee, w.privilege_type) from writers as w)) end)
    end,
    jsonb_build_object(
      'triggers', (select jsonb_agg(jsonb_build_object('table', t.tbl, 'trigger', t.trg, 'purpose', t.purpose,
                     'present', t.present, 'enabled', t.enabled) order by t.tbl, t.trg) from triggers as t),
      'audit_tables', (select jsonb_agg(a.relid::regclass::text order by a.relid::regclass::text) from audit_tables as a),
      'write_privileges', coalesce((select jsonb_agg(jsonb_build_object('table', w.tbl, 'grantee', w.grantee, 'privilege', w.privilege_type)
                     order by w.tbl, w.grantee, w.privilege_type) from writers as w), '[]'),
      'purge_privileges', coalesce((select jsonb_agg(jsonb_build_object('table', p.tbl, 'grantee', p.grantee, 'privilege', p.privilege_type,
                     'why', 'the purge role: no login, no members, used only by shipslog.purge_audit_events()')
                     order by p.tbl, p.privilege_type) from sanctioned as p), '[]'))
  from verdict as v
$function$
function shipslog.compliance_check_retention(p_from timestamp with time zone, p_to timestamp with time zone, p_tenant text, p_deployment_id uuid, p_environment text)
CREATE OR REPLACE FUNCTION shipslog.compliance_check_retention(p_from timestamp with time zone, p_to timestamp with time zone, p_tenant text, p_deployment_id uuid, p_environment text)
 RETURNS TABLE("check" text, status text, summary text, evidence jsonb)
 LANGUAGE plpgsql
 STABLE
 SET search_path TO ''
AS $function$
declare
  grace interval := coalesce(nullif(current_setting('shipslog.retention_grace', true), '')::interval, interval '2 days');
  -- No narrowing: every chain the caller sees, shipslog's system chain and every purge.
  unscoped boolean := p_tenant is null and p_deployment_id is null and p_environment is null;
  system_id constant uuid := shipslog.system_chain_id();
  -- A tenant's key does not see the system chain (tenant _system): a purge's event is then
  -- not compared rather than reported missing.
  sees_system boolean;
  system_start integer;
  v_categories jsonb;
  v_overdue bigint;
  v_held bigint;
  v_awaiting bigint;
  v_overdue_list jsonb;
  v_purges jsonb;
  v_purge_count bigint;
  v_purge_problems text[];
  v_orphans jsonb;
  v_changes jsonb;
  v_change_count bigint;
  v_below_now text[];
  v_below_changed text[];
  problems text[] := '{}';
begin
  perform shipslog.compliance_window_check(p_from, p_to);
  sees_system := exists (select from shipslog.deployment_events as e where e.deployment_id = system_id);
  select s.chain_index into system_start from shipslog.audit_chain_starts as s where s.deployment_id = system_id;

  -- 1. What remains: every event of the chains in scope, judged as of now and as of now - grace.
  with scope as materialized (
    select s.deployment_id
    from shipslog.compliance_deployments(p_tenant, p_deployment_id, p_environment) as s
    union
    select system_id
    where unscoped
  ),
  -- Each action in scope once: its category's period, and the moments before which its
  -- events are past it (now, and now less the grace). Joining the events to these few rows
  -- costs a fraction of the category's CASE per event.
  actions as materialized (
    select
      a.action, c.category, r.keep_for,
      now() - r.keep_for as cut,
      now() - grace - r.keep_for as cut_past_grace
    from (
      select distinct e.action
      from shipslog.deployment_events as e
      where e.deployment_id in (select s.deployment_id from scope as s)
    ) as a
      cross join lateral (select shipslog.event_category(a.action) as category) as c
      left join shipslog.audit_retention as r on r.category = c.category
  ),
  -- One pass over the events: per chain and category, the counts, the oldest, and the first
  -- event still inside its period.
  per_chain as (
    select
      e.deployment_id, a.category,
      count(*) as events,
      min(e.occurred_at) as oldest,
      count(*) filter (where e.occurred_at < a.cut) as expired,
      min(e.chain_index) filter (where not coalesce(e.occurred_at < a.cut, false)) as first_kept,
      min(e.chain_index) filter (where not coalesce(e.occurred_at < a.cut_past_grace, false)) as first_kept_past_grace
    from shipslog.deployment_events as e
      join actions as a on a.action = e.action
    where e.deployment_id in (select s.deployment_id from scope as s)
    group by e.deployment_id, a.category
  ),
  -- A purge cuts a chain before its first event still inside its period.
  fronts as (
    select
      p.deployment_id,
      min(p.first_kept) as first_kept,
      min(p.first_kept_past_grace) as first_kept_past_grace
    from per_chain as p
    group by p.deployment_id
  ),
  -- Only an expired event can be due for purging (every event before a chain's first kept one
  -- is expired), held, or overdue: a second pass keeps those alone.
  judged as materialized (
    select
      e.deployment_id, e.tenant, e.name, e.chain_index, e.action, e.occurred_at, a.category, a.keep_for,
      e.chain_index < coalesce(f.first_kept_past_grace, 2147483647) as overdue,
      e.chain_index < coalesce(f.first_kept, 2147483647) as due
    from shipslog.deployment_events as e
      join actions as a on a.action = e.action
      join fronts as f on f.deployment_id = e.deployment_id
    where e.deployment_id in (select s.deployment_id from scope as s)
      and e.occurred_at < a.cut
  ),
  per_category as (
    select
      c.category, c.events, c.oldest, c.expired,
      coalesce(j.held, 0) as held, coalesce(j.awaiting, 0) as awaiting, coalesce(j.overdue, 0) as overdue
    from (
      select p.category, sum(p.events) as events, min(p.oldest) as oldest, sum(p.expired) as expired
      from per_chain as p
      group by p.category
    ) as c
      left join (
        select
          j.category,
          count(*) filter (where not j.due) as held,
          count(*) filter (where j.due and not j.overdue) as awaiting,
          count(*) filter (where j.overdue) as overdue
        from judged as j
        group by j.category
      ) as j on j.category is not distinct from c.category
  ),
  listed as (
    select j.*
    from judged as j
    where j.overdue
    order by j.occurred_at, j.deployment_id, j.chain_index
    limit 100
  )
  select
    (select jsonb_object_agg(m.category, jsonb_build_object(
        'keep_for', r.keep_for::text,
        'minimum', m.keep_for::text,
        'events', coalesce(p.events, 0),
        'oldest', shipslog.iso_utc(p.oldest),
        'expired', coalesce(p.expired, 0),
        'held', coalesce(p.held, 0),
        'awaiting_purge', coalesce(p.awaiting, 0),
        'overdue', coalesce(p.overdue, 0)) order by m.category)
     from shipslog.audit_retention_minimums() as m
       left join shipslog.audit_retention as r on r.category = m.category
       left join per_category as p on p.category = m.category),
    (select coalesce(sum(p.overdue), 0) from per_category as p),
    (select coalesce(sum(p.held), 0) from per_category as p),
    (select coalesce(sum(p.awaiting), 0) from per_category as p),
    (select coalesce(jsonb_agg(jsonb_build_object(
        'deployment_id', l.deployment_id, 'tenant', l.tenant, 'name', l.name, 'chain_index', l.chain_index,
        'action', l.action, 'category', l.category, 'occurred_at', shipslog.iso_utc(l.occurred_at),
        'keep_for', l.keep_for::text, 'expired_at', shipslog.iso_utc(l.occurred_at + l.keep_for))
        order by l.occurred_at, l.deployment_id, l.chain_index), '[]')
     from listed as l)
  into v_categories, v_overdue, v_held, v_awaiting, v_overdue_list;
  if v_overdue > 0 then
    problems := problems || format('%s event(s) past their retention period by more than the %s grace remain at the front of their chains (the oldest: %s)',
      v_overdue, grace, v_overdue_list -> 0 ->> 'occurred_at');
  end if;

  -- 2. The purges of the window, against the settings in force when each judged.
  with scope as materialized (
    select s.deployment_id
    from shipslog.compliance_deployments(p_tenant, p_deployment_id, p_environment) as s
  ),
  purges as materialized (
    select p.*, a.anchors, a.judged_at, a.judged_last, a.chains
    from shipslog.audit_purges as p
      cross join lateral (
        select
          count(*) as anchors,
          min(a.judged_at) as judged_at,
          max(a.judged_at) as judged_last,
          coalesce(jsonb_agg(jsonb_build_object('deployment_id', a.deployment_id, 'chain_index', a.chain_index, 'removed', a.removed)
            order by a.deployment_id) filter (where unscoped or a.deployment_id in (select s.deployment_id from scope as s)), '[]') as chains
        from shipslog.audit_chain_anchors as a
        where a.purge_id = p.id
      ) as a
    where p.purged_at >= p_from
      and p.purged_at < p_to
      and (unscoped or jsonb_array_length(a.chains) > 0)
  ),
  -- Per purge and category: the period it applied (absent or null: forever), the one in force
  -- (the last change before, else the first change's previous value, else the table as it
  -- is) when it judged and when it ran, and the minimum. A change made while a purge ran may
  -- fall between the two: the purge is held to the longer of them only when it applied less
  -- than both.
  moments as (
    select p.id, p.retention, m.category, m.keep_for as minimum, x.moment, x.kind
    from purges as p
      cross join shipslog.audit_retention_minimums() as m
      cross join lateral (values (coalesce(p.judged_at, p.purged_at), 'judged'), (p.purged_at, 'ran')) as x(moment, kind)
  ),
  in_force as (
    select
      o.id, o.category, o.minimum, o.kind,
      (o.retention ->> o.category)::interval as applied,
      (coalesce(
        (select jsonb_build_object('v', c.new_keep_for) from shipslog.audit_retention_changes as c
         where c.category = o.category and c.changed_at <= o.moment order by c.id desc limit 1),
        (select jsonb_build_object('v', c.previous_keep_for) from shipslog.audit_retention_changes as c
         where c.category = o.category and c.changed_at > o.moment order by c.id limit 1),
        (select jsonb_build_object('v', r.keep_for) from shipslog.audit_retention as r where r.category = o.category),
        jsonb_build_object('v', null)) ->> 'v')::interval as keep_for
    from moments as o
  ),
  applied as (
    select
      j.id, j.category, j.applied, j.minimum,
      j.keep_for as in_force,
      j.applied is not null
        and (j.keep_for is null or j.applied < j.keep_for)
        and (r.keep_for is null or j.applied < r.keep_for) as shorter
    from in_force as j
      join in_force as r on r.id = j.id and r.category = j.category and r.kind = 'ran'
    where j.kind = 'judged'
  ),
  findings as (
    select a.id, format('purge #%s applied %s to %s while %s was in force (shipslog.audit_retention_changes)',
      a.id, a.applied, a.category, coalesce(a.in_force::text, 'forever')) as problem
    from applied as a
    where a.shorter
    union all
    select a.id, format('purge #%s applied %s to %s, below the specification''s minimum (%s)',
      a.id, a.applied, a.category, coalesce(a.minimum::text, 'forever'))
    from applied as a
    where a.applied is not null and (a.minimum is null or a.applied < a.minimum)
    union all
    select p.id, format('purge #%s records %s chain(s) but %s anchor(s) name it', p.id, p.chain_count, p.anchors)
    from purges as p
    where p.anchors <> p.chain_count
    union all
    select p.id, format('purge #%s ran at %s but its anchors were judged at %s to %s, not within the day before',
      p.id, shipslog.iso_utc(p.purged_at), shipslog.iso_utc(p.judged_at), shipslog.iso_utc(p.judged_last))
    from purges as p
    where p.judged_at < p.purged_at - interval '1 day' or p.judged_last > p.purged_at
    union all
    select p.id, case
        when e.seq is null then format('purge #%s: its events_purged event #%s is missing from the system chain', p.id, p.event_chain_index)
        else format('purge #%s: its events_purged event #%s on the system chain does not match its record', p.id, p.event_chain_index)
      end
    from purges as p
      left join shipslog.deployment_events as e
        on e.deployment_id = system_id
       and e.chain_index = p.event_chain_index
    where sees_system
      and p.event_chain_index > coalesce(system_start, 0)
      and (e.seq is null
        or e.hash is distinct from p.event_hash
        or e.action is distinct from 'events_purged'
        or e.new_state ->> 'purge_id' is distinct from p.id::text
        or e.new_state -> 'retention' is distinct from p.retention
        or e.new_state ->> 'judged_at' is distinct from shipslog.iso_utc(p.judged_at))
  )
  select
    (select count(*) from purges),
    (select coalesce(array_agg(f.problem order by f.id, f.problem), '{}') from findings as f),
    (select coalesce(jsonb_agg(jsonb_build_object(
        'id', p.id, 'purged_at', shipslog.iso_utc(p.purged_at), 'judged_at', shipslog.iso_utc(p.judged_at),
        'chain_count', p.chain_count, 'event_count', p.event_count, 'retention', p.retention,
        'actor', p.actor, 'db_user', p.db_user, 'anchors', p.chains,
        'problems', coalesce((select jsonb_agg(f.problem order by f.problem) from findings as f where f.id = p.id), '[]'))
        order by p.id), '[]')
     from purges as p)
  into v_purge_count, v_purge_problems, v_purges;
  problems := problems || v_purge_problems;

  -- Anchors in scope made in the window that no purge record stands behind.
  with scope as materialized (
    select s.deployment_id
    from shipslog.compliance_deployments(p_tenant, p_deployment_id, p_environment) as s
  )
  select coalesce(jsonb_agg(jsonb_build_object(
      'id', a.id, 'deployment_id', a.deployment_id, 'chain_index', a.chain_index,
      'judged_at', shipslog.iso_utc(a.judged_at), 'purge_id', a.purge_id) order by a.id), '[]')
  into v_orphans
  from shipslog.audit_chain_anchors as a
  where a.created_at >= p_from
    and a.created_at < p_to
    and (unscoped or a.deployment_id in (select s.deployment_id from scope as s))
    and not exists (select from shipslog.audit_purges as p where p.id = a.purge_id);
  if jsonb_array_length(v_orphans) > 0 then
    problems := problems || format('%s anchor(s) name no recorded purge (the first: anchor #%s of %s at event #%s, purge #%s)',
      jsonb_array_length(v_orphans), v_orphans -> 0 ->> 'id', v_orphans -> 0 ->> 'deployment_id',
      v_orphans -> 0 ->> 'chain_index', v_orphans -> 0 ->> 'purge_id');
  end if;

  -- 3. The settings: below the minimums now, and every change in the window.
  select coalesce(array_agg(format('%s is kept %s, below the specification''s minimum (%s)',
      m.category, r.keep_for, coalesce(m.keep_for::text, 'forever')) order by m.category), '{}')
  into v_below_now
  from shipslog.audit_retention_minimums() as m
    join shipslog.audit_retention as r on r.category = m.category
  where r.keep_for is not null
    and (m.keep_for is null or r.keep_for < m.keep_for);
  problems := problems || v_below_now;

  select
    count(*),
    coalesce(jsonb_agg(jsonb_build_object(
      'id', c.id, 'changed_at', shipslog.iso_utc(c.changed_at), 'category', c.category, 'operation', c.operation,
      'previous_keep_for', c.previous_keep_for::text, 'new_keep_for', c.new_keep_for::text,
      'minimum', m.keep_for::text,
      'below_minimum', c.new_keep_for is not null and (m.keep_for is null or c.new_keep_for < m.keep_for),
      'actor', c.actor, 'reason', c.reason, 'db_user', c.db_user, 'db_role', c.db_role) order by c.id), '[]'),
    coalesce(array_agg(format('change #%s set %s to %s at %s, below the specification''s minimum (%s)',
      c.id, c.category, c.new_keep_for, shipslog.iso_utc(c.changed_at), coalesce(m.keep_for::text, 'forever')) order by c.id)
      filter (where c.new_keep_for is not null and (m.keep_for is null or c.new_keep_for < m.keep_for)), '{}')
  into v_change_count, v_changes, v_below_changed
  from shipslog.audit_retention_changes as c
    left join shipslog.audit_retention_minimums() as m on m.category = c.category
  where c.changed_at >= p_from
    and c.changed_at < p_to;
  problems := problems || v_below_changed;

  return query select
    'retention_met'::text,
    case when cardinality(problems) = 0 then 'pass' else 'fail' end,
    case when cardinality(problems) = 0
      then format('no event past its retention period by more than the %s grace remains at the front of its chain (%s expired event(s) held behind retained ones of their chains, %s awaiting the next purge); %s purge(s) in the window applied the periods in force, none below the specification''s minimums; %s change(s) of the periods in the window, none below them',
        grace, v_held, v_awaiting, v_purge_count, v_change_count)
      else array_to_string(problems, '; ')
    end,
    jsonb_build_object(
      'judged_at', shipslog.iso_utc(now()),
      'grace', grace::text,
      'categories', v_categories,
      'overdue', v_overdue,
      'overdue_events', v_overdue_list,
      'held', v_held,
      'awaiting_purge', v_awaiting,
      'purges', v_purges,
      'purge_events_checked', sees_system,
      'unsealed_anchors', v_orphans,
      'changes', v_changes,
      'method', 'events judged against shipslog.audit_retention as now, cut as shipslog.audit_retention_cuts() cuts (whole chain prefixes); purges against shipslog.audit_retention_changes and the specification''s minimums (shipslog.audit_retention_minimums())');
end
$function$
function shipslog.compliance_deployments(p_tenant text, p_deployment_id uuid, p_environment text)
CREATE OR REPLACE FUNCTION shipslog.compliance_deployments(p_tenant text, p_deployment_id uuid, p_environment text)
 RETURNS TABLE(deployment_id uuid, tenant text, name text, environment text, removed boolean)
 LANGUAGE sql
 STABLE
 SET search_path TO ''
AS $function$
  with ids as (
    select d.id, d.tenant, d.name
    from shipslog.deployments as d
    where (p_tenant is null or d.tenant = p_tenant)
      and (p_deployment_id is null or d.id = p_deployment_id)
    union
    select e.deployment_id, e.tenant, e.name
    from shipslog.deployment_events as e
    where e.action = 'created'
      and (p_tenant is null or e.tenant = p_tenant)
      and (p_deployment_id is null or e.deployment_id = p_deployment_id)
  )
  select i.id, i.tenant, i.name, env.environment, d.id is null
  from ids as i
    left join shipslog.deployments as d
      on d.id = i.id
    -- A removed deployment's environment: the last one its events recorded (the query of
    -- shipslog.event_environment(), sql/api/, which is created after this folder).
    cross join lateral (
      select coalesce(d.environment, (
        select e.new_state ->> 'environment'
        from shipslog.deployment_events as e
        where e.deployment_id = i.id
          and e.new_state ? 'environment'
        order by e.chain_index desc
        limit 1)) as environment
    ) as env
  where p_environment is null
    or env.environment = p_environment
$function$
function shipslog.compliance_policies_in_scope(p_to timestamp with time zone, p_tenant text, p_deployment_id uuid, p_environment text)
CREATE OR REPLACE FUNCTION shipslog.compliance_policies_in_scope(p_to timestamp with time zone, p_tenant text, p_deployment_id uuid, p_environment text)
 RETURNS TABLE(tenant text, environment text, required_approvals integer, required_gates text[])
 LANGUAGE sql
 STABLE
 SET search_path TO ''
AS $function$
  with tenants as (
    select distinct s.tenant
    from shipslog.compliance_deployments(p_tenant, p_deployment_id, null) as s
    union
    select p_tenant where p_tenant is not null and p_deployment_id is null
  )
  select c.tenant, c.environment, (c.new_policy ->> 'required_approvals')::integer,
         array(select jsonb_array_elements_text(c.new_policy -> 'required_gates'))
  from shipslog.approval_policy_changes as c
  where c.change = 'set'
    and c.occurred_at < p_to
    and c.tenant in (select t.tenant from tenants as t)
    and (p_environment is null or c.environment = p_environment)
  union
  select ap.tenant, ap.environment, ap.required_approvals, ap.required_gates
  from shipslog.approval_policies as ap
  where ap.updated_at < p_to
    and ap.tenant in (select t.tenant from tenants as t)
    and (p_environment is null or ap.environment = p_environment)
$function$
function shipslog.compliance_report(p_from timestamp with time zone, p_to timestamp with time zone, p_tenant text, p_deployment_id uuid, p_environment text, p_checks text[])
CREATE OR REPLACE FUNCTION shipslog.compliance_report(p_from timestamp with time zone, p_to timestamp with time zone, p_tenant text DEFAULT NULL::text, p_deployment_id uuid DEFAULT NULL::uuid, p_environment text DEFAULT NULL::text, p_checks text[] DEFAULT NULL::text[])
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
 SET search_path TO ''
AS $function$
declare
  granularity text;
  result jsonb;
begin
  perform shipslog.compliance_window_check(p_from, p_to);
  if exists (select from unnest(p_checks) as c(name) where c.name is null or c.name not in (
    'immutable_storage', 'chains_intact', 'checkpoints', 'approvals_complete', 'gates_passed', 'retention_met', 'changes_outside_api'))
  then
    raise exception 'unknown compliance check in p_checks: %', p_checks
      using errcode = '22023',
            hint = 'The checks: immutable_storage, chains_intact, checkpoints, approvals_complete, gates_passed, retention_met, changes_outside_api.';
  end if;
  -- Timeline buckets: hours for up to two days, days for up to ~three months, else months.
  granularity := case
    when p_to - p_from <= interval '2 days' then 'hour'
    when p_to - p_from <= interval '92 days' then 'day'
    else 'month'
  end;

  with scope as materialized (
    select *
    from shipslog.compliance_deployments(p_tenant, p_deployment_id, p_environment)
  ),
  -- Every count in one pass over the window's events: one grouping set per question (by
  -- action; by actor and deployment; by time bucket and category), hashed together. The
  -- sections below only add these rows up: a materialised copy of the events scanned once per
  -- section cost 3-4 times as much (100,000 events).
  grouped as materialized (
    select
      grouping(e.action) = 0 as by_action,
      grouping(e.actor) = 0 as by_actor,
      e.action,
      e.actor,
      e.actor_type,
      e.deployment_id,
      date_trunc(granularity, e.occurred_at, 'UTC') as bucket,
      shipslog.event_category(e.action) as category,
      count(*) as n,
      min(e.occurred_at) as first_at,
      max(e.occurred_at) as last_at
    from shipslog.deployment_events as e
    where e.deployment_id in (select s.deployment_id from scope as s)
      and e.occurred_at >= p_from
      and e.occurred_at < p_to
    group by grouping sets (
      (e.action),
      (e.actor, e.actor_type, e.deployment_id),
      (date_trunc(granularity, e.occurred_at, 'UTC'), shipslog.event_category(e.action))
    )
  ),
  by_type as materialized (
    select g.action, shipslog.event_category(g.action) as category, shipslog.action_severity(g.action) as severity,
           g.n, g.first_at, g.last_at
    from grouped as g
    where g.by_action
  ),
  by_category as (
    select b.category, sum(b.n) as n
    from by_type as b
    group by b.category
  ),
  actors as (
    select g.actor, g.actor_type, sum(g.n) as n, count(*) as deployments, min(g.first_at) as first_at, max(g.last_at) as last_at
    from grouped as g
    where g.by_actor
    group by g.actor, g.actor_type
  ),
  per_deployment as (
    select g.deployment_id, sum(g.n) as n
    from grouped as g
    where g.by_actor
    group by g.deployment_id
  ),
  timeline as (
    select g.bucket, sum(g.n) as n, jsonb_object_agg(coalesce(g.category, 'unknown'), g.n order by g.category) as categories
    from grouped as g
    where not g.by_action
      and not g.by_actor
    group by g.bucket
  ),
  -- What a reviewer looks at first: anything but info, and every lifecycle, rollback,
  -- approval, gate and security event. Config and state changes are counted, not listed.
  notable_actions as (
    select b.action, b.n
    from by_type as b
    where b.severity is distinct from 'info'
      or b.category in ('deployment_lifecycle', 'rollback', 'approval_workflow', 'compliance_gate', 'security')
  ),
  notable_listed as (
    select
      e.seq, e.occurred_at, e.deployment_id, e.tenant, e.name, e.chain_index, e.action, e.actor,
      shipslog.event_category(e.action) as category,
      shipslog.action_severity(e.action) as severity,
      shipslog.describe_event(e.action, shipslog.event_changes(e.previous_state, e.new_state), e.previous_state, e.new_state) as summary
    from (
      select e.*
      from shipslog.deployment_events as e
      where e.action in (select a.action from notable_actions as a)
        and e.deployment_id in (select s.deployment_id from scope as s)
        and e.occurred_at >= p_from
        and e.occurred_at < p_to
      order by e.occurred_at desc, e.seq desc
      limit 100
    ) as e
  ),
  checks as (
    select c.*
    from (
      select 1 as ord, * from shipslog.compliance_check_immutable_storage(p_from, p_to, p_tenant, p_deployment_id, p_environment)
        where p_checks is null or 'immutable_storage' = any(p_checks)
      union all
      select 2 as ord, * from shipslog.compliance_check_chains(p_from, p_to, p_tenant, p_deployment_id, p_environment)
        where p_checks is null or 'chains_intact' = any(p_checks)
      union all
      select 3 as ord, * from shipslog.compliance_check_checkpoints(p_from, p_to, p_tenant, p_deployment_id, p_environment)
        where p_checks is null or 'checkpoints' = any(p_checks)
      union all
      select 4 as ord, * from shipslog.compliance_check_approvals(p_from, p_to, p_tenant, p_deployment_id, p_environment)
        where p_checks is null or 'approvals_complete' = any(p_checks)
      union all
      select 5 as ord, * from shipslog.compliance_check_gates(p_from, p_to, p_tenant, p_deployment_id, p_environment)
        where p_checks is null or 'gates_passed' = any(p_checks)
      union all
      select 6 as ord, * from shipslog.compliance_check_retention(p_from, p_to, p_tenant, p_deployment_id, p_environment)
        where p_checks is null or 'retention_met' = any(p_checks)
      union all
      select 7 as ord, * from shipslog.compliance_check_changes_outside_api(p_from, p_to, p_tenant, p_deployment_id, p_environment)
        where p_checks is null or 'changes_outside_api' = any(p_checks)
    ) as c
  ),
  totals as (
    select
      (select coalesce(sum(b.n), 0) from by_type as b) as events,
      (select count(*) from per_deployment) as active_deployments,
      (select count(*) from scope) as deployments,
      (select count(*) from actors) as actors,
      (select min(b.first_at) from by_type as b) as first_at,
      (select max(b.last_at) from by_type as b) as last_at,
      (select count(*) from checks where status = 'pass') as passed,
      (select count(*) from checks where status = 'fail') as failed,
      (select count(*) from checks where status = 'not_applicable') as not_applicable
  )
  select jsonb_build_object(
    'report', 'shipslog compliance report v1',
    'generated_at', shipslog.iso_utc(clock_timestamp()),
    'scope', jsonb_build_object(
      'from', shipslog.iso_utc(p_from),
      'to', shipslog.iso_utc(p_to),
      'tenant', p_tenant,
      'deployment_id', p_deployment_id,
      'environment', p_environment),
    'summary', jsonb_build_object(
      'status', case when t.failed > 0 then 'fail' else 'pass' end,
      'checks_passed', t.passed,
      'checks_failed', t.failed,
      'checks_not_applicable', t.not_applicable,
      'events', t.events,
      'deployments', t.deployments,
      'deployments_with_events', t.active_deployments,
      'actors', t.actors,
      'first_event_at', shipslog.iso_utc(t.first_at),
      'last_event_at', shipslog.iso_utc(t.last_at)),
    'events_by_type', coalesce((
      select jsonb_agg(jsonb_build_object('action', b.action, 'category', b.category, 'severity', b.severity, 'count', b.n)
                       order by b.n desc, b.action)
      from by_type as b), '[]'),
    'events_by_category', coalesce((
      select jsonb_agg(jsonb_build_object('category', b.category, 'count', b.n) order by b.n desc, b.category)
      from by_category as b), '[]'),
    'actors', jsonb_build_object(
      'total', t.actors,
      'items', coalesce((
        select jsonb_agg(jsonb_build_object('actor', a.actor, 'actor_type', a.actor_type, 'events', a.n, 'deployments', a.deployments,
                         'first_at', shipslog.iso_utc(a.first_at), 'last_at', shipslog.iso_utc(a.last_at))
                         order by a.n desc, a.actor, a.actor_type)
        from (select * from actors order by n desc, actor, actor_type limit 100) as a), '[]')),
    'deployments', jsonb_build_object(
      'total', t.deployments,
      'items', coalesce((
        select jsonb_agg(jsonb_build_object('deployment_id', s.deployment_id, 'tenant', s.tenant, 'name', s.name,
                         'environment', s.environment, 'removed', s.removed, 'events', s.n)
                         order by s.tenant, s.name, s.deployment_id)
        from (
          select s.*, coalesce(p.n, 0) as n
          from scope as s
            left join per_deployment as p
              on p.deployment_id = s.deployment_id
          order by s.tenant, s.name, s.deployment_id
          limit 200
        ) as s), '[]')),
    'timeline', jsonb_build_object(
      'granularity', granularity,
      'buckets', coalesce((
        select jsonb_agg(jsonb_build_object('start', shipslog.iso_utc(tl.bucket), 'events', tl.n, 'categories', tl.categories)
                         order by tl.bucket)
        from timeline as tl), '[]'),
      'notable_total', (select coalesce(sum(a.n), 0) from notable_actions as a),
      'notable', coalesce((
        select jsonb_agg(jsonb_build_object('occurred_at', shipslog.iso_utc(n.occurred_at), 'deployment_id', n.deployment_id,
                         'tenant', n.tenant, 'name', n.name, 'chain_index', n.chain_index, 'action', n.action,
                         'category', n.category, 'severity', n.severity, 'actor', n.actor, 'summary', n.summary)
                         order by n.occurred_at desc, n.seq desc)
        from notable_listed as n), '[]')),
    'checks', (
      select jsonb_agg(jsonb_build_object('check', c."check", 'status', c.status, 'summary', c.summary, 'evidence', c.evidence)
                       order by c.ord)
      from checks as c))
  into result
  from totals as t;
  return result;
end
$function$
function shipslog.compliance_window_check(p_from timestamp with time zone, p_to timestamp with time zone)
CREATE OR REPLACE FUNCTION shipslog.compliance_window_check(p_from timestamp with time zone, p_to timestamp with time zone)
 RETURNS void
 LANGUAGE plpgsql
 IMMUTABLE
 SET search_path TO ''
AS $function$
begin
  if p_from is null or p_to is null or not isfinite(p_from) or not isfinite(p_to) then
    raise exception 'a compliance report needs a finite window: from % to %', p_from, p_to
      using errcode = '22023',
            hint = 'Give both ends, e.g. shipslog.compliance_report(''2026-01-01'', ''2026-04-01'').';
  end if;
  if p_from >= p_to then
    raise exception 'the report window starts (%) at or after its end (%)', p_from, p_to
      using errcode = '22023',
            hint = 'from is inclusive and must come before to, which is exclusive.';
  end if;
end
$function$
function shipslog.context_actor()
CREATE OR REPLACE FUNCTION shipslog.context_actor()
 RETURNS text
 LANGUAGE sql
 STABLE
RETURN COALESCE(shipslog.context_setting('shipslog.actor'::text), (SESSION_USER)::text)
function shipslog.context_setting(setting_name text)
CREATE OR REPLACE FUNCTION shipslog.context_setting(setting_name text)
 RETURNS text
 LANGUAGE sql
 STABLE PARALLEL SAFE
RETURN NULLIF(current_setting(setting_name, true), ''::text)
function shipslog.decide_approval(p_request_id uuid, p_decision text, p_reason text)
CREATE OR REPLACE FUNCTION shipslog.decide_approval(p_request_id uuid, p_decision text, p_reason text DEFAULT NULL::text)
 RETURNS shipslog.approval_requests
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  r shipslog.approval_requests;
  v_approver text := shipslog.context_actor();
  current_generation bigint;
  n integer;
  ev shipslog.deployment_events;
begin
  if p_decision not in ('granted', 'denied') then
    raise exception 'decision must be granted or denied, not %', p_decision using errcode = '22023';
  end if;
  select * into r from shipslog.approval_requests as a
  where a.id = p_request_id and shipslog.caller_sees_tenant(a.tenant)
  for update;
  if not found then
    raise exception 'approval request % not found', p_request_id
      using errcode = 'SL431', hint = 'GET /v1/approvals lists the pending requests you may see.';
  end if;
  if r.state <> 'pending' then
    raise exception 'approval request % is %, not pending', p_request_id, r.state
      using errcode = 'SL432', hint = 'A decided, expired or cancelled request takes no more decisions; request approval again.';
  end if;
  if r.expires_at <= clock_timestamp() then
    return shipslog.close_approval_request(r, 'expired', null);
  end if;
  select d.generation into current_generation from shipslog.deployments as d where d.id = r.deployment_id for no key update;
  if current_generation is distinct from r.generation then
    return shipslog.close_approval_request(r, 'cancelled',
      coalesce(format('superseded by generation %s', current_generation), 'the deployment was removed'));
  end if;
  if v_approver = r.requested_by or v_approver = r.change_actor then
    raise exception '% % this change and cannot approve it', v_approver,
        case when v_approver = r.change_actor then 'made' else 'requested approval of' end
      using errcode = 'SL433', hint = 'Approvals come from others than the requester and the change''s author.';
  end if;
  if exists (select from shipslog.approval_decisions as x where x.request_id = r.id and x.approver = v_approver) then
    raise exception '% has already decided on approval request %', v_approver, r.id
      using errcode = 'SL434', hint = 'Each approver counts once; the policy needs distinct approvers.';
  end if;
  if p_decision = 'granted' then
    n := 1 + (select count(*) from shipslog.approval_decisions as x where x.request_id = r.id and x.decision = 'granted');
    ev := shipslog.append_event(r.deployment_id, 'approval_granted', jsonb_build_object(
      'approval_id', r.id, 'generation', r.generation, 'approver', v_approver, 'approvals', n,
      'required_approvals', r.required_approvals, 'parent_seq', r.requested_seq));
  else
    ev := shipslog.append_event(r.deployment_id, 'approval_denied', jsonb_build_object(
      'approval_id', r.id, 'generation', r.generation, 'approver', v_approver, 'parent_seq', r.requested_seq));
  end if;
  insert into shipslog.approval_decisions (request_id, tenant, approver, decision, reason, event_seq)
  values (r.id, r.tenant, v_approver, p_decision, p_reason, ev.seq);
  if p_decision = 'denied' then
    update shipslog.approval_requests set state = 'denied', closed_at = clock_timestamp() where id = r.id returning * into r;
  elsif n >= r.required_approvals then
    update shipslog.approval_requests set state = 'approved', closed_at = clock_timestamp() where id = r.id returning * into r;
    perform shipslog.release_generation(r.deployment_id, r.generation);
  end if;
  return r;
end
$function$
function shipslog.decimal_text(value numeric)
CREATE OR REPLACE FUNCTION shipslog.decimal_text(value numeric)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
 SET search_path TO ''
RETURN (trim_scale(value))::text
function shipslog.deployment_agent_cost(p_deployment_id uuid)
CREATE OR REPLACE FUNCTION shipslog.deployment_agent_cost(p_deployment_id uuid)
 RETURNS TABLE(message_count bigint, total_tokens bigint, total_cost numeric)
 LANGUAGE sql
 STABLE
 SET search_path TO ''
AS $function$
  select
    count(*),
    coalesce(sum(m.total_tokens), 0)::bigint,
    coalesce(sum(m.total_cost), 0)
  from shipslog.agent_messages as m
  where (m.tenant, m.message_id) in (
    select e.tenant, e.correlation_id
    from shipslog.deployment_events as e
    where e.deployment_id = p_deployment_id
      and e.correlation_id is not null
  )
$function$
function shipslog.deployment_diff(o shipslog.deployments, n shipslog.deployments, OUT old_part jsonb, OUT new_part jsonb)
CREATE OR REPLACE FUNCTION shipslog.deployment_diff(o shipslog.deployments, n shipslog.deployments, OUT old_part jsonb, OUT new_part jsonb)
 RETURNS record
 LANGUAGE plpgsql
 IMMUTABLE PARALLEL SAFE
 SET search_path TO ''
AS $function$
declare
  sub record;
begin
  old_part := '{}';
  new_part := '{}';
  if n.config is distinct from o.config then
    sub := shipslog.jsonb_diff(o.config, n.config);
    old_part := jsonb_build_object('config', sub.old_part);
    new_part := jsonb_build_object('config', sub.new_part);
  end if;
  if n.environment is distinct from o.environment then
    old_part := old_part || jsonb_build_object('environment', o.environment);
    new_part := new_part || jsonb_build_object('environment', n.environment);
  end if;
  if n.app_version is distinct from o.app_version then
    old_part := old_part || jsonb_build_object('app_version', o.app_version);
    new_part := new_part || jsonb_build_object('app_version', n.app_version);
  end if;
  if n.secrets_ref is distinct from o.secrets_ref then
    old_part := old_part || jsonb_build_object('secrets_ref', o.secrets_ref);
    new_part := new_part || jsonb_build_object('secrets_ref', n.secrets_ref);
  end if;
  if n.secrets_fingerprint is distinct from o.secrets_fingerprint then
    old_part := old_part || jsonb_build_object('secrets_fingerprint', o.secrets_fingerprint);
    new_part := new_part || jsonb_build_object('secrets_fingerprint', n.secrets_fingerprint);
  end if;
  if n.depends_on is distinct from o.depends_on then
    old_part := old_part || jsonb_build_object('depends_on', o.depends_on);
    new_part := new_part || jsonb_build_object('depends_on', n.depends_on);
  end if;
  if n.restarted_at is distinct from o.restarted_at then
    old_part := old_part || jsonb_build_object('restarted_at', shipslog.iso_utc(o.restarted_at));
    new_part := new_part || jsonb_build_object('restarted_at', shipslog.iso_utc(n.restarted_at));
  end if;
  if n.deletion_requested_at is distinct from o.deletion_requested_at then
    old_part := old_part || jsonb_build_object('deletion_requested_at', shipslog.iso_utc(o.deletion_requested_at));
    new_part := new_part || jsonb_build_object('deletion_requested_at', shipslog.iso_utc(n.deletion_requested_at));
  end if;
  if n.status is distinct from o.status then
    old_part := old_part || jsonb_build_object('status', o.status);
    new_part := new_part || jsonb_build_object('status', n.status);
  end if;
  if n.status_message is distinct from o.status_message then
    old_part := old_part || jsonb_build_object('status_message', o.status_message);
    new_part := new_part || jsonb_build_object('status_message', n.status_message);
  end if;
  if n.health is distinct from o.health then
    old_part := old_part || jsonb_build_object('health', o.health);
    new_part := new_part || jsonb_build_object('health', n.health);
  end if;
  if n.health_message is distinct from o.health_message then
    old_part := old_part || jsonb_build_object('health_message', o.health_message);
    new_part := new_part || jsonb_build_object('health_message', n.health_message);
  end if;
  if n.url is distinct from o.url then
    old_part := old_part || jsonb_build_object('url', o.url);
    new_part := new_part || jsonb_build_object('url', n.url);
  end if;
  if n.local_port is distinct from o.local_port then
    old_part := old_part || jsonb_build_object('local_port', o.local_port);
    new_part := new_part || jsonb_build_object('local_port', n.local_port);
  end if;
  if n.service_port is distinct from o.service_port then
    old_part := old_part || jsonb_build_object('service_port', o.service_port);
    new_part := new_part || jsonb_build_object('service_port', n.service_port);
  end if;
  if n.service_name is distinct from o.service_name then
    old_part := old_part || jsonb_build_object('service_name', o.service_name);
    new_part := new_part || jsonb_build_object('service_name', n.service_name);
  end if;
  if n.managed_resources is distinct from o.managed_resources then
    old_part := old_part || jsonb_build_object('managed_resources', o.managed_resources);
    new_part := new_part || jsonb_build_object('managed_resources', n.managed_resources);
  end if;
  if n.observed_generation is distinct from o.observed_generation then
    old_part := old_part || jsonb_build_object('observed_generation', o.observed_generation);
    new_part := new_part || jsonb_build_object('observed_generation', n.observed_generation);
  end if;
end
$function$
function shipslog.derive_action(old_state jsonb, new_state jsonb)
CREATE OR REPLACE FUNCTION shipslog.derive_action(old_state jsonb, new_state jsonb)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN (old_state IS NULL) THEN 'created'::text WHEN (new_state IS NULL) THEN 'removed'::text WHEN (((old_state -> 'deletion_requested_at'::text) IS DISTINCT FROM (new_state -> 'deletion_requested_at'::text)) AND ((new_state ->> 'deletion_requested_at'::text) IS NOT NULL)) THEN 'removal_requested'::text WHEN ((old_state -> 'app_version'::text) IS DISTINCT FROM (new_state -> 'app_version'::text)) THEN CASE WHEN (shipslog.version_order((old_state ->> 'app_version'::text), (new_state ->> 'app_version'::text)) < 0) THEN 'downgraded'::text ELSE 'upgraded'::text END WHEN (((((old_state -> 'config'::text) IS DISTINCT FROM (new_state -> 'config'::text)) OR ((old_state -> 'environment'::text) IS DISTINCT FROM (new_state -> 'environment'::text))) OR ((old_state -> 'depends_on'::text) IS DISTINCT FROM (new_state -> 'depends_on'::text))) OR ((old_state -> 'secrets_ref'::text) IS DISTINCT FROM (new_state -> 'secrets_ref'::text))) THEN 'config_changed'::text WHEN ((old_state -> 'secrets_fingerprint'::text) IS DISTINCT FROM (new_state -> 'secrets_fingerprint'::text)) THEN 'secrets_rotated'::text WHEN ((old_state -> 'restarted_at'::text) IS DISTINCT FROM (new_state -> 'restarted_at'::text)) THEN 'restarted'::text WHEN ((old_state -> 'managed_resources'::text) IS DISTINCT FROM (new_state -> 'managed_resources'::text)) THEN 'resources_changed'::text WHEN (((old_state -> 'health'::text) IS DISTINCT FROM (new_state -> 'health'::text)) OR ((old_state -> 'health_message'::text) IS DISTINCT FROM (new_state -> 'health_message'::text))) THEN 'health_changed'::text ELSE 'status_changed'::text END
function shipslog.describe_change(change jsonb)
CREATE OR REPLACE FUNCTION shipslog.describe_change(change jsonb)
 RETURNS text
 LANGUAGE sql
 STABLE PARALLEL SAFE
RETURN shipslog.describe_change((change ->> 'path'::text), (change -> 'from'::text), (change -> 'to'::text))
function shipslog.describe_change(path text, old_value jsonb, new_value jsonb)
CREATE OR REPLACE FUNCTION shipslog.describe_change(path text, old_value jsonb, new_value jsonb)
 RETURNS text
 LANGUAGE sql
 STABLE PARALLEL SAFE
RETURN CASE path WHEN 'secrets_fingerprint'::text THEN 'secrets rotated'::text WHEN 'managed_resources'::text THEN (((('resources: '::text || COALESCE(jsonb_array_length(old_value), 0)) || ' -> '::text) || COALESCE(jsonb_array_length(new_value), 0)) || ' objects'::text) ELSE (((CASE path WHEN 'app_version'::text THEN CASE WHEN (shipslog.version_order((old_value #>> '{}'::text[]), (new_value #>> '{}'::text[])) < 0) THEN 'downgraded '::text ELSE 'upgraded '::text END ELSE (regexp_replace(path, '^config\.'::text, ''::text) || ': '::text) END || shipslog.describe_value(old_value)) || ' -> '::text) || shipslog.describe_value(new_value)) END
function shipslog.describe_details(action text, d jsonb)
CREATE OR REPLACE FUNCTION shipslog.describe_details(action text, d jsonb)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
RETURN CASE action WHEN 'deployment_started'::text THEN (('rollout of generation '::text || (d ->> 'generation'::text)) || ' started'::text) WHEN 'deployment_completed'::text THEN (((('rollout of generation '::text || (d ->> 'generation'::text)) || ' completed ('::text) || (d ->> 'outcome'::text)) || ')'::text) WHEN 'deployment_failed'::text THEN ((('rollout of generation '::text || (d ->> 'generation'::text)) || ' failed: '::text) || (d ->> 'failure_reason'::text)) WHEN 'deployment_cancelled'::text THEN ((('generation '::text || (d ->> 'generation'::text)) || ' cancelled: superseded by generation '::text) || (d ->> 'superseded_by_generation'::text)) WHEN 'approval_requested'::text THEN (((('approval requested for generation '::text || (d ->> 'generation'::text)) || ' ('::text) || (d ->> 'required_approvals'::text)) || ' needed)'::text) WHEN 'approval_granted'::text THEN (((((((('approval granted by '::text || (d ->> 'approver'::text)) || ' for generation '::text) || (d ->> 'generation'::text)) || ' ('::text) || (d ->> 'approvals'::text)) || ' of '::text) || (d ->> 'required_approvals'::text)) || ')'::text) WHEN 'approval_denied'::text THEN ((('approval denied by '::text || (d ->> 'approver'::text)) || ' for generation '::text) || (d ->> 'generation'::text)) WHEN 'approval_expired'::text THEN (('approval request for generation '::text || (d ->> 'generation'::text)) || ' expired'::text) WHEN 'approval_cancelled'::text THEN ((('approval request for generation '::text || (d ->> 'generation'::text)) || ' cancelled: '::text) || (d ->> 'cancelled_because'::text)) WHEN 'rollback_started'::text THEN ((('rollback to event #'::text || (d ->> 'target_chain_index'::text)) || ' started as generation '::text) || (d ->> 'generation'::text)) WHEN 'rollback_completed'::text THEN (('rollback completed (generation '::text || (d ->> 'generation'::text)) || ')'::text) WHEN 'rollback_failed'::text THEN ((('rollback failed (generation '::text || (d ->> 'generation'::text)) || '): '::text) || (d ->> 'failure_reason'::text)) WHEN 'access_denied'::text THEN (((((('access denied: '::text || (d ->> 'method'::text)) || ' '::text) || (d ->> 'path'::text)) || ' ('::text) || (d ->> 'denied_because'::text)) || ')'::text) WHEN 'security_violation'::text THEN ('security violation: '::text || (d ->> 'finding'::text)) ELSE CASE WHEN (action ~~ 'gate\_%'::text) THEN ((((('gate '::text || (d ->> 'gate'::text)) || ' '::text) || substr(action, 6)) || ' for generation '::text) || (d ->> 'generation'::text)) ELSE NULL::text END END
function shipslog.describe_event(action text, changes jsonb, previous_state jsonb, new_state jsonb)
CREATE OR REPLACE FUNCTION shipslog.describe_event(action text, changes jsonb, previous_state jsonb, new_state jsonb)
 RETURNS text
 LANGUAGE sql
 STABLE PARALLEL SAFE
RETURN shipslog.event_summary(action, previous_state, new_state, ARRAY(SELECT shipslog.describe_change((c.item ->> 'path'::text), (c.item -> 'from'::text), (c.item -> 'to'::text)) AS describe_change FROM jsonb_array_elements(describe_event.changes) WITH ORDINALITY c(item, ord) ORDER BY c.ord))
function shipslog.describe_value(value jsonb)
CREATE OR REPLACE FUNCTION shipslog.describe_value(value jsonb)
 RETURNS text
 LANGUAGE sql
 STABLE PARALLEL SAFE
RETURN CASE WHEN ((value IS NULL) OR (value = 'null'::jsonb)) THEN 'none'::text WHEN (jsonb_typeof(value) = 'string'::text) THEN "left"((value #>> '{}'::text[]), 80) WHEN ((jsonb_typeof(value) = 'array'::text) AND (pg_column_size(((value)::text)::jsonb) > 80)) THEN (jsonb_array_length(value) || ' items'::text) ELSE "left"((value)::text, 80) END
function shipslog.desired_state_at(p_deployment_id uuid, p_chain_index integer)
CREATE OR REPLACE FUNCTION shipslog.desired_state_at(p_deployment_id uuid, p_chain_index integer)
 RETURNS jsonb
 LANGUAGE sql
 STABLE
 SET search_path TO ''
AS $function$
  select jsonb_build_object(
           'environment', s -> 'environment', 'app_version', s -> 'app_version', 'config', s -> 'config',
           'secrets_ref', s -> 'secrets_ref', 'secrets_fingerprint', s -> 'secrets_fingerprint',
           'depends_on', s -> 'depends_on', 'deletion_requested_at', s -> 'deletion_requested_at')
  from (
    select shipslog.replay_state(e.previous_state, e.new_state order by e.chain_index)
             filter (where shipslog.is_row_change(e.action)) as s
    from shipslog.deployment_events as e
    where e.deployment_id = p_deployment_id
      and e.chain_index <= p_chain_index
  ) as x
$function$
function shipslog.ensure_deployment_event_partitions(months_ahead integer)
CREATE OR REPLACE FUNCTION shipslog.ensure_deployment_event_partitions(months_ahead integer DEFAULT 3)
 RETURNS integer
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  month_start date;
  part_name text;
  created integer := 0;
begin
  for i in 0 .. greatest(months_ahead, 0) loop
    month_start := (date_trunc('month', now() at time zone 'UTC') + make_interval(months => i))::date;
    part_name := format('deployment_events_y%sm%s', to_char(month_start, 'YYYY'), to_char(month_start, 'MM'));
    if to_regclass('shipslog.' || part_name) is null then
      begin
        execute format(
          'create table shipslog.%I partition of shipslog.deployment_events for values from (%L) to (%L)',
          part_name, month_start::timestamp at time zone 'UTC', (month_start + interval '1 month')::timestamp at time zone 'UTC');
        perform shipslog.guard_deployment_event_partition(('shipslog.' || quote_ident(part_name))::regclass);
        created := created + 1;
      exception
        when check_violation then
          raise notice 'partition % not created: the default partition holds events of that month', part_name;
        when duplicate_table or unique_violation then
          null;
      end;
    end if;
  end loop;
  return created;
end
$function$
function shipslog.ensure_reconcile_run_partitions(months_ahead integer)
CREATE OR REPLACE FUNCTION shipslog.ensure_reconcile_run_partitions(months_ahead integer DEFAULT 3)
 RETURNS integer
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  month_start date;
  part_name text;
  created integer := 0;
begin
  for i in 0 .. greatest(months_ahead, 0) loop
    month_start := (date_trunc('month', now() at time zone 'UTC') + make_interval(months => i))::date;
    part_name := format('reconcile_runs_y%sm%s', to_char(month_start, 'YYYY'), to_char(month_start, 'MM'));
    if to_regclass('shipslog.' || part_name) is null then
      begin
        execute format(
          'create table shipslog.%I partition of shipslog.reconcile_runs for values from (%L) to (%L)',
          part_name, month_start::timestamp at time zone 'UTC', (month_start + interval '1 month')::timestamp at time zone 'UTC');
        -- In the same subtransaction: no partition exists, even for a moment, without it.
        perform shipslog.guard_reconcile_run_partition(('shipslog.' || quote_ident(part_name))::regclass);
        created := created + 1;
      exception
        when check_violation then
          -- The default partition already holds rows of that month; they stay there.
          raise notice 'partition % not created: the default partition holds rows of that month', part_name;
        when duplicate_table or unique_violation then
          -- Another replica created it a moment ago.
          null;
      end;
    end if;
  end loop;
  return created;
end
$function$
function shipslog.event_category(action text)
CREATE OR REPLACE FUNCTION shipslog.event_category(action text)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
RETURN CASE action WHEN 'created'::text THEN 'deployment_lifecycle'::text WHEN 'removal_requested'::text THEN 'deployment_lifecycle'::text WHEN 'removed'::text THEN 'deployment_lifecycle'::text WHEN 'restarted'::text THEN 'deployment_lifecycle'::text WHEN 'deployment_started'::text THEN 'deployment_lifecycle'::text WHEN 'deployment_completed'::text THEN 'deployment_lifecycle'::text WHEN 'deployment_failed'::text THEN 'deployment_lifecycle'::text WHEN 'deployment_cancelled'::text THEN 'deployment_lifecycle'::text WHEN 'config_changed'::text THEN 'configuration'::text WHEN 'upgraded'::text THEN 'configuration'::text WHEN 'downgraded'::text THEN 'configuration'::text WHEN 'secrets_rotated'::text THEN 'configuration'::text WHEN 'status_changed'::text THEN 'state_change'::text WHEN 'health_changed'::text THEN 'state_change'::text WHEN 'resources_changed'::text THEN 'state_change'::text WHEN 'approval_requested'::text THEN 'approval_workflow'::text WHEN 'approval_granted'::text THEN 'approval_workflow'::text WHEN 'approval_denied'::text THEN 'approval_workflow'::text WHEN 'approval_expired'::text THEN 'approval_workflow'::text WHEN 'approval_cancelled'::text THEN 'approval_workflow'::text WHEN 'gate_started'::text THEN 'compliance_gate'::text WHEN 'gate_passed'::text THEN 'compliance_gate'::text WHEN 'gate_failed'::text THEN 'compliance_gate'::text WHEN 'gate_warned'::text THEN 'compliance_gate'::text WHEN 'gate_skipped'::text THEN 'compliance_gate'::text WHEN 'rolled_back'::text THEN 'rollback'::text WHEN 'rollback_started'::text THEN 'rollback'::text WHEN 'rollback_completed'::text THEN 'rollback'::text WHEN 'rollback_failed'::text THEN 'rollback'::text WHEN 'access_denied'::text THEN 'security'::text WHEN 'security_violation'::text THEN 'security'::text WHEN 'events_purged'::text THEN 'system'::text ELSE NULL::text END
function shipslog.event_change_walk(ids bigint[], previous_states jsonb[], new_states jsonb[])
CREATE OR REPLACE FUNCTION shipslog.event_change_walk(ids bigint[], previous_states jsonb[], new_states jsonb[])
 RETURNS TABLE(id bigint, path text[], old_value jsonb, new_value jsonb)
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
 WITH RECURSIVE walk(id, path, old_value, new_value) AS (
          SELECT p.id,
             ARRAY[k.key] AS "array",
             (p.previous_state -> k.key) AS "?column?",
             (p.new_state -> k.key) AS "?column?"
            FROM (UNNEST(event_change_walk.ids, event_change_walk.previous_states, event_change_walk.new_states) p(id, previous_state, new_state)
              CROSS JOIN LATERAL jsonb_object_keys((p.previous_state || p.new_state)) k(key))
           WHERE ((p.previous_state IS NOT NULL) AND (p.new_state IS NOT NULL))
         UNION ALL
          SELECT w_1.id,
             (w_1.path || k.key),
             (w_1.old_value -> k.key),
             (w_1.new_value -> k.key)
            FROM (walk w_1
              CROSS JOIN LATERAL jsonb_object_keys(
                 CASE
                     WHEN ((jsonb_typeof(w_1.old_value) = 'object'::text) AND (jsonb_typeof(w_1.new_value) = 'object'::text)) THEN (w_1.old_value || w_1.new_value)
                     ELSE '{}'::jsonb
                 END) k(key))
           WHERE ((jsonb_typeof(w_1.old_value) = 'object'::text) AND (jsonb_typeof(w_1.new_value) = 'object'::text))
         )
  SELECT w.id,
     w.path,
     w.old_value,
     w.new_value
    FROM walk w
   WHERE (NOT COALESCE(((jsonb_typeof(w.old_value) = 'object'::text) AND (jsonb_typeof(w.new_value) = 'object'::text)), false));
END
function shipslog.event_changes(previous_state jsonb, new_state jsonb)
CREATE OR REPLACE FUNCTION shipslog.event_changes(previous_state jsonb, new_state jsonb)
 RETURNS jsonb
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
RETURN (SELECT COALESCE(jsonb_agg(jsonb_build_object('path', array_to_string(w.path, '.'::text), 'from', w.old_value, 'to', w.new_value) ORDER BY w.path), '[]'::jsonb) AS "coalesce" FROM shipslog.event_change_walk(ARRAY[(0)::bigint], ARRAY[event_changes.previous_state], ARRAY[event_changes.new_state]) w(id, path, old_value, new_value))
function shipslog.event_environment(p_deployment_id uuid, p_chain_index integer)
CREATE OR REPLACE FUNCTION shipslog.event_environment(p_deployment_id uuid, p_chain_index integer)
 RETURNS text
 LANGUAGE sql
 STABLE PARALLEL SAFE
 SET search_path TO ''
AS $function$
  select e.new_state ->> 'environment'
  from shipslog.deployment_events as e
  where e.deployment_id = p_deployment_id
    and e.chain_index <= p_chain_index
    and e.new_state ? 'environment'
  order by e.chain_index desc
  limit 1
$function$
function shipslog.event_hash(prev_hash bytea, e shipslog.deployment_events)
CREATE OR REPLACE FUNCTION shipslog.event_hash(prev_hash bytea, e shipslog.deployment_events)
 RETURNS bytea
 LANGUAGE sql
 STABLE PARALLEL SAFE
RETURN sha256((COALESCE(prev_hash, '\x'::bytea) || convert_to((shipslog.event_payload(e))::text, 'UTF8'::name)))
function shipslog.event_payload(e shipslog.deployment_events)
CREATE OR REPLACE FUNCTION shipslog.event_payload(e shipslog.deployment_events)
 RETURNS jsonb
 LANGUAGE sql
 STABLE PARALLEL SAFE
RETURN jsonb_build_object('seq', (e).seq, 'name', (e).name, 'txid', ((e).txid)::text, 'actor', (e).actor, 'action', (e).action, 'reason', (e).reason, 'tenant', (e).tenant, 'db_role', (e).db_role, 'db_user', (e).db_user, 'new_state', (e).new_state, 'source_ip', ((e).source_ip)::text, 'actor_type', (e).actor_type, 'request_id', (e).request_id, 'user_agent', (e).user_agent, 'chain_index', (e).chain_index, 'client_addr', ((e).client_addr)::text, 'occurred_at', shipslog.iso_utc((e).occurred_at), 'deployment_id', (e).deployment_id, 'correlation_id', (e).correlation_id, 'previous_state', (e).previous_state, 'application_name', (e).application_name)
function shipslog.event_payload_text(e shipslog.deployment_events)
CREATE OR REPLACE FUNCTION shipslog.event_payload_text(e shipslog.deployment_events)
 RETURNS text
 LANGUAGE sql
 STABLE PARALLEL SAFE
RETURN (((((((((((((((((((((((((((((((((((((((((('{"seq": '::text || (e).seq) || ', "name": '::text) || to_json((e).name)) || ', "txid": "'::text) || (e).txid) || '", "actor": '::text) || to_json((e).actor)) || ', "action": '::text) || to_json((e).action)) || ', "reason": '::text) || COALESCE((to_json((e).reason))::text, 'null'::text)) || ', "tenant": '::text) || to_json((e).tenant)) || ', "db_role": '::text) || to_json((e).db_role)) || ', "db_user": '::text) || to_json((e).db_user)) || ', "new_state": '::text) || COALESCE(((e).new_state)::text, 'null'::text)) || ', "source_ip": '::text) || COALESCE((to_json(((e).source_ip)::text))::text, 'null'::text)) || ', "actor_type": '::text) || to_json((e).actor_type)) || ', "request_id": '::text) || COALESCE((to_json((e).request_id))::text, 'null'::text)) || ', "user_agent": '::text) || COALESCE((to_json((e).user_agent))::text, 'null'::text)) || ', "chain_index": '::text) || (e).chain_index) || ', "client_addr": '::text) || COALESCE((to_json(((e).client_addr)::text))::text, 'null'::text)) || ', "occurred_at": "'::text) || shipslog.iso_utc((e).occurred_at)) || '", "deployment_id": "'::text) || (e).deployment_id) || '", "correlation_id": '::text) || COALESCE((to_json((e).correlation_id))::text, 'null'::text)) || ', "previous_state": '::text) || COALESCE(((e).previous_state)::text, 'null'::text)) || ', "application_name": '::text) || COALESCE((to_json((e).application_name))::text, 'null'::text)) || '}'::text)
function shipslog.event_required_fields(action text)
CREATE OR REPLACE FUNCTION shipslog.event_required_fields(action text)
 RETURNS text[]
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
RETURN CASE action WHEN 'deployment_started'::text THEN ARRAY['generation'::text, 'run_id'::text] WHEN 'deployment_completed'::text THEN ARRAY['generation'::text, 'run_id'::text, 'outcome'::text] WHEN 'deployment_failed'::text THEN ARRAY['generation'::text, 'run_id'::text, 'failure_reason'::text] WHEN 'deployment_cancelled'::text THEN ARRAY['generation'::text, 'superseded_by_generation'::text] WHEN 'approval_requested'::text THEN ARRAY['approval_id'::text, 'generation'::text, 'required_approvals'::text, 'expires_at'::text] WHEN 'approval_granted'::text THEN ARRAY['approval_id'::text, 'generation'::text, 'approver'::text, 'approvals'::text, 'required_approvals'::text] WHEN 'approval_denied'::text THEN ARRAY['approval_id'::text, 'generation'::text, 'approver'::text] WHEN 'approval_expired'::text THEN ARRAY['approval_id'::text, 'generation'::text, 'expires_at'::text] WHEN 'approval_cancelled'::text THEN ARRAY['approval_id'::text, 'generation'::text, 'cancelled_because'::text] WHEN 'gate_started'::text THEN ARRAY['gate'::text, 'generation'::text] WHEN 'gate_passed'::text THEN ARRAY['gate'::text, 'generation'::text, 'evidence_url'::text] WHEN 'gate_failed'::text THEN ARRAY['gate'::text, 'generation'::text, 'evidence_url'::text] WHEN 'gate_warned'::text THEN ARRAY['gate'::text, 'generation'::text, 'evidence_url'::text] WHEN 'gate_skipped'::text THEN ARRAY['gate'::text, 'generation'::text, 'skipped_because'::text] WHEN 'rollback_started'::text THEN ARRAY['generation'::text, 'target_seq'::text, 'target_chain_index'::text] WHEN 'rollback_completed'::text THEN ARRAY['generation'::text, 'run_id'::text] WHEN 'rollback_failed'::text THEN ARRAY['generation'::text, 'failure_reason'::text] WHEN 'access_denied'::text THEN ARRAY['method'::text, 'path'::text, 'denied_because'::text] WHEN 'security_violation'::text THEN ARRAY['finding'::text] ELSE NULL::text[] END
function shipslog.event_severity(action text, new_state jsonb)
CREATE OR REPLACE FUNCTION shipslog.event_severity(action text, new_state jsonb)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN ((action = 'status_changed'::text) AND ((new_state ->> 'status'::text) = 'failed'::text)) THEN 'error'::text WHEN ((action = 'health_changed'::text) AND ((new_state ->> 'health'::text) = ANY (ARRAY['Degraded'::text, 'Missing'::text]))) THEN 'warning'::text ELSE shipslog.action_severity(action) END
function shipslog.event_summary(action text, previous_state jsonb, new_state jsonb, lines text[])
CREATE OR REPLACE FUNCTION shipslog.event_summary(action text, previous_state jsonb, new_state jsonb, lines text[])
 RETURNS text
 LANGUAGE sql
 STABLE PARALLEL SAFE
RETURN CASE action WHEN 'created'::text THEN ((('created '::text || COALESCE((new_state ->> 'recipe'::text), ''::text)) || ' '::text) || COALESCE((new_state ->> 'app_version'::text), ''::text)) WHEN 'removed'::text THEN ((('removed '::text || COALESCE((previous_state ->> 'recipe'::text), ''::text)) || ' '::text) || COALESCE((previous_state ->> 'app_version'::text), ''::text)) ELSE COALESCE(CASE WHEN (previous_state IS NULL) THEN shipslog.describe_details(action, (new_state -> 'details'::text)) ELSE NULL::text END, NULLIF(array_to_string(lines, '; '::text), ''::text), action) END
function shipslog.expire_approvals(p_deployment_id uuid)
CREATE OR REPLACE FUNCTION shipslog.expire_approvals(p_deployment_id uuid DEFAULT NULL::uuid)
 RETURNS integer
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  r shipslog.approval_requests;
  n integer := 0;
begin
  for r in
    select *
    from shipslog.approval_requests as a
    where a.state = 'pending'
      and a.expires_at <= clock_timestamp()
      and (p_deployment_id is null or a.deployment_id = p_deployment_id)
      and shipslog.caller_sees_tenant(a.tenant)
    order by a.expires_at
    for update skip locked
  loop
    perform shipslog.close_approval_request(r, 'expired', null);
    n := n + 1;
  end loop;
  return n;
end
$function$
function shipslog.find_active_api_key(p_key_hash bytea)
CREATE OR REPLACE FUNCTION shipslog.find_active_api_key(p_key_hash bytea)
 RETURNS TABLE(id uuid, name text, tenant text, scopes text[], actor_type text, key_prefix text, created_at timestamp with time zone, revoked_at timestamp with time zone, last_used_at timestamp with time zone)
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO ''
BEGIN ATOMIC
 SELECT k.id,
     k.name,
     k.tenant,
     k.scopes,
     k.actor_type,
     k.key_prefix,
     k.created_at,
     k.revoked_at,
     k.last_used_at
    FROM shipslog.api_keys k
   WHERE ((k.key_hash = find_active_api_key.p_key_hash) AND (k.revoked_at IS NULL) AND ((k.expires_at IS NULL) OR (k.expires_at > now())));
END
function shipslog.finish_rollout(p_deployment_id uuid, p_generation bigint, p_run_id uuid, p_completed boolean, p_outcome text, p_failure_reason text, p_terminal boolean)
CREATE OR REPLACE FUNCTION shipslog.finish_rollout(p_deployment_id uuid, p_generation bigint, p_run_id uuid, p_completed boolean, p_outcome text, p_failure_reason text, p_terminal boolean)
 RETURNS bigint
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  latest record;
  rollback_seq bigint;
  ended bigint;
begin
  select * into latest from shipslog.latest_rollout(p_deployment_id);
  if not found or latest.action <> 'deployment_started' or latest.generation <> p_generation then
    return null;
  end if;
  rollback_seq := shipslog.rollback_started_seq(p_deployment_id, p_generation);
  if p_completed then
    ended := (shipslog.append_event(p_deployment_id, 'deployment_completed', jsonb_build_object(
      'generation', p_generation, 'run_id', p_run_id, 'outcome', p_outcome, 'parent_seq', latest.seq))).seq;
    if rollback_seq is not null then
      perform shipslog.append_event(p_deployment_id, 'rollback_completed', jsonb_build_object(
        'generation', p_generation, 'run_id', p_run_id, 'parent_seq', rollback_seq, 'related_seqs', jsonb_build_array(ended)));
    end if;
  elsif p_terminal then
    ended := (shipslog.append_event(p_deployment_id, 'deployment_failed', jsonb_build_object(
      'generation', p_generation, 'run_id', p_run_id, 'failure_reason', coalesce(p_failure_reason, 'Failed'),
      'parent_seq', latest.seq))).seq;
    if rollback_seq is not null then
      perform shipslog.append_event(p_deployment_id, 'rollback_failed', jsonb_build_object(
        'generation', p_generation, 'run_id', p_run_id, 'failure_reason', coalesce(p_failure_reason, 'Failed'),
        'parent_seq', rollback_seq, 'related_seqs', jsonb_build_array(ended)));
    end if;
  end if;
  return ended;
end
$function$
function shipslog.generation_actor(p_deployment_id uuid)
CREATE OR REPLACE FUNCTION shipslog.generation_actor(p_deployment_id uuid)
 RETURNS text
 LANGUAGE sql
 STABLE
 SET search_path TO ''
AS $function$
  select e.actor
  from shipslog.deployment_events as e
  where e.deployment_id = p_deployment_id
    and shipslog.is_row_change(e.action)
    and (e.action = 'created'
         or e.new_state ?| array['environment', 'app_version', 'config', 'secrets_ref', 'secrets_fingerprint',
                                 'depends_on', 'restarted_at', 'deletion_requested_at'])
  order by e.chain_index desc
  limit 1
$function$
function shipslog.generation_correlation_id(p_deployment_id uuid)
CREATE OR REPLACE FUNCTION shipslog.generation_correlation_id(p_deployment_id uuid)
 RETURNS text
 LANGUAGE sql
 STABLE
 SET search_path TO ''
AS $function$
  select coalesce(e.correlation_id, e.request_id)
  from shipslog.deployment_events as e
  where e.deployment_id = p_deployment_id
    and shipslog.is_row_change(e.action)
    and (e.action = 'created'
         or e.new_state ?| array['environment', 'app_version', 'config', 'secrets_ref', 'secrets_fingerprint',
                                 'depends_on', 'restarted_at', 'deletion_requested_at'])
  order by e.chain_index desc
  limit 1
$function$
function shipslog.guard_deployment_event_partition(p_table regclass)
CREATE OR REPLACE FUNCTION shipslog.guard_deployment_event_partition(p_table regclass)
 RETURNS void
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
declare
  part_name text;
begin
  select c.relname
  into part_name
  from pg_catalog.pg_partition_tree('shipslog.deployment_events'::regclass) as t
    join pg_catalog.pg_class as c on c.oid = t.relid
  where t.relid = p_table
    and t.parentrelid is not null;
  if part_name is null then
    raise exception '% is not a partition of shipslog.deployment_events', p_table
      using errcode = '22023',
            hint = 'Pass a partition of shipslog.deployment_events.';
  end if;
  execute format(
    'create or replace trigger deployment_events_no_truncate before truncate on %s for each statement execute function shipslog.tg_audit_records__no_truncate(%L)',
    p_table,
    'Rows of shipslog.deployment_events (in any of its partitions) are audit history; old chain prefixes leave only through shipslog.purge_audit_events() (`shipslog purge`).');
  execute format('create unique index if not exists %I on %s (deployment_id, chain_index)', part_name || '_chain_key', p_table);
end
$function$
function shipslog.guard_reconcile_run_partition(p_table regclass)
CREATE OR REPLACE FUNCTION shipslog.guard_reconcile_run_partition(p_table regclass)
 RETURNS void
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
begin
  if not exists (
    select
    from pg_catalog.pg_partition_tree('shipslog.reconcile_runs'::regclass) as t
    where t.relid = p_table
  ) then
    raise exception '% is not shipslog.reconcile_runs or one of its partitions', p_table
      using errcode = '22023',
            hint = 'Pass shipslog.reconcile_runs or a partition of it.';
  end if;
  execute format(
    'create or replace trigger reconcile_runs_no_truncate before truncate on %s for each statement execute function shipslog.tg_audit_records__no_truncate(%L)',
    p_table,
    'Rows of shipslog.reconcile_runs (in any of its partitions) are run history and are kept: a run ends as Completed, Failed or Skipped, and a retry is a new run.');
end
$function$
function shipslog.history(p_tenant text, p_name text, p_limit integer)
CREATE OR REPLACE FUNCTION shipslog.history(p_tenant text, p_name text, p_limit integer DEFAULT 100)
 RETURNS TABLE(occurred_at timestamp with time zone, "when" text, action text, summary text, actor text, actor_type text, reason text, correlation_id text, chain_index integer, deployment_id uuid, seq bigint, category text, severity text)
 LANGUAGE sql
 STABLE
 SET search_path TO ''
AS $function$
  select
    r.occurred_at,
    r."when",
    r.action,
    r.summary,
    r.actor,
    r.actor_type,
    r.reason,
    r.correlation_id,
    r.chain_index,
    r.deployment_id,
    r.seq,
    r.category,
    r.severity
  from shipslog.readable_events(array(
      select e.event
      from (
          select c.deployment_id
          from shipslog.deployment_events as c
          where c.tenant = p_tenant
            and c.name = p_name
            and c.action = 'created'
          union
          select d.id
          from shipslog.deployments as d
          where d.tenant = p_tenant
            and d.name = p_name
        ) as ids
      -- The newest p_limit of each incarnation by its chain index (an index scan each), then
      -- the newest p_limit of those: no sort of a long history to show its last page.
      cross join lateral (
          select x as event, x.occurred_at, x.seq
          from shipslog.deployment_events as x
          where x.deployment_id = ids.deployment_id
          order by x.chain_index desc
          limit p_limit
        ) as e
      order by e.occurred_at desc, e.seq desc
      limit p_limit
    )) as r
  order by r.occurred_at desc, r.seq desc
$function$
function shipslog.hold_reconcile_lease(p_deployment_id uuid, p_lease_id uuid)
CREATE OR REPLACE FUNCTION shipslog.hold_reconcile_lease(p_deployment_id uuid, p_lease_id uuid)
 RETURNS void
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
declare
  q record;
  why text;
begin
  select lease_id, lease_holder, lease_expires_at
    into q
    from shipslog.reconcile_queue
   where deployment_id = p_deployment_id
     for update;
  if not found then
    why := 'the deployment is gone';
  elsif q.lease_id is null then
    why := 'the lease was released';
  elsif q.lease_id <> p_lease_id then
    why := format('%s holds the deployment now, until %s', q.lease_holder, q.lease_expires_at);
  elsif q.lease_expires_at <= clock_timestamp() then
    why := format('it expired at %s', q.lease_expires_at);
  else
    return;
  end if;
  raise exception 'reconcile lease % on deployment % is no longer held: %', p_lease_id, p_deployment_id, why
    using errcode = 'SL220',
          hint = 'The lease ran out before the run finished (a stalled replica, an unreachable database): the next holder applies the generation; this run records nothing.';
end
$function$
function shipslog.is_dns_label(value text)
CREATE OR REPLACE FUNCTION shipslog.is_dns_label(value text)
 RETURNS boolean
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
RETURN (value ~ '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$'::text)
function shipslog.is_resource_list(resources jsonb)
CREATE OR REPLACE FUNCTION shipslog.is_resource_list(resources jsonb)
 RETURNS boolean
 LANGUAGE plpgsql
 IMMUTABLE PARALLEL SAFE
 SET search_path TO ''
AS $function$
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
$function$
function shipslog.is_row_change(action text)
CREATE OR REPLACE FUNCTION shipslog.is_row_change(action text)
 RETURNS boolean
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
RETURN (action = ANY (ARRAY['created'::text, 'config_changed'::text, 'upgraded'::text, 'downgraded'::text, 'secrets_rotated'::text, 'restarted'::text, 'health_changed'::text, 'status_changed'::text, 'resources_changed'::text, 'removal_requested'::text, 'removed'::text, 'rolled_back'::text]))
function shipslog.iso_utc(ts timestamp with time zone)
CREATE OR REPLACE FUNCTION shipslog.iso_utc(ts timestamp with time zone)
 RETURNS text
 LANGUAGE sql
 STABLE PARALLEL SAFE
RETURN to_char((ts AT TIME ZONE 'UTC'::text), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'::text)
function shipslog.jsonb_diff(old_value jsonb, new_value jsonb, OUT old_part jsonb, OUT new_part jsonb)
CREATE OR REPLACE FUNCTION shipslog.jsonb_diff(old_value jsonb, new_value jsonb, OUT old_part jsonb, OUT new_part jsonb)
 RETURNS record
 LANGUAGE plpgsql
 IMMUTABLE PARALLEL SAFE
 SET search_path TO ''
AS $function$
declare
  key text;
  old_item jsonb;
  new_item jsonb;
  sub record;
begin
  old_part := '{}';
  new_part := '{}';
  -- Changed and added keys, then removed ones.
  for key, old_item, new_item in
    select n.key, old_value -> n.key, n.value
    from jsonb_each(new_value) as n
    where (old_value -> n.key) is distinct from n.value
    union all
    select o.key, o.value, null
    from jsonb_each(old_value) as o
    where not new_value ? o.key
  loop
    if jsonb_typeof(old_item) = 'object' and jsonb_typeof(new_item) = 'object' then
      sub := shipslog.jsonb_diff(old_item, new_item);
      old_part := old_part || jsonb_build_object(key, sub.old_part);
      new_part := new_part || jsonb_build_object(key, sub.new_part);
    else
      if old_item is not null then
        old_part := old_part || jsonb_build_object(key, old_item);
      end if;
      if new_item is not null then
        new_part := new_part || jsonb_build_object(key, new_item);
      end if;
    end if;
  end loop;
end
$function$
function shipslog.jsonb_merge_patch(target jsonb, patch jsonb)
CREATE OR REPLACE FUNCTION shipslog.jsonb_merge_patch(target jsonb, patch jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
 IMMUTABLE PARALLEL SAFE
 SET search_path TO ''
AS $function$
declare
  result jsonb;
  k text;
  v jsonb;
begin
  if jsonb_typeof(patch) is distinct from 'object' then
    return patch;
  end if;
  result := case when jsonb_typeof(target) = 'object' then target else '{}'::jsonb end;
  for k, v in
    select p.key, p.value
    from jsonb_each(patch) as p
  loop
    if v = 'null'::jsonb then
      result := result - k;
    elsif jsonb_typeof(v) = 'object' then
      result := result || jsonb_build_object(k, shipslog.jsonb_merge_patch(result -> k, v));
    else
      result := result || jsonb_build_object(k, v);
    end if;
  end loop;
  return result;
end
$function$
function shipslog.latest_rollout(p_deployment_id uuid)
CREATE OR REPLACE FUNCTION shipslog.latest_rollout(p_deployment_id uuid)
 RETURNS TABLE(action text, generation bigint, run_id text, seq bigint)
 LANGUAGE sql
 STABLE
 SET search_path TO ''
AS $function$
  select e.action, (e.new_state -> 'details' ->> 'generation')::bigint, e.new_state -> 'details' ->> 'run_id', e.seq
  from shipslog.deployment_events as e
  where e.deployment_id = p_deployment_id
    and e.action in ('deployment_started', 'deployment_completed', 'deployment_failed', 'deployment_cancelled')
  order by e.chain_index desc
  limit 1
$function$
function shipslog.merkle_leaf(p_deployment_id uuid, p_chain_index integer, p_hash bytea)
CREATE OR REPLACE FUNCTION shipslog.merkle_leaf(p_deployment_id uuid, p_chain_index integer, p_hash bytea)
 RETURNS bytea
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
RETURN convert_to((((((p_deployment_id)::text || ' '::text) || p_chain_index) || ' '::text) || encode(p_hash, 'hex'::text)), 'UTF8'::name)
function shipslog.merkle_root(p_leaves bytea[])
CREATE OR REPLACE FUNCTION shipslog.merkle_root(p_leaves bytea[])
 RETURNS bytea
 LANGUAGE plpgsql
 IMMUTABLE PARALLEL SAFE
 SET search_path TO ''
AS $function$
declare
  level bytea[];
  next bytea[];
  n integer;
  i integer;
begin
  select coalesce(array_agg(sha256('\x00'::bytea || l.leaf) order by l.ord), '{}')
  into level
  from unnest(p_leaves) with ordinality as l(leaf, ord);
  n := cardinality(level);
  if n = 0 then
    return sha256(''::bytea);
  end if;
  while n > 1 loop
    next := '{}';
    i := 1;
    while i < n loop
      next := next || sha256('\x01'::bytea || level[i] || level[i + 1]);
      i := i + 2;
    end loop;
    if i = n then
      next := next || level[n];
    end if;
    level := next;
    n := cardinality(level);
  end loop;
  return level[1];
end
$function$
function shipslog.missing_gates(p_deployment_id uuid, p_generation bigint)
CREATE OR REPLACE FUNCTION shipslog.missing_gates(p_deployment_id uuid, p_generation bigint)
 RETURNS text[]
 LANGUAGE sql
 STABLE
 SET search_path TO ''
AS $function$
  select coalesce(array_agg(g.gate order by g.gate), '{}')
  from shipslog.deployments as d
  join shipslog.approval_policies as p
    on p.tenant = d.tenant
   and p.environment = d.environment
  cross join lateral unnest(p.required_gates) as g(gate)
  where d.id = p_deployment_id
    and coalesce((
      select r.result
      from shipslog.gate_results as r
      where r.deployment_id = d.id
        and r.generation = p_generation
        and r.gate = g.gate
      order by r.id desc
      limit 1), 'none') not in ('passed', 'warned')
$function$
function shipslog.purge_agent_messages(p_older_than interval, p_kind text) owner shipslog_agent_retention
CREATE OR REPLACE FUNCTION shipslog.purge_agent_messages(p_older_than interval, p_kind text DEFAULT 'manual'::text)
 RETURNS TABLE(outcome text, run_id bigint, deleted_count bigint, cutoff timestamp with time zone)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  -- Arbitrary constant shared by every replica; 'SL' 0x534C, issue 5, job 1.
  lock_key constant bigint := 5459973005001;
  v_started timestamptz := clock_timestamp();
  v_cutoff timestamptz;
  v_day date := (now() at time zone 'UTC')::date;
  v_deleted bigint;
  v_run_id bigint;
begin
  if p_older_than is null or p_older_than < interval '1 day' then
    raise exception 'agent message retention must be at least 1 day, got %', p_older_than
      using errcode = 'SL308',
            hint = 'Pass an age such as ''7 days''; keeping messages forever means not running the purge.';
  end if;
  if p_kind is null or p_kind not in ('scheduled', 'manual') then
    raise exception 'purge kind must be scheduled or manual, got %', p_kind
      using errcode = '22023',
            hint = 'The daily job passes scheduled; a person running it by hand passes manual.';
  end if;

  if p_kind = 'scheduled' then
    if not pg_try_advisory_xact_lock(lock_key) then
      return query select 'locked'::text, null::bigint, 0::bigint, null::timestamptz;
      return;
    end if;
    if exists (
      select
      from shipslog.agent_message_retention_runs as r
      where r.kind = 'scheduled'
        and r.run_date = v_day
    ) then
      return query select 'already_ran'::text, null::bigint, 0::bigint, null::timestamptz;
      return;
    end if;
  else
    perform pg_advisory_xact_lock(lock_key);
  end if;

  v_cutoff := now() - p_older_than;

  delete from shipslog.agent_messages as m
  where m.created_at < v_cutoff;
  get diagnostics v_deleted = row_count;

  insert into shipslog.agent_message_retention_runs
    (kind, run_date, older_than, cutoff, deleted_count, started_at, finished_at, run_by)
  values
    (p_kind, v_day, p_older_than, v_cutoff, v_deleted, v_started, clock_timestamp(), shipslog.agent_attribution())
  returning id
  into v_run_id;

  return query select 'ran'::text, v_run_id, v_deleted, v_cutoff;
end
$function$
function shipslog.purge_audit_events(p_at timestamp with time zone, p_deployment_ids uuid[], p_chain_indexes integer[], p_key_id text, p_signatures bytea[]) owner shipslog_audit_retention
CREATE OR REPLACE FUNCTION shipslog.purge_audit_events(p_at timestamp with time zone, p_deployment_ids uuid[], p_chain_indexes integer[], p_key_id text, p_signatures bytea[])
 RETURNS SETOF shipslog.audit_purges
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  -- Shared by every replica and `shipslog purge`: one purge at a time. 'SL' 0x534C, issue 12.
  lock_key constant bigint := 5459973012001;
  v_purge_id bigint;
  v_chains integer;
  v_events bigint;
  v_retention jsonb;
  v_bad record;
  v_head record;
  v_event record;
begin
  if p_at is null or p_at > now() or p_at < now() - interval '1 day' then
    raise exception 'retention must be judged at a moment of the last day, not %', p_at
      using errcode = 'SL462',
            hint = 'Pass the now() at which shipslog.audit_retention_cuts() was read (`shipslog purge` does).';
  end if;
  if p_key_id is null or p_key_id !~ '^[0-9a-f]{64}$' then
    raise exception 'anchors need the signing key''s id (SHA-256 of its public key, hex), not %', p_key_id
      using errcode = 'SL463',
            hint = 'Sign the anchors with the checkpoint key (`shipslog purge`).';
  end if;
  if cardinality(p_deployment_ids) is distinct from cardinality(p_chain_indexes)
     or cardinality(p_deployment_ids) is distinct from cardinality(p_signatures)
     or exists (select from unnest(p_signatures) as s where s is null or length(s) <> 64) then
    raise exception 'every cut needs a deployment id, a chain index and an Ed25519 signature (64 bytes)'
      using errcode = 'SL463',
            hint = 'Pass one signature per cut of shipslog.audit_retention_cuts().';
  end if;
  perform pg_advisory_xact_lock(lock_key);

  drop table if exists pg_temp.purge_cuts;
  create temporary table purge_cuts on commit drop as
  select c.*, g.signature
  from unnest(p_deployment_ids, p_chain_indexes, p_signatures) as g(deployment_id, chain_index, signature)
    left join shipslog.audit_retention_cuts(p_at) as c
      on c.deployment_id = g.deployment_id;

  -- A cut it does not compute itself (an event inside its retention, or past a chain's end)
  -- is refused, and with it the whole purge.
  select g.deployment_id, g.chain_index, c.chain_index as allowed
  into v_bad
  from unnest(p_deployment_ids, p_chain_indexes) as g(deployment_id, chain_index)
    left join pg_temp.purge_cuts as c
      on c.deployment_id = g.deployment_id
  where c.chain_index is distinct from g.chain_index
  limit 1;
  if found then
    raise exception 'chain % may not be cut at #%: retention as of % allows %', v_bad.deployment_id, v_bad.chain_index, p_at,
        coalesce('#' || v_bad.allowed, 'no cut')
      using errcode = 'SL464',
            hint = 'Events inside their retention period are never removed; read the cuts with shipslog.audit_retention_cuts() and sign those.';
  end if;
  if (select count(*) from pg_temp.purge_cuts) = 0 then
    return;
  end if;

  select count(*), sum(c.event_count)
  into v_chains, v_events
  from pg_temp.purge_cuts as c;
  select jsonb_object_agg(r.category, r.keep_for::text order by r.category)
  into v_retention
  from shipslog.audit_retention as r;
  v_purge_id := nextval(pg_catalog.pg_get_serial_sequence('shipslog.audit_purges', 'id'));

  -- Sealed first: the anchors, then the prefixes they stand for.
  insert into shipslog.audit_chain_anchors (deployment_id, chain_index, hash, state, removed, judged_at, key_id, signature, purge_id)
  select c.deployment_id, c.chain_index, c.hash, c.state, c.removed, p_at, p_key_id, c.signature, v_purge_id
  from pg_temp.purge_cuts as c;

  delete from shipslog.deployment_events as e
  using pg_temp.purge_cuts as c
  where e.deployment_id = c.deployment_id
    and e.chain_index <= c.chain_index;

  -- The purge's own event, at the end of the system chain (which may itself just have been
  -- cut: its start is then its anchor).
  select h.chain_index, h.hash
  into v_head
  from (
    select e.chain_index, e.hash
    from shipslog.deployment_events as e
    where e.deployment_id = shipslog.system_chain_id()
    union all
    select s.chain_index, s.hash
    from shipslog.audit_chain_starts as s
    where s.deployment_id = shipslog.system_chain_id()
  ) as h
  order by h.chain_index desc
  limit 1;

  insert into shipslog.deployment_events
  overriding system value
  select x.seq, x.deployment_id, x.chain_index, x.tenant, x.name, x.action, x.occurred_at, x.txid, x.actor,
         x.actor_type, x.reason, x.correlation_id, x.request_id, x.source_ip, x.user_agent, x.db_role, x.db_user,
         x.application_name, x.client_addr, x.previous_state, x.new_state,
         shipslog.event_hash(v_head.hash, x)
  from (
    select
      nextval('shipslog.deployment_events_seq') as seq,
      shipslog.system_chain_id() as deployment_id,
      coalesce(v_head.chain_index, 0) + 1 as chain_index,
      '_system'::text as tenant,
      'audit-retention'::text as name,
      'events_purged'::text as action,
      clock_timestamp() as occurred_at,
      pg_current_xact_id() as txid,
      coalesce(shipslog.context_setting('shipslog.actor'), session_user) as actor,
      'system'::text as actor_type,
      shipslog.context_setting('shipslog.reason') as reason,
      shipslog.context_setting('shipslog.correlation_id') as correlation_id,
      shipslog.context_setting('shipslog.request_id') as request_id,
      null::inet as source_ip,
      null::text as user_agent,
      coalesce(nullif(current_setting('role'), 'none'), session_user) as db_role,
      session_user::text as db_user,
      nullif(current_setting('application_name'), '') as application_name,
      inet_client_addr() as client_addr,
      null::jsonb as previous_state,
      jsonb_build_object(
        'purge_id', v_purge_id,
        'judged_at', shipslog.iso_utc(p_at),
        'chain_count', v_chains,
        'event_count', v_events,
        'retention', v_retention,
        'key_id', p_key_id) as new_state,
      null::bytea as hash
  ) as x
  returning chain_index, hash
  into v_event;

  return query
  insert into shipslog.audit_purges (id, chain_count, event_count, retention, event_chain_index, event_hash, actor)
  overriding system value
  values (v_purge_id, v_chains, v_events, v_retention, v_event.chain_index, v_event.hash, shipslog.context_setting('shipslog.actor'))
  returning *;
end
$function$
function shipslog.readable_events(events shipslog.deployment_events[])
CREATE OR REPLACE FUNCTION shipslog.readable_events(events shipslog.deployment_events[])
 RETURNS TABLE(seq bigint, deployment_id uuid, chain_index integer, tenant text, name text, action text, occurred_at timestamp with time zone, actor text, actor_type text, reason text, correlation_id text, request_id text, "when" text, summary text, changes text[], category text, severity text, details jsonb)
 LANGUAGE plpgsql
 STABLE PARALLEL SAFE
 SET search_path TO ''
 SET plan_cache_mode TO 'force_generic_plan'
AS $function$
#variable_conflict use_column
begin
  -- The result's columns are named as the events' are: in the query a name is the column.
  return query
  with page as materialized (
    select
      e.ordinality as ord,
      e.seq,
      e.deployment_id,
      e.chain_index,
      e.tenant,
      e.name,
      e.action,
      e.occurred_at,
      e.actor,
      e.actor_type,
      e.reason,
      e.correlation_id,
      e.request_id,
      e.previous_state,
      e.new_state
    from unnest(events) with ordinality as e
  ),
  lines as (
    select w.id as ord, array_agg(shipslog.describe_change(array_to_string(w.path, '.'), w.old_value, w.new_value) order by w.path) as lines
    from (
        select array_agg(x.ord), array_agg(x.previous_state), array_agg(x.new_state)
        from page as x
      ) as a(ids, previous_states, new_states)
    cross join lateral shipslog.event_change_walk(a.ids, a.previous_states, a.new_states) as w
    group by w.id
  )
  select
    r.seq,
    r.deployment_id,
    r.chain_index,
    r.tenant,
    r.name,
    r.action,
    r.occurred_at,
    r.actor,
    r.actor_type,
    r.reason,
    r.correlation_id,
    r.request_id,
    r."when",
    r.summary,
    case when cardinality(r.lines) > 0 then r.lines else array[r.summary] end,
    shipslog.event_category(r.action),
    shipslog.event_severity(r.action, r.new_state),
    -- The details of an event that is not a row change (gate, evidence URL, approval, run...).
    case when r.previous_state is null and r.action <> 'created' then r.new_state -> 'details' end
  from (
      select
        p.*,
        shipslog.relative_time(p.occurred_at) as "when",
        shipslog.event_summary(p.action, p.previous_state, p.new_state, coalesce(l.lines, '{}')) as summary,
        l.lines
      from page as p
      left join lines as l
        on l.ord = p.ord
    ) as r
  order by r.ord;
end
$function$
function shipslog.recipe_config_errors(recipe text, config jsonb)
CREATE OR REPLACE FUNCTION shipslog.recipe_config_errors(recipe text, config jsonb)
 RETURNS text[]
 LANGUAGE plpgsql
 IMMUTABLE PARALLEL SAFE
 SET search_path TO ''
AS $function$
declare
  -- Null until the first error (appending to a null array starts one). No defaults: the audit
  -- trigger calls this on every config change, and each initialised variable is one more
  -- expression set up per transaction; a valid postgresql config takes three statements.
  errors text[];
  key text;
begin
  if recipe = 'postgresql' and jsonb_typeof(config) = 'object' then
    if config ? 'storage' and (jsonb_typeof(config -> 'storage') <> 'string'
                               or config ->> 'storage' !~ '^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|Ki|Mi|Gi|Ti|Pi)?$') then
      errors := errors || 'config.storage: must be a Kubernetes quantity such as 8Gi'::text;
    end if;
    if config ? 'replicas' and jsonb_typeof(config -> 'replicas') <> 'number' then
      errors := errors || 'config.replicas: must be a number'::text;
    end if;
  elsif recipe = 'redis' and jsonb_typeof(config) = 'object' then
    if config ? 'maxmemory' and (jsonb_typeof(config -> 'maxmemory') <> 'string'
                                 or config ->> 'maxmemory' !~ '^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|Ki|Mi|Gi|Ti|Pi)?$') then
      errors := errors || 'config.maxmemory: must be a Kubernetes quantity such as 256Mi'::text;
    end if;
  elsif recipe = 'web' and jsonb_typeof(config) = 'object' then
    if jsonb_typeof(config -> 'image') is distinct from 'string' or length(config ->> 'image') not between 1 and 255 then
      errors := errors || 'config.image: required, an image repository without a tag'::text;
    end if;
    foreach key in array array['port', 'servicePort'] loop
      if config ? key and (jsonb_typeof(config -> key) <> 'number' or (config ->> key)::numeric not between 1 and 65535
                           or (config ->> key)::numeric <> trunc((config ->> key)::numeric)) then
        errors := errors || format('config.%s: must be a port number (1-65535)', key);
      end if;
    end loop;
    if config ? 'replicas' and (jsonb_typeof(config -> 'replicas') <> 'number' or (config ->> 'replicas')::numeric not between 1 and 50
                                or (config ->> 'replicas')::numeric <> trunc((config ->> 'replicas')::numeric)) then
      errors := errors || 'config.replicas: must be a whole number from 1 to 50'::text;
    end if;
  elsif recipe not in ('postgresql', 'redis', 'web') then
    return array[format('recipe: unknown recipe "%s"; known: postgresql, redis, web', recipe)];
  end if;
  -- A config that is no object at all: deployments_config_check (23514) says that, as it always has.
  return coalesce(errors, '{}');
end
$function$
function shipslog.reconcile_failed_runs(p_since timestamp with time zone, p_until timestamp with time zone, p_target text)
CREATE OR REPLACE FUNCTION shipslog.reconcile_failed_runs(p_since timestamp with time zone DEFAULT (now() - '24:00:00'::interval), p_until timestamp with time zone DEFAULT 'infinity'::timestamp with time zone, p_target text DEFAULT NULL::text)
 RETURNS TABLE(completed_at timestamp with time zone, started_at timestamp with time zone, target text, tenant text, name text, generation bigint, failure_reason text, failure_message text, duration_ms integer, worker_id text, correlation_id text, run_id uuid, deployment_id uuid)
 LANGUAGE sql
 STABLE PARALLEL SAFE
BEGIN ATOMIC
 SELECT r.completed_at,
     r.started_at,
     r.target,
     r.tenant,
     r.name,
     r.generation,
     r.failure_reason,
     r.failure_message,
     r.duration_ms,
     r.worker_id,
     r.correlation_id,
     r.id,
     r.deployment_id
    FROM shipslog.reconcile_runs r
   WHERE ((r.phase = 'Failed'::text) AND (r.completed_at >= reconcile_failed_runs.p_since) AND (r.completed_at < reconcile_failed_runs.p_until) AND ((reconcile_failed_runs.p_target IS NULL) OR (r.target = reconcile_failed_runs.p_target)))
   ORDER BY r.completed_at DESC, r.id;
END
function shipslog.record_access_denied(p_deployment_id uuid, p_details jsonb)
CREATE OR REPLACE FUNCTION shipslog.record_access_denied(p_deployment_id uuid, p_details jsonb)
 RETURNS bigint
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
begin
  return (shipslog.append_event(p_deployment_id, 'access_denied', p_details)).seq;
end
$function$
function shipslog.record_api_key_use(p_key_hash bytea)
CREATE OR REPLACE FUNCTION shipslog.record_api_key_use(p_key_hash bytea)
 RETURNS void
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO ''
BEGIN ATOMIC
 UPDATE shipslog.api_keys k SET last_used_at = now()
   WHERE ((k.key_hash = record_api_key_use.p_key_hash) AND (k.revoked_at IS NULL) AND ((k.expires_at IS NULL) OR (k.expires_at > now())) AND ((k.last_used_at IS NULL) OR (k.last_used_at < (now() - '00:05:00'::interval))));
END
function shipslog.record_checkpoint(p_snapshot pg_snapshot, p_digest bytea, p_key_id text, p_signature bytea)
CREATE OR REPLACE FUNCTION shipslog.record_checkpoint(p_snapshot pg_snapshot, p_digest bytea, p_key_id text, p_signature bytea)
 RETURNS shipslog.audit_checkpoints
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  heads record;
  lines text;
  root bytea;
  version smallint;
  result shipslog.audit_checkpoints;
begin
  select * into heads from shipslog.checkpoint_heads(p_snapshot);
  select
    shipslog.merkle_root(coalesce(array_agg(shipslog.merkle_leaf(l.deployment_id, l.chain_index, l.hash) order by l.ord), '{}')),
    coalesce(string_agg(l.deployment_id::text || ' ' || l.chain_index || ' ' || encode(l.hash, 'hex'), e'\n' order by l.ord), '')
  into root, lines
  from unnest(heads.deployment_ids, heads.chain_indexes, heads.hashes) with ordinality as l(deployment_id, chain_index, hash, ord);
  if p_digest = root then
    version := 2;
  elsif p_digest = sha256(convert_to(lines, 'UTF8')) then
    version := 1;
  else
    raise exception 'checkpoint digest does not match the audit chains at snapshot %', p_snapshot
      using errcode = 'SL004',
            hint = 'Compute the digest with shipslog.checkpoint_root() (or, version 1, shipslog.chain_digest()) for the same snapshot.';
  end if;
  insert into shipslog.audit_checkpoints (version, snapshot, chain_count, event_count, digest, key_id, signature)
  values (version, p_snapshot, cardinality(heads.deployment_ids), heads.event_count, p_digest, p_key_id, p_signature)
  returning * into result;
  if version = 2 then
    insert into shipslog.audit_checkpoint_heads (checkpoint_id, leaf_index, deployment_id, chain_index, hash)
    select result.id, l.ord - 1, l.deployment_id, l.chain_index, l.hash
    from unnest(heads.deployment_ids, heads.chain_indexes, heads.hashes) with ordinality as l(deployment_id, chain_index, hash, ord);
  end if;
  return result;
end
$function$
function shipslog.record_rollout_event(p_deployment_id uuid, p_action text, p_details jsonb)
CREATE OR REPLACE FUNCTION shipslog.record_rollout_event(p_deployment_id uuid, p_action text, p_details jsonb)
 RETURNS bigint
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
begin
  if p_action not in ('deployment_started', 'deployment_completed', 'deployment_failed', 'deployment_cancelled',
                      'rollback_completed', 'rollback_failed') then
    raise exception '"%" is not a rollout event', p_action
      using errcode = 'SL400',
            hint = 'Rollout events: deployment_started, deployment_completed, deployment_failed, deployment_cancelled, rollback_completed, rollback_failed.';
  end if;
  return (shipslog.append_event(p_deployment_id, p_action, p_details)).seq;
end
$function$
function shipslog.record_security_violation(p_deployment_id uuid, p_details jsonb)
CREATE OR REPLACE FUNCTION shipslog.record_security_violation(p_deployment_id uuid, p_details jsonb)
 RETURNS bigint
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
begin
  return (shipslog.append_event(p_deployment_id, 'security_violation', p_details)).seq;
end
$function$
function shipslog.register_project(p_tenant text, p_project_id text)
CREATE OR REPLACE FUNCTION shipslog.register_project(p_tenant text, p_project_id text)
 RETURNS void
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  owner_tenant text;
begin
  -- Inside SECURITY DEFINER current_user is the owner; "role" is the session's SET ROLE.
  if current_setting('role') <> 'none'
     and not shipslog.tenant_visible(p_tenant) then
    raise exception 'project % cannot be registered for tenant % in this session', p_project_id, p_tenant
      using errcode = 'SL306',
            hint = 'A session registers projects only for its own tenant (shipslog.tenant).';
  end if;

  insert into shipslog.projects (id, tenant, created_by)
  values (p_project_id, p_tenant, shipslog.agent_attribution())
  on conflict (id) do nothing;

  select p.tenant
  into owner_tenant
  from shipslog.projects as p
  where p.id = p_project_id;

  if owner_tenant is distinct from p_tenant then
    raise exception 'project % is not a project of tenant %', p_project_id, p_tenant
      using errcode = 'SL306',
            hint = 'Project ids are global: use one of your tenant''s projects or a new id.';
  end if;
end
$function$
function shipslog.relative_time(ts timestamp with time zone, now_ts timestamp with time zone)
CREATE OR REPLACE FUNCTION shipslog.relative_time(ts timestamp with time zone, now_ts timestamp with time zone DEFAULT now())
 RETURNS text
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN ((now_ts - ts) < '00:00:00'::interval) THEN 'in the future'::text WHEN ((now_ts - ts) < '00:00:45'::interval) THEN 'just now'::text WHEN ((now_ts - ts) < '00:01:30'::interval) THEN '1 minute ago'::text WHEN ((now_ts - ts) < '00:45:00'::interval) THEN ((round((EXTRACT(epoch FROM (now_ts - ts)) / (60)::numeric)))::text || ' minutes ago'::text) WHEN ((now_ts - ts) < '01:30:00'::interval) THEN '1 hour ago'::text WHEN ((now_ts - ts) < '22:00:00'::interval) THEN ((round((EXTRACT(epoch FROM (now_ts - ts)) / (3600)::numeric)))::text || ' hours ago'::text) WHEN ((now_ts - ts) < '36:00:00'::interval) THEN '1 day ago'::text WHEN ((now_ts - ts) < '720:00:00'::interval) THEN ((round((EXTRACT(epoch FROM (now_ts - ts)) / (86400)::numeric)))::text || ' days ago'::text) WHEN ((now_ts - ts) < '1080:00:00'::interval) THEN '1 month ago'::text WHEN ((now_ts - ts) < '8760:00:00'::interval) THEN ((round((EXTRACT(epoch FROM (now_ts - ts)) / (2592000)::numeric)))::text || ' months ago'::text) WHEN ((now_ts - ts) < '13140:00:00'::interval) THEN '1 year ago'::text ELSE ((round((EXTRACT(epoch FROM (now_ts - ts)) / (31536000)::numeric)))::text || ' years ago'::text) END
function shipslog.release_check(p_deployment_id uuid, p_generation bigint)
CREATE OR REPLACE FUNCTION shipslog.release_check(p_deployment_id uuid, p_generation bigint)
 RETURNS text
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  d record;
  p shipslog.approval_policies;
  r shipslog.approval_requests;
  why text;
begin
  select x.id, x.tenant, x.environment, x.generation into d from shipslog.deployments as x where x.id = p_deployment_id;
  if not found then
    return null;
  end if;
  for r in
    select * from shipslog.approval_requests as a
    where a.deployment_id = d.id and a.state = 'pending' and a.generation < p_generation
    for update
  loop
    perform shipslog.close_approval_request(r, 'cancelled', format('superseded by generation %s', p_generation));
  end loop;
  perform shipslog.expire_approvals(d.id);
  select * into p from shipslog.approval_policies where tenant = d.tenant and environment = d.environment;
  if found and p.required_approvals > 0 and not exists (
       select from shipslog.approval_requests as a
       where a.deployment_id = d.id and a.generation = p_generation and a.state = 'approved') then
    if not exists (
         select from shipslog.approval_requests as a
         where a.deployment_id = d.id and a.generation = p_generation and a.state = 'pending') then
      perform shipslog.request_approval(d.id);
    end if;
    why := 'AwaitingApproval';
  elsif found and cardinality(shipslog.missing_gates(d.id, p_generation)) > 0 then
    why := 'AwaitingGates';
  end if;
  update shipslog.reconcile_queue
  set held_generation = case when why is null then null else p_generation end,
      held_reason = why
  where deployment_id = d.id
    and (held_generation, held_reason) is distinct from (case when why is null then null else p_generation end, why);
  return why;
end
$function$
function shipslog.release_check_gates(p_deployment_id uuid, p_generation bigint)
CREATE OR REPLACE FUNCTION shipslog.release_check_gates(p_deployment_id uuid, p_generation bigint)
 RETURNS boolean
 LANGUAGE sql
 STABLE
 SET search_path TO ''
AS $function$
  select cardinality(shipslog.missing_gates(p_deployment_id, p_generation)) = 0
     and (coalesce((
           select p.required_approvals
           from shipslog.deployments as d
           join shipslog.approval_policies as p
             on p.tenant = d.tenant
            and p.environment = d.environment
           where d.id = p_deployment_id), 0) = 0
          or exists (
           select
           from shipslog.approval_requests as a
           where a.deployment_id = p_deployment_id
             and a.generation = p_generation
             and a.state = 'approved'))
$function$
function shipslog.release_generation(p_deployment_id uuid, p_generation bigint)
CREATE OR REPLACE FUNCTION shipslog.release_generation(p_deployment_id uuid, p_generation bigint)
 RETURNS void
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
begin
  update shipslog.reconcile_queue
  set held_generation = null, held_reason = null
  where deployment_id = p_deployment_id
    and held_generation = p_generation;
  if found then
    perform pg_notify('shipslog_reconcile', p_deployment_id::text);
  end if;
end
$function$
function shipslog.remove_approval_policy(p_tenant text, p_environment text)
CREATE OR REPLACE FUNCTION shipslog.remove_approval_policy(p_tenant text, p_environment text)
 RETURNS boolean
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  before shipslog.approval_policies;
begin
  if not shipslog.caller_sees_tenant(p_tenant) then
    raise exception 'the caller may not change policies of tenant %', p_tenant
      using errcode = '42501', hint = 'Use a key of that tenant, or a global key.';
  end if;
  delete from shipslog.approval_policies where tenant = p_tenant and environment = p_environment returning * into before;
  if not found then
    return false;
  end if;
  insert into shipslog.approval_policy_changes
    (tenant, environment, change, previous_policy, new_policy, actor, actor_type, reason, correlation_id, request_id, db_role)
  values (p_tenant, p_environment, 'removed', to_jsonb(before) - array['updated_at', 'updated_by'], null,
          shipslog.context_actor(), coalesce(shipslog.context_setting('shipslog.actor_type'), 'database'),
          shipslog.context_setting('shipslog.reason'), shipslog.context_setting('shipslog.correlation_id'),
          shipslog.context_setting('shipslog.request_id'), coalesce(nullif(current_setting('role'), 'none'), session_user));
  return true;
end
$function$
aggregate shipslog.replay_state(jsonb, jsonb) sfunc shipslog.apply_event stype jsonb initcond 
function shipslog.replay_state_from(p_state jsonb, p_deployment_id uuid, p_from integer, p_to integer)
CREATE OR REPLACE FUNCTION shipslog.replay_state_from(p_state jsonb, p_deployment_id uuid, p_from integer, p_to integer)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
 SET search_path TO ''
AS $function$
declare
  ev record;
  state jsonb := p_state;
begin
  for ev in
    select e.previous_state, e.new_state
    from shipslog.deployment_events as e
    where e.deployment_id = p_deployment_id
      and e.chain_index > p_from
      and e.chain_index <= p_to
      -- Events that are not row changes (rollouts, approvals, gates, ...: 45_record_event.sql)
      -- change no state; their hashes are checked like every event's.
      and shipslog.is_row_change(e.action)
    order by e.chain_index
  loop
    state := shipslog.apply_event(state, ev.previous_state, ev.new_state);
  end loop;
  return state;
end
$function$
function shipslog.report_gate_result(p_deployment_id uuid, p_generation bigint, p_gate text, p_result text, p_evidence_url text, p_details jsonb)
CREATE OR REPLACE FUNCTION shipslog.report_gate_result(p_deployment_id uuid, p_generation bigint, p_gate text, p_result text, p_evidence_url text, p_details jsonb)
 RETURNS shipslog.gate_results
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  d record;
  ev shipslog.deployment_events;
  g shipslog.gate_results;
begin
  if p_result not in ('started', 'passed', 'failed', 'warned', 'skipped') then
    raise exception 'gate result must be started, passed, failed, warned or skipped, not %', p_result
      using errcode = '22023', column = 'result';
  end if;
  select x.id, x.tenant, x.generation
  into d
  from shipslog.deployments as x
  where x.id = p_deployment_id
    and shipslog.caller_sees_tenant(x.tenant)
  for no key update;
  if not found then
    raise exception 'deployment % not found', p_deployment_id using errcode = 'SL402';
  end if;
  if p_generation is distinct from d.generation then
    raise exception 'gate % reported for generation % of deployment %, whose generation is %', p_gate, p_generation, p_deployment_id, d.generation
      using errcode = 'SL440', hint = 'Report gates for the current generation (GET the deployment: generation); an older one is no longer applied.';
  end if;
  ev := shipslog.append_event(d.id, 'gate_' || p_result,
    coalesce(p_details, '{}') || jsonb_strip_nulls(jsonb_build_object(
      'gate', p_gate, 'generation', p_generation, 'evidence_url', p_evidence_url)));
  begin
    insert into shipslog.gate_results (tenant, deployment_id, generation, gate, result, evidence_url, details, reported_by, event_seq)
    values (d.tenant, d.id, p_generation, p_gate, p_result, p_evidence_url, coalesce(p_details, '{}'), shipslog.context_actor(), ev.seq)
    returning * into g;
  exception when check_violation then
    raise exception 'gate name % is not a gate name', p_gate
      using errcode = 'SL403', column = 'gate', hint = 'Gate names: lowercase letters, digits, ".", "_" and "-", up to 63 characters.';
  end;
  if p_result in ('passed', 'warned') and shipslog.release_check_gates(d.id, p_generation) then
    perform shipslog.release_generation(d.id, p_generation);
  end if;
  return g;
end
$function$
function shipslog.request_approval(p_deployment_id uuid)
CREATE OR REPLACE FUNCTION shipslog.request_approval(p_deployment_id uuid)
 RETURNS shipslog.approval_requests
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  d record;
  p shipslog.approval_policies;
  r shipslog.approval_requests;
  new_id uuid := gen_random_uuid();
  expires timestamptz;
  ev shipslog.deployment_events;
begin
  select x.id, x.tenant, x.name, x.environment, x.generation
  into d
  from shipslog.deployments as x
  where x.id = p_deployment_id
    and shipslog.caller_sees_tenant(x.tenant)
  for no key update;
  if not found then
    raise exception 'deployment % not found', p_deployment_id
      using errcode = 'SL402', hint = 'Approvals are requested for an existing deployment.';
  end if;
  select * into p from shipslog.approval_policies where tenant = d.tenant and environment = d.environment;
  if not found or p.required_approvals = 0 then
    raise exception 'environment % of tenant % needs no approval', d.environment, d.tenant
      using errcode = 'SL430', hint = 'An approval policy (PUT /v1/approval-policies/{environment}) decides which environments need approvals.';
  end if;
  for r in
    select * from shipslog.approval_requests as a
    where a.deployment_id = d.id and a.state = 'pending' and a.generation < d.generation
    for update
  loop
    perform shipslog.close_approval_request(r, 'cancelled', format('superseded by generation %s', d.generation));
  end loop;
  perform shipslog.expire_approvals(d.id);
  select * into r from shipslog.approval_requests as a where a.deployment_id = d.id and a.generation = d.generation and a.state in ('pending', 'approved');
  if found then
    return r;
  end if;
  expires := clock_timestamp() + p.expires_after;
  ev := shipslog.append_event(d.id, 'approval_requested', jsonb_build_object(
    'approval_id', new_id, 'generation', d.generation, 'required_approvals', p.required_approvals,
    'expires_at', shipslog.iso_utc(expires), 'environment', d.environment,
    'change_actor', shipslog.generation_actor(d.id)));
  insert into shipslog.approval_requests
    (id, tenant, deployment_id, name, environment, generation, required_approvals, requested_by, change_actor, expires_at, requested_seq)
  values (new_id, d.tenant, d.id, d.name, d.environment, d.generation, p.required_approvals, shipslog.context_actor(),
          shipslog.generation_actor(d.id), expires, ev.seq)
  returning * into r;
  return r;
end
$function$
function shipslog.rollback_started_seq(p_deployment_id uuid, p_generation bigint)
CREATE OR REPLACE FUNCTION shipslog.rollback_started_seq(p_deployment_id uuid, p_generation bigint)
 RETURNS bigint
 LANGUAGE sql
 STABLE
 SET search_path TO ''
AS $function$
  select e.seq
  from shipslog.deployment_events as e
  where e.deployment_id = p_deployment_id
    and e.action = 'rollback_started'
    and (e.new_state -> 'details' ->> 'generation')::bigint = p_generation
  order by e.chain_index desc
  limit 1
$function$
function shipslog.set_approval_policy(p_tenant text, p_environment text, p_required_approvals integer, p_expires_after interval, p_required_gates text[])
CREATE OR REPLACE FUNCTION shipslog.set_approval_policy(p_tenant text, p_environment text, p_required_approvals integer, p_expires_after interval, p_required_gates text[])
 RETURNS shipslog.approval_policies
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  before shipslog.approval_policies;
  after shipslog.approval_policies;
begin
  if not shipslog.caller_sees_tenant(p_tenant) then
    raise exception 'the caller may not change policies of tenant %', p_tenant
      using errcode = '42501', hint = 'Use a key of that tenant, or a global key.';
  end if;
  if p_required_gates is not null and exists (
       select from unnest(p_required_gates) as g where g is null or g !~ '^[a-z0-9][a-z0-9._-]{0,62}$') then
    raise exception 'a required gate name is not a gate name'
      using errcode = 'SL435', hint = 'Gate names: lowercase letters, digits, ".", "_" and "-", up to 63 characters.', column = 'required_gates';
  end if;
  select * into before from shipslog.approval_policies where tenant = p_tenant and environment = p_environment for update;
  begin
    insert into shipslog.approval_policies (tenant, environment, required_approvals, expires_after, required_gates, updated_by)
    values (p_tenant, p_environment, p_required_approvals, coalesce(p_expires_after, interval '24 hours'),
            coalesce(p_required_gates, '{}'), shipslog.context_actor())
    on conflict (tenant, environment) do update
      set required_approvals = excluded.required_approvals,
          expires_after = excluded.expires_after,
          required_gates = excluded.required_gates,
          updated_at = now(),
          updated_by = excluded.updated_by
    returning * into after;
  exception when check_violation then
    raise exception 'approval policy %/% refused: %', p_tenant, p_environment, sqlerrm
      using errcode = 'SL435',
            hint = 'required_approvals 0-10, expires_after 1 minute to 30 days, tenant and environment DNS labels, at most 20 gates.';
  end;
  insert into shipslog.approval_policy_changes
    (tenant, environment, change, previous_policy, new_policy, actor, actor_type, reason, correlation_id, request_id, db_role)
  values (p_tenant, p_environment, 'set',
          to_jsonb(before) - array['updated_at', 'updated_by'], to_jsonb(after) - array['updated_at', 'updated_by'],
          shipslog.context_actor(), coalesce(shipslog.context_setting('shipslog.actor_type'), 'database'),
          shipslog.context_setting('shipslog.reason'), shipslog.context_setting('shipslog.correlation_id'),
          shipslog.context_setting('shipslog.request_id'), coalesce(nullif(current_setting('role'), 'none'), session_user));
  return after;
end
$function$
function shipslog.severity_rank(severity text)
CREATE OR REPLACE FUNCTION shipslog.severity_rank(severity text)
 RETURNS integer
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
RETURN array_position(ARRAY['info'::text, 'warning'::text, 'error'::text, 'critical'::text], severity)
function shipslog.start_rollback(p_deployment_id uuid, p_target_seq bigint, p_target_chain_index integer)
CREATE OR REPLACE FUNCTION shipslog.start_rollback(p_deployment_id uuid, p_target_seq bigint, p_target_chain_index integer)
 RETURNS TABLE(generation bigint, target_seq bigint, target_chain_index integer, rolled_back_seq bigint, rollback_started_seq bigint)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  d shipslog.deployments;
  target shipslog.deployment_events;
  want jsonb;
  saved_action text := current_setting('shipslog.action', true);
  changed shipslog.deployments;
  rolled shipslog.deployment_events;
  started shipslog.deployment_events;
begin
  select * into d from shipslog.deployments as x
  where x.id = p_deployment_id and shipslog.caller_sees_tenant(x.tenant)
  for no key update;
  if not found then
    raise exception 'deployment % not found', p_deployment_id using errcode = 'SL402';
  end if;
  select * into target from shipslog.deployment_events as e
  where e.deployment_id = d.id
    and (e.seq = p_target_seq or e.chain_index = p_target_chain_index);
  if not found then
    raise exception 'deployment % has no event %', d.id, coalesce('seq ' || p_target_seq, '#' || p_target_chain_index)
      using errcode = 'SL451', hint = 'Name an event of this deployment''s history by seq or chain_index.';
  end if;
  want := shipslog.desired_state_at(d.id, target.chain_index);
  if want ->> 'deletion_requested_at' is not null then
    raise exception 'the state at event #% is a removal request; it cannot be rolled back to', target.chain_index
      using errcode = 'SL450', hint = 'Choose an event before the removal was requested.';
  end if;
  if (want ->> 'secrets_fingerprint') is distinct from d.secrets_fingerprint or (want ->> 'secrets_ref') is distinct from d.secrets_ref then
    raise exception 'cannot rebuild the state at event #%: its secrets were rotated since (fingerprint % then, % now), and secret values are never stored',
        target.chain_index, coalesce(left(want ->> 'secrets_fingerprint', 20) || '...', 'none'), coalesce(left(d.secrets_fingerprint, 20) || '...', 'none')
      using errcode = 'SL450',
            hint = 'Restore the old secret values first (PATCH secrets), or roll back to an event after the last rotation.';
  end if;
  if (want -> 'environment', want -> 'app_version', want -> 'config', want -> 'depends_on')
     is not distinct from (to_jsonb(d.environment), to_jsonb(d.app_version), d.config, to_jsonb(d.depends_on)) then
    raise exception 'nothing to roll back: the desired state at event #% is the current one', target.chain_index
      using errcode = 'SL450', hint = 'Choose an event whose desired state differs from the current one.';
  end if;
  -- The change itself goes through the audit trigger, recorded as rolled_back (a row change:
  -- the generation moves to N+1 and the reconciler applies it). shipslog.action is put back
  -- as the caller had it, so later writes of the transaction are not mislabelled.
  perform set_config('shipslog.action', 'rolled_back', true);
  update shipslog.deployments as x
  set environment = want ->> 'environment',
      app_version = want ->> 'app_version',
      config = want -> 'config',
      depends_on = array(select jsonb_array_elements_text(want -> 'depends_on'))
  where x.id = d.id
  returning * into changed;
  perform set_config('shipslog.action', coalesce(saved_action, ''), true);
  select * into rolled from shipslog.deployment_events as e
  where e.deployment_id = d.id and e.chain_index = changed.chain_length;
  started := shipslog.append_event(d.id, 'rollback_started', jsonb_build_object(
    'generation', changed.generation, 'target_seq', target.seq, 'target_chain_index', target.chain_index,
    'from_generation', d.generation, 'parent_seq', target.seq, 'related_seqs', jsonb_build_array(rolled.seq)));
  return query select changed.generation, target.seq, target.chain_index, rolled.seq, started.seq;
end
$function$
function shipslog.state_after_event(p_deployment_id uuid, p_chain_index integer)
CREATE OR REPLACE FUNCTION shipslog.state_after_event(p_deployment_id uuid, p_chain_index integer)
 RETURNS jsonb
 LANGUAGE sql
 STABLE PARALLEL SAFE
BEGIN ATOMIC
 SELECT shipslog.replay_state(e.previous_state, e.new_state ORDER BY e.chain_index) AS replay_state
    FROM shipslog.deployment_events e
   WHERE ((e.deployment_id = state_after_event.p_deployment_id) AND (e.chain_index <= state_after_event.p_chain_index) AND shipslog.is_row_change(e.action));
END
function shipslog.state_at(p_deployment_id uuid, p_at timestamp with time zone)
CREATE OR REPLACE FUNCTION shipslog.state_at(p_deployment_id uuid, p_at timestamp with time zone)
 RETURNS TABLE(deployment_id uuid, tenant text, name text, chain_index integer, seq bigint, occurred_at timestamp with time zone, action text, state jsonb, head_chain_index integer, matches_current boolean)
 LANGUAGE plpgsql
 STABLE
 SET search_path TO ''
AS $function$
declare
  head shipslog.deployment_events;
  last_event shipslog.deployment_events;
  live shipslog.deployments;
  first_at timestamptz;
begin
  if p_deployment_id is null or p_at is null then
    raise exception 'shipslog.state_at() needs a deployment id and a moment'
      using errcode = '22004',
            hint = 'select * from shipslog.state_at(''<deployment id>'', ''2026-01-01 12:00Z'');';
  end if;
  select e.*
  into head
  from shipslog.deployment_events as e
  where e.deployment_id = p_deployment_id
  order by e.chain_index desc
  limit 1;
  if not found then
    raise exception 'deployment % has no audit history', p_deployment_id
      using errcode = 'SL060',
            hint = 'No such deployment, or not one the caller may see (history outlives removal: a removed deployment still has one).';
  end if;
  select e.*
  into last_event
  from shipslog.deployment_events as e
  where e.deployment_id = p_deployment_id
    and e.occurred_at <= p_at
  order by e.chain_index desc
  limit 1;
  if not found then
    select min(e.occurred_at)
    into first_at
    from shipslog.deployment_events as e
    where e.deployment_id = p_deployment_id;
    raise exception 'deployment %/% (%) did not exist yet at %: it was created at %',
        head.tenant, head.name, p_deployment_id, shipslog.iso_utc(p_at), shipslog.iso_utc(first_at)
      using errcode = 'SL061',
            hint = 'Ask for a moment at or after its creation.';
  end if;

  deployment_id := p_deployment_id;
  tenant := head.tenant;
  name := head.name;
  chain_index := last_event.chain_index;
  seq := last_event.seq;
  occurred_at := last_event.occurred_at;
  action := last_event.action;
  state := shipslog.state_after_event(p_deployment_id, last_event.chain_index);
  head_chain_index := head.chain_index;
  if last_event.chain_index = head.chain_index then
    select d.*
    into live
    from shipslog.deployments as d
    where d.id = p_deployment_id;
    if found then
      matches_current := live.chain_length = head.chain_index
        and live.chain_head is not distinct from head.hash
        and shipslog.audited_state(live) is not distinct from state;
    else
      matches_current := head.action = 'removed' and state is null;
    end if;
  end if;
  return next;
end
$function$
function shipslog.state_diff(p_deployment_id uuid, p_from integer, p_to integer)
CREATE OR REPLACE FUNCTION shipslog.state_diff(p_deployment_id uuid, p_from integer, p_to integer DEFAULT NULL::integer)
 RETURNS TABLE(path text, from_value jsonb, to_value jsonb, description text)
 LANGUAGE plpgsql
 STABLE
 SET search_path TO ''
AS $function$
declare
  head_index integer;
  diff record;
begin
  select max(e.chain_index)
  into head_index
  from shipslog.deployment_events as e
  where e.deployment_id = p_deployment_id;
  if head_index is null then
    raise exception 'deployment % has no audit history', p_deployment_id
      using errcode = 'SL060',
            hint = 'No such deployment, or not one the caller may see (history outlives removal: a removed deployment still has one).';
  end if;
  -- COLUMN names the argument at fault, so the API can name its query parameter.
  if p_from is null or p_from not between 1 and head_index then
    raise exception 'deployment % has events #1 to #%: #% is not one of them', p_deployment_id, head_index, coalesce(p_from::text, 'null')
      using errcode = 'SL062',
            column = 'from',
            hint = format('Name chain_index values from 1 to %s (its history lists them).', head_index);
  end if;
  if p_to is not null and p_to not between 1 and head_index then
    raise exception 'deployment % has events #1 to #%: #% is not one of them', p_deployment_id, head_index, p_to
      using errcode = 'SL062',
            column = 'to',
            hint = format('Name chain_index values from 1 to %s (its history lists them).', head_index);
  end if;
  diff := shipslog.jsonb_diff(
    coalesce(shipslog.state_after_event(p_deployment_id, p_from), '{}'),
    coalesce(shipslog.state_after_event(p_deployment_id, coalesce(p_to, head_index)), '{}'));
  return query
    select
      array_to_string(w.path, '.'),
      w.old_value,
      w.new_value,
      shipslog.describe_change(array_to_string(w.path, '.'), w.old_value, w.new_value)
    from shipslog.event_change_walk(array[0::bigint], array[diff.old_part], array[diff.new_part]) as w
    order by w.path;
end
$function$
function shipslog.system_chain_id()
CREATE OR REPLACE FUNCTION shipslog.system_chain_id()
 RETURNS uuid
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
RETURN '00000000-0000-0000-0000-000000000000'::uuid
function shipslog.tenant_visible(row_tenant text)
CREATE OR REPLACE FUNCTION shipslog.tenant_visible(row_tenant text)
 RETURNS boolean
 LANGUAGE sql
 STABLE PARALLEL SAFE
RETURN COALESCE((NULLIF(current_setting('shipslog.tenant'::text, true), ''::text) = ANY (ARRAY['*'::text, row_tenant])), false)
function shipslog.tg_agent_message_daily__guard()
CREATE OR REPLACE FUNCTION shipslog.tg_agent_message_daily__guard()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
begin
  if tg_level = 'ROW' and pg_trigger_depth() >= 2 then
    return coalesce(new, old);
  end if;
  raise exception 'shipslog.agent_message_daily is written only by the triggers on shipslog.agent_messages: % refused', tg_op
    using errcode = 'SL313',
          hint = 'Write agent messages instead; their triggers keep the daily sums.';
end
$function$
function shipslog.tg_agent_message_retention_runs__append_only()
CREATE OR REPLACE FUNCTION shipslog.tg_agent_message_retention_runs__append_only()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
begin
  if tg_op = 'INSERT' and current_user = 'shipslog_agent_retention' then
    return new;
  end if;
  raise exception 'shipslog.agent_message_retention_runs is written only by shipslog.purge_agent_messages: % refused', tg_op
    using errcode = 'SL307',
          hint = 'Run retention with shipslog.purge_agent_messages(interval) or `shipslog agent-messages purge`; its record never changes.';
end
$function$
function shipslog.tg_agent_messages__daily()
CREATE OR REPLACE FUNCTION shipslog.tg_agent_messages__daily()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
begin
  if tg_op = 'INSERT' then
    insert into shipslog.agent_message_daily as d (tenant, project_id, day_start, model, message_count)
    values (new.tenant, new.project_id, shipslog.utc_day(new.created_at), new.model, 1)
    on conflict (tenant, project_id, day_start, model)
    do update set message_count = d.message_count + 1;
  elsif old.finalised_at is null and new.finalised_at is not null then
    update shipslog.agent_message_daily as d
    set finalised_count = d.finalised_count + 1,
        prompt_tokens = d.prompt_tokens + new.prompt_tokens,
        completion_tokens = d.completion_tokens + new.completion_tokens,
        prompt_cost = d.prompt_cost + new.prompt_cost,
        completion_cost = d.completion_cost + new.completion_cost
    where d.tenant = new.tenant
      and d.project_id = new.project_id
      and d.day_start = shipslog.utc_day(new.created_at)
      and d.model = new.model;
  end if;
  return null;
end
$function$
function shipslog.tg_agent_messages__daily_delete()
CREATE OR REPLACE FUNCTION shipslog.tg_agent_messages__daily_delete()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
begin
  with gone as (
    select
      r.tenant, r.project_id, shipslog.utc_day(r.created_at) as day_start, r.model,
      count(*) as message_count,
      count(r.finalised_at) as finalised_count,
      coalesce(sum(r.prompt_tokens), 0) as prompt_tokens,
      coalesce(sum(r.completion_tokens), 0) as completion_tokens,
      coalesce(sum(r.prompt_cost), 0) as prompt_cost,
      coalesce(sum(r.completion_cost), 0) as completion_cost
    from removed as r
    group by 1, 2, 3, 4
  )
  update shipslog.agent_message_daily as d
  set message_count = d.message_count - g.message_count,
      finalised_count = d.finalised_count - g.finalised_count,
      prompt_tokens = d.prompt_tokens - g.prompt_tokens,
      completion_tokens = d.completion_tokens - g.completion_tokens,
      prompt_cost = d.prompt_cost - g.prompt_cost,
      completion_cost = d.completion_cost - g.completion_cost
  from gone as g
  where d.tenant = g.tenant
    and d.project_id = g.project_id
    and d.day_start = g.day_start
    and d.model = g.model;

  -- A separate statement sees the subtraction (and anything committed meanwhile).
  delete from shipslog.agent_message_daily as d
  where d.message_count = 0
    and (d.tenant, d.project_id, d.day_start, d.model) in (
      select distinct r.tenant, r.project_id, shipslog.utc_day(r.created_at), r.model
      from removed as r
    );
  return null;
end
$function$
function shipslog.tg_agent_messages__guard()
CREATE OR REPLACE FUNCTION shipslog.tg_agent_messages__guard()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
begin
  if tg_op = 'DELETE' then
    -- current_user is shipslog_agent_retention only inside shipslog.purge_agent_messages.
    if current_user <> 'shipslog_agent_retention' then
      raise exception 'agent message % cannot be deleted: only the retention job removes agent messages', old.message_id
        using errcode = 'SL303',
              hint = 'Agent messages are removed past retention by shipslog.purge_agent_messages(interval) or `shipslog agent-messages purge`.';
    end if;
    return old;
  end if;

  if tg_op = 'INSERT' then
    if num_nonnulls(new.reasoning, new.prompt_tokens, new.completion_tokens, new.total_tokens,
                    new.prompt_cost, new.completion_cost, new.total_cost, new.finalised_at, new.finalised_by) > 0 then
      raise exception 'agent message % must start as a placeholder', new.message_id
        using errcode = 'SL305',
              hint = 'Insert message_id, project_id and model when the call starts; set reasoning, tokens and cost with one UPDATE when it ends.';
    end if;
    -- Five minutes of clock skew between the agent and the server are tolerated.
    if new.created_at > now() + interval '5 minutes' then
      raise exception 'agent message % starts in the future (%)', new.message_id, new.created_at
        using errcode = 'SL311',
              hint = 'Omit created_at to use the server''s clock.';
    end if;
    new.recorded_at := now();
    new.created_by := shipslog.agent_attribution();
    perform shipslog.register_project(new.tenant, new.project_id);
    return new;
  end if;

  if (new.message_id, new.tenant, new.project_id, new.model, new.context_layers,
      new.created_at, new.recorded_at, new.created_by)
     is distinct from
     (old.message_id, old.tenant, old.project_id, old.model, old.context_layers,
      old.created_at, old.recorded_at, old.created_by) then
    raise exception 'agent message % cannot change its id, tenant, project, model, context layers or start', old.message_id
      using errcode = 'SL302',
            hint = 'Only reasoning, tokens and cost may be set, once, when the message is finalised.';
  end if;

  -- IS NOT DISTINCT FROM compares numeric by value: 0.0150 is the same cost as 0.015.
  if (new.reasoning, new.prompt_tokens, new.completion_tokens, new.total_tokens,
      new.prompt_cost, new.completion_cost, new.total_cost)
     is not distinct from
     (old.reasoning, old.prompt_tokens, old.completion_tokens, old.total_tokens,
      old.prompt_cost, old.completion_cost, old.total_cost) then
    -- Same values again (a retried finalise, or an UPDATE that sets nothing new): no change.
    return old;
  end if;

  if old.finalised_at is not null then
    raise exception 'agent message % is already finalised with other values', old.message_id
      using errcode = 'SL301',
            hint = 'A finalised message never changes; a retry must send exactly the same reasoning, tokens and cost.';
  end if;

  if num_nulls(new.reasoning, new.prompt_tokens, new.completion_tokens, new.total_tokens,
               new.prompt_cost, new.completion_cost, new.total_cost) > 0 then
    raise exception 'finalising agent message % needs reasoning, tokens and cost together', old.message_id
      using errcode = 'SL304',
            hint = 'Set reasoning, prompt/completion/total tokens and prompt/completion/total cost in one UPDATE.';
  end if;

  new.finalised_at := clock_timestamp();
  new.finalised_by := shipslog.agent_attribution();
  return new;
end
$function$
function shipslog.tg_agent_messages__no_truncate()
CREATE OR REPLACE FUNCTION shipslog.tg_agent_messages__no_truncate()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
begin
  raise exception 'shipslog.agent_messages cannot be truncated'
    using errcode = 'SL303',
          hint = 'Agent messages are removed past retention by shipslog.purge_agent_messages(interval) only.';
end
$function$
function shipslog.tg_audit_checkpoints__append_only()
CREATE OR REPLACE FUNCTION shipslog.tg_audit_checkpoints__append_only()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
begin
  raise exception 'shipslog.% is append-only: % refused', tg_table_name, tg_op
    using errcode = 'SL001',
          hint = 'Checkpoints cannot be changed or removed; take a new one instead.';
end
$function$
function shipslog.tg_audit_records__no_truncate()
CREATE OR REPLACE FUNCTION shipslog.tg_audit_records__no_truncate()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
begin
  raise exception '%.% cannot be truncated', tg_table_schema, tg_table_name
    using errcode = 'SL005',
          detail = 'TRUNCATE removes rows without firing row triggers, so it would leave no audit record; it is refused for every role, the owner included.',
          hint = coalesce(tg_argv[0], format('The rows of %I.%I are audit records and are kept.', tg_table_schema, tg_table_name));
end
$function$
function shipslog.tg_audit_retention__record_change()
CREATE OR REPLACE FUNCTION shipslog.tg_audit_retention__record_change()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
begin
  insert into shipslog.audit_retention_changes (category, operation, previous_keep_for, new_keep_for, db_role, db_user, actor, reason)
  values (
    coalesce(new.category, old.category),
    lower(tg_op),
    case when tg_op <> 'INSERT' then old.keep_for end,
    case when tg_op <> 'DELETE' then new.keep_for end,
    coalesce(nullif(current_setting('role'), 'none'), session_user),
    session_user,
    shipslog.context_setting('shipslog.actor'),
    shipslog.context_setting('shipslog.reason'));
  if tg_op = 'DELETE' then
    return old;
  end if;
  new.updated_at := now();
  return new;
end
$function$
function shipslog.tg_compliance_records__append_only()
CREATE OR REPLACE FUNCTION shipslog.tg_compliance_records__append_only()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
begin
  raise exception '%.% is append-only: % refused', tg_table_schema, tg_table_name, tg_op
    using errcode = 'SL001',
          hint = 'Compliance records are kept; record a new policy, decision or gate result instead.';
end
$function$
function shipslog.tg_deployment_events__append_only()
CREATE OR REPLACE FUNCTION shipslog.tg_deployment_events__append_only()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
declare
  stack text;
begin
  -- Retention: shipslog.purge_audit_events() (sql/audit/85_retention.sql), which runs as
  -- shipslog_audit_retention, removes expired chain prefixes and appends its events_purged
  -- event to the system chain. No login is a member of that role; only the function is.
  if current_user = 'shipslog_audit_retention' then
    if tg_op = 'DELETE' then
      return old;
    end if;
    if tg_op = 'INSERT' and new.action = 'events_purged' and new.deployment_id = '00000000-0000-0000-0000-000000000000' then
      return new;
    end if;
  end if;
  if tg_op = 'INSERT' then
    -- The one writer besides the audit trigger: shipslog.append_event() (45_record_event.sql),
    -- a SECURITY DEFINER function that checks the event and takes the chain head under the
    -- deployment's row lock. Its INSERT comes from no trigger (depth 0), so this function runs;
    -- the call stack names the statement (its one line, exactly) and the function that ran it.
    -- No role but the owner may insert at all; this guard is the owner's tripwire (an owner
    -- bent on forgery can disable triggers, which verify_chains() and checkpoints are for).
    get diagnostics stack = pg_context;
    if split_part(stack, E'\n', 2) = 'SQL statement "insert into shipslog.deployment_events overriding system value select (ev).*"'
       and split_part(stack, E'\n', 3) like 'PL/pgSQL function shipslog.append_event(uuid,text,jsonb) line % at SQL statement' then
      return new;
    end if;
    raise exception 'shipslog.deployment_events is written only by the audit trigger on shipslog.deployments and shipslog.append_event()'
      using errcode = 'SL002',
            hint = 'Change the deployment instead (its trigger records the event), or record a lifecycle, approval, gate or rollback event through its function (docs/compliance.md).';
  end if;
  raise exception 'shipslog.deployment_events is append-only: % refused', tg_op
    using errcode = 'SL001',
          hint = 'Audit history cannot be changed or removed; record a correcting change on the deployment instead.';
end
$function$
function shipslog.tg_deployments__audit()
CREATE OR REPLACE FUNCTION shipslog.tg_deployments__audit()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  old_part jsonb;
  new_part jsonb;
  diff record;
  derived_action text;
  next_generation bigint;
  new_config jsonb;
  old_config jsonb;
  unchanged text[];
  ev shipslog.deployment_events;
begin
  if tg_op = 'UPDATE' then
    -- The common write changes config and nothing else. One whole-row comparison, with config
    -- set aside (null on both sides: no jsonb to walk), tells that case apart: cheaper than
    -- comparing column lists (each operator in an expression costs ~2 K instructions to set
    -- up in every transaction). OLD is this function's copy; nothing else reads it. `*=`
    -- compares the columns' bytes (no equality function per column: ~9 K instructions less
    -- than IS NOT DISTINCT FROM); bytes that differ for equal values (a jsonb 1.0 against 1.00)
    -- only send the write down the general path below, which compares by value.
    new_config := new.config;
    old_config := old.config;
    new.config := null;
    old.config := null;
    if new *= old then
      new.config := new_config;
      -- Keys whose values did not change, removed from both sides, leave exactly what
      -- shipslog.jsonb_diff() returns, unless a changed key holds an object (jsonb_diff then
      -- walks into it, so it does the diff instead).
      unchanged := array(select k from jsonb_object_keys(new_config) as k where (old_config -> k) = (new_config -> k));
      old_part := jsonb_build_object('config', old_config - unchanged);
      new_part := jsonb_build_object('config', new_config - unchanged);
      if new_part = '{"config": {}}' and old_part = '{"config": {}}' then
        return new;
      end if;
      if jsonb_path_exists(new_part, '$.config.* ? (@.type() == "object")') then
        diff := shipslog.jsonb_diff(old_config, new_config);
        old_part := jsonb_build_object('config', diff.old_part);
        new_part := jsonb_build_object('config', diff.new_part);
      end if;
      if cardinality(shipslog.recipe_config_errors(new.recipe, new_config)) > 0 then
        raise exception 'deployment %/%: invalid % config: %', new.tenant, new.name, new.recipe,
            array_to_string(shipslog.recipe_config_errors(new.recipe, new_config), '; ')
          using errcode = 'SL210',
                hint = 'See the recipe''s config schema (src/recipes/); shipslog.recipe_config_errors(recipe, config) lists the problems.';
      end if;
      -- Wake the reconcilers (LISTEN shipslog_reconcile) when a write gives them work they
      -- would not find by themselves: a new deployment, or a new generation (as here) of one
      -- that was settled (observed_generation = generation) or failing (its back-off would
      -- hold it). A deployment already pending is in a worker's hands or next in its loop,
      -- which claims work until none is left; so a burst of writes to pending deployments
      -- notifies nothing. That matters: PostgreSQL serialises the commits of notifying
      -- transactions (one lock held through the commit's flush). The payload is the id;
      -- NOTIFY is delivered at commit, so a woken worker sees the committed row, and a lost
      -- one is harmless: workers catch up after every (re)connect and poll slowly as well.
      if old.observed_generation = old.generation or old.status in ('failed', 'removing') then
        perform pg_notify('shipslog_reconcile', new.id::text);
      end if;
    else
      new.config := new_config;
      old.config := old_config;
      -- Callers may not set the bookkeeping columns, nor change what identifies a deployment.
      if (new.id, new.tenant, new.name, new.recipe) is distinct from (old.id, old.tenant, old.name, old.recipe) then
        raise exception 'deployment %/% cannot change its id, tenant, name or recipe', old.tenant, old.name
          using errcode = 'SL010',
                hint = 'Create a new deployment instead; these fields identify it in Kubernetes and in its history.';
      end if;
      new.version := old.version;
      new.generation := old.generation;
      new.created_at := old.created_at;
      new.updated_at := old.updated_at;
      new.chain_length := old.chain_length;
      new.chain_head := old.chain_head;
      -- Every column but the bookkeeping above is audited, so an equal row means no change.
      if new is not distinct from old then
        return new;
      end if;
      -- Status and health writes do not re-check the config (rows stored before the rule keep working).
      if new.config is distinct from old.config and cardinality(shipslog.recipe_config_errors(new.recipe, new.config)) > 0 then
        raise exception 'deployment %/%: invalid % config: %', new.tenant, new.name, new.recipe,
            array_to_string(shipslog.recipe_config_errors(new.recipe, new.config), '; ')
          using errcode = 'SL210',
                hint = 'See the recipe''s config schema (src/recipes/); shipslog.recipe_config_errors(recipe, config) lists the problems.';
      end if;
      diff := shipslog.deployment_diff(old, new);
      if diff.new_part = '{}'::jsonb and diff.old_part = '{}'::jsonb then
        raise exception 'shipslog.deployment_diff() does not know a column that changed on deployment %/%', old.tenant, old.name
          using errcode = 'SL011',
                hint = 'A column was added to shipslog.deployments without re-issuing shipslog.deployment_diff(); nothing was written.';
      end if;
      old_part := diff.old_part;
      new_part := diff.new_part;
      derived_action := shipslog.derive_action(old_part, new_part);
      if (new.environment, new.app_version, new.config, new.secrets_ref, new.secrets_fingerprint,
          new.depends_on, new.restarted_at, new.deletion_requested_at)
         is distinct from
         (old.environment, old.app_version, old.config, old.secrets_ref, old.secrets_fingerprint,
          old.depends_on, old.restarted_at, old.deletion_requested_at) then
        next_generation := old.generation + 1;
        -- The wake-up, as in the common path above.
        if old.observed_generation = old.generation or old.status in ('failed', 'removing') then
          perform pg_notify('shipslog_reconcile', new.id::text);
        end if;
      else
        next_generation := old.generation;
      end if;
    end if;
  elsif tg_op = 'INSERT' then
    if cardinality(shipslog.recipe_config_errors(new.recipe, new.config)) > 0 then
      raise exception 'deployment %/%: invalid % config: %', new.tenant, new.name, new.recipe,
          array_to_string(shipslog.recipe_config_errors(new.recipe, new.config), '; ')
        using errcode = 'SL210',
              hint = 'See the recipe''s config schema (src/recipes/); shipslog.recipe_config_errors(recipe, config) lists the problems.';
    end if;
    new.version := 1;
    new.generation := 1;
    new.observed_generation := 0;
    new.created_at := now();
    if exists (select from shipslog.deployment_events as e where e.deployment_id = new.id) then
      raise exception 'deployment id % already has an audit history', new.id
        using errcode = 'SL003',
              hint = 'A removed deployment''s id is never reused; omit id to get a new one.';
    end if;
    new_part := shipslog.audited_state(new);
    derived_action := 'created';
    -- A new deployment is work for the reconcilers (the wake-up: see the common path above).
    perform pg_notify('shipslog_reconcile', new.id::text);
  else
    old_part := shipslog.audited_state(old);
  end if;

  -- The caller-supplied settings, checked in one expression: lengths summed (within the
  -- smallest limit, each one is), shipslog.source_ip by its characters. Only when something
  -- looks wrong does the branch check each setting exactly and name the one that is. A
  -- source_ip of those characters that is still no address (1.2.3.999) is refused by the
  -- ::inet cast in the INSERT below, with 22P02 too.
  if current_setting('shipslog.actor_type', true) not in ('', 'user', 'service', 'system', 'database')
     or current_setting('shipslog.action', true) not in ('', 'created', 'config_changed', 'upgraded', 'downgraded', 'secrets_rotated', 'restarted',
                                                      'health_changed', 'status_changed', 'resources_changed', 'removal_requested',
                                                      'removed', 'rolled_back')
     or length(concat(current_setting('shipslog.actor', true), current_setting('shipslog.correlation_id', true),
                      current_setting('shipslog.request_id', true))) > 200
     or length(concat(current_setting('shipslog.reason', true), current_setting('shipslog.user_agent', true))) > 500
     or current_setting('shipslog.source_ip', true) !~ '^[0-9A-Fa-f:./]*$' then
    if coalesce(shipslog.context_setting('shipslog.actor_type'), 'database') not in ('user', 'service', 'system', 'database') then
      raise exception 'shipslog.actor_type must be user, service or system, not "%"', current_setting('shipslog.actor_type', true)
        using errcode = '22023',
              hint = 'Set shipslog.actor_type with set_config(''shipslog.actor_type'', ''user'', true), or leave it unset.';
    end if;
    if shipslog.context_setting('shipslog.action') not in ('created', 'config_changed', 'upgraded', 'downgraded', 'secrets_rotated', 'restarted', 'health_changed',
                                                           'status_changed', 'resources_changed', 'removal_requested', 'removed', 'rolled_back') then
      raise exception 'shipslog.action "%" is not an audit action', current_setting('shipslog.action', true)
        using errcode = '22023',
              hint = 'Use one of created, config_changed, upgraded, downgraded, secrets_rotated, restarted, health_changed, status_changed, resources_changed, removal_requested, removed, rolled_back; or leave it unset.';
    end if;
    if length(current_setting('shipslog.actor', true)) > 200 or length(current_setting('shipslog.reason', true)) > 1000
       or length(current_setting('shipslog.correlation_id', true)) > 200 or length(current_setting('shipslog.request_id', true)) > 200
       or length(current_setting('shipslog.user_agent', true)) > 500 then
      raise exception 'an actor context setting is too long'
        using errcode = '22001',
              hint = 'Limits: shipslog.actor 200, shipslog.reason 1000, shipslog.correlation_id 200, shipslog.request_id 200, shipslog.user_agent 500 characters.';
    end if;
    if current_setting('shipslog.source_ip', true) !~ '^[0-9A-Fa-f:./]*$' then
      raise exception 'shipslog.source_ip is not an IP address: %', current_setting('shipslog.source_ip', true)
        using errcode = '22P02',
              hint = 'Set shipslog.source_ip to an IPv4 or IPv6 address, or leave it unset.';
    end if;
  end if;

  -- The event is built as one row value (one expression), hashed (shipslog.event_hash(), SQL,
  -- inlined: exactly the payload an export emits), and inserted field by field: no executor
  -- node of its own to compute the values, each value computed once (~36 K instructions per
  -- write less than one INSERT ... SELECT ... RETURNING over a subquery, callgrind, PostgreSQL
  -- 15). The row value's fields are in the table's column order (a column added to, or moved
  -- in, shipslog.deployment_events must be placed here too). OLD is null on INSERT, NEW on DELETE.
  ev := row(
      nextval('shipslog.deployment_events_seq'),
      coalesce(new.id, old.id),
      coalesce(old.chain_length, 0) + 1,
      coalesce(new.tenant, old.tenant),
      coalesce(new.name, old.name),
      -- A removal is always `removed`, whatever shipslog.action says for the rest of the
      -- transaction: a chain whose row is gone must end in `removed`, or
      -- shipslog.verify_chains() reports it as tampered.
      case
        when tg_op = 'DELETE' then 'removed'
        else coalesce(shipslog.context_setting('shipslog.action'), derived_action, 'config_changed')
      end,
      clock_timestamp(),
      pg_current_xact_id(),
      coalesce(shipslog.context_setting('shipslog.actor'), session_user),
      coalesce(shipslog.context_setting('shipslog.actor_type'), 'database'),
      shipslog.context_setting('shipslog.reason'),
      shipslog.context_setting('shipslog.correlation_id'),
      shipslog.context_setting('shipslog.request_id'),
      shipslog.context_setting('shipslog.source_ip')::inet,
      shipslog.context_setting('shipslog.user_agent'),
      -- Inside SECURITY DEFINER current_user is the owner; the session's role is in "role".
      coalesce(nullif(current_setting('role'), 'none'), session_user),
      session_user::text,
      nullif(current_setting('application_name'), ''),
      inet_client_addr(),
      old_part,
      new_part,
      null::bytea
    )::shipslog.deployment_events;
  ev.hash := shipslog.event_hash(old.chain_head, ev);

  insert into shipslog.deployment_events (seq, deployment_id, chain_index, tenant, name, action, occurred_at, txid, actor,
                                          actor_type, reason, correlation_id, request_id, source_ip, user_agent, db_role,
                                          db_user, application_name, client_addr, previous_state, new_state, hash)
  overriding system value
  values (ev.seq, ev.deployment_id, ev.chain_index, ev.tenant, ev.name, ev.action, ev.occurred_at, ev.txid, ev.actor,
          ev.actor_type, ev.reason, ev.correlation_id, ev.request_id, ev.source_ip, ev.user_agent, ev.db_role, ev.db_user,
          ev.application_name, ev.client_addr, ev.previous_state, ev.new_state, ev.hash);

  -- The chain head and the bookkeeping columns, stored with the row in this same write.
  new.chain_head := ev.hash;
  new.chain_length := ev.chain_index;
  new.version := coalesce(old.version + 1, 1);
  new.generation := coalesce(next_generation, old.generation + 1, 1);
  new.updated_at := now();

  if tg_op = 'DELETE' then
    return old;
  end if;
  return new;
end
$function$
function shipslog.tg_deployments__chain_head()
CREATE OR REPLACE FUNCTION shipslog.tg_deployments__chain_head()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  last record;
begin
  select e.chain_index, e.hash
  into last
  from shipslog.deployment_events as e
  where e.deployment_id = new.id
    and e.chain_index > new.chain_length
    and e.txid = pg_current_xact_id()
  order by e.chain_index desc
  limit 1;
  if found then
    new.chain_length := last.chain_index;
    new.chain_head := last.hash;
  end if;
  return new;
end
$function$
function shipslog.tg_deployments__enqueue()
CREATE OR REPLACE FUNCTION shipslog.tg_deployments__enqueue()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
begin
  insert into shipslog.reconcile_queue (deployment_id)
  values (new.id)
  on conflict do nothing;
  return null;
end
$function$
function shipslog.tg_projects__immutable()
CREATE OR REPLACE FUNCTION shipslog.tg_projects__immutable()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
begin
  raise exception 'shipslog.projects rows cannot be changed or removed: % refused', tg_op
    using errcode = 'SL310',
          hint = 'A project is registered by its first agent message and kept; use a new project id instead.';
end
$function$
function shipslog.tg_reconcile_history__append_only()
CREATE OR REPLACE FUNCTION shipslog.tg_reconcile_history__append_only()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
begin
  if tg_op = 'INSERT' then
    if pg_trigger_depth() < 2 then
      raise exception '% is written only by the triggers on shipslog.reconcile_runs', tg_table_name
        using errcode = 'SL205',
              hint = 'Insert or update a row of shipslog.reconcile_runs instead.';
    end if;
    return new;
  end if;
  raise exception '% is append-only: % refused', tg_table_name, tg_op
    using errcode = 'SL204',
          hint = 'Run history cannot be changed or removed.';
end
$function$
function shipslog.tg_reconcile_queue__lease_guard()
CREATE OR REPLACE FUNCTION shipslog.tg_reconcile_queue__lease_guard()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
begin
  if new.lease_id is not null
     and old.lease_id is not null
     and new.lease_id <> old.lease_id
     and old.lease_expires_at > clock_timestamp() then
    raise exception 'deployment % is leased to % until %', old.deployment_id, old.lease_holder, old.lease_expires_at
      using errcode = 'SL221',
            hint = 'Another reconciler holds this deployment; claim it after its lease expires.';
  end if;
  if new.lease_expires_at > clock_timestamp() + interval '1 hour' then
    raise exception 'lease on deployment % would run until %, more than an hour ahead', new.deployment_id, new.lease_expires_at
      using errcode = 'SL221',
            hint = 'Lease for minutes and extend while working, so that a crashed replica''s deployment is soon taken over.';
  end if;
  return new;
end
$function$
function shipslog.tg_reconcile_run_audit__append_only()
CREATE OR REPLACE FUNCTION shipslog.tg_reconcile_run_audit__append_only()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
begin
  if tg_op <> 'INSERT' then
    raise exception 'reconcile_run_audit is append-only: % refused', tg_op
      using errcode = 'SL204',
            hint = 'Run history cannot be changed or removed.';
  end if;
  if not exists (
    select
    from shipslog.reconcile_run_transitions as t
    where t.id = new.transition_id
      and t.to_phase in ('Completed', 'Failed', 'Skipped')
      and (t.run_id, t.deployment_id, t.tenant, t.worker_id, t.correlation_id, t.to_phase = 'Completed', t.duration_ms)
          is not distinct from
          (new.run_id, new.deployment_id, new.tenant, new.worker_id, new.correlation_id, new.success, new.execution_ms)
  ) then
    raise exception 'reconcile_run_audit row for transition % does not mirror a result transition', new.transition_id
      using errcode = 'SL206',
            hint = 'Audit rows are derived from reconcile_run_transitions; run shipslog.backfill_reconcile_run_audit().';
  end if;
  return new;
end
$function$
function shipslog.tg_reconcile_run_transitions__audit()
CREATE OR REPLACE FUNCTION shipslog.tg_reconcile_run_transitions__audit()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
begin
  if new.to_phase in ('Completed', 'Failed', 'Skipped') then
    insert into shipslog.reconcile_run_audit
      (transition_id, run_id, deployment_id, tenant, worker_id, correlation_id, success, execution_ms)
    values
      (new.id, new.run_id, new.deployment_id, new.tenant, new.worker_id, new.correlation_id,
       new.to_phase = 'Completed', new.duration_ms);
  end if;
  return null;
end
$function$
function shipslog.tg_reconcile_runs__record_transition()
CREATE OR REPLACE FUNCTION shipslog.tg_reconcile_runs__record_transition()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
begin
  if tg_op = 'UPDATE' and new.phase = old.phase then
    return null;
  end if;
  insert into shipslog.reconcile_run_transitions
    (run_id, run_started_at, deployment_id, tenant, from_phase, to_phase, outcome, failure_reason,
     skip_reason, duration_ms, worker_id, correlation_id)
  values
    (new.id, new.started_at, new.deployment_id, new.tenant, case when tg_op = 'UPDATE' then old.phase end, new.phase,
     new.outcome, new.failure_reason, new.skip_reason, new.duration_ms, new.worker_id, new.correlation_id);
  return null;
end
$function$
function shipslog.tg_reconcile_runs__transition_guard()
CREATE OR REPLACE FUNCTION shipslog.tg_reconcile_runs__transition_guard()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
begin
  if tg_op = 'INSERT' then
    if new.phase not in ('Pending', 'Running', 'Skipped') then
      raise exception 'reconcile run % cannot start in phase %', new.id, new.phase
        using errcode = 'SL201',
              hint = 'Insert a run as Pending, Running or Skipped, then move it to its result.';
    end if;
  else
    if (new.id, new.started_at, new.deployment_id, new.tenant, new.generation, new.config_hash, new.worker_id, new.correlation_id)
       is distinct from
       (old.id, old.started_at, old.deployment_id, old.tenant, old.generation, old.config_hash, old.worker_id, old.correlation_id) then
      raise exception 'reconcile run % cannot change its identity or attribution', old.id
        using errcode = 'SL202',
              hint = 'Start a new run instead.';
    end if;
    if new.phase is distinct from old.phase
       and not (old.phase, new.phase) in (('Pending', 'Running'), ('Pending', 'Skipped'), ('Pending', 'Failed'),
                                          ('Running', 'Completed'), ('Running', 'Failed')) then
      raise exception 'reconcile run % cannot move from % to %', old.id, old.phase, new.phase
        using errcode = 'SL203',
              hint = 'Completed, Failed and Skipped are final; a retry is a new run.';
    end if;
    if new.phase = old.phase and old.phase in ('Completed', 'Failed', 'Skipped') and new is distinct from old then
      raise exception 'reconcile run % is finished (%) and cannot change', old.id, old.phase
        using errcode = 'SL203',
              hint = 'Completed, Failed and Skipped are final; a retry is a new run.';
    end if;
  end if;
  if new.phase in ('Completed', 'Failed', 'Skipped') and (tg_op = 'INSERT' or old.phase <> new.phase) then
    new.completed_at := clock_timestamp();
    new.duration_ms := greatest(0, round(extract(epoch from new.completed_at - new.started_at) * 1000))::integer;
  end if;
  return new;
end
$function$
function shipslog.tg_retention_records__append_only()
CREATE OR REPLACE FUNCTION shipslog.tg_retention_records__append_only()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
begin
  if tg_op = 'INSERT'
     and (current_user = 'shipslog_audit_retention' and tg_table_name in ('audit_chain_anchors', 'audit_purges')
          or pg_trigger_depth() > 1 and tg_table_name = 'audit_retention_changes') then
    return new;
  end if;
  raise exception 'shipslog.% is append-only and written only by audit retention: % refused', tg_table_name, tg_op
    using errcode = 'SL461',
          hint = 'Retention records are kept; purge with `shipslog purge` (shipslog.purge_audit_events), change periods by updating shipslog.audit_retention.';
end
$function$
function shipslog.utc_day(ts timestamp with time zone)
CREATE OR REPLACE FUNCTION shipslog.utc_day(ts timestamp with time zone)
 RETURNS timestamp with time zone
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
RETURN date_bin('1 day'::interval, ts, '2000-01-01 00:00:00+00'::timestamp with time zone)
function shipslog.verify_chains(p_deployment_id uuid)
CREATE OR REPLACE FUNCTION shipslog.verify_chains(p_deployment_id uuid DEFAULT NULL::uuid)
 RETURNS TABLE(deployment_id uuid, tenant text, name text, chain_index integer, problem text)
 LANGUAGE sql
 STABLE
 SET search_path TO ''
AS $function$
  with starts as (
    select s.deployment_id, s.chain_index, s.hash, s.state, s.removed
    from shipslog.audit_chain_starts as s
    where p_deployment_id is null
      or s.deployment_id = p_deployment_id
  ),
  links as (
    select
      e.deployment_id,
      e.tenant,
      e.name,
      e.chain_index,
      e.action,
      e.hash = shipslog.event_hash(coalesce(lag(e.hash) over w, s.hash), e) as hash_ok,
      coalesce(lag(e.chain_index) over w, s.chain_index, 0) as prev_index,
      coalesce(lag(e.action) over w, case when s.removed then 'removed' end) as prev_action,
      s.chain_index as anchor_index
    from shipslog.deployment_events as e
      left join starts as s
        on s.deployment_id = e.deployment_id
    where p_deployment_id is null
      or e.deployment_id = p_deployment_id
    window w as (partition by e.deployment_id order by e.chain_index)
  ),
  link_problems as (
    select
      l.deployment_id,
      l.tenant,
      l.name,
      l.chain_index,
      case
        when l.chain_index <= l.anchor_index then
          format('event #%s lies in the purged prefix its signed anchor ends at #%s', l.chain_index, l.anchor_index)
        when l.chain_index <= l.prev_index then
          format('event #%s follows #%s: a chain index repeated', l.chain_index, l.prev_index)
        when l.chain_index <> l.prev_index + 1 then
          format('event #%s follows #%s: %s event(s) missing', l.chain_index,
                 l.prev_index, l.chain_index - l.prev_index - 1)
        when not l.hash_ok then
          format('event #%s (%s) does not match its hash: altered, swapped or forged',
                 l.chain_index, l.action)
        when l.prev_action = 'removed' then
          format('event #%s (%s) follows the removed event', l.chain_index, l.action)
        when l.chain_index = 1 and l.action <> 'created' and l.deployment_id <> shipslog.system_chain_id() then
          format('event #1 is %s, not created: the chain''s start is missing', l.action)
      end as problem
    from links as l
  ),
  -- Each chain's end: its last event, else (every event purged) its anchor.
  heads as (
    select distinct on (h.deployment_id)
      h.deployment_id, h.tenant, h.name, h.chain_index, h.hash, h.action
    from (
      select e.deployment_id, e.tenant, e.name, e.chain_index, e.hash, e.action
      from shipslog.deployment_events as e
      where p_deployment_id is null
        or e.deployment_id = p_deployment_id
      union all
      select s.deployment_id, null, null, s.chain_index, s.hash, case when s.removed then 'removed' else '(purged)' end
      from starts as s
    ) as h
    order by h.deployment_id, h.chain_index desc, h.tenant nulls last
  ),
  rows as (
    select
      d.id, d.tenant, d.name, d.chain_length, d.chain_head,
      shipslog.audited_state(d) as state
    from shipslog.deployments as d
    where p_deployment_id is null
      or d.id = p_deployment_id
    union all
    -- The system chain's "row": the newest purge names its last event.
    select shipslog.system_chain_id(), '_system', 'audit-retention', p.event_chain_index, p.event_hash, null
    from (
      select pu.event_chain_index, pu.event_hash
      from shipslog.audit_purges as pu
      order by pu.id desc
      limit 1
    ) as p
    where p_deployment_id is null
      or p_deployment_id = shipslog.system_chain_id()
  ),
  head_problems as (
    select
      coalesce(h.deployment_id, d.id) as deployment_id,
      coalesce(h.tenant, d.tenant) as tenant,
      coalesce(h.name, d.name) as name,
      coalesce(h.chain_index, 0) + 1 as chain_index,
      case
        when h.deployment_id is null then
          'deployment row has no audit events: inserted while audit triggers were bypassed'
        when d.id is null and h.deployment_id = shipslog.system_chain_id() then
          format('the system chain ends at #%s but no purge recorded it: forged', h.chain_index)
        when d.id is null and h.action <> 'removed' then
          format('chain ends at #%s (%s) but the deployment row is gone: deleted while triggers were bypassed, or the chain''s tail was removed',
                 h.chain_index, h.action)
        when d.id is not null and h.action = 'removed' then
          'deployment row exists after its removed event'
        when d.id is not null and (d.chain_length <> h.chain_index or d.chain_head is distinct from h.hash) then
          format('deployment row''s chain head is #%s but the chain ends at #%s: events removed, truncated or forged',
                 d.chain_length, h.chain_index)
        when d.id is not null and d.id <> shipslog.system_chain_id()
             and d.state is distinct from shipslog.replay_state_from(s.state, d.id, coalesce(s.chain_index, 0), h.chain_index) then
          'deployment row differs from the state its events replay to: changed while audit triggers were bypassed'
      end as problem
    from heads as h
      full join rows as d
        on d.id = h.deployment_id
      left join starts as s
        on s.deployment_id = d.id
  )
  select distinct on (p.deployment_id)
    p.deployment_id, p.tenant, p.name, p.chain_index, p.problem
  from (
    select * from link_problems
    union all
    select * from head_problems
  ) as p
  where p.problem is not null
  order by p.deployment_id, p.chain_index
$function$
function shipslog.version_order(from_version text, to_version text)
CREATE OR REPLACE FUNCTION shipslog.version_order(from_version text, to_version text)
 RETURNS integer
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
RETURN (SELECT CASE WHEN ((v.a IS NULL) OR (v.b IS NULL)) THEN NULL::integer WHEN (v.b > v.a) THEN 1 WHEN (v.b < v.a) THEN '-1'::integer ELSE 0 END AS "case" FROM (SELECT (string_to_array(regexp_replace("substring"(version_order.from_version, '^[vV]?([0-9]+(?:\.[0-9]+)*)'::text), '(\.0+)+$'::text, ''::text), '.'::text))::numeric[] AS string_to_array, (string_to_array(regexp_replace("substring"(version_order.to_version, '^[vV]?([0-9]+(?:\.[0-9]+)*)'::text), '(\.0+)+$'::text, ''::text), '.'::text))::numeric[] AS string_to_array) v(a, b))
trigger CREATE TRIGGER agent_message_daily_guard BEFORE INSERT OR DELETE OR UPDATE ON shipslog.agent_message_daily FOR EACH ROW EXECUTE FUNCTION shipslog.tg_agent_message_daily__guard()
trigger CREATE TRIGGER agent_message_daily_no_truncate BEFORE TRUNCATE ON shipslog.agent_message_daily FOR EACH STATEMENT EXECUTE FUNCTION shipslog.tg_audit_records__no_truncate('shipslog.agent_message_daily follows shipslog.agent_messages through its triggers; purge messages with shipslog.purge_agent_messages(interval) and the sums follow.')
trigger CREATE TRIGGER agent_message_retention_runs_append_only BEFORE INSERT OR DELETE OR UPDATE ON shipslog.agent_message_retention_runs FOR EACH ROW EXECUTE FUNCTION shipslog.tg_agent_message_retention_runs__append_only()
trigger CREATE TRIGGER agent_message_retention_runs_no_truncate BEFORE TRUNCATE ON shipslog.agent_message_retention_runs FOR EACH STATEMENT EXECUTE FUNCTION shipslog.tg_audit_records__no_truncate('shipslog.agent_message_retention_runs records every purge and is kept; run retention with shipslog.purge_agent_messages(interval) or `shipslog agent-messages purge`.')
trigger CREATE TRIGGER agent_messages_10_guard BEFORE INSERT OR DELETE OR UPDATE ON shipslog.agent_messages FOR EACH ROW EXECUTE FUNCTION shipslog.tg_agent_messages__guard()
trigger CREATE TRIGGER agent_messages_daily AFTER INSERT OR UPDATE ON shipslog.agent_messages FOR EACH ROW EXECUTE FUNCTION shipslog.tg_agent_messages__daily()
trigger CREATE TRIGGER agent_messages_daily_delete AFTER DELETE ON shipslog.agent_messages REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION shipslog.tg_agent_messages__daily_delete()
trigger CREATE TRIGGER agent_messages_no_truncate BEFORE TRUNCATE ON shipslog.agent_messages FOR EACH STATEMENT EXECUTE FUNCTION shipslog.tg_audit_records__no_truncate('Rows of shipslog.agent_messages are removed past retention only, by shipslog.purge_agent_messages(interval) or `shipslog agent-messages purge`.')
trigger CREATE TRIGGER approval_decisions_append_only BEFORE DELETE OR UPDATE ON shipslog.approval_decisions FOR EACH ROW EXECUTE FUNCTION shipslog.tg_compliance_records__append_only()
trigger CREATE TRIGGER approval_decisions_no_truncate BEFORE TRUNCATE ON shipslog.approval_decisions FOR EACH STATEMENT EXECUTE FUNCTION shipslog.tg_audit_records__no_truncate()
trigger CREATE TRIGGER approval_policy_changes_append_only BEFORE DELETE OR UPDATE ON shipslog.approval_policy_changes FOR EACH ROW EXECUTE FUNCTION shipslog.tg_compliance_records__append_only()
trigger CREATE TRIGGER approval_policy_changes_no_truncate BEFORE TRUNCATE ON shipslog.approval_policy_changes FOR EACH STATEMENT EXECUTE FUNCTION shipslog.tg_audit_records__no_truncate()
trigger CREATE TRIGGER approval_requests_no_delete BEFORE DELETE ON shipslog.approval_requests FOR EACH ROW EXECUTE FUNCTION shipslog.tg_compliance_records__append_only()
trigger CREATE TRIGGER approval_requests_no_truncate BEFORE TRUNCATE ON shipslog.approval_requests FOR EACH STATEMENT EXECUTE FUNCTION shipslog.tg_audit_records__no_truncate()
trigger CREATE TRIGGER audit_chain_anchors_append_only BEFORE INSERT OR DELETE OR UPDATE ON shipslog.audit_chain_anchors FOR EACH ROW EXECUTE FUNCTION shipslog.tg_retention_records__append_only()
trigger CREATE TRIGGER audit_chain_anchors_no_truncate BEFORE TRUNCATE ON shipslog.audit_chain_anchors FOR EACH STATEMENT EXECUTE FUNCTION shipslog.tg_audit_records__no_truncate('shipslog.audit_chain_anchors are where purged chains start; verification needs them.')
trigger CREATE TRIGGER audit_checkpoint_heads_append_only BEFORE DELETE OR UPDATE ON shipslog.audit_checkpoint_heads FOR EACH ROW EXECUTE FUNCTION shipslog.tg_audit_checkpoints__append_only()
trigger CREATE TRIGGER audit_checkpoint_heads_no_truncate BEFORE TRUNCATE ON shipslog.audit_checkpoint_heads FOR EACH STATEMENT EXECUTE FUNCTION shipslog.tg_audit_records__no_truncate('shipslog.audit_checkpoint_heads cannot be removed: inclusion proofs and exports read the signed leaves; take a new checkpoint instead (shipslog checkpoint).')
trigger CREATE TRIGGER audit_checkpoints_append_only BEFORE DELETE OR UPDATE ON shipslog.audit_checkpoints FOR EACH ROW EXECUTE FUNCTION shipslog.tg_audit_checkpoints__append_only()
trigger CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON shipslog.audit_checkpoints FOR EACH STATEMENT EXECUTE FUNCTION shipslog.tg_audit_records__no_truncate('shipslog.audit_checkpoints cannot be removed: verification checks its signed digests; take a new checkpoint instead (shipslog checkpoint).')
trigger CREATE TRIGGER audit_purges_append_only BEFORE INSERT OR DELETE OR UPDATE ON shipslog.audit_purges FOR EACH ROW EXECUTE FUNCTION shipslog.tg_retention_records__append_only()
trigger CREATE TRIGGER audit_purges_no_truncate BEFORE TRUNCATE ON shipslog.audit_purges FOR EACH STATEMENT EXECUTE FUNCTION shipslog.tg_audit_records__no_truncate('shipslog.audit_purges records every purge and is kept.')
trigger CREATE TRIGGER audit_retention_no_truncate BEFORE TRUNCATE ON shipslog.audit_retention FOR EACH STATEMENT EXECUTE FUNCTION shipslog.tg_audit_records__no_truncate('Change retention periods with UPDATE (each change is recorded in shipslog.audit_retention_changes); keep_for null keeps a category forever.')
trigger CREATE TRIGGER audit_retention_record_change BEFORE INSERT OR DELETE OR UPDATE ON shipslog.audit_retention FOR EACH ROW EXECUTE FUNCTION shipslog.tg_audit_retention__record_change()
trigger CREATE TRIGGER audit_retention_changes_append_only BEFORE INSERT OR DELETE OR UPDATE ON shipslog.audit_retention_changes FOR EACH ROW EXECUTE FUNCTION shipslog.tg_retention_records__append_only()
trigger CREATE TRIGGER audit_retention_changes_no_truncate BEFORE TRUNCATE ON shipslog.audit_retention_changes FOR EACH STATEMENT EXECUTE FUNCTION shipslog.tg_audit_records__no_truncate('shipslog.audit_retention_changes records every change of the retention periods and is kept.')
trigger CREATE TRIGGER deployment_events_append_only BEFORE DELETE OR UPDATE ON shipslog.deployment_events FOR EACH ROW EXECUTE FUNCTION shipslog.tg_deployment_events__append_only()
trigger CREATE TRIGGER deployment_events_no_forged_insert BEFORE INSERT ON shipslog.deployment_events FOR EACH ROW WHEN ((pg_trigger_depth() = 0)) EXECUTE FUNCTION shipslog.tg_deployment_events__append_only()
trigger CREATE TRIGGER deployment_events_no_truncate BEFORE TRUNCATE ON shipslog.deployment_events FOR EACH STATEMENT EXECUTE FUNCTION shipslog.tg_audit_records__no_truncate('shipslog.deployment_events is audit history and is never removed; record a correcting change on the deployment instead.')
trigger CREATE TRIGGER deployment_events_append_only BEFORE DELETE OR UPDATE ON shipslog.deployment_events_default FOR EACH ROW EXECUTE FUNCTION shipslog.tg_deployment_events__append_only()
trigger CREATE TRIGGER deployment_events_no_forged_insert BEFORE INSERT ON shipslog.deployment_events_default FOR EACH ROW WHEN ((pg_trigger_depth() = 0)) EXECUTE FUNCTION shipslog.tg_deployment_events__append_only()
trigger CREATE TRIGGER deployment_events_no_truncate BEFORE TRUNCATE ON shipslog.deployment_events_default FOR EACH STATEMENT EXECUTE FUNCTION shipslog.tg_audit_records__no_truncate('Rows of shipslog.deployment_events (in any of its partitions) are audit history; old chain prefixes leave only through shipslog.purge_audit_events() (`shipslog purge`).')
trigger CREATE TRIGGER deployments_audit BEFORE INSERT OR DELETE OR UPDATE ON shipslog.deployments FOR EACH ROW EXECUTE FUNCTION shipslog.tg_deployments__audit()
trigger CREATE TRIGGER deployments_chain_head BEFORE UPDATE ON shipslog.deployments FOR EACH ROW WHEN ((new.chain_length = old.chain_length)) EXECUTE FUNCTION shipslog.tg_deployments__chain_head()
trigger CREATE TRIGGER deployments_enqueue AFTER INSERT ON shipslog.deployments FOR EACH ROW EXECUTE FUNCTION shipslog.tg_deployments__enqueue()
trigger CREATE TRIGGER deployments_no_truncate BEFORE TRUNCATE ON shipslog.deployments FOR EACH STATEMENT EXECUTE FUNCTION shipslog.tg_audit_records__no_truncate('Remove rows of shipslog.deployments with DELETE (by id, with a WHERE clause, or all of them): the audit trigger writes each one''s removed event.')
trigger CREATE TRIGGER gate_results_append_only BEFORE DELETE OR UPDATE ON shipslog.gate_results FOR EACH ROW EXECUTE FUNCTION shipslog.tg_compliance_records__append_only()
trigger CREATE TRIGGER gate_results_no_truncate BEFORE TRUNCATE ON shipslog.gate_results FOR EACH STATEMENT EXECUTE FUNCTION shipslog.tg_audit_records__no_truncate()
trigger CREATE TRIGGER projects_immutable BEFORE DELETE OR UPDATE ON shipslog.projects FOR EACH ROW EXECUTE FUNCTION shipslog.tg_projects__immutable()
trigger CREATE TRIGGER projects_no_truncate BEFORE TRUNCATE ON shipslog.projects FOR EACH STATEMENT EXECUTE FUNCTION shipslog.tg_audit_records__no_truncate('Rows of shipslog.projects are kept for the agent messages that point at them; register a new project id instead.')
trigger CREATE TRIGGER reconcile_queue_10_lease_guard BEFORE UPDATE OF lease_id, lease_expires_at ON shipslog.reconcile_queue FOR EACH ROW EXECUTE FUNCTION shipslog.tg_reconcile_queue__lease_guard()
trigger CREATE TRIGGER reconcile_run_audit_append_only BEFORE INSERT OR DELETE OR UPDATE ON shipslog.reconcile_run_audit FOR EACH ROW EXECUTE FUNCTION shipslog.tg_reconcile_run_audit__append_only()
trigger CREATE TRIGGER reconcile_run_audit_no_truncate BEFORE TRUNCATE ON shipslog.reconcile_run_audit FOR EACH STATEMENT EXECUTE FUNCTION shipslog.tg_audit_records__no_truncate('Rows of shipslog.reconcile_run_audit are run history and are kept; missing ones are added by shipslog.backfill_reconcile_run_audit().')
trigger CREATE TRIGGER reconcile_run_transitions_append_only BEFORE INSERT OR DELETE OR UPDATE ON shipslog.reconcile_run_transitions FOR EACH ROW EXECUTE FUNCTION shipslog.tg_reconcile_history__append_only()
trigger CREATE TRIGGER reconcile_run_transitions_audit AFTER INSERT ON shipslog.reconcile_run_transitions FOR EACH ROW EXECUTE FUNCTION shipslog.tg_reconcile_run_transitions__audit()
trigger CREATE TRIGGER reconcile_run_transitions_no_truncate BEFORE TRUNCATE ON shipslog.reconcile_run_transitions FOR EACH STATEMENT EXECUTE FUNCTION shipslog.tg_audit_records__no_truncate('Rows of shipslog.reconcile_run_transitions are run history and are kept; they follow the phase changes of shipslog.reconcile_runs.')
trigger CREATE TRIGGER reconcile_runs_10_transition_guard BEFORE INSERT OR UPDATE ON shipslog.reconcile_runs FOR EACH ROW EXECUTE FUNCTION shipslog.tg_reconcile_runs__transition_guard()
trigger CREATE TRIGGER reconcile_runs_no_truncate BEFORE TRUNCATE ON shipslog.reconcile_runs FOR EACH STATEMENT EXECUTE FUNCTION shipslog.tg_audit_records__no_truncate('Rows of shipslog.reconcile_runs (in any of its partitions) are run history and are kept: a run ends as Completed, Failed or Skipped, and a retry is a new run.')
trigger CREATE TRIGGER reconcile_runs_record_transition AFTER INSERT OR UPDATE OF phase ON shipslog.reconcile_runs FOR EACH ROW EXECUTE FUNCTION shipslog.tg_reconcile_runs__record_transition()
trigger CREATE TRIGGER reconcile_runs_10_transition_guard BEFORE INSERT OR UPDATE ON shipslog.reconcile_runs_default FOR EACH ROW EXECUTE FUNCTION shipslog.tg_reconcile_runs__transition_guard()
trigger CREATE TRIGGER reconcile_runs_no_truncate BEFORE TRUNCATE ON shipslog.reconcile_runs_default FOR EACH STATEMENT EXECUTE FUNCTION shipslog.tg_audit_records__no_truncate('Rows of shipslog.reconcile_runs (in any of its partitions) are run history and are kept: a run ends as Completed, Failed or Skipped, and a retry is a new run.')
trigger CREATE TRIGGER reconcile_runs_record_transition AFTER INSERT OR UPDATE OF phase ON shipslog.reconcile_runs_default FOR EACH ROW EXECUTE FUNCTION shipslog.tg_reconcile_runs__record_transition()
view agent_message_deployment_changes as
 SELECT e.seq,
    e.deployment_id,
    e.tenant,
    e.name,
    e.chain_index,
    e.action,
    e.occurred_at,
    e.actor,
    m.message_id,
    m.project_id,
    m.model,
    m.prompt_tokens,
    m.completion_tokens,
    m.total_tokens,
    m.prompt_cost,
    m.completion_cost,
    m.total_cost,
    m.finalised_at
   FROM shipslog.deployment_events e
     JOIN shipslog.agent_messages m ON m.message_id = e.correlation_id AND m.tenant = e.tenant;
view audit_chain_starts as
 SELECT DISTINCT ON (deployment_id) deployment_id,
    chain_index,
    hash,
    state,
    removed,
    id AS anchor_id
   FROM shipslog.audit_chain_anchors a
  ORDER BY deployment_id, chain_index DESC;
view reconcile_lock_effectiveness as
 WITH recent AS (
         SELECT r.skip_reason,
            r.deployment_id
           FROM shipslog.reconcile_runs r
          WHERE r.started_at > (now() - '7 days'::interval)
        )
 SELECT COALESCE(skip_reason, 'none'::text) AS skip_reason,
    count(*) AS runs,
    count(DISTINCT deployment_id) AS deployments,
    round(100.0 * count(*)::numeric / sum(count(*)) OVER (), 2) AS percent_of_runs
   FROM recent
  GROUP BY skip_reason;
view reconcile_recent_failed_runs as
 SELECT completed_at,
    started_at,
    target,
    tenant,
    name,
    generation,
    failure_reason,
    failure_message,
    duration_ms,
    worker_id,
    correlation_id,
    run_id,
    deployment_id
   FROM shipslog.reconcile_failed_runs() f(completed_at, started_at, target, tenant, name, generation, failure_reason, failure_message, duration_ms, worker_id, correlation_id, run_id, deployment_id);
view reconcile_recent_failures as
 SELECT target,
    count(*) AS failures,
    count(DISTINCT deployment_id) AS deployments,
    max(completed_at) AS last_failure_at,
    (array_agg(failure_reason ORDER BY completed_at DESC))[1] AS last_failure_reason,
    (array_agg(failure_message ORDER BY completed_at DESC))[1] AS last_failure_message
   FROM shipslog.reconcile_failed_runs() f(completed_at, started_at, target, tenant, name, generation, failure_reason, failure_message, duration_ms, worker_id, correlation_id, run_id, deployment_id)
  GROUP BY target;
view reconcile_success_rate as
 SELECT target,
    count(*) AS runs,
    count(*) FILTER (WHERE phase = 'Completed'::text) AS completed,
    count(*) FILTER (WHERE phase = 'Failed'::text) AS failed,
    count(*) FILTER (WHERE phase = 'Skipped'::text) AS skipped,
    round(100.0 * count(*) FILTER (WHERE phase = 'Completed'::text)::numeric / NULLIF(count(*) FILTER (WHERE phase = ANY (ARRAY['Completed'::text, 'Failed'::text])), 0)::numeric, 2) AS success_percent,
    round(avg(duration_ms) FILTER (WHERE phase = 'Completed'::text)) AS avg_duration_ms
   FROM shipslog.reconcile_runs r
  WHERE started_at > (now() - '30 days'::interval)
  GROUP BY target;
policy agent_message_daily_auditor on agent_message_daily permissive for select to shipslog_auditor using (true)
policy agent_message_daily_owner on agent_message_daily permissive for all to postgres using (((COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = '*'::text) OR (COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = tenant))) with check (((COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = '*'::text) OR (COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = tenant)))
policy agent_message_daily_tenant on agent_message_daily permissive for select to shipslog_app using (shipslog.tenant_visible(tenant))
policy agent_messages_auditor on agent_messages permissive for select to shipslog_auditor using (true)
policy agent_messages_owner on agent_messages permissive for all to postgres using (((COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = '*'::text) OR (COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = tenant))) with check (((COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = '*'::text) OR (COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = tenant)))
policy agent_messages_retention on agent_messages permissive for all to shipslog_agent_retention using (true)
policy agent_messages_tenant on agent_messages permissive for all to shipslog_app using (shipslog.tenant_visible(tenant)) with check (shipslog.tenant_visible(tenant))
policy approval_decisions_app_tenant on approval_decisions permissive for select to shipslog_app using (shipslog.tenant_visible(tenant))
policy approval_decisions_auditor_all on approval_decisions permissive for select to shipslog_auditor using (true)
policy approval_decisions_owner on approval_decisions permissive for all to postgres using (((COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = '*'::text) OR (COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = tenant))) with check (((COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = '*'::text) OR (COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = tenant)))
policy approval_decisions_reconciler_all on approval_decisions permissive for select to shipslog_reconciler using (true)
policy approval_policies_app_tenant on approval_policies permissive for select to shipslog_app using (shipslog.tenant_visible(tenant))
policy approval_policies_auditor_all on approval_policies permissive for select to shipslog_auditor using (true)
policy approval_policies_owner on approval_policies permissive for all to postgres using (((COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = '*'::text) OR (COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = tenant))) with check (((COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = '*'::text) OR (COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = tenant)))
policy approval_policies_reconciler_all on approval_policies permissive for select to shipslog_reconciler using (true)
policy approval_policy_changes_app_tenant on approval_policy_changes permissive for select to shipslog_app using (shipslog.tenant_visible(tenant))
policy approval_policy_changes_auditor_all on approval_policy_changes permissive for select to shipslog_auditor using (true)
policy approval_policy_changes_owner on approval_policy_changes permissive for all to postgres using (((COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = '*'::text) OR (COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = tenant))) with check (((COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = '*'::text) OR (COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = tenant)))
policy approval_policy_changes_reconciler_all on approval_policy_changes permissive for select to shipslog_reconciler using (true)
policy approval_requests_app_tenant on approval_requests permissive for select to shipslog_app using (shipslog.tenant_visible(tenant))
policy approval_requests_auditor_all on approval_requests permissive for select to shipslog_auditor using (true)
policy approval_requests_owner on approval_requests permissive for all to postgres using (((COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = '*'::text) OR (COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = tenant))) with check (((COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = '*'::text) OR (COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = tenant)))
policy approval_requests_reconciler_all on approval_requests permissive for select to shipslog_reconciler using (true)
policy deployment_events_app_tenant on deployment_events permissive for select to shipslog_app using (shipslog.tenant_visible(tenant))
policy deployment_events_audit_retention on deployment_events permissive for all to shipslog_audit_retention using (true) with check (true)
policy deployment_events_auditor_all on deployment_events permissive for select to shipslog_auditor using (true)
policy deployment_events_owner on deployment_events permissive for all to postgres using (((COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = '*'::text) OR (COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = tenant))) with check (((COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = '*'::text) OR (COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = tenant)))
policy deployment_events_reconciler_all on deployment_events permissive for select to shipslog_reconciler using (true)
policy deployments_app_tenant on deployments permissive for all to shipslog_app using (shipslog.tenant_visible(tenant)) with check (shipslog.tenant_visible(tenant))
policy deployments_auditor_all on deployments permissive for select to shipslog_auditor using (true)
policy deployments_owner on deployments permissive for all to postgres using (((COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = '*'::text) OR (COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = tenant))) with check (((COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = '*'::text) OR (COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = tenant)))
policy deployments_reconciler_all on deployments permissive for all to shipslog_reconciler using (true) with check (true)
policy gate_results_app_tenant on gate_results permissive for select to shipslog_app using (shipslog.tenant_visible(tenant))
policy gate_results_auditor_all on gate_results permissive for select to shipslog_auditor using (true)
policy gate_results_owner on gate_results permissive for all to postgres using (((COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = '*'::text) OR (COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = tenant))) with check (((COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = '*'::text) OR (COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = tenant)))
policy gate_results_reconciler_all on gate_results permissive for select to shipslog_reconciler using (true)
policy idempotency_keys_app_tenant on idempotency_keys permissive for all to shipslog_app using (shipslog.tenant_visible(tenant)) with check (shipslog.tenant_visible(tenant))
policy idempotency_keys_owner on idempotency_keys permissive for all to postgres using (((COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = '*'::text) OR (COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = tenant))) with check (((COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = '*'::text) OR (COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = tenant)))
policy projects_auditor on projects permissive for select to shipslog_auditor using (true)
policy projects_owner on projects permissive for all to postgres using (((COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = '*'::text) OR (COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = tenant))) with check (((COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = '*'::text) OR (COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = tenant)))
policy projects_tenant on projects permissive for select to shipslog_app using (shipslog.tenant_visible(tenant))
policy reconcile_run_audit_app_tenant on reconcile_run_audit permissive for select to shipslog_app using (shipslog.tenant_visible(tenant))
policy reconcile_run_audit_owner on reconcile_run_audit permissive for all to postgres using (((COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = '*'::text) OR (COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = tenant))) with check (((COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = '*'::text) OR (COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = tenant)))
policy reconcile_run_audit_read_all on reconcile_run_audit permissive for select to shipslog_auditor, shipslog_reconciler using (true)
policy reconcile_run_transitions_app_tenant on reconcile_run_transitions permissive for select to shipslog_app using (shipslog.tenant_visible(tenant))
policy reconcile_run_transitions_owner on reconcile_run_transitions permissive for all to postgres using (((COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = '*'::text) OR (COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = tenant))) with check (((COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = '*'::text) OR (COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = tenant)))
policy reconcile_run_transitions_read_all on reconcile_run_transitions permissive for select to shipslog_auditor, shipslog_reconciler using (true)
policy reconcile_runs_app_tenant on reconcile_runs permissive for select to shipslog_app using (shipslog.tenant_visible(tenant))
policy reconcile_runs_owner on reconcile_runs permissive for all to postgres using (((COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = '*'::text) OR (COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = tenant))) with check (((COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = '*'::text) OR (COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = tenant)))
policy reconcile_runs_reconciler_all on reconcile_runs permissive for all to shipslog_auditor, shipslog_reconciler using (true) with check (true)
grant DELETE, INSERT, SELECT on table deployment_events to shipslog_audit_retention
grant DELETE, INSERT, SELECT, UPDATE on table deployments to shipslog_app
grant DELETE, INSERT, SELECT, UPDATE on table idempotency_keys to shipslog_app
grant DELETE, SELECT on table agent_messages to shipslog_agent_retention
grant DELETE, SELECT, UPDATE on table deployments to shipslog_reconciler
grant EXECUTE on function action_severity(action text) to shipslog_app
grant EXECUTE on function action_severity(action text) to shipslog_auditor
grant EXECUTE on function action_severity(action text) to shipslog_reconciler
grant EXECUTE on function agent_analytics(p_project_id text, p_from timestamp with time zone, p_to timestamp with time zone, p_recent integer) to shipslog_app
grant EXECUTE on function agent_analytics(p_project_id text, p_from timestamp with time zone, p_to timestamp with time zone, p_recent integer) to shipslog_auditor
grant EXECUTE on function agent_analytics_scan(p_project_id text, p_from timestamp with time zone, p_to timestamp with time zone, p_recent integer) to shipslog_app
grant EXECUTE on function agent_analytics_scan(p_project_id text, p_from timestamp with time zone, p_to timestamp with time zone, p_recent integer) to shipslog_auditor
grant EXECUTE on function agent_attribution() to shipslog_agent_retention
grant EXECUTE on function agent_attribution() to shipslog_app
grant EXECUTE on function agent_message_daily_drift() to shipslog_auditor
grant EXECUTE on function anchor_message(p_deployment_id uuid, p_chain_index integer, p_hash bytea, p_state jsonb, p_removed boolean, p_judged_at timestamp with time zone) to shipslog_app
grant EXECUTE on function anchor_message(p_deployment_id uuid, p_chain_index integer, p_hash bytea, p_state jsonb, p_removed boolean, p_judged_at timestamp with time zone) to shipslog_audit_retention
grant EXECUTE on function anchor_message(p_deployment_id uuid, p_chain_index integer, p_hash bytea, p_state jsonb, p_removed boolean, p_judged_at timestamp with time zone) to shipslog_auditor
grant EXECUTE on function anchor_message(p_deployment_id uuid, p_chain_index integer, p_hash bytea, p_state jsonb, p_removed boolean, p_judged_at timestamp with time zone) to shipslog_reconciler
grant EXECUTE on function apply_event(state jsonb, previous_part jsonb, new_part jsonb) to shipslog_app
grant EXECUTE on function apply_event(state jsonb, previous_part jsonb, new_part jsonb) to shipslog_audit_retention
grant EXECUTE on function apply_event(state jsonb, previous_part jsonb, new_part jsonb) to shipslog_auditor
grant EXECUTE on function apply_event(state jsonb, previous_part jsonb, new_part jsonb) to shipslog_reconciler
grant EXECUTE on function audit_retention_cuts(p_at timestamp with time zone) to shipslog_audit_retention
grant EXECUTE on function audit_retention_cuts(p_at timestamp with time zone) to shipslog_reconciler
grant EXECUTE on function audit_retention_minimums() to shipslog_app
grant EXECUTE on function audit_retention_minimums() to shipslog_auditor
grant EXECUTE on function audited_state(d shipslog.deployments) to shipslog_app
grant EXECUTE on function audited_state(d shipslog.deployments) to shipslog_auditor
grant EXECUTE on function audited_state(d shipslog.deployments) to shipslog_reconciler
grant EXECUTE on function begin_rollout(p_deployment_id uuid, p_generation bigint, p_run_id uuid) to shipslog_reconciler
grant EXECUTE on function caller_sees_tenant(p_tenant text) to shipslog_app
grant EXECUTE on function caller_sees_tenant(p_tenant text) to shipslog_auditor
grant EXECUTE on function caller_sees_tenant(p_tenant text) to shipslog_reconciler
grant EXECUTE on function cancel_approval(p_request_id uuid, p_because text) to shipslog_app
grant EXECUTE on function caused_by(p_correlation_id text) to shipslog_app
grant EXECUTE on function caused_by(p_correlation_id text) to shipslog_auditor
grant EXECUTE on function caused_by(p_correlation_id text) to shipslog_reconciler
grant EXECUTE on function chain_digest(p_snapshot pg_snapshot) to shipslog_app
grant EXECUTE on function chain_digest(p_snapshot pg_snapshot) to shipslog_auditor
grant EXECUTE on function chain_digest(p_snapshot pg_snapshot) to shipslog_reconciler
grant EXECUTE on function checkpoint_digest(p_version smallint, p_snapshot pg_snapshot) to shipslog_app
grant EXECUTE on function checkpoint_digest(p_version smallint, p_snapshot pg_snapshot) to shipslog_auditor
grant EXECUTE on function checkpoint_digest(p_version smallint, p_snapshot pg_snapshot) to shipslog_reconciler
grant EXECUTE on function checkpoint_heads(p_snapshot pg_snapshot) to shipslog_app
grant EXECUTE on function checkpoint_heads(p_snapshot pg_snapshot) to shipslog_auditor
grant EXECUTE on function checkpoint_heads(p_snapshot pg_snapshot) to shipslog_reconciler
grant EXECUTE on function checkpoint_message(c shipslog.audit_checkpoints) to shipslog_app
grant EXECUTE on function checkpoint_message(c shipslog.audit_checkpoints) to shipslog_auditor
grant EXECUTE on function checkpoint_message(c shipslog.audit_checkpoints) to shipslog_reconciler
grant EXECUTE on function checkpoint_message(p_snapshot pg_snapshot, p_chain_count bigint, p_event_count bigint, p_digest bytea) to shipslog_app
grant EXECUTE on function checkpoint_message(p_snapshot pg_snapshot, p_chain_count bigint, p_event_count bigint, p_digest bytea) to shipslog_auditor
grant EXECUTE on function checkpoint_message(p_snapshot pg_snapshot, p_chain_count bigint, p_event_count bigint, p_digest bytea) to shipslog_reconciler
grant EXECUTE on function checkpoint_message(p_version smallint, p_snapshot pg_snapshot, p_chain_count bigint, p_event_count bigint, p_digest bytea) to shipslog_app
grant EXECUTE on function checkpoint_message(p_version smallint, p_snapshot pg_snapshot, p_chain_count bigint, p_event_count bigint, p_digest bytea) to shipslog_auditor
grant EXECUTE on function checkpoint_message(p_version smallint, p_snapshot pg_snapshot, p_chain_count bigint, p_event_count bigint, p_digest bytea) to shipslog_reconciler
grant EXECUTE on function checkpoint_root(p_snapshot pg_snapshot) to shipslog_app
grant EXECUTE on function checkpoint_root(p_snapshot pg_snapshot) to shipslog_auditor
grant EXECUTE on function checkpoint_root(p_snapshot pg_snapshot) to shipslog_reconciler
grant EXECUTE on function compliance_applied_changes(p_from timestamp with time zone, p_to timestamp with time zone, p_tenant text, p_deployment_id uuid, p_environment text) to shipslog_app
grant EXECUTE on function compliance_applied_changes(p_from timestamp with time zone, p_to timestamp with time zone, p_tenant text, p_deployment_id uuid, p_environment text) to shipslog_auditor
grant EXECUTE on function compliance_check_approvals(p_from timestamp with time zone, p_to timestamp with time zone, p_tenant text, p_deployment_id uuid, p_environment text) to shipslog_app
grant EXECUTE on function compliance_check_approvals(p_from timestamp with time zone, p_to timestamp with time zone, p_tenant text, p_deployment_id uuid, p_environment text) to shipslog_auditor
grant EXECUTE on function compliance_check_chains(p_from timestamp with time zone, p_to timestamp with time zone, p_tenant text, p_deployment_id uuid, p_environment text) to shipslog_app
grant EXECUTE on function compliance_check_chains(p_from timestamp with time zone, p_to timestamp with time zone, p_tenant text, p_deployment_id uuid, p_environment text) to shipslog_auditor
grant EXECUTE on function compliance_check_changes_outside_api(p_from timestamp with time zone, p_to timestamp with time zone, p_tenant text, p_deployment_id uuid, p_environment text) to shipslog_app
grant EXECUTE on function compliance_check_changes_outside_api(p_from timestamp with time zone, p_to timestamp with time zone, p_tenant text, p_deployment_id uuid, p_environment text) to shipslog_auditor
grant EXECUTE on function compliance_check_checkpoints(p_from timestamp with time zone, p_to timestamp with time zone, p_tenant text, p_deployment_id uuid, p_environment text) to shipslog_app
grant EXECUTE on function compliance_check_checkpoints(p_from timestamp with time zone, p_to timestamp with time zone, p_tenant text, p_deployment_id uuid, p_environment text) to shipslog_auditor
grant EXECUTE on function compliance_check_gates(p_from timestamp with time zone, p_to timestamp with time zone, p_tenant text, p_deployment_id uuid, p_environment text) to shipslog_app
grant EXECUTE on function compliance_check_gates(p_from timestamp with time zone, p_to timestamp with time zone, p_tenant text, p_deployment_id uuid, p_environment text) to shipslog_auditor
grant EXECUTE on function compliance_check_immutable_storage(p_from timestamp with time zone, p_to timestamp with time zone, p_tenant text, p_deployment_id uuid, p_environment text) to shipslog_app
grant EXECUTE on function compliance_check_immutable_storage(p_from timestamp with time zone, p_to timestamp with time zone, p_tenant text, p_deployment_id uuid, p_environment text) to shipslog_auditor
grant EXECUTE on function compliance_check_retention(p_from timestamp with time zone, p_to timestamp with time zone, p_tenant text, p_deployment_id uuid, p_environment text) to shipslog_app
grant EXECUTE on function compliance_check_retention(p_from timestamp with time zone, p_to timestamp with time zone, p_tenant text, p_deployment_id uuid, p_environment text) to shipslog_auditor
grant EXECUTE on function compliance_deployments(p_tenant text, p_deployment_id uuid, p_environment text) to shipslog_app
grant EXECUTE on function compliance_deployments(p_tenant text, p_deployment_id uuid, p_environment text) to shipslog_auditor
grant EXECUTE on function compliance_policies_in_scope(p_to timestamp with time zone, p_tenant text, p_deployment_id uuid, p_environment text) to shipslog_app
grant EXECUTE on function compliance_policies_in_scope(p_to timestamp with time zone, p_tenant text, p_deployment_id uuid, p_environment text) to shipslog_auditor
grant EXECUTE on function compliance_report(p_from timestamp with time zone, p_to timestamp with time zone, p_tenant text, p_deployment_id uuid, p_environment text, p_checks text[]) to shipslog_app
grant EXECUTE on function compliance_report(p_from timestamp with time zone, p_to timestamp with time zone, p_tenant text, p_deployment_id uuid, p_environment text, p_checks text[]) to shipslog_auditor
grant EXECUTE on function compliance_window_check(p_from timestamp with time zone, p_to timestamp with time zone) to shipslog_app
grant EXECUTE on function compliance_window_check(p_from timestamp with time zone, p_to timestamp with time zone) to shipslog_auditor
grant EXECUTE on function context_actor() to shipslog_app
grant EXECUTE on function context_actor() to shipslog_auditor
grant EXECUTE on function context_actor() to shipslog_reconciler
grant EXECUTE on function context_setting(setting_name text) to shipslog_agent_retention
grant EXECUTE on function context_setting(setting_name text) to shipslog_app
grant EXECUTE on function context_setting(setting_name text) to shipslog_audit_retention
grant EXECUTE on function context_setting(setting_name text) to shipslog_auditor
grant EXECUTE on function context_setting(setting_name text) to shipslog_reconciler
grant EXECUTE on function decide_approval(p_request_id uuid, p_decision text, p_reason text) to shipslog_app
grant EXECUTE on function decimal_text(value numeric) to shipslog_app
grant EXECUTE on function decimal_text(value numeric) to shipslog_auditor
grant EXECUTE on function deployment_agent_cost(p_deployment_id uuid) to shipslog_app
grant EXECUTE on function deployment_agent_cost(p_deployment_id uuid) to shipslog_auditor
grant EXECUTE on function deployment_diff(o shipslog.deployments, n shipslog.deployments, OUT old_part jsonb, OUT new_part jsonb) to shipslog_app
grant EXECUTE on function deployment_diff(o shipslog.deployments, n shipslog.deployments, OUT old_part jsonb, OUT new_part jsonb) to shipslog_auditor
grant EXECUTE on function deployment_diff(o shipslog.deployments, n shipslog.deployments, OUT old_part jsonb, OUT new_part jsonb) to shipslog_reconciler
grant EXECUTE on function derive_action(old_state jsonb, new_state jsonb) to shipslog_app
grant EXECUTE on function derive_action(old_state jsonb, new_state jsonb) to shipslog_auditor
grant EXECUTE on function derive_action(old_state jsonb, new_state jsonb) to shipslog_reconciler
grant EXECUTE on function describe_change(change jsonb) to shipslog_app
grant EXECUTE on function describe_change(change jsonb) to shipslog_auditor
grant EXECUTE on function describe_change(change jsonb) to shipslog_reconciler
grant EXECUTE on function describe_change(path text, old_value jsonb, new_value jsonb) to shipslog_app
grant EXECUTE on function describe_change(path text, old_value jsonb, new_value jsonb) to shipslog_auditor
grant EXECUTE on function describe_change(path text, old_value jsonb, new_value jsonb) to shipslog_reconciler
grant EXECUTE on function describe_details(action text, d jsonb) to shipslog_app
grant EXECUTE on function describe_details(action text, d jsonb) to shipslog_auditor
grant EXECUTE on function describe_details(action text, d jsonb) to shipslog_reconciler
grant EXECUTE on function describe_event(action text, changes jsonb, previous_state jsonb, new_state jsonb) to shipslog_app
grant EXECUTE on function describe_event(action text, changes jsonb, previous_state jsonb, new_state jsonb) to shipslog_auditor
grant EXECUTE on function describe_event(action text, changes jsonb, previous_state jsonb, new_state jsonb) to shipslog_reconciler
grant EXECUTE on function describe_value(value jsonb) to shipslog_app
grant EXECUTE on function describe_value(value jsonb) to shipslog_auditor
grant EXECUTE on function describe_value(value jsonb) to shipslog_reconciler
grant EXECUTE on function desired_state_at(p_deployment_id uuid, p_chain_index integer) to shipslog_app
grant EXECUTE on function desired_state_at(p_deployment_id uuid, p_chain_index integer) to shipslog_auditor
grant EXECUTE on function desired_state_at(p_deployment_id uuid, p_chain_index integer) to shipslog_reconciler
grant EXECUTE on function ensure_deployment_event_partitions(months_ahead integer) to shipslog_reconciler
grant EXECUTE on function ensure_reconcile_run_partitions(months_ahead integer) to shipslog_reconciler
grant EXECUTE on function event_category(action text) to shipslog_app
grant EXECUTE on function event_category(action text) to shipslog_audit_retention
grant EXECUTE on function event_category(action text) to shipslog_auditor
grant EXECUTE on function event_category(action text) to shipslog_reconciler
grant EXECUTE on function event_change_walk(ids bigint[], previous_states jsonb[], new_states jsonb[]) to shipslog_app
grant EXECUTE on function event_change_walk(ids bigint[], previous_states jsonb[], new_states jsonb[]) to shipslog_auditor
grant EXECUTE on function event_change_walk(ids bigint[], previous_states jsonb[], new_states jsonb[]) to shipslog_reconciler
grant EXECUTE on function event_changes(previous_state jsonb, new_state jsonb) to shipslog_app
grant EXECUTE on function event_changes(previous_state jsonb, new_state jsonb) to shipslog_auditor
grant EXECUTE on function event_changes(previous_state jsonb, new_state jsonb) to shipslog_reconciler
grant EXECUTE on function event_environment(p_deployment_id uuid, p_chain_index integer) to shipslog_app
grant EXECUTE on function event_environment(p_deployment_id uuid, p_chain_index integer) to shipslog_auditor
grant EXECUTE on function event_environment(p_deployment_id uuid, p_chain_index integer) to shipslog_reconciler
grant EXECUTE on function event_hash(prev_hash bytea, e shipslog.deployment_events) to shipslog_app
grant EXECUTE on function event_hash(prev_hash bytea, e shipslog.deployment_events) to shipslog_audit_retention
grant EXECUTE on function event_hash(prev_hash bytea, e shipslog.deployment_events) to shipslog_auditor
grant EXECUTE on function event_hash(prev_hash bytea, e shipslog.deployment_events) to shipslog_reconciler
grant EXECUTE on function event_payload(e shipslog.deployment_events) to shipslog_app
grant EXECUTE on function event_payload(e shipslog.deployment_events) to shipslog_audit_retention
grant EXECUTE on function event_payload(e shipslog.deployment_events) to shipslog_auditor
grant EXECUTE on function event_payload(e shipslog.deployment_events) to shipslog_reconciler
grant EXECUTE on function event_payload_text(e shipslog.deployment_events) to shipslog_app
grant EXECUTE on function event_payload_text(e shipslog.deployment_events) to shipslog_auditor
grant EXECUTE on function event_payload_text(e shipslog.deployment_events) to shipslog_reconciler
grant EXECUTE on function event_required_fields(action text) to shipslog_app
grant EXECUTE on function event_required_fields(action text) to shipslog_auditor
grant EXECUTE on function event_required_fields(action text) to shipslog_reconciler
grant EXECUTE on function event_severity(action text, new_state jsonb) to shipslog_app
grant EXECUTE on function event_severity(action text, new_state jsonb) to shipslog_auditor
grant EXECUTE on function event_severity(action text, new_state jsonb) to shipslog_reconciler
grant EXECUTE on function event_summary(action text, previous_state jsonb, new_state jsonb, lines text[]) to shipslog_app
grant EXECUTE on function event_summary(action text, previous_state jsonb, new_state jsonb, lines text[]) to shipslog_auditor
grant EXECUTE on function event_summary(action text, previous_state jsonb, new_state jsonb, lines text[]) to shipslog_reconciler
grant EXECUTE on function expire_approvals(p_deployment_id uuid) to shipslog_app
grant EXECUTE on function find_active_api_key(p_key_hash bytea) to shipslog_app
grant EXECUTE on function finish_rollout(p_deployment_id uuid, p_generation bigint, p_run_id uuid, p_completed boolean, p_outcome text, p_failure_reason text, p_terminal boolean) to shipslog_reconciler
grant EXECUTE on function generation_actor(p_deployment_id uuid) to shipslog_app
grant EXECUTE on function generation_actor(p_deployment_id uuid) to shipslog_auditor
grant EXECUTE on function generation_actor(p_deployment_id uuid) to shipslog_reconciler
grant EXECUTE on function generation_correlation_id(p_deployment_id uuid) to shipslog_app
grant EXECUTE on function generation_correlation_id(p_deployment_id uuid) to shipslog_auditor
grant EXECUTE on function generation_correlation_id(p_deployment_id uuid) to shipslog_reconciler
grant EXECUTE on function history(p_tenant text, p_name text, p_limit integer) to shipslog_app
grant EXECUTE on function history(p_tenant text, p_name text, p_limit integer) to shipslog_auditor
grant EXECUTE on function history(p_tenant text, p_name text, p_limit integer) to shipslog_reconciler
grant EXECUTE on function hold_reconcile_lease(p_deployment_id uuid, p_lease_id uuid) to shipslog_reconciler
grant EXECUTE on function is_dns_label(value text) to shipslog_app
grant EXECUTE on function is_dns_label(value text) to shipslog_auditor
grant EXECUTE on function is_dns_label(value text) to shipslog_reconciler
grant EXECUTE on function is_resource_list(resources jsonb) to shipslog_app
grant EXECUTE on function is_resource_list(resources jsonb) to shipslog_auditor
grant EXECUTE on function is_resource_list(resources jsonb) to shipslog_reconciler
grant EXECUTE on function is_row_change(action text) to shipslog_app
grant EXECUTE on function is_row_change(action text) to shipslog_audit_retention
grant EXECUTE on function is_row_change(action text) to shipslog_auditor
grant EXECUTE on function is_row_change(action text) to shipslog_reconciler
grant EXECUTE on function iso_utc(ts timestamp with time zone) to shipslog_agent_retention
grant EXECUTE on function iso_utc(ts timestamp with time zone) to shipslog_app
grant EXECUTE on function iso_utc(ts timestamp with time zone) to shipslog_audit_retention
grant EXECUTE on function iso_utc(ts timestamp with time zone) to shipslog_auditor
grant EXECUTE on function iso_utc(ts timestamp with time zone) to shipslog_reconciler
grant EXECUTE on function jsonb_diff(old_value jsonb, new_value jsonb, OUT old_part jsonb, OUT new_part jsonb) to shipslog_app
grant EXECUTE on function jsonb_diff(old_value jsonb, new_value jsonb, OUT old_part jsonb, OUT new_part jsonb) to shipslog_auditor
grant EXECUTE on function jsonb_diff(old_value jsonb, new_value jsonb, OUT old_part jsonb, OUT new_part jsonb) to shipslog_reconciler
grant EXECUTE on function jsonb_merge_patch(target jsonb, patch jsonb) to shipslog_app
grant EXECUTE on function jsonb_merge_patch(target jsonb, patch jsonb) to shipslog_auditor
grant EXECUTE on function jsonb_merge_patch(target jsonb, patch jsonb) to shipslog_reconciler
grant EXECUTE on function latest_rollout(p_deployment_id uuid) to shipslog_app
grant EXECUTE on function latest_rollout(p_deployment_id uuid) to shipslog_auditor
grant EXECUTE on function latest_rollout(p_deployment_id uuid) to shipslog_reconciler
grant EXECUTE on function merkle_leaf(p_deployment_id uuid, p_chain_index integer, p_hash bytea) to shipslog_app
grant EXECUTE on function merkle_leaf(p_deployment_id uuid, p_chain_index integer, p_hash bytea) to shipslog_auditor
grant EXECUTE on function merkle_leaf(p_deployment_id uuid, p_chain_index integer, p_hash bytea) to shipslog_reconciler
grant EXECUTE on function merkle_root(p_leaves bytea[]) to shipslog_app
grant EXECUTE on function merkle_root(p_leaves bytea[]) to shipslog_auditor
grant EXECUTE on function merkle_root(p_leaves bytea[]) to shipslog_reconciler
grant EXECUTE on function missing_gates(p_deployment_id uuid, p_generation bigint) to shipslog_app
grant EXECUTE on function missing_gates(p_deployment_id uuid, p_generation bigint) to shipslog_auditor
grant EXECUTE on function missing_gates(p_deployment_id uuid, p_generation bigint) to shipslog_reconciler
grant EXECUTE on function purge_agent_messages(p_older_than interval, p_kind text) to postgres
grant EXECUTE on function purge_agent_messages(p_older_than interval, p_kind text) to shipslog_reconciler
grant EXECUTE on function purge_audit_events(p_at timestamp with time zone, p_deployment_ids uuid[], p_chain_indexes integer[], p_key_id text, p_signatures bytea[]) to shipslog_reconciler
grant EXECUTE on function readable_events(events shipslog.deployment_events[]) to shipslog_app
grant EXECUTE on function readable_events(events shipslog.deployment_events[]) to shipslog_auditor
grant EXECUTE on function readable_events(events shipslog.deployment_events[]) to shipslog_reconciler
grant EXECUTE on function recipe_config_errors(recipe text, config jsonb) to shipslog_app
grant EXECUTE on function recipe_config_errors(recipe text, config jsonb) to shipslog_auditor
grant EXECUTE on function recipe_config_errors(recipe text, config jsonb) to shipslog_reconciler
grant EXECUTE on function reconcile_failed_runs(p_since timestamp with time zone, p_until timestamp with time zone, p_target text) to shipslog_auditor
grant EXECUTE on function reconcile_failed_runs(p_since timestamp with time zone, p_until timestamp with time zone, p_target text) to shipslog_reconciler
grant EXECUTE on function record_access_denied(p_deployment_id uuid, p_details jsonb) to shipslog_app
grant EXECUTE on function record_api_key_use(p_key_hash bytea) to shipslog_app
grant EXECUTE on function record_checkpoint(p_snapshot pg_snapshot, p_digest bytea, p_key_id text, p_signature bytea) to shipslog_reconciler
grant EXECUTE on function record_rollout_event(p_deployment_id uuid, p_action text, p_details jsonb) to shipslog_reconciler
grant EXECUTE on function register_project(p_tenant text, p_project_id text) to shipslog_app
grant EXECUTE on function relative_time(ts timestamp with time zone, now_ts timestamp with time zone) to shipslog_app
grant EXECUTE on function relative_time(ts timestamp with time zone, now_ts timestamp with time zone) to shipslog_auditor
grant EXECUTE on function relative_time(ts timestamp with time zone, now_ts timestamp with time zone) to shipslog_reconciler
grant EXECUTE on function release_check(p_deployment_id uuid, p_generation bigint) to shipslog_reconciler
grant EXECUTE on function release_check_gates(p_deployment_id uuid, p_generation bigint) to shipslog_app
grant EXECUTE on function release_check_gates(p_deployment_id uuid, p_generation bigint) to shipslog_auditor
grant EXECUTE on function release_check_gates(p_deployment_id uuid, p_generation bigint) to shipslog_reconciler
grant EXECUTE on function remove_approval_policy(p_tenant text, p_environment text) to shipslog_app
grant EXECUTE on function replay_state(jsonb, jsonb) to shipslog_app
grant EXECUTE on function replay_state(jsonb, jsonb) to shipslog_audit_retention
grant EXECUTE on function replay_state(jsonb, jsonb) to shipslog_auditor
grant EXECUTE on function replay_state(jsonb, jsonb) to shipslog_reconciler
grant EXECUTE on function replay_state_from(p_state jsonb, p_deployment_id uuid, p_from integer, p_to integer) to shipslog_app
grant EXECUTE on function replay_state_from(p_state jsonb, p_deployment_id uuid, p_from integer, p_to integer) to shipslog_audit_retention
grant EXECUTE on function replay_state_from(p_state jsonb, p_deployment_id uuid, p_from integer, p_to integer) to shipslog_auditor
grant EXECUTE on function replay_state_from(p_state jsonb, p_deployment_id uuid, p_from integer, p_to integer) to shipslog_reconciler
grant EXECUTE on function report_gate_result(p_deployment_id uuid, p_generation bigint, p_gate text, p_result text, p_evidence_url text, p_details jsonb) to shipslog_app
grant EXECUTE on function request_approval(p_deployment_id uuid) to shipslog_app
grant EXECUTE on function rollback_started_seq(p_deployment_id uuid, p_generation bigint) to shipslog_app
grant EXECUTE on function rollback_started_seq(p_deployment_id uuid, p_generation bigint) to shipslog_auditor
grant EXECUTE on function rollback_started_seq(p_deployment_id uuid, p_generation bigint) to shipslog_reconciler
grant EXECUTE on function set_approval_policy(p_tenant text, p_environment text, p_required_approvals integer, p_expires_after interval, p_required_gates text[]) to shipslog_app
grant EXECUTE on function severity_rank(severity text) to shipslog_app
grant EXECUTE on function severity_rank(severity text) to shipslog_auditor
grant EXECUTE on function severity_rank(severity text) to shipslog_reconciler
grant EXECUTE on function start_rollback(p_deployment_id uuid, p_target_seq bigint, p_target_chain_index integer) to shipslog_app
grant EXECUTE on function state_after_event(p_deployment_id uuid, p_chain_index integer) to shipslog_app
grant EXECUTE on function state_after_event(p_deployment_id uuid, p_chain_index integer) to shipslog_auditor
grant EXECUTE on function state_after_event(p_deployment_id uuid, p_chain_index integer) to shipslog_reconciler
grant EXECUTE on function state_at(p_deployment_id uuid, p_at timestamp with time zone) to shipslog_app
grant EXECUTE on function state_at(p_deployment_id uuid, p_at timestamp with time zone) to shipslog_auditor
grant EXECUTE on function state_at(p_deployment_id uuid, p_at timestamp with time zone) to shipslog_reconciler
grant EXECUTE on function state_diff(p_deployment_id uuid, p_from integer, p_to integer) to shipslog_app
grant EXECUTE on function state_diff(p_deployment_id uuid, p_from integer, p_to integer) to shipslog_auditor
grant EXECUTE on function state_diff(p_deployment_id uuid, p_from integer, p_to integer) to shipslog_reconciler
grant EXECUTE on function system_chain_id() to shipslog_app
grant EXECUTE on function system_chain_id() to shipslog_audit_retention
grant EXECUTE on function system_chain_id() to shipslog_auditor
grant EXECUTE on function system_chain_id() to shipslog_reconciler
grant EXECUTE on function tenant_visible(row_tenant text) to shipslog_app
grant EXECUTE on function tenant_visible(row_tenant text) to shipslog_auditor
grant EXECUTE on function tenant_visible(row_tenant text) to shipslog_reconciler
grant EXECUTE on function utc_day(ts timestamp with time zone) to shipslog_app
grant EXECUTE on function utc_day(ts timestamp with time zone) to shipslog_auditor
grant EXECUTE on function verify_chains(p_deployment_id uuid) to shipslog_app
grant EXECUTE on function verify_chains(p_deployment_id uuid) to shipslog_auditor
grant EXECUTE on function verify_chains(p_deployment_id uuid) to shipslog_reconciler
grant EXECUTE on function version_order(from_version text, to_version text) to shipslog_app
grant EXECUTE on function version_order(from_version text, to_version text) to shipslog_auditor
grant EXECUTE on function version_order(from_version text, to_version text) to shipslog_reconciler
grant INSERT, SELECT on table agent_message_retention_runs to shipslog_agent_retention
grant INSERT, SELECT on table audit_chain_anchors to shipslog_audit_retention
grant INSERT, SELECT on table audit_purges to shipslog_audit_retention
grant INSERT, SELECT, UPDATE on table agent_messages to shipslog_app
grant INSERT, SELECT, UPDATE on table reconcile_runs to shipslog_reconciler
grant SELECT on column api_keys.actor_type to shipslog_auditor
grant SELECT on column api_keys.created_at to shipslog_auditor
grant SELECT on column api_keys.expires_at to shipslog_auditor
grant SELECT on column api_keys.id to shipslog_auditor
grant SELECT on column api_keys.key_prefix to shipslog_auditor
grant SELECT on column api_keys.last_used_at to shipslog_auditor
grant SELECT on column api_keys.name to shipslog_auditor
grant SELECT on column api_keys.revoked_at to shipslog_auditor
grant SELECT on column api_keys.scopes to shipslog_auditor
grant SELECT on column api_keys.tenant to shipslog_auditor
grant SELECT on table agent_message_daily to shipslog_app
grant SELECT on table agent_message_daily to shipslog_auditor
grant SELECT on table agent_message_retention_runs to shipslog_app
grant SELECT on table agent_message_retention_runs to shipslog_auditor
grant SELECT on table agent_messages to shipslog_auditor
grant SELECT on table approval_decisions to shipslog_app
grant SELECT on table approval_decisions to shipslog_auditor
grant SELECT on table approval_decisions to shipslog_reconciler
grant SELECT on table approval_policies to shipslog_app
grant SELECT on table approval_policies to shipslog_auditor
grant SELECT on table approval_policies to shipslog_reconciler
grant SELECT on table approval_policy_changes to shipslog_app
grant SELECT on table approval_policy_changes to shipslog_auditor
grant SELECT on table approval_policy_changes to shipslog_reconciler
grant SELECT on table approval_requests to shipslog_app
grant SELECT on table approval_requests to shipslog_auditor
grant SELECT on table approval_requests to shipslog_reconciler
grant SELECT on table audit_chain_anchors to shipslog_app
grant SELECT on table audit_chain_anchors to shipslog_auditor
grant SELECT on table audit_chain_anchors to shipslog_reconciler
grant SELECT on table audit_checkpoint_heads to shipslog_app
grant SELECT on table audit_checkpoint_heads to shipslog_auditor
grant SELECT on table audit_checkpoint_heads to shipslog_reconciler
grant SELECT on table audit_checkpoints to shipslog_app
grant SELECT on table audit_checkpoints to shipslog_auditor
grant SELECT on table audit_checkpoints to shipslog_reconciler
grant SELECT on table audit_purges to shipslog_app
grant SELECT on table audit_purges to shipslog_auditor
grant SELECT on table audit_purges to shipslog_reconciler
grant SELECT on table audit_retention to shipslog_app
grant SELECT on table audit_retention to shipslog_audit_retention
grant SELECT on table audit_retention to shipslog_auditor
grant SELECT on table audit_retention to shipslog_reconciler
grant SELECT on table audit_retention_changes to shipslog_app
grant SELECT on table audit_retention_changes to shipslog_auditor
grant SELECT on table audit_retention_changes to shipslog_reconciler
grant SELECT on table deployment_events to shipslog_app
grant SELECT on table deployment_events to shipslog_auditor
grant SELECT on table deployment_events to shipslog_reconciler
grant SELECT on table deployments to shipslog_auditor
grant SELECT on table gate_results to shipslog_app
grant SELECT on table gate_results to shipslog_auditor
grant SELECT on table gate_results to shipslog_reconciler
grant SELECT on table projects to shipslog_app
grant SELECT on table projects to shipslog_auditor
grant SELECT on table reconcile_run_audit to shipslog_app
grant SELECT on table reconcile_run_audit to shipslog_auditor
grant SELECT on table reconcile_run_audit to shipslog_reconciler
grant SELECT on table reconcile_run_transitions to shipslog_app
grant SELECT on table reconcile_run_transitions to shipslog_auditor
grant SELECT on table reconcile_run_transitions to shipslog_reconciler
grant SELECT on table reconcile_runs to shipslog_app
grant SELECT on table reconcile_runs to shipslog_auditor
grant SELECT on table schema_definitions to shipslog_app
grant SELECT on table schema_definitions to shipslog_auditor
grant SELECT on table schema_definitions to shipslog_reconciler
grant SELECT on view agent_message_deployment_changes to shipslog_app
grant SELECT on view agent_message_deployment_changes to shipslog_auditor
grant SELECT on view audit_chain_starts to shipslog_app
grant SELECT on view audit_chain_starts to shipslog_audit_retention
grant SELECT on view audit_chain_starts to shipslog_auditor
grant SELECT on view audit_chain_starts to shipslog_reconciler
grant SELECT on view reconcile_lock_effectiveness to shipslog_auditor
grant SELECT on view reconcile_lock_effectiveness to shipslog_reconciler
grant SELECT on view reconcile_recent_failed_runs to shipslog_auditor
grant SELECT on view reconcile_recent_failed_runs to shipslog_reconciler
grant SELECT on view reconcile_recent_failures to shipslog_auditor
grant SELECT on view reconcile_recent_failures to shipslog_reconciler
grant SELECT on view reconcile_success_rate to shipslog_auditor
grant SELECT on view reconcile_success_rate to shipslog_reconciler
grant SELECT, UPDATE on table reconcile_queue to shipslog_reconciler
grant SELECT, USAGE on sequence audit_purges_id_seq to shipslog_audit_retention
grant USAGE on schema shipslog to shipslog_agent_retention
grant USAGE on schema shipslog to shipslog_app
grant USAGE on schema shipslog to shipslog_audit_retention
grant USAGE on schema shipslog to shipslog_auditor
grant USAGE on schema shipslog to shipslog_reconciler
grant USAGE on sequence deployment_events_seq to shipslog_audit_retention
comment on column audit_checkpoints.version is '1: digest = SHA-256 over "<id> <chain_index> <hash hex>" lines; 2: digest = RFC 9162 Merkle root over the same lines as leaves, heads kept in audit_checkpoint_heads.'
comment on column reconcile_queue.lease_expires_at is 'The lease is held until then (database clock); the holder extends it while it works. After it, another replica may claim the row.'
comment on column reconcile_queue.lease_holder is 'Worker id of the reconciler replica that holds this deployment (null: nobody). Set with lease_id and lease_expires_at.'
comment on column reconcile_queue.lease_id is 'One id per claim (a health-check batch shares one over its rows): extensions and the final write name it, so a holder whose lease ran out and was taken over cannot touch the new holder''s.'
comment on function shipslog.action_severity(text) is 'Default severity (info, warning, error, critical) of an audit action; null for an unknown action.'
comment on function shipslog.event_category(text) is 'Category of an audit action (deployment_lifecycle, configuration, state_change, approval_workflow, compliance_gate, rollback, security, system); null for an unknown action.'
comment on function shipslog.event_required_fields(text) is 'Fields the details of a non-row-change event type must hold (shipslog.append_event checks them); null for row-change and unknown actions.'
comment on function shipslog.event_severity(text,jsonb) is 'Severity (info, warning, error, critical) of one event: shipslog.action_severity(action), refined by what the event set.'
comment on table agent_message_daily is 'Daily sums of shipslog.agent_messages per project and model; written only by its triggers.'
comment on table agent_message_retention_runs is 'Append-only record of agent message retention runs. Written only by shipslog.purge_agent_messages.'
comment on table agent_messages is 'Audit trail of the agent''s model calls. Finalised once; never changed; deleted only by shipslog.purge_agent_messages past retention.'
comment on table api_keys is 'API keys (SHA-256 of the key only). Read by the service before it switches to shipslog_app.'
comment on table approval_policies is 'What an environment requires before a generation is applied: N approvals from distinct approvers (expiring) and named gates. Changed only through shipslog.set_approval_policy(); every change is in approval_policy_changes.'
comment on table audit_chain_anchors is 'Signed start of each purged audit chain: deployment, index and hash of the last purged event, and the state it leaves. Append-only; written by shipslog.record_chain_anchor().'
comment on table audit_checkpoint_heads is 'Leaves (chain heads) of each version 2 checkpoint''s Merkle tree. Append-only; written by shipslog.record_checkpoint().'
comment on table audit_checkpoints is 'Signed digests of all audit chain heads at a snapshot. Append-only; written by shipslog.record_checkpoint().'
comment on table audit_purges is 'Every purge of audit events: how many chains and events, under which retention. Append-only; written by shipslog.purge_audit_events().'
comment on table audit_retention is 'Minimum time an audit event of each category is kept (null: forever). Every change is recorded in shipslog.audit_retention_changes.'
comment on table audit_retention_changes is 'Every insert, update and delete of shipslog.audit_retention, written by its trigger. Append-only.'
comment on table deployment_events is 'Append-only, hash-chained audit trail of shipslog.deployments, partitioned by month of occurred_at. Written only by its trigger; old chain prefixes leave only through shipslog.purge_audit_events().'
comment on table deployments is 'Desired and observed state of each app. Every insert, update and delete writes one row to shipslog.deployment_events.'
comment on table projects is 'Projects that agent messages belong to; each belongs to exactly one tenant.'
comment on table reconcile_runs is 'One row per reconciler execution. Phase changes are recorded in reconcile_run_transitions by trigger.'
comment on table schema_definitions is 'Each application of sql/ by shipslog migrate: the SHA-256 of the files applied.'
comment on view agent_message_deployment_changes is 'Each deployment change and the agent message (model, tokens, cost) whose id it carried as correlation_id.'
