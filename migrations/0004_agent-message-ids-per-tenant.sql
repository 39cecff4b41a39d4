-- Up Migration

-- Agent message ids are unique per tenant, no longer across tenants (issue 9). Starting a
-- message under an id another tenant held answered 409 where a free id answered 201: any
-- tenant could learn which ids the others use. Now each tenant has its own ids, and
-- another tenant's id is a free one. message_id leads the key so a lookup by
-- id alone (a global key's GET) still uses the index; every link from a deployment change
-- to its message already matches tenant and id (sql/agent/60_deployment_link.sql).
-- Rebuilding the key locks agent_messages for as long as its index takes to build.
alter table shipslog.agent_messages
  drop constraint agent_messages_pkey,
  add constraint agent_messages_pkey primary key (message_id, tenant);

-- Down Migration
-- Fails while two tenants hold the same id: decide which message to keep first.
alter table shipslog.agent_messages
  drop constraint agent_messages_pkey,
  add constraint agent_messages_pkey primary key (message_id);
