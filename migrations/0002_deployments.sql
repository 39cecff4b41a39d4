-- Up Migration

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
  -- were bypassed leaves this (and the state hash in the last event) behind the row.
  chain_length integer not null default 0,
  chain_head bytea,
  constraint deployments_tenant_name_key unique (tenant, name),
  constraint deployments_observed_generation_check check (observed_generation between 0 and generation)
);

comment on table shipslog.deployments is
  'Desired and observed state of each app. Every insert, update and delete writes one row to shipslog.deployment_events.';

-- Down Migration
drop table shipslog.deployments;
