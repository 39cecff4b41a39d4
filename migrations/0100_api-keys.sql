-- Up Migration

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

-- Auditors may see who holds which key, never the hashes.
grant select (id, name, tenant, scopes, actor_type, key_prefix, created_at, revoked_at, last_used_at)
  on shipslog.api_keys
  to shipslog_auditor;

-- The service connects as the schema owner (a superuser in the embedded default) and switches
-- to shipslog_app inside each request transaction; a non-superuser owner must be a member of
-- the roles it switches to.
do $$
begin
  if not (select rolsuper from pg_catalog.pg_roles where rolname = current_user)
     and not pg_catalog.pg_has_role(current_user, 'shipslog_app', 'member') then
    execute format('grant shipslog_app, shipslog_reconciler, shipslog_auditor to %I', current_user);
  end if;
end
$$;

-- Down Migration
drop table shipslog.api_keys;
