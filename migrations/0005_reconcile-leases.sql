-- Up Migration

-- Reconciler claims become leases (issue 9, item 4; docs/reconciler.md). A worker used to hold
-- its deployment's queue row FOR UPDATE in one transaction for the whole run, Kubernetes calls
-- included (up to 30 s each): the run pinned a connection and held back the cluster's oldest
-- transaction, so vacuum waited and /v1/events/feed (which emits only events older than every
-- open transaction) stalled for everyone. Now the claim is a short transaction that writes who
-- holds the row and until when; the run works with no transaction open, extends the lease
-- while it works, and records its result only while it still holds it. A lease that runs out
-- (a crashed or stalled replica) lets another replica take the deployment over.
alter table shipslog.reconcile_queue
  add column lease_holder text,
  add column lease_id uuid,
  add column lease_expires_at timestamptz,
  add constraint reconcile_queue_lease_check check (
    (lease_id is null) = (lease_holder is null)
    and (lease_id is null) = (lease_expires_at is null)),
  add constraint reconcile_queue_lease_holder_check check (length(lease_holder) between 1 and 200);

comment on column shipslog.reconcile_queue.lease_holder is
  'Worker id of the reconciler replica that holds this deployment (null: nobody). Set with lease_id and lease_expires_at.';
comment on column shipslog.reconcile_queue.lease_id is
  'One id per claim (a health-check batch shares one over its rows): extensions and the final write name it, so a holder whose lease ran out and was taken over cannot touch the new holder''s.';
comment on column shipslog.reconcile_queue.lease_expires_at is
  'The lease is held until then (database clock); the holder extends it while it works. After it, another replica may claim the row.';

-- Extensions, the final check and releases find a lease's rows by its id.
create index reconcile_queue_lease_idx
  on shipslog.reconcile_queue (lease_id)
  where lease_id is not null;

-- Down Migration
drop index shipslog.reconcile_queue_lease_idx;
alter table shipslog.reconcile_queue
  drop column lease_holder,
  drop column lease_id,
  drop column lease_expires_at;
