table agent_message_daily row level security forced
view agent_message_deployment_changes
table agent_message_retention_runs
sequence agent_message_retention_runs_id_seq
table agent_messages row level security forced
table api_keys
table audit_checkpoint_heads
table audit_checkpoints
sequence audit_checkpoints_id_seq
table deployment_events row level security forced
sequence deployment_events_seq
table deployments row level security forced
table idempotency_keys row level security forced
table projects row level security forced
view reconcile_lock_effectiveness
table reconcile_queue
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
constraint api_keys.api_keys_scopes_check CHECK ((((cardinality(scopes) >= 1) AND (cardinality(scopes) <= 4)) AND (scopes <@ ARRAY['read'::text, 'deploy'::text, 'audit'::text, 'admin'::text])))
constraint api_keys.api_keys_tenant_check CHECK (shipslog.is_dns_label(tenant))
constraint audit_checkpoint_heads.audit_checkpoint_heads_pkey PRIMARY KEY (checkpoint_id, leaf_index)
constraint audit_checkpoints.audit_checkpoints_digest_check CHECK ((length(digest) = 32))
constraint audit_checkpoints.audit_checkpoints_pkey PRIMARY KEY (id)
constraint audit_checkpoints.audit_checkpoints_version_check CHECK ((version = ANY (ARRAY[1, 2])))
constraint deployment_events.deployment_events_chain_key UNIQUE (deployment_id, chain_index)
constraint deployment_events.deployment_events_pkey PRIMARY KEY (seq)
constraint deployments.deployments_app_version_check CHECK ((app_version ~ '^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$'::text))
constraint deployments.deployments_config_check CHECK (((jsonb_typeof(config) = 'object'::text) AND (pg_column_size(config) <= 65536)))
constraint deployments.deployments_depends_on_check CHECK ((cardinality(depends_on) <= 32))
constraint deployments.deployments_environment_check CHECK (shipslog.is_dns_label(environment))
constraint deployments.deployments_health_check CHECK ((health = ANY (ARRAY['Unknown'::text, 'Progressing'::text, 'Healthy'::text, 'Degraded'::text, 'Missing'::text, 'Suspended'::text])))
constraint deployments.deployments_health_message_check CHECK ((length(health_message) <= 2000))
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
constraint idempotency_keys.idempotency_keys_key_check CHECK (((length(idempotency_key) >= 1) AND (length(idempotency_key) <= 200)))
constraint idempotency_keys.idempotency_keys_pkey PRIMARY KEY (api_key_id, idempotency_key)
constraint projects.projects_id_check CHECK (shipslog.is_dns_label(id))
constraint projects.projects_pkey PRIMARY KEY (id)
constraint projects.projects_tenant_check CHECK (shipslog.is_dns_label(tenant))
constraint projects.projects_tenant_id_key UNIQUE (tenant, id)
constraint reconcile_queue.reconcile_queue_deployment_id_fkey FOREIGN KEY (deployment_id) REFERENCES shipslog.deployments(id) ON DELETE CASCADE
constraint reconcile_queue.reconcile_queue_failures_check CHECK ((failures >= 0))
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
constraint reconcile_runs.reconcile_runs_skip_reason_check CHECK ((skip_reason = ANY (ARRAY['ResourceBusy'::text, 'RecentlyRemediated'::text])))
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
constraint reconcile_runs_default.reconcile_runs_skip_reason_check CHECK ((skip_reason = ANY (ARRAY['ResourceBusy'::text, 'RecentlyRemediated'::text])))
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
index CREATE INDEX audit_checkpoint_heads_chain_idx ON shipslog.audit_checkpoint_heads USING btree (deployment_id, chain_index)
index CREATE UNIQUE INDEX audit_checkpoint_heads_pkey ON shipslog.audit_checkpoint_heads USING btree (checkpoint_id, leaf_index)
index CREATE UNIQUE INDEX audit_checkpoints_pkey ON shipslog.audit_checkpoints USING btree (id)
index CREATE INDEX deployment_events_action_idx ON shipslog.deployment_events USING btree (action, occurred_at)
index CREATE INDEX deployment_events_actor_idx ON shipslog.deployment_events USING btree (actor, occurred_at)
index CREATE UNIQUE INDEX deployment_events_chain_key ON shipslog.deployment_events USING btree (deployment_id, chain_index)
index CREATE INDEX deployment_events_correlation_id_idx ON shipslog.deployment_events USING btree (correlation_id) WHERE (correlation_id IS NOT NULL)
index CREATE INDEX deployment_events_created_name_idx ON shipslog.deployment_events USING btree (tenant, name) WHERE (action = 'created'::text)
index CREATE INDEX deployment_events_occurred_at_idx ON shipslog.deployment_events USING btree (occurred_at)
index CREATE UNIQUE INDEX deployment_events_pkey ON shipslog.deployment_events USING btree (seq)
index CREATE INDEX deployment_events_txid_seq_idx ON shipslog.deployment_events USING btree (txid, seq)
index CREATE UNIQUE INDEX deployments_pkey ON shipslog.deployments USING btree (id)
index CREATE UNIQUE INDEX deployments_tenant_name_key ON shipslog.deployments USING btree (tenant, name)
index CREATE INDEX idempotency_keys_created_at_idx ON shipslog.idempotency_keys USING btree (created_at)
index CREATE INDEX idempotency_keys_expiry_idx ON shipslog.idempotency_keys USING btree (api_key_id, created_at)
index CREATE UNIQUE INDEX idempotency_keys_pkey ON shipslog.idempotency_keys USING btree (api_key_id, idempotency_key)
index CREATE UNIQUE INDEX projects_pkey ON shipslog.projects USING btree (id)
index CREATE UNIQUE INDEX projects_tenant_id_key ON shipslog.projects USING btree (tenant, id)
index CREATE INDEX reconcile_queue_health_idx ON shipslog.reconcile_queue USING btree (health_checked_at NULLS FIRST)
index CREATE INDEX reconcile_queue_lease_idx ON shipslog.reconcile_queue USING btree (lease_id) WHERE (lease_id IS NOT NULL)
index CREATE UNIQUE INDEX reconcile_queue_pkey ON shipslog.reconcile_queue USING btree (deployment_id)
index CREATE UNIQUE INDEX reconcile_run_audit_pkey ON shipslog.reconcile_run_audit USING btree (id)
index CREATE INDEX reconcile_run_audit_run_idx ON shipslog.reconcile_run_audit USING btree (run_id)
index CREATE UNIQUE INDEX reconcile_run_audit_transition_key ON shipslog.reconcile_run_audit USING btree (transition_id)
index CREATE UNIQUE INDEX reconcile_run_transitions_pkey ON shipslog.reconcile_run_transitions USING btree (id)
index CREATE INDEX reconcile_run_transitions_run_idx ON shipslog.reconcile_run_transitions USING btree (run_id, id)
index CREATE INDEX reconcile_runs_default_deployment_id_started_at_idx ON shipslog.reconcile_runs_default USING btree (deployment_id, started_at DESC)
index CREATE UNIQUE INDEX reconcile_runs_default_pkey ON shipslog.reconcile_runs_default USING btree (id, started_at)
index CREATE INDEX reconcile_runs_default_started_at_phase_idx ON shipslog.reconcile_runs_default USING btree (started_at, phase)
index CREATE INDEX reconcile_runs_deployment_idx ON ONLY shipslog.reconcile_runs USING btree (deployment_id, started_at DESC)
index CREATE INDEX reconcile_runs_phase_idx ON ONLY shipslog.reconcile_runs USING btree (started_at, phase)
index CREATE UNIQUE INDEX reconcile_runs_pkey ON ONLY shipslog.reconcile_runs USING btree (id, started_at)
index CREATE UNIQUE INDEX schema_definitions_pkey ON shipslog.schema_definitions USING btree (id)
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
  for key in
    select jsonb_object_keys(previous_part)
    union
    select jsonb_object_keys(new_part)
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
function shipslog.context_setting(setting_name text)
CREATE OR REPLACE FUNCTION shipslog.context_setting(setting_name text)
 RETURNS text
 LANGUAGE sql
 STABLE PARALLEL SAFE
RETURN NULLIF(current_setting(setting_name, true), ''::text)
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
 LANGUAGE plpgsql
 IMMUTABLE PARALLEL SAFE
 SET search_path TO ''
AS $function$
begin
  return sha256(coalesce(prev_hash, ''::bytea) || convert_to(shipslog.event_payload(e)::text, 'UTF8'));
end
$function$
function shipslog.event_payload(e shipslog.deployment_events)
CREATE OR REPLACE FUNCTION shipslog.event_payload(e shipslog.deployment_events)
 RETURNS jsonb
 LANGUAGE plpgsql
 IMMUTABLE PARALLEL SAFE
 SET search_path TO ''
AS $function$
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
$function$
function shipslog.event_summary(action text, previous_state jsonb, new_state jsonb, lines text[])
CREATE OR REPLACE FUNCTION shipslog.event_summary(action text, previous_state jsonb, new_state jsonb, lines text[])
 RETURNS text
 LANGUAGE sql
 STABLE PARALLEL SAFE
RETURN CASE action WHEN 'created'::text THEN ((('created '::text || COALESCE((new_state ->> 'recipe'::text), ''::text)) || ' '::text) || COALESCE((new_state ->> 'app_version'::text), ''::text)) WHEN 'removed'::text THEN ((('removed '::text || COALESCE((previous_state ->> 'recipe'::text), ''::text)) || ' '::text) || COALESCE((previous_state ->> 'app_version'::text), ''::text)) ELSE COALESCE(NULLIF(array_to_string(lines, '; '::text), ''::text), action) END
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
 RETURNS TABLE(occurred_at timestamp with time zone, "when" text, action text, summary text, actor text, actor_type text, reason text, correlation_id text, chain_index integer, deployment_id uuid, seq bigint)
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
    r.seq
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
function shipslog.iso_utc(ts timestamp with time zone)
CREATE OR REPLACE FUNCTION shipslog.iso_utc(ts timestamp with time zone)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
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
function shipslog.readable_events(events shipslog.deployment_events[])
CREATE OR REPLACE FUNCTION shipslog.readable_events(events shipslog.deployment_events[])
 RETURNS TABLE(seq bigint, deployment_id uuid, chain_index integer, tenant text, name text, action text, occurred_at timestamp with time zone, actor text, actor_type text, reason text, correlation_id text, request_id text, "when" text, summary text, changes text[])
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
    case when cardinality(r.lines) > 0 then r.lines else array[r.summary] end
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
  errors text[] := '{}';
  quantity constant text := '^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|Ki|Mi|Gi|Ti|Pi)?$';
  key text;
begin
  if recipe not in ('postgresql', 'redis', 'web') then
    return array[format('recipe: unknown recipe "%s"; known: postgresql, redis, web', recipe)];
  end if;
  if jsonb_typeof(config) is distinct from 'object' then
    return '{}'; -- deployments_config_check (23514) says that, as it always has
  end if;
  if recipe = 'postgresql' then
    if config ? 'storage' and (jsonb_typeof(config -> 'storage') <> 'string' or config ->> 'storage' !~ quantity) then
      errors := errors || 'config.storage: must be a Kubernetes quantity such as 8Gi'::text;
    end if;
    if config ? 'replicas' and jsonb_typeof(config -> 'replicas') <> 'number' then
      errors := errors || 'config.replicas: must be a number'::text;
    end if;
  elsif recipe = 'redis' then
    if config ? 'maxmemory' and (jsonb_typeof(config -> 'maxmemory') <> 'string' or config ->> 'maxmemory' !~ quantity) then
      errors := errors || 'config.maxmemory: must be a Kubernetes quantity such as 256Mi'::text;
    end if;
  elsif recipe = 'web' then
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
  end if;
  return errors;
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
     and not coalesce(nullif(current_setting('shipslog.tenant', true), '') in ('*', p_tenant), false) then
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
aggregate shipslog.replay_state(jsonb, jsonb) sfunc shipslog.apply_event stype jsonb initcond 
function shipslog.tenant_visible(row_tenant text)
CREATE OR REPLACE FUNCTION shipslog.tenant_visible(row_tenant text)
 RETURNS boolean
 LANGUAGE sql
 STABLE PARALLEL SAFE
 SET search_path TO ''
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
function shipslog.tg_deployment_events__append_only()
CREATE OR REPLACE FUNCTION shipslog.tg_deployment_events__append_only()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
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
$function$
function shipslog.tg_deployments__audit()
CREATE OR REPLACE FUNCTION shipslog.tg_deployments__audit()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  diff record;
  prev_hash bytea;
  ev shipslog.deployment_events;
begin
  if tg_op = 'INSERT' then
    new.version := 1;
    new.generation := 1;
    new.observed_generation := 0;
    new.created_at := now();
    new.updated_at := now();
    if exists (select from shipslog.deployment_events as e where e.deployment_id = new.id) then
      raise exception 'deployment id % already has an audit history', new.id
        using errcode = 'SL003',
              hint = 'A removed deployment''s id is never reused; omit id to get a new one.';
    end if;
    ev.new_state := shipslog.audited_state(new);
    ev.chain_index := 1;
  elsif tg_op = 'UPDATE' then
    if new.id <> old.id or new.tenant <> old.tenant or new.name <> old.name or new.recipe <> old.recipe then
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
    diff := shipslog.deployment_diff(old, new);
    if diff.new_part = '{}'::jsonb and diff.old_part = '{}'::jsonb then
      raise exception 'shipslog.deployment_diff() does not know a column that changed on deployment %/%', old.tenant, old.name
        using errcode = 'SL011',
              hint = 'A column was added to shipslog.deployments without re-issuing shipslog.deployment_diff(); nothing was written.';
    end if;
    ev.previous_state := diff.old_part;
    ev.new_state := diff.new_part;
    if (new.environment, new.app_version, new.config, new.secrets_ref, new.secrets_fingerprint,
        new.depends_on, new.restarted_at, new.deletion_requested_at)
       is distinct from
       (old.environment, old.app_version, old.config, old.secrets_ref, old.secrets_fingerprint,
        old.depends_on, old.restarted_at, old.deletion_requested_at) then
      new.generation := old.generation + 1;
    end if;
    new.version := old.version + 1;
    new.updated_at := now();
  else
    ev.previous_state := shipslog.audited_state(old);
  end if;

  if tg_op <> 'INSERT' then
    -- OLD is the row version this statement locked, so concurrent writers line up here in
    -- commit order and chain_index has no gaps.
    ev.chain_index := old.chain_length + 1;
    prev_hash := old.chain_head;
  end if;

  -- One assignment per field: each is a plpgsql "simple expression", evaluated without
  -- starting an executor, which a multi-column SELECT INTO would (~0.13 M instructions more
  -- per event, measured with callgrind).
  ev.deployment_id := coalesce(new.id, old.id);
  ev.tenant := coalesce(new.tenant, old.tenant);
  ev.name := coalesce(new.name, old.name);
  ev.seq := nextval('shipslog.deployment_events_seq');
  ev.occurred_at := clock_timestamp();
  ev.txid := pg_current_xact_id();
  -- A removal is always `removed`, whatever shipslog.action says for the rest of the
  -- transaction (a restart of one deployment, then the removal of another): a chain whose
  -- row is gone must end in `removed`, or shipslog.verify_chains() reports it as tampered.
  ev.action := case
                 when tg_op = 'DELETE' then 'removed'
                 else coalesce(shipslog.context_setting('shipslog.action'), shipslog.derive_action(ev.previous_state, ev.new_state))
               end;
  ev.actor := coalesce(shipslog.context_setting('shipslog.actor'), session_user);
  ev.actor_type := coalesce(shipslog.context_setting('shipslog.actor_type'), 'database');
  ev.reason := shipslog.context_setting('shipslog.reason');
  ev.correlation_id := shipslog.context_setting('shipslog.correlation_id');
  ev.request_id := shipslog.context_setting('shipslog.request_id');
  ev.user_agent := shipslog.context_setting('shipslog.user_agent');
  -- Inside SECURITY DEFINER current_user is the owner; the session's role is in "role".
  ev.db_role := case when current_setting('role') = 'none' then session_user::text else current_setting('role') end;
  ev.db_user := session_user;
  ev.application_name := nullif(current_setting('application_name'), '');
  ev.client_addr := inet_client_addr();
  -- The caller-supplied settings, checked here so that the error names the setting.
  if ev.actor_type not in ('user', 'service', 'system', 'database') then
    raise exception 'shipslog.actor_type must be user, service or system, not "%"', ev.actor_type
      using errcode = '22023',
            hint = 'Set shipslog.actor_type with set_config(''shipslog.actor_type'', ''user'', true), or leave it unset.';
  end if;
  if ev.action not in ('created', 'config_changed', 'upgraded', 'downgraded', 'secrets_rotated', 'restarted', 'health_changed',
                       'status_changed', 'resources_changed', 'removal_requested', 'removed', 'rolled_back') then
    raise exception 'shipslog.action "%" is not an audit action', ev.action
      using errcode = '22023',
            hint = 'Use one of created, config_changed, upgraded, downgraded, secrets_rotated, restarted, health_changed, status_changed, resources_changed, removal_requested, removed, rolled_back; or leave it unset.';
  end if;
  if length(ev.actor) > 200 or length(ev.reason) > 1000 or length(ev.correlation_id) > 200
     or length(ev.request_id) > 200 or length(ev.user_agent) > 500 then
    raise exception 'an actor context setting is too long'
      using errcode = '22001',
            hint = 'Limits: shipslog.actor 200, shipslog.reason 1000, shipslog.correlation_id 200, shipslog.request_id 200, shipslog.user_agent 500 characters.';
  end if;
  begin
    ev.source_ip := shipslog.context_setting('shipslog.source_ip')::inet;
  exception when invalid_text_representation then
    raise exception 'shipslog.source_ip is not an IP address: %', current_setting('shipslog.source_ip', true)
      using errcode = '22P02',
            hint = 'Set shipslog.source_ip to an IPv4 or IPv6 address, or leave it unset.';
  end;
  ev.hash := shipslog.event_hash(prev_hash, ev);

  insert into shipslog.deployment_events
  overriding system value
  select ev.*;

  if tg_op = 'DELETE' then
    return old;
  end if;
  new.chain_length := ev.chain_index;
  new.chain_head := ev.hash;
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
function shipslog.tg_deployments__notify_reconciler()
CREATE OR REPLACE FUNCTION shipslog.tg_deployments__notify_reconciler()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
begin
  if tg_op = 'INSERT' or new.generation <> old.generation then
    perform pg_notify('shipslog_reconcile', new.id::text);
  end if;
  return null;
end
$function$
function shipslog.tg_deployments__recipe_config()
CREATE OR REPLACE FUNCTION shipslog.tg_deployments__recipe_config()
 RETURNS trigger
 LANGUAGE plpgsql
 STABLE
 SET search_path TO ''
AS $function$
declare
  errors text[];
begin
  if tg_op = 'UPDATE' and new.config is not distinct from old.config and new.recipe is not distinct from old.recipe then
    return new; -- rows stored before this check keep working for status and health updates
  end if;
  errors := shipslog.recipe_config_errors(new.recipe, new.config);
  if cardinality(errors) > 0 then
    raise exception 'deployment %/%: invalid % config: %', new.tenant, new.name, new.recipe, array_to_string(errors, '; ')
      using errcode = 'SL210',
            hint = 'See the recipe''s config schema (src/recipes/); shipslog.recipe_config_errors(recipe, config) lists the problems.';
  end if;
  return new;
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
  with links as (
    select
      e as ev,
      lag(e.hash) over w as prev_hash,
      lag(e.chain_index) over w as prev_index,
      lag(e.action) over w as prev_action
    from shipslog.deployment_events as e
    where p_deployment_id is null
      or e.deployment_id = p_deployment_id
    window w as (partition by e.deployment_id order by e.chain_index)
  ),
  link_problems as (
    select
      (l.ev).deployment_id,
      (l.ev).tenant,
      (l.ev).name,
      (l.ev).chain_index,
      case
        when (l.ev).chain_index <> coalesce(l.prev_index, 0) + 1 then
          format('event #%s follows #%s: %s event(s) missing', (l.ev).chain_index,
                 coalesce(l.prev_index, 0), (l.ev).chain_index - coalesce(l.prev_index, 0) - 1)
        when (l.ev).hash <> shipslog.event_hash(l.prev_hash, l.ev) then
          format('event #%s (%s) does not match its hash: altered, swapped or forged',
                 (l.ev).chain_index, (l.ev).action)
        when l.prev_action = 'removed' then
          format('event #%s (%s) follows the removed event', (l.ev).chain_index, (l.ev).action)
        when (l.ev).chain_index = 1 and (l.ev).action <> 'created' then
          format('event #1 is %s, not created: the chain''s start is missing', (l.ev).action)
      end as problem
    from links as l
  ),
  heads as (
    select distinct on (e.deployment_id)
      e.deployment_id, e.tenant, e.name, e.chain_index, e.hash, e.action
    from shipslog.deployment_events as e
    where p_deployment_id is null
      or e.deployment_id = p_deployment_id
    order by e.deployment_id, e.chain_index desc
  ),
  replays as (
    select e.deployment_id, shipslog.replay_state(e.previous_state, e.new_state order by e.chain_index) as state
    from shipslog.deployment_events as e
    where e.deployment_id in (
      select d.id
      from shipslog.deployments as d
      where p_deployment_id is null
        or d.id = p_deployment_id
    )
    group by e.deployment_id
  ),
  rows as (
    select d.*
    from shipslog.deployments as d
    where p_deployment_id is null
      or d.id = p_deployment_id
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
        when d.id is null and h.action <> 'removed' then
          format('chain ends at #%s (%s) but the deployment row is gone: deleted while triggers were bypassed, or the chain''s tail was removed',
                 h.chain_index, h.action)
        when d.id is not null and h.action = 'removed' then
          'deployment row exists after its removed event'
        when d.id is not null and (d.chain_length <> h.chain_index or d.chain_head is distinct from h.hash) then
          format('deployment row''s chain head is #%s but the chain ends at #%s: events removed, truncated or forged',
                 d.chain_length, h.chain_index)
        when d.id is not null and shipslog.audited_state(d) is distinct from r.state then
          'deployment row differs from the state its events replay to: changed while audit triggers were bypassed'
      end as problem
    from heads as h
    full join rows as d
      on d.id = h.deployment_id
    left join replays as r
      on r.deployment_id = d.id
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
trigger CREATE TRIGGER audit_checkpoint_heads_append_only BEFORE DELETE OR UPDATE ON shipslog.audit_checkpoint_heads FOR EACH ROW EXECUTE FUNCTION shipslog.tg_audit_checkpoints__append_only()
trigger CREATE TRIGGER audit_checkpoint_heads_no_truncate BEFORE TRUNCATE ON shipslog.audit_checkpoint_heads FOR EACH STATEMENT EXECUTE FUNCTION shipslog.tg_audit_records__no_truncate('shipslog.audit_checkpoint_heads cannot be removed: inclusion proofs and exports read the signed leaves; take a new checkpoint instead (shipslog checkpoint).')
trigger CREATE TRIGGER audit_checkpoints_append_only BEFORE DELETE OR UPDATE ON shipslog.audit_checkpoints FOR EACH ROW EXECUTE FUNCTION shipslog.tg_audit_checkpoints__append_only()
trigger CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON shipslog.audit_checkpoints FOR EACH STATEMENT EXECUTE FUNCTION shipslog.tg_audit_records__no_truncate('shipslog.audit_checkpoints cannot be removed: verification checks its signed digests; take a new checkpoint instead (shipslog checkpoint).')
trigger CREATE TRIGGER deployment_events_append_only BEFORE DELETE OR UPDATE ON shipslog.deployment_events FOR EACH ROW EXECUTE FUNCTION shipslog.tg_deployment_events__append_only()
trigger CREATE TRIGGER deployment_events_no_forged_insert BEFORE INSERT ON shipslog.deployment_events FOR EACH ROW WHEN ((pg_trigger_depth() = 0)) EXECUTE FUNCTION shipslog.tg_deployment_events__append_only()
trigger CREATE TRIGGER deployment_events_no_truncate BEFORE TRUNCATE ON shipslog.deployment_events FOR EACH STATEMENT EXECUTE FUNCTION shipslog.tg_audit_records__no_truncate('shipslog.deployment_events is audit history and is never removed; record a correcting change on the deployment instead.')
trigger CREATE TRIGGER deployments_20_recipe_config BEFORE INSERT OR UPDATE ON shipslog.deployments FOR EACH ROW EXECUTE FUNCTION shipslog.tg_deployments__recipe_config()
trigger CREATE TRIGGER deployments_audit BEFORE INSERT OR DELETE OR UPDATE ON shipslog.deployments FOR EACH ROW EXECUTE FUNCTION shipslog.tg_deployments__audit()
trigger CREATE TRIGGER deployments_enqueue AFTER INSERT ON shipslog.deployments FOR EACH ROW EXECUTE FUNCTION shipslog.tg_deployments__enqueue()
trigger CREATE TRIGGER deployments_no_truncate BEFORE TRUNCATE ON shipslog.deployments FOR EACH STATEMENT EXECUTE FUNCTION shipslog.tg_audit_records__no_truncate('Remove rows of shipslog.deployments with DELETE (by id, with a WHERE clause, or all of them): the audit trigger writes each one''s removed event.')
trigger CREATE TRIGGER deployments_notify_reconciler AFTER INSERT OR UPDATE ON shipslog.deployments FOR EACH ROW EXECUTE FUNCTION shipslog.tg_deployments__notify_reconciler()
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
view reconcile_recent_failures as
 SELECT target,
    count(*) AS failures,
    count(DISTINCT deployment_id) AS deployments,
    max(completed_at) AS last_failure_at,
    (array_agg(failure_reason ORDER BY completed_at DESC))[1] AS last_failure_reason,
    (array_agg(failure_message ORDER BY completed_at DESC))[1] AS last_failure_message
   FROM shipslog.reconcile_runs r
  WHERE phase = 'Failed'::text AND started_at > (now() - '24:00:00'::interval)
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
policy agent_message_daily_tenant on agent_message_daily permissive for select to shipslog_app using (COALESCE(((NULLIF(current_setting('shipslog.tenant'::text, true), ''::text) = '*'::text) OR (NULLIF(current_setting('shipslog.tenant'::text, true), ''::text) = tenant)), false))
policy agent_messages_auditor on agent_messages permissive for select to shipslog_auditor using (true)
policy agent_messages_owner on agent_messages permissive for all to postgres using (((COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = '*'::text) OR (COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = tenant))) with check (((COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = '*'::text) OR (COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = tenant)))
policy agent_messages_retention on agent_messages permissive for all to shipslog_agent_retention using (true)
policy agent_messages_tenant on agent_messages permissive for all to shipslog_app using (COALESCE(((NULLIF(current_setting('shipslog.tenant'::text, true), ''::text) = '*'::text) OR (NULLIF(current_setting('shipslog.tenant'::text, true), ''::text) = tenant)), false)) with check (COALESCE(((NULLIF(current_setting('shipslog.tenant'::text, true), ''::text) = '*'::text) OR (NULLIF(current_setting('shipslog.tenant'::text, true), ''::text) = tenant)), false))
policy deployment_events_app_tenant on deployment_events permissive for select to shipslog_app using (shipslog.tenant_visible(tenant))
policy deployment_events_auditor_all on deployment_events permissive for select to shipslog_auditor using (true)
policy deployment_events_owner on deployment_events permissive for all to postgres using (((COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = '*'::text) OR (COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = tenant))) with check (((COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = '*'::text) OR (COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = tenant)))
policy deployment_events_reconciler_all on deployment_events permissive for select to shipslog_reconciler using (true)
policy deployments_app_tenant on deployments permissive for all to shipslog_app using (shipslog.tenant_visible(tenant)) with check (shipslog.tenant_visible(tenant))
policy deployments_auditor_all on deployments permissive for select to shipslog_auditor using (true)
policy deployments_owner on deployments permissive for all to postgres using (((COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = '*'::text) OR (COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = tenant))) with check (((COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = '*'::text) OR (COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = tenant)))
policy deployments_reconciler_all on deployments permissive for all to shipslog_reconciler using (true) with check (true)
policy idempotency_keys_app_tenant on idempotency_keys permissive for all to shipslog_app using (shipslog.tenant_visible(tenant)) with check (shipslog.tenant_visible(tenant))
policy idempotency_keys_owner on idempotency_keys permissive for all to postgres using (((COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = '*'::text) OR (COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = tenant))) with check (((COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = '*'::text) OR (COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = tenant)))
policy projects_auditor on projects permissive for select to shipslog_auditor using (true)
policy projects_owner on projects permissive for all to postgres using (((COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = '*'::text) OR (COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = tenant))) with check (((COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = '*'::text) OR (COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = tenant)))
policy projects_tenant on projects permissive for select to shipslog_app using (COALESCE(((NULLIF(current_setting('shipslog.tenant'::text, true), ''::text) = '*'::text) OR (NULLIF(current_setting('shipslog.tenant'::text, true), ''::text) = tenant)), false))
policy reconcile_run_audit_app_tenant on reconcile_run_audit permissive for select to shipslog_app using (shipslog.tenant_visible(tenant))
policy reconcile_run_audit_owner on reconcile_run_audit permissive for all to postgres using (((COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = '*'::text) OR (COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = tenant))) with check (((COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = '*'::text) OR (COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = tenant)))
policy reconcile_run_audit_read_all on reconcile_run_audit permissive for select to shipslog_auditor, shipslog_reconciler using (true)
policy reconcile_run_transitions_app_tenant on reconcile_run_transitions permissive for select to shipslog_app using (shipslog.tenant_visible(tenant))
policy reconcile_run_transitions_owner on reconcile_run_transitions permissive for all to postgres using (((COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = '*'::text) OR (COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = tenant))) with check (((COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = '*'::text) OR (COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = tenant)))
policy reconcile_run_transitions_read_all on reconcile_run_transitions permissive for select to shipslog_auditor, shipslog_reconciler using (true)
policy reconcile_runs_app_tenant on reconcile_runs permissive for select to shipslog_app using (shipslog.tenant_visible(tenant))
policy reconcile_runs_owner on reconcile_runs permissive for all to postgres using (((COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = '*'::text) OR (COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = tenant))) with check (((COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = '*'::text) OR (COALESCE(NULLIF(current_setting('shipslog.tenant'::text, true), ''::text), tenant) = tenant)))
policy reconcile_runs_reconciler_all on reconcile_runs permissive for all to shipslog_auditor, shipslog_reconciler using (true) with check (true)
grant DELETE, INSERT, SELECT, UPDATE on table deployments to shipslog_app
grant DELETE, INSERT, SELECT, UPDATE on table idempotency_keys to shipslog_app
grant DELETE, SELECT on table agent_messages to shipslog_agent_retention
grant DELETE, SELECT, UPDATE on table deployments to shipslog_reconciler
grant EXECUTE on function agent_analytics(p_project_id text, p_from timestamp with time zone, p_to timestamp with time zone, p_recent integer) to shipslog_app
grant EXECUTE on function agent_analytics(p_project_id text, p_from timestamp with time zone, p_to timestamp with time zone, p_recent integer) to shipslog_auditor
grant EXECUTE on function agent_analytics_scan(p_project_id text, p_from timestamp with time zone, p_to timestamp with time zone, p_recent integer) to shipslog_app
grant EXECUTE on function agent_analytics_scan(p_project_id text, p_from timestamp with time zone, p_to timestamp with time zone, p_recent integer) to shipslog_auditor
grant EXECUTE on function agent_attribution() to shipslog_agent_retention
grant EXECUTE on function agent_attribution() to shipslog_app
grant EXECUTE on function agent_message_daily_drift() to shipslog_auditor
grant EXECUTE on function apply_event(state jsonb, previous_part jsonb, new_part jsonb) to shipslog_app
grant EXECUTE on function apply_event(state jsonb, previous_part jsonb, new_part jsonb) to shipslog_auditor
grant EXECUTE on function apply_event(state jsonb, previous_part jsonb, new_part jsonb) to shipslog_reconciler
grant EXECUTE on function audited_state(d shipslog.deployments) to shipslog_app
grant EXECUTE on function audited_state(d shipslog.deployments) to shipslog_auditor
grant EXECUTE on function audited_state(d shipslog.deployments) to shipslog_reconciler
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
grant EXECUTE on function context_setting(setting_name text) to shipslog_agent_retention
grant EXECUTE on function context_setting(setting_name text) to shipslog_app
grant EXECUTE on function context_setting(setting_name text) to shipslog_auditor
grant EXECUTE on function context_setting(setting_name text) to shipslog_reconciler
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
grant EXECUTE on function describe_event(action text, changes jsonb, previous_state jsonb, new_state jsonb) to shipslog_app
grant EXECUTE on function describe_event(action text, changes jsonb, previous_state jsonb, new_state jsonb) to shipslog_auditor
grant EXECUTE on function describe_event(action text, changes jsonb, previous_state jsonb, new_state jsonb) to shipslog_reconciler
grant EXECUTE on function describe_value(value jsonb) to shipslog_app
grant EXECUTE on function describe_value(value jsonb) to shipslog_auditor
grant EXECUTE on function describe_value(value jsonb) to shipslog_reconciler
grant EXECUTE on function ensure_reconcile_run_partitions(months_ahead integer) to shipslog_reconciler
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
grant EXECUTE on function event_hash(prev_hash bytea, e shipslog.deployment_events) to shipslog_auditor
grant EXECUTE on function event_hash(prev_hash bytea, e shipslog.deployment_events) to shipslog_reconciler
grant EXECUTE on function event_payload(e shipslog.deployment_events) to shipslog_app
grant EXECUTE on function event_payload(e shipslog.deployment_events) to shipslog_auditor
grant EXECUTE on function event_payload(e shipslog.deployment_events) to shipslog_reconciler
grant EXECUTE on function event_summary(action text, previous_state jsonb, new_state jsonb, lines text[]) to shipslog_app
grant EXECUTE on function event_summary(action text, previous_state jsonb, new_state jsonb, lines text[]) to shipslog_auditor
grant EXECUTE on function event_summary(action text, previous_state jsonb, new_state jsonb, lines text[]) to shipslog_reconciler
grant EXECUTE on function find_active_api_key(p_key_hash bytea) to shipslog_app
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
grant EXECUTE on function iso_utc(ts timestamp with time zone) to shipslog_agent_retention
grant EXECUTE on function iso_utc(ts timestamp with time zone) to shipslog_app
grant EXECUTE on function iso_utc(ts timestamp with time zone) to shipslog_auditor
grant EXECUTE on function iso_utc(ts timestamp with time zone) to shipslog_reconciler
grant EXECUTE on function jsonb_diff(old_value jsonb, new_value jsonb, OUT old_part jsonb, OUT new_part jsonb) to shipslog_app
grant EXECUTE on function jsonb_diff(old_value jsonb, new_value jsonb, OUT old_part jsonb, OUT new_part jsonb) to shipslog_auditor
grant EXECUTE on function jsonb_diff(old_value jsonb, new_value jsonb, OUT old_part jsonb, OUT new_part jsonb) to shipslog_reconciler
grant EXECUTE on function jsonb_merge_patch(target jsonb, patch jsonb) to shipslog_app
grant EXECUTE on function jsonb_merge_patch(target jsonb, patch jsonb) to shipslog_auditor
grant EXECUTE on function jsonb_merge_patch(target jsonb, patch jsonb) to shipslog_reconciler
grant EXECUTE on function merkle_leaf(p_deployment_id uuid, p_chain_index integer, p_hash bytea) to shipslog_app
grant EXECUTE on function merkle_leaf(p_deployment_id uuid, p_chain_index integer, p_hash bytea) to shipslog_auditor
grant EXECUTE on function merkle_leaf(p_deployment_id uuid, p_chain_index integer, p_hash bytea) to shipslog_reconciler
grant EXECUTE on function merkle_root(p_leaves bytea[]) to shipslog_app
grant EXECUTE on function merkle_root(p_leaves bytea[]) to shipslog_auditor
grant EXECUTE on function merkle_root(p_leaves bytea[]) to shipslog_reconciler
grant EXECUTE on function purge_agent_messages(p_older_than interval, p_kind text) to postgres
grant EXECUTE on function purge_agent_messages(p_older_than interval, p_kind text) to shipslog_reconciler
grant EXECUTE on function readable_events(events shipslog.deployment_events[]) to shipslog_app
grant EXECUTE on function readable_events(events shipslog.deployment_events[]) to shipslog_auditor
grant EXECUTE on function readable_events(events shipslog.deployment_events[]) to shipslog_reconciler
grant EXECUTE on function recipe_config_errors(recipe text, config jsonb) to shipslog_app
grant EXECUTE on function recipe_config_errors(recipe text, config jsonb) to shipslog_auditor
grant EXECUTE on function recipe_config_errors(recipe text, config jsonb) to shipslog_reconciler
grant EXECUTE on function record_api_key_use(p_key_hash bytea) to shipslog_app
grant EXECUTE on function register_project(p_tenant text, p_project_id text) to shipslog_app
grant EXECUTE on function relative_time(ts timestamp with time zone, now_ts timestamp with time zone) to shipslog_app
grant EXECUTE on function relative_time(ts timestamp with time zone, now_ts timestamp with time zone) to shipslog_auditor
grant EXECUTE on function relative_time(ts timestamp with time zone, now_ts timestamp with time zone) to shipslog_reconciler
grant EXECUTE on function replay_state(jsonb, jsonb) to shipslog_app
grant EXECUTE on function replay_state(jsonb, jsonb) to shipslog_auditor
grant EXECUTE on function replay_state(jsonb, jsonb) to shipslog_reconciler
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
grant SELECT on table audit_checkpoint_heads to shipslog_app
grant SELECT on table audit_checkpoint_heads to shipslog_auditor
grant SELECT on table audit_checkpoint_heads to shipslog_reconciler
grant SELECT on table audit_checkpoints to shipslog_app
grant SELECT on table audit_checkpoints to shipslog_auditor
grant SELECT on table audit_checkpoints to shipslog_reconciler
grant SELECT on table deployment_events to shipslog_app
grant SELECT on table deployment_events to shipslog_auditor
grant SELECT on table deployment_events to shipslog_reconciler
grant SELECT on table deployments to shipslog_auditor
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
grant SELECT on view reconcile_lock_effectiveness to shipslog_auditor
grant SELECT on view reconcile_lock_effectiveness to shipslog_reconciler
grant SELECT on view reconcile_recent_failures to shipslog_auditor
grant SELECT on view reconcile_recent_failures to shipslog_reconciler
grant SELECT on view reconcile_success_rate to shipslog_auditor
grant SELECT on view reconcile_success_rate to shipslog_reconciler
grant SELECT, UPDATE on table reconcile_queue to shipslog_reconciler
grant USAGE on schema shipslog to shipslog_agent_retention
grant USAGE on schema shipslog to shipslog_app
grant USAGE on schema shipslog to shipslog_auditor
grant USAGE on schema shipslog to shipslog_reconciler
comment on column audit_checkpoints.version is '1: digest = SHA-256 over "<id> <chain_index> <hash hex>" lines; 2: digest = RFC 9162 Merkle root over the same lines as leaves, heads kept in audit_checkpoint_heads.'
comment on column reconcile_queue.lease_expires_at is 'The lease is held until then (database clock); the holder extends it while it works. After it, another replica may claim the row.'
comment on column reconcile_queue.lease_holder is 'Worker id of the reconciler replica that holds this deployment (null: nobody). Set with lease_id and lease_expires_at.'
comment on column reconcile_queue.lease_id is 'One id per claim (a health-check batch shares one over its rows): extensions and the final write name it, so a holder whose lease ran out and was taken over cannot touch the new holder''s.'
comment on table agent_message_daily is 'Daily sums of shipslog.agent_messages per project and model; written only by its triggers.'
comment on table agent_message_retention_runs is 'Append-only record of agent message retention runs. Written only by shipslog.purge_agent_messages.'
comment on table agent_messages is 'Audit trail of the agent''s model calls. Finalised once; never changed; deleted only by shipslog.purge_agent_messages past retention.'
comment on table api_keys is 'API keys (SHA-256 of the key only). Read by the service before it switches to shipslog_app.'
comment on table audit_checkpoint_heads is 'Leaves (chain heads) of each version 2 checkpoint''s Merkle tree. Append-only; written by shipslog.record_checkpoint().'
comment on table audit_checkpoints is 'Signed digests of all audit chain heads at a snapshot. Append-only; written by shipslog.record_checkpoint().'
comment on table deployment_events is 'Append-only, hash-chained audit trail of shipslog.deployments. Written only by its trigger.'
comment on table deployments is 'Desired and observed state of each app. Every insert, update and delete writes one row to shipslog.deployment_events.'
comment on table projects is 'Projects that agent messages belong to; each belongs to exactly one tenant.'
comment on table reconcile_runs is 'One row per reconciler execution. Phase changes are recorded in reconcile_run_transitions by trigger.'
comment on table schema_definitions is 'Each application of sql/ by shipslog migrate: the SHA-256 of the files applied.'
comment on view agent_message_deployment_changes is 'Each deployment change and the agent message (model, tokens, cost) whose id it carried as correlation_id.'
