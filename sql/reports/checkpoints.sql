-- Which signed checkpoints were recorded, and does the history they cover still match?
-- Newest first: when, by which login, how many chains and events, the digest, the id of the
-- signing key; for the newest `recheck` of them the digest is recomputed from the events as
-- of the checkpoint's snapshot (shipslog.checkpoint_digest: the Merkle root of the chain heads
-- for version 2, the digest of version 1): false means the history it covers
-- was rewritten since. Signatures need the public key, which is not in the database: run
-- `shipslog verify` with it.
--
-- Variables (all optional):
--   recheck  recompute the digest of the newest N checkpoints (default 1; each one reads
--            every event, so 0 lists only)                      -v recheck=24
--
--   psql -X -v ON_ERROR_STOP=1 -f sql/reports/checkpoints.sql

\if :{?recheck}
\else
  \set recheck 1
\endif

select
  c.id,
  c.version,
  c.created_at,
  c.created_by,
  c.chain_count,
  c.event_count,
  encode(c.digest, 'hex') as digest,
  c.key_id,
  c.snapshot,
  case
    when c.newest_rank <= :'recheck'::int then (
      select shipslog.checkpoint_digest(c.version, c.snapshot) = c.digest
    )
  end as digest_matches
from (
    select a.*, row_number() over (order by a.id desc) as newest_rank
    from shipslog.audit_checkpoints as a
  ) as c
order by c.id desc;
