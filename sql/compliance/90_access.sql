-- Privileges and row-level security of the compliance tables (migrations/0017_approvals-and-gates.sql).
-- Every write goes through the SECURITY DEFINER functions of this folder (they check the rules
-- and record the events); no runtime role holds INSERT, UPDATE or DELETE on these tables.

revoke all
  on shipslog.approval_policies, shipslog.approval_policy_changes, shipslog.approval_requests,
     shipslog.approval_decisions, shipslog.gate_results
  from public;

grant select
  on shipslog.approval_policies, shipslog.approval_policy_changes, shipslog.approval_requests,
     shipslog.approval_decisions, shipslog.gate_results
  to shipslog_app, shipslog_reconciler, shipslog_auditor;

-- Append-only for every role, the owner included: the policy trail, the decisions and the gate
-- results are audit records (a request's state moves only through the functions).
create or replace function shipslog.tg_compliance_records__append_only()
returns trigger
language plpgsql
volatile
set search_path = ''
as $$
begin
  raise exception '%.% is append-only: % refused', tg_table_schema, tg_table_name, tg_op
    using errcode = 'SL001',
          hint = 'Compliance records are kept; record a new policy, decision or gate result instead.';
end
$$;

create or replace trigger approval_policy_changes_append_only
  before update or delete on shipslog.approval_policy_changes
  for each row execute function shipslog.tg_compliance_records__append_only();
create or replace trigger approval_decisions_append_only
  before update or delete on shipslog.approval_decisions
  for each row execute function shipslog.tg_compliance_records__append_only();
create or replace trigger gate_results_append_only
  before update or delete on shipslog.gate_results
  for each row execute function shipslog.tg_compliance_records__append_only();
create or replace trigger approval_requests_no_delete
  before delete on shipslog.approval_requests
  for each row execute function shipslog.tg_compliance_records__append_only();

create or replace trigger approval_policy_changes_no_truncate
  before truncate on shipslog.approval_policy_changes
  for each statement execute function shipslog.tg_audit_records__no_truncate();
create or replace trigger approval_decisions_no_truncate
  before truncate on shipslog.approval_decisions
  for each statement execute function shipslog.tg_audit_records__no_truncate();
create or replace trigger gate_results_no_truncate
  before truncate on shipslog.gate_results
  for each statement execute function shipslog.tg_audit_records__no_truncate();
create or replace trigger approval_requests_no_truncate
  before truncate on shipslog.approval_requests
  for each statement execute function shipslog.tg_audit_records__no_truncate();

-- The app login sees one tenant (shipslog.tenant_visible); the reconciler and auditors all.
-- The owner's policies come from sql/privileges/20_force-row-level-security.sql.
do $$
declare
  t text;
begin
  foreach t in array array['approval_policies', 'approval_policy_changes', 'approval_requests', 'approval_decisions', 'gate_results'] loop
    execute format('alter table shipslog.%I enable row level security', t);
    execute format('drop policy if exists %I on shipslog.%I', t || '_app_tenant', t);
    execute format('create policy %I on shipslog.%I for select to shipslog_app using (shipslog.tenant_visible(tenant))', t || '_app_tenant', t);
    execute format('drop policy if exists %I on shipslog.%I', t || '_reconciler_all', t);
    execute format('create policy %I on shipslog.%I for select to shipslog_reconciler using (true)', t || '_reconciler_all', t);
    execute format('drop policy if exists %I on shipslog.%I', t || '_auditor_all', t);
    execute format('create policy %I on shipslog.%I for select to shipslog_auditor using (true)', t || '_auditor_all', t);
  end loop;
end
$$;

revoke execute
  on function
    shipslog.context_actor(),
    shipslog.caller_sees_tenant(text),
    shipslog.generation_actor(uuid),
    shipslog.set_approval_policy(text, text, integer, interval, text[]),
    shipslog.remove_approval_policy(text, text),
    shipslog.close_approval_request(shipslog.approval_requests, text, text),
    shipslog.expire_approvals(uuid),
    shipslog.request_approval(uuid),
    shipslog.release_generation(uuid, bigint),
    shipslog.decide_approval(uuid, text, text),
    shipslog.cancel_approval(uuid, text),
    shipslog.report_gate_result(uuid, bigint, text, text, text, jsonb),
    shipslog.missing_gates(uuid, bigint),
    shipslog.release_check_gates(uuid, bigint),
    shipslog.release_check(uuid, bigint),
    shipslog.tg_compliance_records__append_only()
  from public;

grant execute
  on function
    shipslog.context_actor(),
    shipslog.caller_sees_tenant(text),
    shipslog.generation_actor(uuid),
    shipslog.missing_gates(uuid, bigint),
    shipslog.release_check_gates(uuid, bigint)
  to shipslog_app, shipslog_reconciler, shipslog_auditor;

-- The API: policies (admin scope), requests and decisions (deploy / approve scope), gate results (gates scope).
grant execute
  on function
    shipslog.set_approval_policy(text, text, integer, interval, text[]),
    shipslog.remove_approval_policy(text, text),
    shipslog.expire_approvals(uuid),
    shipslog.request_approval(uuid),
    shipslog.decide_approval(uuid, text, text),
    shipslog.cancel_approval(uuid, text),
    shipslog.report_gate_result(uuid, bigint, text, text, text, jsonb)
  to shipslog_app;

grant execute
  on function shipslog.release_check(uuid, bigint)
  to shipslog_reconciler;
