-- Gates (issue 11, item 3; table gate_results: migrations/0017_approvals-and-gates.sql). An
-- external system (a security scan, a test run) reports a gate's result for a generation of a
-- deployment; a policy (approval_policies.required_gates) can require named gates to have
-- passed before the reconciler applies the generation (run Skipped: AwaitingGates). A gate's
-- newest result counts: passed or warned lets the generation go, anything else holds it.
-- Every report is a gate_* event on the deployment's chain, with its evidence URL.
--
-- SQLSTATEs: SL440 a result for a generation that is not the deployment's current one,
-- SL401/SL403 from shipslog.append_event (missing evidence_url, bad URL, ...).

create or replace function shipslog.report_gate_result(
  p_deployment_id uuid, p_generation bigint, p_gate text, p_result text, p_evidence_url text, p_details jsonb)
returns shipslog.gate_results
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  d record;
  ev shipslog.deployment_events;
  g shipslog.gate_results;
begin
  if p_result not in ('started', 'passed', 'failed', 'warned', 'skipped') then
    raise exception 'gate result must be started, passed, failed, warned or skipped, not %', p_result
      using errcode = '22023', column = 'result';
  end if;
  select x.id, x.tenant, x.generation
  into d
  from shipslog.deployments as x
  where x.id = p_deployment_id
    and shipslog.caller_sees_tenant(x.tenant)
  for no key update;
  if not found then
    raise exception 'deployment % not found', p_deployment_id using errcode = 'SL402';
  end if;
  if p_generation is distinct from d.generation then
    raise exception 'gate % reported for generation % of deployment %, whose generation is %', p_gate, p_generation, p_deployment_id, d.generation
      using errcode = 'SL440', hint = 'Report gates for the current generation (GET the deployment: generation); an older one is no longer applied.';
  end if;
  ev := shipslog.append_event(d.id, 'gate_' || p_result,
    coalesce(p_details, '{}') || jsonb_strip_nulls(jsonb_build_object(
      'gate', p_gate, 'generation', p_generation, 'evidence_url', p_evidence_url)));
  begin
    insert into shipslog.gate_results (tenant, deployment_id, generation, gate, result, evidence_url, details, reported_by, event_seq)
    values (d.tenant, d.id, p_generation, p_gate, p_result, p_evidence_url, coalesce(p_details, '{}'), shipslog.context_actor(), ev.seq)
    returning * into g;
  exception when check_violation then
    raise exception 'gate name % is not a gate name', p_gate
      using errcode = 'SL403', column = 'gate', hint = 'Gate names: lowercase letters, digits, ".", "_" and "-", up to 63 characters.';
  end;
  if p_result in ('passed', 'warned') and shipslog.release_check_gates(d.id, p_generation) then
    perform shipslog.release_generation(d.id, p_generation);
  end if;
  return g;
end
$$;

-- The required gates (of the deployment's environment's policy) whose newest result for this
-- generation is not passed or warned.
create or replace function shipslog.missing_gates(p_deployment_id uuid, p_generation bigint)
returns text[]
language sql
stable
set search_path = ''
as $$
  select coalesce(array_agg(g.gate order by g.gate), '{}')
  from shipslog.deployments as d
  join shipslog.approval_policies as p
    on p.tenant = d.tenant
   and p.environment = d.environment
  cross join lateral unnest(p.required_gates) as g(gate)
  where d.id = p_deployment_id
    and coalesce((
      select r.result
      from shipslog.gate_results as r
      where r.deployment_id = d.id
        and r.generation = p_generation
        and r.gate = g.gate
      order by r.id desc
      limit 1), 'none') not in ('passed', 'warned')
$$;

-- Whether a generation's approvals (if required) are in: a held generation goes once both hold.
create or replace function shipslog.release_check_gates(p_deployment_id uuid, p_generation bigint)
returns boolean
language sql
stable
set search_path = ''
as $$
  select cardinality(shipslog.missing_gates(p_deployment_id, p_generation)) = 0
     and (coalesce((
           select p.required_approvals
           from shipslog.deployments as d
           join shipslog.approval_policies as p
             on p.tenant = d.tenant
            and p.environment = d.environment
           where d.id = p_deployment_id), 0) = 0
          or exists (
           select
           from shipslog.approval_requests as a
           where a.deployment_id = p_deployment_id
             and a.generation = p_generation
             and a.state = 'approved'))
$$;
