-- TRUNCATE removes rows without firing row triggers: on shipslog.deployments it would remove
-- every deployment and write no `removed` event, and on a table whose rows are audit records
-- (deployment_events, audit_checkpoints, agent_messages and what derives from them, reconcile
-- runs and their history) it would remove the record itself. So every such table has a
-- BEFORE TRUNCATE statement trigger calling this function, and TRUNCATE is refused for every
-- role, the owner and superusers included (unless triggers are bypassed, which
-- shipslog.verify_chains() detects for deployments and their events). The other roles hold
-- no TRUNCATE privilege at all and are refused earlier, with 42501.
--
-- One SQLSTATE for TRUNCATE on every table, SL005, instead of the code of each table's
-- append-only guard (SL001, SL204, SL303, SL307, SL310, SL313, which these triggers used
-- before): a TRUNCATE is refused for one reason everywhere, so a client, a runbook or a test
-- recognises the refusal whatever the table, and src/db/errors.ts maps one code. The
-- per-table codes keep meaning what tests, docs and the API rely on: a refused UPDATE, DELETE
-- or INSERT of that table. The hint, passed as the trigger's argument, names the table and
-- says what to do instead.
--
-- PostgreSQL checks privileges and then foreign keys before it fires any TRUNCATE trigger: a
-- plain TRUNCATE of a table that another table references (deployments, projects,
-- reconcile_run_transitions) is refused with 0A000 ("truncate table ... at the same time, or
-- use TRUNCATE ... CASCADE"); both of those then reach this trigger. Statement triggers of a
-- partitioned table do not fire for a TRUNCATE of one partition, so every partition of
-- shipslog.reconcile_runs carries the trigger too (sql/reconciler/10_partitions.sql).
create or replace function shipslog.tg_audit_records__no_truncate()
returns trigger
language plpgsql
volatile
set search_path = ''
as $$
begin
  raise exception '%.% cannot be truncated', tg_table_schema, tg_table_name
    using errcode = 'SL005',
          detail = 'TRUNCATE removes rows without firing row triggers, so it would leave no audit record; it is refused for every role, the owner included.',
          hint = coalesce(tg_argv[0], format('The rows of %I.%I are audit records and are kept.', tg_table_schema, tg_table_name));
end
$$;
