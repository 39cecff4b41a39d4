-- Approvals (issue 11, item 2; tables: migrations/0017_approvals-and-gates.sql). An environment's
-- policy can require N approvals from distinct approvers; until a generation's request is
-- approved the reconciler holds it back (shipslog.release_check, run Skipped: AwaitingApproval).
-- Every step is an event on the deployment's chain (shipslog.append_event), so verify, history
-- and /v1/events show who requested, who granted or denied, and what expired or was cancelled.
--
-- SQLSTATEs: SL430 no approval needed / no such policy, SL431 request not found, SL432 request
-- no longer pending, SL433 the requester or the change's author cannot approve, SL434 this
-- approver decided already, SL435 bad policy value, 42501 another tenant.

-- The caller as the trail names it (the API's key name, the reconciler's worker, the login).
create or replace function shipslog.context_actor()
returns text
language sql
stable
return coalesce(shipslog.context_setting('shipslog.actor'), session_user::text);

-- Whether the caller's tenant (shipslog.tenant: unset for the reconciler and the owner, '*' for
-- a global key) may act on p_tenant's rows. Spelled out in the SECURITY DEFINER functions
-- below: row-level security would not bind a superuser owner.
create or replace function shipslog.caller_sees_tenant(p_tenant text)
returns boolean
language sql
stable
return coalesce(shipslog.context_setting('shipslog.tenant'), p_tenant) in ('*', p_tenant);

-- Who made a deployment's current generation: the actor of the newest desired-state change.
create or replace function shipslog.generation_actor(p_deployment_id uuid)
returns text
language sql
stable
set search_path = ''
as $$
  select e.actor
  from shipslog.deployment_events as e
  where e.deployment_id = p_deployment_id
    and shipslog.is_row_change(e.action)
    and (e.action = 'created'
         or e.new_state ?| array['environment', 'app_version', 'config', 'secrets_ref', 'secrets_fingerprint',
                                 'depends_on', 'restarted_at', 'deletion_requested_at'])
  order by e.chain_index desc
  limit 1
$$;

-- Sets (creates or changes) the policy of a tenant's environment, and records the change.
create or replace function shipslog.set_approval_policy(
  p_tenant text, p_environment text, p_required_approvals integer, p_expires_after interval, p_required_gates text[])
returns shipslog.approval_policies
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  before shipslog.approval_policies;
  after shipslog.approval_policies;
begin
  if not shipslog.caller_sees_tenant(p_tenant) then
    raise exception 'the caller may not change policies of tenant %', p_tenant
      using errcode = '42501', hint = 'Use a key of that tenant, or a global key.';
  end if;
  if p_required_gates is not null and exists (
       select from unnest(p_required_gates) as g where g is null or g !~ '^[a-z0-9][a-z0-9._-]{0,62}$') then
    raise exception 'a required gate name is not a gate name'
      using errcode = 'SL435', hint = 'Gate names: lowercase letters, digits, ".", "_" and "-", up to 63 characters.', column = 'required_gates';
  end if;
  select * into before from shipslog.approval_policies where tenant = p_tenant and environment = p_environment for update;
  begin
    insert into shipslog.approval_policies (tenant, environment, required_approvals, expires_after, required_gates, updated_by)
    values (p_tenant, p_environment, p_required_approvals, coalesce(p_expires_after, interval '24 hours'),
            coalesce(p_required_gates, '{}'), shipslog.context_actor())
    on conflict (tenant, environment) do update
      set required_approvals = excluded.required_approvals,
          expires_after = excluded.expires_after,
          required_gates = excluded.required_gates,
          updated_at = now(),
          updated_by = excluded.updated_by
    returning * into after;
  exception when check_violation then
    raise exception 'approval policy %/% refused: %', p_tenant, p_environment, sqlerrm
      using errcode = 'SL435',
            hint = 'required_approvals 0-10, expires_after 1 minute to 30 days, tenant and environment DNS labels, at most 20 gates.';
  end;
  insert into shipslog.approval_policy_changes
    (tenant, environment, change, previous_policy, new_policy, actor, actor_type, reason, correlation_id, request_id, db_role)
  values (p_tenant, p_environment, 'set',
          to_jsonb(before) - array['updated_at', 'updated_by'], to_jsonb(after) - array['updated_at', 'updated_by'],
          shipslog.context_actor(), coalesce(shipslog.context_setting('shipslog.actor_type'), 'database'),
          shipslog.context_setting('shipslog.reason'), shipslog.context_setting('shipslog.correlation_id'),
          shipslog.context_setting('shipslog.request_id'), coalesce(nullif(current_setting('role'), 'none'), session_user));
  return after;
end
$$;

-- Removes a policy (the environment then needs nothing), and records the change.
create or replace function shipslog.remove_approval_policy(p_tenant text, p_environment text)
returns boolean
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  before shipslog.approval_policies;
begin
  if not shipslog.caller_sees_tenant(p_tenant) then
    raise exception 'the caller may not change policies of tenant %', p_tenant
      using errcode = '42501', hint = 'Use a key of that tenant, or a global key.';
  end if;
  delete from shipslog.approval_policies where tenant = p_tenant and environment = p_environment returning * into before;
  if not found then
    return false;
  end if;
  insert into shipslog.approval_policy_changes
    (tenant, environment, change, previous_policy, new_policy, actor, actor_type, reason, correlation_id, request_id, db_role)
  values (p_tenant, p_environment, 'removed', to_jsonb(before) - array['updated_at', 'updated_by'], null,
          shipslog.context_actor(), coalesce(shipslog.context_setting('shipslog.actor_type'), 'database'),
          shipslog.context_setting('shipslog.reason'), shipslog.context_setting('shipslog.correlation_id'),
          shipslog.context_setting('shipslog.request_id'), coalesce(nullif(current_setting('role'), 'none'), session_user));
  return true;
end
$$;

-- Closes a pending request with an event: expired or cancelled (with why).
create or replace function shipslog.close_approval_request(r shipslog.approval_requests, p_state text, p_because text)
returns shipslog.approval_requests
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  perform shipslog.append_event(r.deployment_id,
    case p_state when 'expired' then 'approval_expired' else 'approval_cancelled' end,
    jsonb_build_object('approval_id', r.id, 'generation', r.generation, 'parent_seq', r.requested_seq)
      || case p_state
           when 'expired' then jsonb_build_object('expires_at', shipslog.iso_utc(r.expires_at))
           else jsonb_build_object('cancelled_because', p_because)
         end);
  update shipslog.approval_requests
  set state = p_state, closed_at = clock_timestamp()
  where id = r.id
  returning * into r;
  return r;
end
$$;

-- Expires the overdue pending requests (of one deployment, or all the caller sees).
create or replace function shipslog.expire_approvals(p_deployment_id uuid default null)
returns integer
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  r shipslog.approval_requests;
  n integer := 0;
begin
  for r in
    select *
    from shipslog.approval_requests as a
    where a.state = 'pending'
      and a.expires_at <= clock_timestamp()
      and (p_deployment_id is null or a.deployment_id = p_deployment_id)
      and shipslog.caller_sees_tenant(a.tenant)
    order by a.expires_at
    for update skip locked
  loop
    perform shipslog.close_approval_request(r, 'expired', null);
    n := n + 1;
  end loop;
  return n;
end
$$;

-- Opens the approval request of a deployment's current generation (or returns the open one):
-- approval_requested on its chain. Pending requests of older generations are cancelled
-- (superseded). SL430 when its environment needs no approval.
create or replace function shipslog.request_approval(p_deployment_id uuid)
returns shipslog.approval_requests
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  d record;
  p shipslog.approval_policies;
  r shipslog.approval_requests;
  new_id uuid := gen_random_uuid();
  expires timestamptz;
  ev shipslog.deployment_events;
begin
  select x.id, x.tenant, x.name, x.environment, x.generation
  into d
  from shipslog.deployments as x
  where x.id = p_deployment_id
    and shipslog.caller_sees_tenant(x.tenant)
  for no key update;
  if not found then
    raise exception 'deployment % not found', p_deployment_id
      using errcode = 'SL402', hint = 'Approvals are requested for an existing deployment.';
  end if;
  select * into p from shipslog.approval_policies where tenant = d.tenant and environment = d.environment;
  if not found or p.required_approvals = 0 then
    raise exception 'environment % of tenant % needs no approval', d.environment, d.tenant
      using errcode = 'SL430', hint = 'An approval policy (PUT /v1/approval-policies/{environment}) decides which environments need approvals.';
  end if;
  for r in
    select * from shipslog.approval_requests as a
    where a.deployment_id = d.id and a.state = 'pending' and a.generation < d.generation
    for update
  loop
    perform shipslog.close_approval_request(r, 'cancelled', format('superseded by generation %s', d.generation));
  end loop;
  perform shipslog.expire_approvals(d.id);
  select * into r from shipslog.approval_requests as a where a.deployment_id = d.id and a.generation = d.generation and a.state in ('pending', 'approved');
  if found then
    return r;
  end if;
  expires := clock_timestamp() + p.expires_after;
  ev := shipslog.append_event(d.id, 'approval_requested', jsonb_build_object(
    'approval_id', new_id, 'generation', d.generation, 'required_approvals', p.required_approvals,
    'expires_at', shipslog.iso_utc(expires), 'environment', d.environment,
    'change_actor', shipslog.generation_actor(d.id)));
  insert into shipslog.approval_requests
    (id, tenant, deployment_id, name, environment, generation, required_approvals, requested_by, change_actor, expires_at, requested_seq)
  values (new_id, d.tenant, d.id, d.name, d.environment, d.generation, p.required_approvals, shipslog.context_actor(),
          shipslog.generation_actor(d.id), expires, ev.seq)
  returning * into r;
  return r;
end
$$;

-- Lets a held generation go: the reconciler may claim it again (and is woken).
create or replace function shipslog.release_generation(p_deployment_id uuid, p_generation bigint)
returns void
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  update shipslog.reconcile_queue
  set held_generation = null, held_reason = null
  where deployment_id = p_deployment_id
    and held_generation = p_generation;
  if found then
    perform pg_notify('shipslog_reconcile', p_deployment_id::text);
  end if;
end
$$;

-- An approver's decision (granted or denied) on a pending request. The approver is the
-- caller (shipslog.actor); the requester and the author of the change never count, and each
-- approver decides once. Enough distinct grants approve the request and release the
-- generation; one denial denies it. An expired request is closed as expired instead (and
-- returned so: the caller reports it), a request whose generation was superseded as cancelled.
create or replace function shipslog.decide_approval(p_request_id uuid, p_decision text, p_reason text default null)
returns shipslog.approval_requests
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  r shipslog.approval_requests;
  v_approver text := shipslog.context_actor();
  current_generation bigint;
  n integer;
  ev shipslog.deployment_events;
begin
  if p_decision not in ('granted', 'denied') then
    raise exception 'decision must be granted or denied, not %', p_decision using errcode = '22023';
  end if;
  select * into r from shipslog.approval_requests as a
  where a.id = p_request_id and shipslog.caller_sees_tenant(a.tenant)
  for update;
  if not found then
    raise exception 'approval request % not found', p_request_id
      using errcode = 'SL431', hint = 'GET /v1/approvals lists the pending requests you may see.';
  end if;
  if r.state <> 'pending' then
    raise exception 'approval request % is %, not pending', p_request_id, r.state
      using errcode = 'SL432', hint = 'A decided, expired or cancelled request takes no more decisions; request approval again.';
  end if;
  if r.expires_at <= clock_timestamp() then
    return shipslog.close_approval_request(r, 'expired', null);
  end if;
  select d.generation into current_generation from shipslog.deployments as d where d.id = r.deployment_id for no key update;
  if current_generation is distinct from r.generation then
    return shipslog.close_approval_request(r, 'cancelled',
      coalesce(format('superseded by generation %s', current_generation), 'the deployment was removed'));
  end if;
  if v_approver = r.requested_by or v_approver = r.change_actor then
    raise exception '% % this change and cannot approve it', v_approver,
        case when v_approver = r.change_actor then 'made' else 'requested approval of' end
      using errcode = 'SL433', hint = 'Approvals come from others than the requester and the change''s author.';
  end if;
  if exists (select from shipslog.approval_decisions as x where x.request_id = r.id and x.approver = v_approver) then
    raise exception '% has already decided on approval request %', v_approver, r.id
      using errcode = 'SL434', hint = 'Each approver counts once; the policy needs distinct approvers.';
  end if;
  if p_decision = 'granted' then
    n := 1 + (select count(*) from shipslog.approval_decisions as x where x.request_id = r.id and x.decision = 'granted');
    ev := shipslog.append_event(r.deployment_id, 'approval_granted', jsonb_build_object(
      'approval_id', r.id, 'generation', r.generation, 'approver', v_approver, 'approvals', n,
      'required_approvals', r.required_approvals, 'parent_seq', r.requested_seq));
  else
    ev := shipslog.append_event(r.deployment_id, 'approval_denied', jsonb_build_object(
      'approval_id', r.id, 'generation', r.generation, 'approver', v_approver, 'parent_seq', r.requested_seq));
  end if;
  insert into shipslog.approval_decisions (request_id, tenant, approver, decision, reason, event_seq)
  values (r.id, r.tenant, v_approver, p_decision, p_reason, ev.seq);
  if p_decision = 'denied' then
    update shipslog.approval_requests set state = 'denied', closed_at = clock_timestamp() where id = r.id returning * into r;
  elsif n >= r.required_approvals then
    update shipslog.approval_requests set state = 'approved', closed_at = clock_timestamp() where id = r.id returning * into r;
    perform shipslog.release_generation(r.deployment_id, r.generation);
  end if;
  return r;
end
$$;

-- Withdraws a pending request (approval_cancelled with the reason given).
create or replace function shipslog.cancel_approval(p_request_id uuid, p_because text)
returns shipslog.approval_requests
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  r shipslog.approval_requests;
begin
  select * into r from shipslog.approval_requests as a
  where a.id = p_request_id and shipslog.caller_sees_tenant(a.tenant)
  for update;
  if not found then
    raise exception 'approval request % not found', p_request_id using errcode = 'SL431';
  end if;
  if r.state <> 'pending' then
    raise exception 'approval request % is %, not pending', p_request_id, r.state using errcode = 'SL432';
  end if;
  return shipslog.close_approval_request(r, 'cancelled', coalesce(nullif(p_because, ''), 'cancelled by ' || shipslog.context_actor()));
end
$$;
