-- Signed checkpoints (table shipslog.audit_checkpoints): a digest of every chain head as of
-- a snapshot, signed with a key kept outside the database, so that a chain rewritten
-- consistently later (hashes and the row's head included) no longer matches.

-- The digest of every chain as of a snapshot: SHA-256 over one line per deployment,
-- "<deployment id> <last chain_index> <last hash hex>", in deployment id order.
create or replace function shipslog.chain_digest(p_snapshot pg_snapshot)
returns table (digest bytea, chain_count bigint, event_count bigint)
language sql
stable
set search_path = ''
as $$
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
$$;

-- The exact bytes a version 1 checkpoint signs (kept: rows of version 1 are verified with it).
create or replace function shipslog.checkpoint_message(p_snapshot pg_snapshot, p_chain_count bigint, p_event_count bigint, p_digest bytea)
returns text
language sql
immutable
parallel safe
return 'shipslog-checkpoint v1' || e'\n' || p_snapshot::text || e'\n' || p_chain_count || e'\n'
  || p_event_count || e'\n' || encode(p_digest, 'hex');

-- The exact bytes a checkpoint of either version signs: five lines, the first naming the
-- version, the last the digest (v1) or the Merkle root (v2) in hex.
create or replace function shipslog.checkpoint_message(p_version smallint, p_snapshot pg_snapshot, p_chain_count bigint, p_event_count bigint, p_digest bytea)
returns text
language sql
immutable
parallel safe
return 'shipslog-checkpoint v' || p_version || e'\n' || p_snapshot::text || e'\n' || p_chain_count || e'\n'
  || p_event_count || e'\n' || encode(p_digest, 'hex');

-- What a recorded checkpoint's signature covers.
create or replace function shipslog.checkpoint_message(c shipslog.audit_checkpoints)
returns text
language sql
immutable
parallel safe
return shipslog.checkpoint_message(c.version, c.snapshot, c.chain_count, c.event_count, c.digest);

-- The leaf of one chain head in a version 2 checkpoint's Merkle tree: the UTF-8 bytes of
-- "<deployment id> <chain_index> <hash hex>" (lowercase uuid, decimal index, lowercase hex),
-- the same line a version 1 digest hashes. Text rather than packed binary so that an auditor
-- can read a leaf and rebuild it with any tool.
create or replace function shipslog.merkle_leaf(p_deployment_id uuid, p_chain_index integer, p_hash bytea)
returns bytea
language sql
immutable
parallel safe
return convert_to(p_deployment_id::text || ' ' || p_chain_index || ' ' || encode(p_hash, 'hex'), 'UTF8');

-- RFC 9162 section 2.1.1: the Merkle Tree Hash of a list of leaves (leaf hash SHA-256(0x00 ||
-- leaf), interior node SHA-256(0x01 || left || right), an empty tree SHA-256 of nothing).
-- Computed bottom-up, pairing neighbours and carrying an odd last node up a level unchanged:
-- that builds exactly the RFC's tree, whose left subtree is the largest power of two below n
-- (test/merkle.test.ts holds it against the recursive definition and known roots).
create or replace function shipslog.merkle_root(p_leaves bytea[])
returns bytea
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
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
$$;

-- Every chain's head as of a snapshot, in tree order (deployment id), and how many events
-- that snapshot sees: one scan, the input of both checkpoint versions.
create or replace function shipslog.checkpoint_heads(p_snapshot pg_snapshot)
returns table (deployment_ids uuid[], chain_indexes integer[], hashes bytea[], event_count bigint)
language sql
stable
set search_path = ''
as $$
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
$$;

-- The Merkle root over the chain heads as of a snapshot: what a version 2 checkpoint signs.
create or replace function shipslog.checkpoint_root(p_snapshot pg_snapshot)
returns table (root bytea, chain_count bigint, event_count bigint)
language sql
stable
set search_path = ''
as $$
  select
    shipslog.merkle_root(array(
      select shipslog.merkle_leaf(l.deployment_id, l.chain_index, l.hash)
      from unnest(h.deployment_ids, h.chain_indexes, h.hashes) with ordinality as l(deployment_id, chain_index, hash, ord)
      order by l.ord)),
    cardinality(h.deployment_ids),
    h.event_count
  from shipslog.checkpoint_heads(p_snapshot) as h
$$;

-- The digest a checkpoint of this version must carry, recomputed from the events as of its
-- snapshot (shipslog verify, sql/reports/checkpoints.sql).
create or replace function shipslog.checkpoint_digest(p_version smallint, p_snapshot pg_snapshot)
returns bytea
language sql
stable
set search_path = ''
as $$
  select case p_version
    when 1 then (select d.digest from shipslog.chain_digest(p_snapshot) as d)
    when 2 then (select r.root from shipslog.checkpoint_root(p_snapshot) as r)
  end
$$;

-- Records a checkpoint after recomputing its digest: a caller cannot store a digest the
-- data does not have. No role holds INSERT on the table; a superuser could still insert a
-- forged row, which is why every checkpoint is signed and shipslog verify checks the
-- signature against a public key held outside the database (PostgreSQL has no Ed25519).
-- The digest says the version: the Merkle root of the heads (2, what shipslog checkpoint
-- signs) or the version 1 digest of the same heads (what a shipslog older than migration
-- 0030 signs), so both kinds of client keep working. A version 2 checkpoint keeps its leaves.
create or replace function shipslog.record_checkpoint(
  p_snapshot pg_snapshot,
  p_digest bytea,
  p_key_id text,
  p_signature bytea
)
returns shipslog.audit_checkpoints
language plpgsql
volatile
security definer
set search_path = ''
as $$
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
$$;

create or replace function shipslog.tg_audit_checkpoints__append_only()
returns trigger
language plpgsql
volatile
set search_path = ''
as $$
begin
  raise exception 'shipslog.% is append-only: % refused', tg_table_name, tg_op
    using errcode = 'SL001',
          hint = 'Checkpoints cannot be changed or removed; take a new one instead.';
end
$$;

create or replace trigger audit_checkpoints_append_only
  before update or delete
  on shipslog.audit_checkpoints
  for each row
  execute function shipslog.tg_audit_checkpoints__append_only();

create or replace trigger audit_checkpoints_no_truncate
  before truncate
  on shipslog.audit_checkpoints
  for each statement
  execute function shipslog.tg_audit_records__no_truncate('shipslog.audit_checkpoints cannot be removed: verification checks its signed digests; take a new checkpoint instead (shipslog checkpoint).');


-- The leaves of version 2 checkpoints are as append-only as the checkpoints they belong to.
create or replace trigger audit_checkpoint_heads_append_only
  before update or delete
  on shipslog.audit_checkpoint_heads
  for each row
  execute function shipslog.tg_audit_checkpoints__append_only();

create or replace trigger audit_checkpoint_heads_no_truncate
  before truncate
  on shipslog.audit_checkpoint_heads
  for each statement
  execute function shipslog.tg_audit_records__no_truncate('shipslog.audit_checkpoint_heads cannot be removed: inclusion proofs and exports read the signed leaves; take a new checkpoint instead (shipslog checkpoint).');

revoke all
  on shipslog.audit_checkpoint_heads
  from public;

grant select
  on shipslog.audit_checkpoint_heads
  to shipslog_app, shipslog_reconciler, shipslog_auditor;

grant execute
  on function
    shipslog.checkpoint_message(smallint, pg_snapshot, bigint, bigint, bytea),
    shipslog.checkpoint_message(shipslog.audit_checkpoints),
    shipslog.merkle_leaf(uuid, integer, bytea),
    shipslog.merkle_root(bytea[]),
    shipslog.checkpoint_heads(pg_snapshot),
    shipslog.checkpoint_root(pg_snapshot),
    shipslog.checkpoint_digest(smallint, pg_snapshot)
  to shipslog_app, shipslog_reconciler, shipslog_auditor;
