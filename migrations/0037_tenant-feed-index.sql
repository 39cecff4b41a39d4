-- Up Migration

-- A tenant's feed (GET /v1/events/feed with a tenant's key): its events in commit order,
-- (txid, seq), after the cursor. Row-level security's predicate cannot use an index, so with
-- only the (txid, seq) index a tenant key's poll read and discarded every event of every other
-- tenant between its cursor and its own next event: from cursor 0:0 on a trail whose other
-- tenants hold millions of events, longer than a request's statement_timeout (10 s) on every
-- retry. The API now states the key's tenant, which this index serves. It costs every event
-- one more index entry (16-20 K instructions, about 1% of an update; BENCHMARKS.md).
create index deployment_events_tenant_txid_seq_idx
  on shipslog.deployment_events (tenant, txid, seq);

-- Down Migration
drop index shipslog.deployment_events_tenant_txid_seq_idx;
