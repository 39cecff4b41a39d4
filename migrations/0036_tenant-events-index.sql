-- Up Migration

-- A tenant's events newest first (GET /v1/events with a tenant's key, changes-in-window.sql
-- -v tenant). Row-level security's predicate (shipslog.tenant_visible) cannot use an index, so
-- with only the occurred_at index such a page filtered out every newer event of every other
-- tenant row by row: 230 ms behind 90,000 of another tenant's events. The API now states the
-- key's tenant as a condition of its own, which this index serves. It costs every event one
-- more index entry (~14 K instructions, BENCHMARKS.md).
create index deployment_events_tenant_occurred_at_idx
  on shipslog.deployment_events (tenant, occurred_at);

-- Down Migration
drop index shipslog.deployment_events_tenant_occurred_at_idx;
