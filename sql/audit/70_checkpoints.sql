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

-- The exact bytes that are signed.
create or replace function shipslog.checkpoint_message(p_snapshot pg_snapshot, p_chain_count bigint, p_event_count bigint, p_digest bytea)
returns text
language sql
immutable
parallel safe
return 'shipslog-checkpoint v1' || e'\n' || p_snapshot::text || e'\n' || p_chain_count || e'\n'
  || p_event_count || e'\n' || encode(p_digest, 'hex');

-- Records a checkpoint after recomputing its digest: a caller cannot store a digest the
-- data does not have. No role holds INSERT on the table; a superuser could still insert a
-- forged row, which is why every checkpoint is signed and shipslog verify checks the
-- signature against a public key held outside the database (PostgreSQL has no Ed25519).
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
  computed record;
  result shipslog.audit_checkpoints;
begin
  select * into computed from shipslog.chain_digest(p_snapshot);
  if computed.digest <> p_digest then
    raise exception 'checkpoint digest does not match the audit chains at snapshot %', p_snapshot
      using errcode = 'SL004',
            hint = 'Compute the digest with shipslog.chain_digest() for the same snapshot.';
  end if;
  insert into shipslog.audit_checkpoints (snapshot, chain_count, event_count, digest, key_id, signature)
  values (p_snapshot, computed.chain_count, computed.event_count, p_digest, p_key_id, p_signature)
  returning * into result;
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
  raise exception 'shipslog.audit_checkpoints is append-only: % refused', tg_op
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
