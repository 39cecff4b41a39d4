-- The reconciler's question before it applies a generation (not a removal): may it? Called in
-- the claim's transaction. Cancels pending approval requests of older generations (a newer
-- generation supersedes them), expires overdue ones, opens the request of this generation when
-- its environment needs approvals and none is open (requested by the reconciler; the change's
-- author can still never approve it), and then answers null (apply it), 'AwaitingApproval' or
-- 'AwaitingGates'. A held generation is marked on the queue row (held_generation), so the
-- reconciler does not claim it again until it changes or release_generation() lets it go.
create or replace function shipslog.release_check(p_deployment_id uuid, p_generation bigint)
returns text
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  d record;
  p shipslog.approval_policies;
  r shipslog.approval_requests;
  why text;
begin
  select x.id, x.tenant, x.environment, x.generation into d from shipslog.deployments as x where x.id = p_deployment_id;
  if not found then
    return null;
  end if;
  for r in
    select * from shipslog.approval_requests as a
    where a.deployment_id = d.id and a.state = 'pending' and a.generation < p_generation
    for update
  loop
    perform shipslog.close_approval_request(r, 'cancelled', format('superseded by generation %s', p_generation));
  end loop;
  perform shipslog.expire_approvals(d.id);
  select * into p from shipslog.approval_policies where tenant = d.tenant and environment = d.environment;
  if found and p.required_approvals > 0 and not exists (
       select from shipslog.approval_requests as a
       where a.deployment_id = d.id and a.generation = p_generation and a.state = 'approved') then
    if not exists (
         select from shipslog.approval_requests as a
         where a.deployment_id = d.id and a.generation = p_generation and a.state = 'pending') then
      perform shipslog.request_approval(d.id);
    end if;
    why := 'AwaitingApproval';
  elsif found and cardinality(shipslog.missing_gates(d.id, p_generation)) > 0 then
    why := 'AwaitingGates';
  end if;
  update shipslog.reconcile_queue
  set held_generation = case when why is null then null else p_generation end,
      held_reason = why
  where deployment_id = d.id
    and (held_generation, held_reason) is distinct from (case when why is null then null else p_generation end, why);
  return why;
end
$$;
