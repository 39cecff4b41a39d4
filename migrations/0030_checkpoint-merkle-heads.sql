-- Up Migration

-- Checkpoints sign a Merkle tree root over the chain heads (issue 12, item 3;
-- docs/offline-verification.md): version 2. Version 1 checkpoints (a SHA-256 over one text line
-- per chain) stay as they were and stay verifiable; the version says which digest and which
-- message a row's signature covers.
alter table shipslog.audit_checkpoints
  add column version smallint not null default 1
    constraint audit_checkpoints_version_check check (version in (1, 2));

-- Rows that exist were version 1; shipslog.record_checkpoint() states the version of every new one.
alter table shipslog.audit_checkpoints
  alter column version drop default;

comment on column shipslog.audit_checkpoints.version is
  '1: digest = SHA-256 over "<id> <chain_index> <hash hex>" lines; 2: digest = RFC 9162 Merkle root over the same lines as leaves, heads kept in audit_checkpoint_heads.';

-- The leaves of a version 2 checkpoint, in tree order (deployment id order). Kept so that an
-- inclusion proof or an export needs no rescan of every event as of an old snapshot; they
-- are not trusted: a verifier recomputes the signed root from them (and shipslog verify
-- recomputes them from the events). About 100 bytes per chain per checkpoint with its index.
-- No foreign key to audit_checkpoints: only shipslog.record_checkpoint() writes both, in one
-- statement's transaction, and neither table lets a row go; a foreign key would also turn a
-- TRUNCATE of audit_checkpoints into PostgreSQL's 0A000 before its own SL005 guard could answer.
create table shipslog.audit_checkpoint_heads (
  checkpoint_id bigint not null,
  leaf_index integer not null,
  deployment_id uuid not null,
  chain_index integer not null,
  hash bytea not null,
  primary key (checkpoint_id, leaf_index)
);

comment on table shipslog.audit_checkpoint_heads is
  'Leaves (chain heads) of each version 2 checkpoint''s Merkle tree. Append-only; written by shipslog.record_checkpoint().';

-- Which checkpoints signed a head of this deployment within a range of its chain (prove, export).
create index audit_checkpoint_heads_chain_idx
  on shipslog.audit_checkpoint_heads (deployment_id, chain_index);

-- Down Migration

drop table shipslog.audit_checkpoint_heads;
alter table shipslog.audit_checkpoints
  drop column version;
