-- Up Migration

-- Which set of sql/ definitions this database holds: `shipslog migrate` re-applies sql/ after
-- the migrations and records the SHA-256 of the files it applied; `shipslog serve` skips the
-- re-application at start when the digest is unchanged (re-creating triggers and policies
-- would lock their tables at every replica's start).
create table shipslog.schema_definitions (
  id bigint generated always as identity primary key,
  applied_at timestamptz not null default clock_timestamp(),
  applied_by text not null default session_user,
  digest text not null
    constraint schema_definitions_digest_check check (digest ~ '^[0-9a-f]{64}$'),
  file_count integer not null
);

comment on table shipslog.schema_definitions is
  'Each application of sql/ by shipslog migrate: the SHA-256 of the files applied.';

-- Down Migration
drop table shipslog.schema_definitions;
