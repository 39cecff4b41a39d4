-- The compliance report's checks (shipslog.compliance_report(), 85_compliance_report.sql).
--
-- One function per check, all with the same signature, so that a check can be added or
-- rewritten on its own (approvals and gates read the tables of migrations/0017, retention
-- those of 0035):
--
--   shipslog.compliance_check_<name>(
--     p_from timestamptz,        -- window start, inclusive
--     p_to timestamptz,          -- window end, exclusive
--     p_tenant text,             -- null: every tenant the caller sees
--     p_deployment_id uuid,      -- null: every deployment in scope
--     p_environment text         -- null: every environment
--   ) returns table ("check" text, status text, summary text, evidence jsonb)
--
-- One row: the check's name, 'pass', 'fail' or 'not_applicable', one sentence a person reads,
-- and the evidence it was decided on (what a reviewer would look at to agree or disagree).
-- Every check reads only what its caller may read: row-level security keeps a tenant's API
-- key to its tenant. The one exception is the checkpoint digest, which covers every chain
-- (see compliance_check_checkpoints).

-- Deployments in a report's scope: the rows that exist and the removed ones (their created
-- event), with the environment each is in now or was in when it was removed.
create or replace function shipslog.compliance_deployments(p_tenant text, p_deployment_id uuid, p_environment text)
returns table (deployment_id uuid, tenant text, name text, environment text, removed boolean)
language sql
stable
set search_path = ''
as $$
  with ids as (
    select d.id, d.tenant, d.name
    from shipslog.deployments as d
    where (p_tenant is null or d.tenant = p_tenant)
      and (p_deployment_id is null or d.id = p_deployment_id)
    union
    select e.deployment_id, e.tenant, e.name
    from shipslog.deployment_events as e
    where e.action = 'created'
      and (p_tenant is null or e.tenant = p_tenant)
      and (p_deployment_id is null or e.deployment_id = p_deployment_id)
  )
  select i.id, i.tenant, i.name, env.environment, d.id is null
  from ids as i
    left join shipslog.deployments as d
      on d.id = i.id
    -- A removed deployment's environment: the last one its events recorded (the query of
    -- shipslog.event_environment(), sql/api/, which is created after this folder).
    cross join lateral (
      select coalesce(d.environment, (
        select e.new_state ->> 'environment'
        from shipslog.deployment_events as e
        where e.deployment_id = i.id
          and e.new_state ? 'environment'
        order by e.chain_index desc
        limit 1)) as environment
    ) as env
  where p_environment is null
    or env.environment = p_environment
$$;

-- A report's window: both ends given, the start before the end. PostgreSQL's own rule, so a
-- psql caller meets it as the API and the CLI do.
create or replace function shipslog.compliance_window_check(p_from timestamptz, p_to timestamptz)
returns void
language plpgsql
immutable
set search_path = ''
as $$
begin
  if p_from is null or p_to is null or not isfinite(p_from) or not isfinite(p_to) then
    raise exception 'a compliance report needs a finite window: from % to %', p_from, p_to
      using errcode = '22023',
            hint = 'Give both ends, e.g. shipslog.compliance_report(''2026-01-01'', ''2026-04-01'').';
  end if;
  if p_from >= p_to then
    raise exception 'the report window starts (%) at or after its end (%)', p_from, p_to
      using errcode = '22023',
            hint = 'from is inclusive and must come before to, which is exclusive.';
  end if;
end
$$;

-- Immutable storage: the catalog as it is now. Every guard trigger present and enabled
-- (a disabled trigger, or one set to fire only on replicas, guards nothing), and no role but
-- the owner holding INSERT, UPDATE, DELETE or TRUNCATE on the audit tables or any of their
-- partitions; the runtime group roles hold none of them through membership either. The owner
-- itself is stopped by the triggers (docs/audit.md, "Append-only").
create or replace function shipslog.compliance_check_immutable_storage(
  p_from timestamptz, p_to timestamptz, p_tenant text, p_deployment_id uuid, p_environment text)
returns table ("check" text, status text, summary text, evidence jsonb)
language sql
stable
set search_path = ''
as $$
  with guards (tbl, trg, purpose) as (
    values
      ('shipslog.deployment_events', 'deployment_events_append_only', 'refuses UPDATE and DELETE of events'),
      ('shipslog.deployment_events', 'deployment_events_no_forged_insert', 'refuses an INSERT not made by the audit trigger'),
      ('shipslog.deployment_events', 'deployment_events_no_truncate', 'refuses TRUNCATE of events'),
      ('shipslog.audit_checkpoints', 'audit_checkpoints_append_only', 'refuses UPDATE and DELETE of checkpoints'),
      ('shipslog.audit_checkpoints', 'audit_checkpoints_no_truncate', 'refuses TRUNCATE of checkpoints'),
      ('shipslog.deployments', 'deployments_audit', 'writes the event of every change of a deployment'),
      ('shipslog.deployments', 'deployments_no_truncate', 'refuses a TRUNCATE that would write no removed events')
  ),
  triggers as (
    select
      g.tbl,
      g.trg,
      g.purpose,
      t.oid is not null as present,
      -- O: fires in origin and local mode, A: always; D: disabled, R: on replicas only.
      coalesce(t.tgenabled in ('O', 'A'), false) as enabled
    from guards as g
      left join pg_catalog.pg_trigger as t
        on t.tgrelid = to_regclass(g.tbl)
       and t.tgname = g.trg
  ),
  -- The tables and, once partitioned, every partition (pg_partition_tree() lists nothing for
  -- a table that is not partitioned).
  audit_tables as (
    select to_regclass(n.tbl) as relid
    from unnest(array['shipslog.deployment_events', 'shipslog.audit_checkpoints']) as n(tbl)
    union
    select p.relid
    from unnest(array['shipslog.deployment_events', 'shipslog.audit_checkpoints']) as n(tbl)
      cross join lateral pg_catalog.pg_partition_tree(to_regclass(n.tbl)) as p
  ),
  grants as (
    select
      a.relid::regclass::text as tbl,
      case when x.grantee = 0 then 'PUBLIC' else pg_catalog.pg_get_userbyid(x.grantee) end as grantee,
      x.privilege_type
    from audit_tables as a
      join pg_catalog.pg_class as c
        on c.oid = a.relid
      cross join lateral aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) as x
    where x.grantee <> c.relowner
      and x.privilege_type in ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')
  ),
  -- The purge's own role (sql/audit/85_retention.sql) may INSERT (the purge event) and DELETE
  -- (expired prefixes) events, and nothing else: it is sanctioned only while no one can act as
  -- it but shipslog.purge_audit_events(), which it owns: no login, no members.
  purge_role as (
    select r.oid, r.rolname
    from pg_catalog.pg_roles as r
    where r.rolname = 'shipslog_audit_retention'
      and not r.rolcanlogin
      and not exists (
        select
        from pg_catalog.pg_auth_members as m
        where m.roleid = r.oid
      )
  ),
  sanctioned as (
    select g.*
    from grants as g
    where g.grantee in (select rolname from purge_role)
      and g.tbl = 'shipslog.deployment_events'
      and g.privilege_type in ('INSERT', 'DELETE')
  ),
  runtime as (
    select a.relid::regclass::text as tbl, r.rolname as grantee, 'through membership' as privilege_type
    from audit_tables as a
      cross join pg_catalog.pg_roles as r
    where r.rolname in ('shipslog_app', 'shipslog_reconciler', 'shipslog_auditor')
      and has_table_privilege(r.oid, a.relid, 'INSERT, UPDATE, DELETE, TRUNCATE')
  ),
  writers as (
    (select * from grants
     except
     select * from sanctioned)
    union
    select * from runtime
  ),
  verdict as (
    select
      (select count(*) from triggers where not (present and enabled)) as bad_triggers,
      (select count(*) from writers) as writer_count,
      (select count(*) from audit_tables) as table_count
  )
  select
    'immutable_storage',
    case when v.bad_triggers = 0 and v.writer_count = 0 then 'pass' else 'fail' end,
    case
      when v.bad_triggers = 0 and v.writer_count = 0 then
        format('all %s guard triggers are enabled and no role but the owner may write the %s audit table(s)', (select count(*) from triggers), v.table_count)
      else concat_ws('; ',
        case when v.bad_triggers > 0 then format('%s guard trigger(s) missing or disabled: %s', v.bad_triggers,
          (select string_agg(t.tbl || '.' || t.trg, ', ' order by t.tbl, t.trg) from triggers as t where not (t.present and t.enabled))) end,
        case when v.writer_count > 0 then format('write privileges on audit tables: %s',
          (select string_agg(w.privilege_type || ' on ' || w.tbl || ' to ' || w.grantee, ', ' order by w.tbl, w.grantee, w.privilege_type) from writers as w)) end)
    end,
    jsonb_build_object(
      'triggers', (select jsonb_agg(jsonb_build_object('table', t.tbl, 'trigger', t.trg, 'purpose', t.purpose,
                     'present', t.present, 'enabled', t.enabled) order by t.tbl, t.trg) from triggers as t),
      'audit_tables', (select jsonb_agg(a.relid::regclass::text order by a.relid::regclass::text) from audit_tables as a),
      'write_privileges', coalesce((select jsonb_agg(jsonb_build_object('table', w.tbl, 'grantee', w.grantee, 'privilege', w.privilege_type)
                     order by w.tbl, w.grantee, w.privilege_type) from writers as w), '[]'),
      'purge_privileges', coalesce((select jsonb_agg(jsonb_build_object('table', p.tbl, 'grantee', p.grantee, 'privilege', p.privilege_type,
                     'why', 'the purge role: no login, no members, used only by shipslog.purge_audit_events()')
                     order by p.tbl, p.privilege_type) from sanctioned as p), '[]'))
  from verdict as v
$$;

-- Chains intact: shipslog.verify_chains() over every chain in scope, whole (a chain is proven
-- from its start, whatever the window), and what it found.
create or replace function shipslog.compliance_check_chains(
  p_from timestamptz, p_to timestamptz, p_tenant text, p_deployment_id uuid, p_environment text)
returns table ("check" text, status text, summary text, evidence jsonb)
language sql
stable
set search_path = ''
as $$
  with scope as materialized (
    select s.deployment_id
    from shipslog.compliance_deployments(p_tenant, p_deployment_id, p_environment) as s
  ),
  -- One deployment, or everything the caller sees: one call. A tenant's or an environment's
  -- deployments: one call each, rather than verifying every chain to keep a few. (The
  -- conditions on the parameters alone gate each branch before it runs.)
  findings as materialized (
    select f.deployment_id, f.tenant, f.name, f.chain_index, f.problem
    from shipslog.verify_chains(p_deployment_id) as f
    where (p_deployment_id is not null or (p_tenant is null and p_environment is null))
      and f.deployment_id in (select s.deployment_id from scope as s)
    union all
    select f.deployment_id, f.tenant, f.name, f.chain_index, f.problem
    from scope as s
      cross join lateral shipslog.verify_chains(s.deployment_id) as f
    where p_deployment_id is null
      and (p_tenant is not null or p_environment is not null)
  ),
  counts as (
    select
      (select count(*) from scope) as chains,
      (select count(*) from shipslog.deployment_events as e where e.deployment_id in (select s.deployment_id from scope as s)) as events,
      (select count(*) from findings) as broken
  )
  select
    'chains_intact',
    case when c.broken = 0 then 'pass' else 'fail' end,
    case
      when c.broken = 0 then format('%s chain(s) with %s event(s) verified from their start: every hash links and every chain ends in its deployment''s row', c.chains, c.events)
      else format('%s of %s chain(s) broken; first: %s', c.broken, c.chains,
        (select f.tenant || '/' || f.name || ' at event #' || f.chain_index || ': ' || f.problem from findings as f order by f.tenant, f.name, f.deployment_id limit 1))
    end,
    jsonb_build_object(
      'chains', c.chains,
      'events', c.events,
      'broken', coalesce((select jsonb_agg(jsonb_build_object('deployment_id', f.deployment_id, 'tenant', f.tenant, 'name', f.name,
                  'chain_index', f.chain_index, 'problem', f.problem) order by f.tenant, f.name, f.deployment_id) from findings as f), '[]'),
      'method', 'shipslog.verify_chains(): each event''s SHA-256 over the previous hash and its payload, chain_index without gaps, the chain''s end against the row''s chain head and the state its events replay to')
  from counts as c
$$;

-- Checkpoints signed and recent: the newest signed checkpoint was taken within
-- shipslog.checkpoint_max_age (a setting; default 24 hours) and the chains still produce the
-- digest it signed. The digest covers every chain of every tenant, so this function reads
-- them all (SECURITY DEFINER, the tenant context cleared for that one query and then put
-- back; a SET clause would do the same, but a non-superuser owner may not attach one for a
-- custom setting) and returns only whether they match: the checkpoint rows themselves are
-- readable by every role already. PostgreSQL has no
-- Ed25519, so the signature is checked where the public key is: `shipslog report` and the
-- API do (src/audit/report.ts) and set evidence.signature_checked; here it is false.
create or replace function shipslog.compliance_check_checkpoints(
  p_from timestamptz, p_to timestamptz, p_tenant text, p_deployment_id uuid, p_environment text)
returns table ("check" text, status text, summary text, evidence jsonb)
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  caller_tenant text := current_setting('shipslog.tenant', true);
  newest shipslog.audit_checkpoints;
  max_age interval := coalesce(nullif(current_setting('shipslog.checkpoint_max_age', true), '')::interval, interval '24 hours');
  total bigint;
  digest_now bytea;
  age interval;
  problems text[] := '{}';
begin
  select count(*) into total from shipslog.audit_checkpoints;
  select * into newest from shipslog.audit_checkpoints as c order by c.id desc limit 1;
  if newest.id is null then
    return query select 'checkpoints'::text, 'fail'::text,
      'no signed checkpoint exists: take one with shipslog checkpoint'::text,
      jsonb_build_object('checkpoints', 0, 'max_age', max_age::text);
    return;
  end if;
  perform set_config('shipslog.tenant', '', true);
  -- The digest of the checkpoint's own version (1: chain_digest, 2: the heads' Merkle root).
  digest_now := shipslog.checkpoint_digest(newest.version, newest.snapshot);
  perform set_config('shipslog.tenant', coalesce(caller_tenant, ''), true);
  age := clock_timestamp() - newest.created_at;
  if digest_now is distinct from newest.digest then
    problems := problems || format('the chains no longer produce the digest checkpoint #%s signed: history it covers was rewritten, or the checkpoint forged', newest.id);
  end if;
  if age > max_age then
    problems := problems || format('the newest checkpoint (#%s) is %s old, more than %s', newest.id, date_trunc('second', age), max_age);
  end if;
  return query select
    'checkpoints'::text,
    case when cardinality(problems) = 0 then 'pass' else 'fail' end,
    case when cardinality(problems) = 0
      then format('checkpoint #%s, %s old (at most %s), still matches the chains: %s chain(s), %s event(s)',
                  newest.id, date_trunc('second', age), max_age, newest.chain_count, newest.event_count)
      else array_to_string(problems, '; ')
    end,
    jsonb_build_object(
      'checkpoints', total,
      'max_age', max_age::text,
      'newest', jsonb_build_object(
        'id', newest.id,
        'created_at', shipslog.iso_utc(newest.created_at),
        'age_seconds', floor(extract(epoch from age)),
        'chain_count', newest.chain_count,
        'event_count', newest.event_count,
        'digest', encode(newest.digest, 'hex'),
        'digest_matches', digest_now is not distinct from newest.digest,
        'key_id', newest.key_id,
        'version', newest.version,
        'message', shipslog.checkpoint_message(newest),
        'signature', encode(newest.signature, 'base64')),
      'signature_checked', false);
end
$$;

-- The generations applied in a report's window, each with what the trail says about it: the
-- environment it was made for, who made it, when it was first applied and by whom, and the
-- approval policy in force then. Shared by the approvals and the gates checks.
--
-- Applied: any of three records says so, so that a change does not escape the checks by
-- leaving out one of them (a reconciler of an older version writes no rollout events; an
-- owner's UPDATE of observed_generation writes neither a run nor a rollout event):
--   * a deployment_completed event of the generation (the reconciler's finish_rollout());
--   * an event that set observed_generation to it (the audit trigger writes one whoever sets it);
--   * a Completed, not dry-run reconcile run of it that applied or found it applied.
-- The generation is in the window when the first of these is; it was applied from the
-- earliest record of it, deployment_started events and run starts included (approvals and
-- gates must be in before the apply began, not merely before it ended).
--
-- The generation's environment and author come from the chain itself: generation N is made
-- by the N-th event that changed the desired state (the created event, then each row change
-- with a desired-state column; the rule by which the audit trigger bumps the generation), so
-- neither depends on a table an owner could edit without breaking the chain.
--
-- The policy in force: the newest change of the tenant's and environment's policy recorded
-- in approval_policy_changes at or before the apply began ('removed': none). A policy row
-- with no recorded change at all (written around set_approval_policy()) counts from its
-- updated_at. So a policy added after a change does not make that change a violation, and a
-- policy removed since does not excuse one.
create or replace function shipslog.compliance_applied_changes(
  p_from timestamptz, p_to timestamptz, p_tenant text, p_deployment_id uuid, p_environment text)
returns table (
  deployment_id uuid, tenant text, name text, generation bigint, environment text, author text,
  applied_at timestamptz, first_applied_at timestamptz, applied_by text, evidence text[],
  required_approvals integer, required_gates text[], policy_since timestamptz)
language sql
stable
set search_path = ''
as $$
  with scope as materialized (
    -- Not narrowed by environment here: a deployment's environment now need not be the one
    -- a generation was made for; the generation's own environment is compared below.
    select s.deployment_id
    from shipslog.compliance_deployments(p_tenant, p_deployment_id, null) as s
  ),
  records as materialized (
    select e.deployment_id, e.tenant, e.name, (e.new_state -> 'details' ->> 'generation')::bigint as generation,
           e.occurred_at as at, e.action = 'deployment_completed' as completes, e.action as source, e.actor
    from shipslog.deployment_events as e
    where e.deployment_id in (select s.deployment_id from scope as s)
      and e.occurred_at < p_to
      and e.action in ('deployment_started', 'deployment_completed')
    union all
    select e.deployment_id, e.tenant, e.name, (e.new_state ->> 'observed_generation')::bigint,
           e.occurred_at, true, 'observed_generation', e.actor
    from shipslog.deployment_events as e
    where e.deployment_id in (select s.deployment_id from scope as s)
      and e.occurred_at < p_to
      and shipslog.is_row_change(e.action)
      and e.action not in ('created', 'removed')
      and e.new_state ? 'observed_generation'
      and (e.new_state ->> 'observed_generation')::bigint > 0
    union all
    select r.deployment_id, r.tenant, r.name, r.generation, r.started_at, false, 'run_started', r.worker_id
    from shipslog.reconcile_runs as r
    where r.deployment_id in (select s.deployment_id from scope as s)
      and r.started_at < p_to
      and r.phase = 'Completed' and r.outcome in ('Applied', 'Unchanged') and not r.dry_run
    union all
    select r.deployment_id, r.tenant, r.name, r.generation, r.completed_at, true, 'run_completed', r.worker_id
    from shipslog.reconcile_runs as r
    where r.deployment_id in (select s.deployment_id from scope as s)
      and r.started_at < p_to
      and r.completed_at < p_to
      and r.phase = 'Completed' and r.outcome in ('Applied', 'Unchanged') and not r.dry_run
  ),
  applied as materialized (
    select
      x.deployment_id, min(x.tenant) as tenant, min(x.name) as name, x.generation,
      min(x.at) filter (where x.completes) as applied_at,
      min(x.at) as first_applied_at,
      (array_agg(x.actor order by x.at) filter (where x.completes))[1] as applied_by,
      array_agg(distinct x.source order by x.source) as evidence
    from records as x
    where x.generation is not null
    group by x.deployment_id, x.generation
    having min(x.at) filter (where x.completes) >= p_from
  ),
  -- Generation N of a deployment: its N-th desired-state event (see above).
  made as (
    select e.deployment_id, e.chain_index, e.actor, e.new_state ->> 'environment' as environment,
           row_number() over (partition by e.deployment_id order by e.chain_index) as generation,
           count(e.new_state -> 'environment') over (partition by e.deployment_id order by e.chain_index) as environment_group
    from shipslog.deployment_events as e
    where e.deployment_id in (select a.deployment_id from applied as a)
      and shipslog.is_row_change(e.action)
      and (e.action = 'created'
           or e.new_state ?| array['environment', 'app_version', 'config', 'secrets_ref', 'secrets_fingerprint',
                                   'depends_on', 'restarted_at', 'deletion_requested_at'])
  ),
  generations as (
    select m.deployment_id, m.generation, m.actor as author,
           first_value(m.environment) over (partition by m.deployment_id, m.environment_group order by m.chain_index) as environment
    from made as m
  )
  select a.deployment_id, a.tenant, a.name, a.generation, g.environment, g.author,
         a.applied_at, a.first_applied_at, a.applied_by, a.evidence,
         coalesce(p.required_approvals, 0), coalesce(p.required_gates, '{}'), p.since
  from applied as a
    left join generations as g
      on g.deployment_id = a.deployment_id
     and g.generation = a.generation
    left join lateral (
      select case when c.change = 'set' then (c.new_policy ->> 'required_approvals')::integer end as required_approvals,
             case when c.change = 'set' then array(select jsonb_array_elements_text(c.new_policy -> 'required_gates')) end as required_gates,
             c.occurred_at as since
      from shipslog.approval_policy_changes as c
      where c.tenant = a.tenant
        and c.environment = g.environment
        and c.occurred_at <= a.first_applied_at
      order by c.id desc
      limit 1
    ) as recorded on true
    left join lateral (
      select recorded.required_approvals, recorded.required_gates, recorded.since
      where recorded.since is not null
      union all
      select ap.required_approvals, ap.required_gates, ap.updated_at
      from shipslog.approval_policies as ap
      where ap.tenant = a.tenant
        and ap.environment = g.environment
        and ap.updated_at <= a.first_applied_at
        and not exists (
          select from shipslog.approval_policy_changes as c
          where c.tenant = ap.tenant and c.environment = ap.environment)
    ) as p on true
  where p_environment is null
    or g.environment = p_environment
$$;

-- Whether a policy in the report's scope required approvals (or gates) at any time before the
-- window's end: the difference between 'pass' with nothing to check and 'not_applicable'.
create or replace function shipslog.compliance_policies_in_scope(
  p_to timestamptz, p_tenant text, p_deployment_id uuid, p_environment text)
returns table (tenant text, environment text, required_approvals integer, required_gates text[])
language sql
stable
set search_path = ''
as $$
  with tenants as (
    select distinct s.tenant
    from shipslog.compliance_deployments(p_tenant, p_deployment_id, null) as s
    union
    select p_tenant where p_tenant is not null and p_deployment_id is null
  )
  select c.tenant, c.environment, (c.new_policy ->> 'required_approvals')::integer,
         array(select jsonb_array_elements_text(c.new_policy -> 'required_gates'))
  from shipslog.approval_policy_changes as c
  where c.change = 'set'
    and c.occurred_at < p_to
    and c.tenant in (select t.tenant from tenants as t)
    and (p_environment is null or c.environment = p_environment)
  union
  select ap.tenant, ap.environment, ap.required_approvals, ap.required_gates
  from shipslog.approval_policies as ap
  where ap.updated_at < p_to
    and ap.tenant in (select t.tenant from tenants as t)
    and (p_environment is null or ap.environment = p_environment)
$$;

-- Approvals complete for every production change: each generation applied in the window in
-- an environment whose policy then required N approvals had, before it was first applied, N
-- distinct grants on an approval request of that generation that count:
--   * made before the request expired, and before the apply began (a grant recorded after the
--     apply is listed, not counted);
--   * not by the requester, nor by the generation's author as the chain names them (nor the
--     change_actor the request recorded);
--   * backed by its approval_granted event on the deployment's chain, naming that approver
--     and request (a decision row written around decide_approval() has none).
-- The number required is the policy's when the apply began: approvals given under a laxer
-- policy do not satisfy a stricter one. Evidence: every such change with its approvers (the
-- newest 200), and every violation with what was missing.
create or replace function shipslog.compliance_check_approvals(
  p_from timestamptz, p_to timestamptz, p_tenant text, p_deployment_id uuid, p_environment text)
returns table ("check" text, status text, summary text, evidence jsonb)
language sql
stable
set search_path = ''
as $$
  with changes as materialized (
    select c.*
    from shipslog.compliance_applied_changes(p_from, p_to, p_tenant, p_deployment_id, p_environment) as c
  ),
  production as (
    select c.* from changes as c where c.required_approvals > 0
  ),
  grants as (
    select
      c.deployment_id, c.generation, x.approver, x.decided_at, r.id as request_id,
      case
        when x.decided_at > c.first_applied_at then 'recorded after the apply began'
        when x.decided_at >= r.expires_at then 'made after the request expired'
        when x.approver in (r.requested_by, coalesce(c.author, ''), coalesce(r.change_actor, '')) then 'by the requester or the change''s author'
        when ev.seq is null then 'no approval_granted event on the chain'
      end as not_counted
    from production as c
      join shipslog.approval_requests as r
        on r.deployment_id = c.deployment_id
       and r.generation = c.generation
      join shipslog.approval_decisions as x
        on x.request_id = r.id
       and x.decision = 'granted'
      left join shipslog.deployment_events as ev
        on ev.seq = x.event_seq
       and ev.deployment_id = c.deployment_id
       and ev.action = 'approval_granted'
       and ev.new_state -> 'details' ->> 'approver' = x.approver
       and ev.new_state -> 'details' ->> 'approval_id' = r.id::text
  ),
  judged as (
    select
      c.*,
      coalesce((
        select max(n.approvers)
        from (select count(distinct g.approver) as approvers
              from grants as g
              where g.deployment_id = c.deployment_id and g.generation = c.generation and g.not_counted is null
              group by g.request_id) as n), 0) as approvals,
      coalesce((
        select jsonb_agg(jsonb_build_object('approver', g.approver, 'decided_at', shipslog.iso_utc(g.decided_at),
                 'request_id', g.request_id, 'counted', g.not_counted is null, 'not_counted_because', g.not_counted)
               order by g.decided_at)
        from grants as g
        where g.deployment_id = c.deployment_id and g.generation = c.generation), '[]') as approvers,
      (select count(*) from shipslog.approval_requests as r
       where r.deployment_id = c.deployment_id and r.generation = c.generation) as requests
    from production as c
  ),
  violations as (
    select j.*
    from judged as j
    where j.approvals < j.required_approvals
  ),
  counts as (
    select
      (select count(*) from changes) as applied,
      (select count(*) from judged) as production,
      (select count(*) from violations) as violated,
      (select count(*) from shipslog.compliance_policies_in_scope(p_to, p_tenant, p_deployment_id, p_environment) as p
       where p.required_approvals > 0) as policies
  )
  select
    'approvals_complete',
    case
      when n.violated > 0 then 'fail'
      when n.production = 0 and n.policies = 0 then 'not_applicable'
      else 'pass'
    end,
    case
      when n.violated > 0 then format('%s of %s production change(s) applied without the approvals their policy required; first: %s',
        n.violated, n.production,
        (select format('%s/%s generation %s in %s: %s of %s approval(s) before it was applied at %s', v.tenant, v.name, v.generation,
                       v.environment, v.approvals, v.required_approvals, shipslog.iso_utc(v.first_applied_at))
         from violations as v order by v.first_applied_at, v.deployment_id limit 1))
      when n.production = 0 and n.policies = 0 then
        'no approval policy in scope requires approvals: no change needed any'
      else format('%s production change(s) applied in the window, each with the distinct approvals its environment''s policy required before it was applied (%s other applied change(s) needed none)',
        n.production, n.applied - n.production)
    end,
    jsonb_build_object(
      'applied_changes', n.applied,
      'production_changes', n.production,
      'policies_requiring_approvals', n.policies,
      'changes', coalesce((
        select jsonb_agg(jsonb_build_object(
                 'deployment_id', j.deployment_id, 'tenant', j.tenant, 'name', j.name, 'environment', j.environment,
                 'generation', j.generation, 'author', j.author, 'applied_at', shipslog.iso_utc(j.first_applied_at),
                 'applied_by', j.applied_by, 'applied_evidence', to_jsonb(j.evidence),
                 'required_approvals', j.required_approvals, 'policy_since', shipslog.iso_utc(j.policy_since),
                 'approvals', j.approvals, 'requests', j.requests, 'approvers', j.approvers)
               order by j.first_applied_at desc, j.deployment_id)
        from (select * from judged order by first_applied_at desc, deployment_id limit 200) as j), '[]'),
      'violations', coalesce((
        select jsonb_agg(jsonb_build_object(
                 'deployment_id', v.deployment_id, 'tenant', v.tenant, 'name', v.name, 'environment', v.environment,
                 'generation', v.generation, 'applied_at', shipslog.iso_utc(v.first_applied_at), 'applied_by', v.applied_by,
                 'applied_evidence', to_jsonb(v.evidence), 'required_approvals', v.required_approvals, 'approvals', v.approvals,
                 'problem', case
                   when v.requests = 0 then 'no approval request for this generation'
                   when jsonb_array_length(v.approvers) = 0 then 'no approval granted'
                   else format('%s of %s counted approval(s) before the apply began', v.approvals, v.required_approvals)
                 end,
                 'approvers', v.approvers)
               order by v.first_applied_at, v.deployment_id)
        from (select * from violations order by first_applied_at, deployment_id limit 200) as v), '[]'),
      'method', 'each generation applied in the window (deployment_completed event, observed_generation set, or a Completed run), its environment and author from the chain, the policy in force when its apply began (approval_policy_changes), and the distinct granted approvals of its requests made before that, before expiry, by others than the requester and author, each with its approval_granted event')
  from counts as n
$$;

-- Gates passed: each generation applied in the window whose policy then required named gates
-- had, for every one of them, a newest result reported before its apply began that is passed
-- or warned (the rule the reconciler releases on: shipslog.missing_gates()), backed by its
-- gate_* event on the chain. A result reported after the apply is listed, not counted.
-- Evidence: the gates of every such change (the newest 200) and every failure.
create or replace function shipslog.compliance_check_gates(
  p_from timestamptz, p_to timestamptz, p_tenant text, p_deployment_id uuid, p_environment text)
returns table ("check" text, status text, summary text, evidence jsonb)
language sql
stable
set search_path = ''
as $$
  with changes as materialized (
    select c.*
    from shipslog.compliance_applied_changes(p_from, p_to, p_tenant, p_deployment_id, p_environment) as c
    where cardinality(c.required_gates) > 0
  ),
  gates as materialized (
    select
      c.deployment_id, c.generation, g.gate,
      before.result, before.reported_at, before.evidence_url, before.reported_by,
      before.event_ok,
      (select r.result || ' at ' || shipslog.iso_utc(r.reported_at)
       from shipslog.gate_results as r
       where r.deployment_id = c.deployment_id and r.generation = c.generation and r.gate = g.gate
         and r.reported_at > c.first_applied_at
       order by r.id
       limit 1) as reported_after_apply
    from changes as c
      cross join lateral unnest(c.required_gates) as g(gate)
      left join lateral (
        select r.result, r.reported_at, r.evidence_url, r.reported_by,
               exists (select from shipslog.deployment_events as ev
                       where ev.seq = r.event_seq and ev.deployment_id = r.deployment_id
                         and ev.action = 'gate_' || r.result
                         and ev.new_state -> 'details' ->> 'gate' = r.gate) as event_ok
        from shipslog.gate_results as r
        where r.deployment_id = c.deployment_id
          and r.generation = c.generation
          and r.gate = g.gate
          and r.reported_at <= c.first_applied_at
        order by r.id desc
        limit 1
      ) as before on true
  ),
  judged as (
    select
      g.*,
      case
        when g.result is null and g.reported_after_apply is not null then 'reported only after the apply began: ' || g.reported_after_apply
        when g.result is null then 'no result reported'
        when g.result not in ('passed', 'warned') then 'newest result before the apply: ' || g.result
        when not g.event_ok then 'no gate_' || g.result || ' event on the chain'
      end as problem
    from gates as g
  ),
  counts as (
    select
      (select count(*) from changes) as gated,
      (select count(*) from judged where problem is not null) as failed,
      (select count(distinct (j.deployment_id, j.generation)) from judged as j where j.problem is not null) as failed_changes,
      (select count(*) from shipslog.compliance_policies_in_scope(p_to, p_tenant, p_deployment_id, p_environment) as p
       where cardinality(p.required_gates) > 0) as policies
  )
  select
    'gates_passed',
    case
      when n.failed > 0 then 'fail'
      when n.gated = 0 and n.policies = 0 then 'not_applicable'
      else 'pass'
    end,
    case
      when n.failed > 0 then format('%s of %s gated change(s) applied without every required gate passed (%s gate result(s) missing or failing); first: %s',
        n.failed_changes, n.gated, n.failed,
        (select format('%s/%s generation %s gate %s: %s', c.tenant, c.name, c.generation, j.gate, j.problem)
         from judged as j join changes as c on c.deployment_id = j.deployment_id and c.generation = j.generation
         where j.problem is not null
         order by c.first_applied_at, c.deployment_id, j.gate limit 1))
      when n.gated = 0 and n.policies = 0 then 'no approval policy in scope requires gates: no change needed any'
      else format('%s gated change(s) applied in the window, each with every required gate passed (or warned) before it was applied', n.gated)
    end,
    jsonb_build_object(
      'gated_changes', n.gated,
      'policies_requiring_gates', n.policies,
      'changes', coalesce((
        select jsonb_agg(jsonb_build_object(
                 'deployment_id', c.deployment_id, 'tenant', c.tenant, 'name', c.name, 'environment', c.environment,
                 'generation', c.generation, 'applied_at', shipslog.iso_utc(c.first_applied_at), 'applied_by', c.applied_by,
                 'applied_evidence', to_jsonb(c.evidence), 'required_gates', to_jsonb(c.required_gates),
                 'policy_since', shipslog.iso_utc(c.policy_since),
                 'gates', (select jsonb_agg(jsonb_build_object('gate', j.gate, 'result', j.result, 'reported_at', shipslog.iso_utc(j.reported_at),
                             'reported_by', j.reported_by, 'evidence_url', j.evidence_url, 'passed', j.problem is null, 'problem', j.problem) order by j.gate)
                           from judged as j where j.deployment_id = c.deployment_id and j.generation = c.generation))
               order by c.first_applied_at desc, c.deployment_id)
        from (select * from changes order by first_applied_at desc, deployment_id limit 200) as c), '[]'),
      'failures', coalesce((
        select jsonb_agg(jsonb_build_object(
                 'deployment_id', c.deployment_id, 'tenant', c.tenant, 'name', c.name, 'environment', c.environment,
                 'generation', c.generation, 'applied_at', shipslog.iso_utc(c.first_applied_at), 'gate', j.gate, 'problem', j.problem)
               order by c.first_applied_at, c.deployment_id, j.gate)
        from judged as j join changes as c on c.deployment_id = j.deployment_id and c.generation = j.generation
        where j.problem is not null), '[]'),
      'method', 'each generation applied in the window (deployment_completed event, observed_generation set, or a Completed run), the gates its environment''s policy required when its apply began, and each gate''s newest result reported before that (passed or warned counts), with its gate_* event on the chain')
  from counts as n
$$;

-- The specification's retention periods (seed 002, "Audit Trail Retention"; migration 0035's
-- defaults of shipslog.audit_retention) as the minimums a compliant trail keeps: a period may
-- be lengthened, never set below these. null: forever.
create or replace function shipslog.audit_retention_minimums()
returns table (category text, keep_for interval)
language sql
immutable
parallel safe
set search_path = ''
as $$
  values
    ('approval_workflow', null::interval),
    ('compliance_gate', interval '7 years'),
    ('configuration', interval '7 years'),
    ('deployment_lifecycle', interval '7 years'),
    ('rollback', interval '7 years'),
    ('security', null::interval),
    ('state_change', interval '1 year'),
    ('system', interval '90 days')
$$;

grant execute
  on function shipslog.audit_retention_minimums()
  to shipslog_app, shipslog_auditor;

-- Retention met (sql/audit/85_retention.sql; docs/audit.md "Retention"; the rules are in
-- docs/compliance-report.md). Fails when
--   1. an event is overdue: past its category's period (shipslog.audit_retention, as now) by
--      more than a grace, and at the front of its chain, where a purge would have removed it.
--      The grace (setting shipslog.retention_grace, default 2 days) is the daily purge of
--      `serve` (every 24 hours) plus one run that failed or was missed. An expired event behind
--      a retained one of its chain is kept by design (a purge removes whole prefixes only):
--      it is counted as held, never failed.
--   2. a purge in the window may have removed events still inside their period: the periods it
--      applied (shipslog.audit_purges.retention) are shorter than those in force when it judged
--      (replayed from shipslog.audit_retention_changes) or than the specification's minimums;
--      or its anchors disagree with its record (count, judged outside the day before it ran);
--      or its events_purged event, while the system chain still holds it, disagrees with the
--      record; or an anchor in scope names no recorded purge.
--   3. a period is below the specification's minimum (seed 002, "Audit Trail Retention"), now
--      or set so by a change in the window. Other changes in the window are listed, not failed.
-- The events are removed by then, so a purge is judged by its records: what it applied, under
-- which settings, sealed by which anchors. A purge that applied the periods in force can only
-- have removed what shipslog.audit_retention_cuts() computes (purge_audit_events refuses any
-- other cut); a forged record or anchor is what this check, and `shipslog verify`'s check of
-- the anchors' signatures, catch.
create or replace function shipslog.compliance_check_retention(
  p_from timestamptz, p_to timestamptz, p_tenant text, p_deployment_id uuid, p_environment text)
returns table ("check" text, status text, summary text, evidence jsonb)
language plpgsql
stable
set search_path = ''
as $$
declare
  grace interval := coalesce(nullif(current_setting('shipslog.retention_grace', true), '')::interval, interval '2 days');
  -- No narrowing: every chain the caller sees, shipslog's system chain and every purge.
  unscoped boolean := p_tenant is null and p_deployment_id is null and p_environment is null;
  system_id constant uuid := shipslog.system_chain_id();
  -- A tenant's key does not see the system chain (tenant _system): a purge's event is then
  -- not compared rather than reported missing.
  sees_system boolean;
  system_start integer;
  v_categories jsonb;
  v_overdue bigint;
  v_held bigint;
  v_awaiting bigint;
  v_overdue_list jsonb;
  v_purges jsonb;
  v_purge_count bigint;
  v_purge_problems text[];
  v_orphans jsonb;
  v_changes jsonb;
  v_change_count bigint;
  v_below_now text[];
  v_below_changed text[];
  problems text[] := '{}';
begin
  perform shipslog.compliance_window_check(p_from, p_to);
  sees_system := exists (select from shipslog.deployment_events as e where e.deployment_id = system_id);
  select s.chain_index into system_start from shipslog.audit_chain_starts as s where s.deployment_id = system_id;

  -- 1. What remains: every event of the chains in scope, judged as of now and as of now - grace.
  with scope as materialized (
    select s.deployment_id
    from shipslog.compliance_deployments(p_tenant, p_deployment_id, p_environment) as s
    union
    select system_id
    where unscoped
  ),
  -- Each action in scope once: its category's period, and the moments before which its
  -- events are past it (now, and now less the grace). Joining the events to these few rows
  -- costs a fraction of the category's CASE per event.
  actions as materialized (
    select
      a.action, c.category, r.keep_for,
      now() - r.keep_for as cut,
      now() - grace - r.keep_for as cut_past_grace
    from (
      select distinct e.action
      from shipslog.deployment_events as e
      where e.deployment_id in (select s.deployment_id from scope as s)
    ) as a
      cross join lateral (select shipslog.event_category(a.action) as category) as c
      left join shipslog.audit_retention as r on r.category = c.category
  ),
  -- One pass over the events: per chain and category, the counts, the oldest, and the first
  -- event still inside its period.
  per_chain as (
    select
      e.deployment_id, a.category,
      count(*) as events,
      min(e.occurred_at) as oldest,
      count(*) filter (where e.occurred_at < a.cut) as expired,
      min(e.chain_index) filter (where not coalesce(e.occurred_at < a.cut, false)) as first_kept,
      min(e.chain_index) filter (where not coalesce(e.occurred_at < a.cut_past_grace, false)) as first_kept_past_grace
    from shipslog.deployment_events as e
      join actions as a on a.action = e.action
    where e.deployment_id in (select s.deployment_id from scope as s)
    group by e.deployment_id, a.category
  ),
  -- A purge cuts a chain before its first event still inside its period.
  fronts as (
    select
      p.deployment_id,
      min(p.first_kept) as first_kept,
      min(p.first_kept_past_grace) as first_kept_past_grace
    from per_chain as p
    group by p.deployment_id
  ),
  -- Only an expired event can be due for purging (every event before a chain's first kept one
  -- is expired), held, or overdue: a second pass keeps those alone.
  judged as materialized (
    select
      e.deployment_id, e.tenant, e.name, e.chain_index, e.action, e.occurred_at, a.category, a.keep_for,
      e.chain_index < coalesce(f.first_kept_past_grace, 2147483647) as overdue,
      e.chain_index < coalesce(f.first_kept, 2147483647) as due
    from shipslog.deployment_events as e
      join actions as a on a.action = e.action
      join fronts as f on f.deployment_id = e.deployment_id
    where e.deployment_id in (select s.deployment_id from scope as s)
      and e.occurred_at < a.cut
  ),
  per_category as (
    select
      c.category, c.events, c.oldest, c.expired,
      coalesce(j.held, 0) as held, coalesce(j.awaiting, 0) as awaiting, coalesce(j.overdue, 0) as overdue
    from (
      select p.category, sum(p.events) as events, min(p.oldest) as oldest, sum(p.expired) as expired
      from per_chain as p
      group by p.category
    ) as c
      left join (
        select
          j.category,
          count(*) filter (where not j.due) as held,
          count(*) filter (where j.due and not j.overdue) as awaiting,
          count(*) filter (where j.overdue) as overdue
        from judged as j
        group by j.category
      ) as j on j.category is not distinct from c.category
  ),
  listed as (
    select j.*
    from judged as j
    where j.overdue
    order by j.occurred_at, j.deployment_id, j.chain_index
    limit 100
  )
  select
    (select jsonb_object_agg(m.category, jsonb_build_object(
        'keep_for', r.keep_for::text,
        'minimum', m.keep_for::text,
        'events', coalesce(p.events, 0),
        'oldest', shipslog.iso_utc(p.oldest),
        'expired', coalesce(p.expired, 0),
        'held', coalesce(p.held, 0),
        'awaiting_purge', coalesce(p.awaiting, 0),
        'overdue', coalesce(p.overdue, 0)) order by m.category)
     from shipslog.audit_retention_minimums() as m
       left join shipslog.audit_retention as r on r.category = m.category
       left join per_category as p on p.category = m.category),
    (select coalesce(sum(p.overdue), 0) from per_category as p),
    (select coalesce(sum(p.held), 0) from per_category as p),
    (select coalesce(sum(p.awaiting), 0) from per_category as p),
    (select coalesce(jsonb_agg(jsonb_build_object(
        'deployment_id', l.deployment_id, 'tenant', l.tenant, 'name', l.name, 'chain_index', l.chain_index,
        'action', l.action, 'category', l.category, 'occurred_at', shipslog.iso_utc(l.occurred_at),
        'keep_for', l.keep_for::text, 'expired_at', shipslog.iso_utc(l.occurred_at + l.keep_for))
        order by l.occurred_at, l.deployment_id, l.chain_index), '[]')
     from listed as l)
  into v_categories, v_overdue, v_held, v_awaiting, v_overdue_list;
  if v_overdue > 0 then
    problems := problems || format('%s event(s) past their retention period by more than the %s grace remain at the front of their chains (the oldest: %s)',
      v_overdue, grace, v_overdue_list -> 0 ->> 'occurred_at');
  end if;

  -- 2. The purges of the window, against the settings in force when each judged.
  with scope as materialized (
    select s.deployment_id
    from shipslog.compliance_deployments(p_tenant, p_deployment_id, p_environment) as s
  ),
  purges as materialized (
    select p.*, a.anchors, a.judged_at, a.judged_last, a.chains
    from shipslog.audit_purges as p
      cross join lateral (
        select
          count(*) as anchors,
          min(a.judged_at) as judged_at,
          max(a.judged_at) as judged_last,
          coalesce(jsonb_agg(jsonb_build_object('deployment_id', a.deployment_id, 'chain_index', a.chain_index, 'removed', a.removed)
            order by a.deployment_id) filter (where unscoped or a.deployment_id in (select s.deployment_id from scope as s)), '[]') as chains
        from shipslog.audit_chain_anchors as a
        where a.purge_id = p.id
      ) as a
    where p.purged_at >= p_from
      and p.purged_at < p_to
      and (unscoped or jsonb_array_length(a.chains) > 0)
  ),
  -- Per purge and category: the period it applied (absent or null: forever), the one in force
  -- (the last change before, else the first change's previous value, else the table as it
  -- is) when it judged and when it ran, and the minimum. A change made while a purge ran may
  -- fall between the two: the purge is held to the longer of them only when it applied less
  -- than both.
  moments as (
    select p.id, p.retention, m.category, m.keep_for as minimum, x.moment, x.kind
    from purges as p
      cross join shipslog.audit_retention_minimums() as m
      cross join lateral (values (coalesce(p.judged_at, p.purged_at), 'judged'), (p.purged_at, 'ran')) as x(moment, kind)
  ),
  in_force as (
    select
      o.id, o.category, o.minimum, o.kind,
      (o.retention ->> o.category)::interval as applied,
      (coalesce(
        (select jsonb_build_object('v', c.new_keep_for) from shipslog.audit_retention_changes as c
         where c.category = o.category and c.changed_at <= o.moment order by c.id desc limit 1),
        (select jsonb_build_object('v', c.previous_keep_for) from shipslog.audit_retention_changes as c
         where c.category = o.category and c.changed_at > o.moment order by c.id limit 1),
        (select jsonb_build_object('v', r.keep_for) from shipslog.audit_retention as r where r.category = o.category),
        jsonb_build_object('v', null)) ->> 'v')::interval as keep_for
    from moments as o
  ),
  applied as (
    select
      j.id, j.category, j.applied, j.minimum,
      j.keep_for as in_force,
      j.applied is not null
        and (j.keep_for is null or j.applied < j.keep_for)
        and (r.keep_for is null or j.applied < r.keep_for) as shorter
    from in_force as j
      join in_force as r on r.id = j.id and r.category = j.category and r.kind = 'ran'
    where j.kind = 'judged'
  ),
  findings as (
    select a.id, format('purge #%s applied %s to %s while %s was in force (shipslog.audit_retention_changes)',
      a.id, a.applied, a.category, coalesce(a.in_force::text, 'forever')) as problem
    from applied as a
    where a.shorter
    union all
    select a.id, format('purge #%s applied %s to %s, below the specification''s minimum (%s)',
      a.id, a.applied, a.category, coalesce(a.minimum::text, 'forever'))
    from applied as a
    where a.applied is not null and (a.minimum is null or a.applied < a.minimum)
    union all
    select p.id, format('purge #%s records %s chain(s) but %s anchor(s) name it', p.id, p.chain_count, p.anchors)
    from purges as p
    where p.anchors <> p.chain_count
    union all
    select p.id, format('purge #%s ran at %s but its anchors were judged at %s to %s, not within the day before',
      p.id, shipslog.iso_utc(p.purged_at), shipslog.iso_utc(p.judged_at), shipslog.iso_utc(p.judged_last))
    from purges as p
    where p.judged_at < p.purged_at - interval '1 day' or p.judged_last > p.purged_at
    union all
    select p.id, case
        when e.seq is null then format('purge #%s: its events_purged event #%s is missing from the system chain', p.id, p.event_chain_index)
        else format('purge #%s: its events_purged event #%s on the system chain does not match its record', p.id, p.event_chain_index)
      end
    from purges as p
      left join shipslog.deployment_events as e
        on e.deployment_id = system_id
       and e.chain_index = p.event_chain_index
    where sees_system
      and p.event_chain_index > coalesce(system_start, 0)
      and (e.seq is null
        or e.hash is distinct from p.event_hash
        or e.action is distinct from 'events_purged'
        or e.new_state ->> 'purge_id' is distinct from p.id::text
        or e.new_state -> 'retention' is distinct from p.retention
        or e.new_state ->> 'judged_at' is distinct from shipslog.iso_utc(p.judged_at))
  )
  select
    (select count(*) from purges),
    (select coalesce(array_agg(f.problem order by f.id, f.problem), '{}') from findings as f),
    (select coalesce(jsonb_agg(jsonb_build_object(
        'id', p.id, 'purged_at', shipslog.iso_utc(p.purged_at), 'judged_at', shipslog.iso_utc(p.judged_at),
        'chain_count', p.chain_count, 'event_count', p.event_count, 'retention', p.retention,
        'actor', p.actor, 'db_user', p.db_user, 'anchors', p.chains,
        'problems', coalesce((select jsonb_agg(f.problem order by f.problem) from findings as f where f.id = p.id), '[]'))
        order by p.id), '[]')
     from purges as p)
  into v_purge_count, v_purge_problems, v_purges;
  problems := problems || v_purge_problems;

  -- Anchors in scope made in the window that no purge record stands behind.
  with scope as materialized (
    select s.deployment_id
    from shipslog.compliance_deployments(p_tenant, p_deployment_id, p_environment) as s
  )
  select coalesce(jsonb_agg(jsonb_build_object(
      'id', a.id, 'deployment_id', a.deployment_id, 'chain_index', a.chain_index,
      'judged_at', shipslog.iso_utc(a.judged_at), 'purge_id', a.purge_id) order by a.id), '[]')
  into v_orphans
  from shipslog.audit_chain_anchors as a
  where a.created_at >= p_from
    and a.created_at < p_to
    and (unscoped or a.deployment_id in (select s.deployment_id from scope as s))
    and not exists (select from shipslog.audit_purges as p where p.id = a.purge_id);
  if jsonb_array_length(v_orphans) > 0 then
    problems := problems || format('%s anchor(s) name no recorded purge (the first: anchor #%s of %s at event #%s, purge #%s)',
      jsonb_array_length(v_orphans), v_orphans -> 0 ->> 'id', v_orphans -> 0 ->> 'deployment_id',
      v_orphans -> 0 ->> 'chain_index', v_orphans -> 0 ->> 'purge_id');
  end if;

  -- 3. The settings: below the minimums now, and every change in the window.
  select coalesce(array_agg(format('%s is kept %s, below the specification''s minimum (%s)',
      m.category, r.keep_for, coalesce(m.keep_for::text, 'forever')) order by m.category), '{}')
  into v_below_now
  from shipslog.audit_retention_minimums() as m
    join shipslog.audit_retention as r on r.category = m.category
  where r.keep_for is not null
    and (m.keep_for is null or r.keep_for < m.keep_for);
  problems := problems || v_below_now;

  select
    count(*),
    coalesce(jsonb_agg(jsonb_build_object(
      'id', c.id, 'changed_at', shipslog.iso_utc(c.changed_at), 'category', c.category, 'operation', c.operation,
      'previous_keep_for', c.previous_keep_for::text, 'new_keep_for', c.new_keep_for::text,
      'minimum', m.keep_for::text,
      'below_minimum', c.new_keep_for is not null and (m.keep_for is null or c.new_keep_for < m.keep_for),
      'actor', c.actor, 'reason', c.reason, 'db_user', c.db_user, 'db_role', c.db_role) order by c.id), '[]'),
    coalesce(array_agg(format('change #%s set %s to %s at %s, below the specification''s minimum (%s)',
      c.id, c.category, c.new_keep_for, shipslog.iso_utc(c.changed_at), coalesce(m.keep_for::text, 'forever')) order by c.id)
      filter (where c.new_keep_for is not null and (m.keep_for is null or c.new_keep_for < m.keep_for)), '{}')
  into v_change_count, v_changes, v_below_changed
  from shipslog.audit_retention_changes as c
    left join shipslog.audit_retention_minimums() as m on m.category = c.category
  where c.changed_at >= p_from
    and c.changed_at < p_to;
  problems := problems || v_below_changed;

  return query select
    'retention_met'::text,
    case when cardinality(problems) = 0 then 'pass' else 'fail' end,
    case when cardinality(problems) = 0
      then format('no event past its retention period by more than the %s grace remains at the front of its chain (%s expired event(s) held behind retained ones of their chains, %s awaiting the next purge); %s purge(s) in the window applied the periods in force, none below the specification''s minimums; %s change(s) of the periods in the window, none below them',
        grace, v_held, v_awaiting, v_purge_count, v_change_count)
      else array_to_string(problems, '; ')
    end,
    jsonb_build_object(
      'judged_at', shipslog.iso_utc(now()),
      'grace', grace::text,
      'categories', v_categories,
      'overdue', v_overdue,
      'overdue_events', v_overdue_list,
      'held', v_held,
      'awaiting_purge', v_awaiting,
      'purges', v_purges,
      'purge_events_checked', sees_system,
      'unsealed_anchors', v_orphans,
      'changes', v_changes,
      'method', 'events judged against shipslog.audit_retention as now, cut as shipslog.audit_retention_cuts() cuts (whole chain prefixes); purges against shipslog.audit_retention_changes and the specification''s minimums (shipslog.audit_retention_minimums())');
end
$$;

-- No changes outside the API and the reconciler: events in the window written with no actor
-- context (actor_type 'database': psql, a script, a bulk UPDATE; the same rule as
-- sql/reports/changes-outside-api.sql). Each is listed (the newest 100) with the login, its
-- role, the client program and address, and what changed.
create or replace function shipslog.compliance_check_changes_outside_api(
  p_from timestamptz, p_to timestamptz, p_tenant text, p_deployment_id uuid, p_environment text)
returns table ("check" text, status text, summary text, evidence jsonb)
language sql
stable
set search_path = ''
as $$
  with scope as materialized (
    select s.deployment_id
    from shipslog.compliance_deployments(p_tenant, p_deployment_id, p_environment) as s
  ),
  outside as materialized (
    select e.*
    from shipslog.deployment_events as e
    where e.deployment_id in (select s.deployment_id from scope as s)
      and e.occurred_at >= p_from
      and e.occurred_at < p_to
      and e.actor_type = 'database'
  ),
  listed as (
    select o.*
    from outside as o
    order by o.occurred_at desc, o.seq desc
    limit 100
  ),
  n as (
    select count(*) as total from outside
  )
  select
    'changes_outside_api',
    case when n.total = 0 then 'pass' else 'fail' end,
    case when n.total = 0
      then 'every change in the window came through the API or the reconciler (each carries an actor context)'
      else format('%s change(s) made outside the API and the reconciler (no actor context), listed with the database login that made them', n.total)
    end,
    jsonb_build_object(
      'count', n.total,
      'listed', (select count(*) from listed),
      'changes', coalesce((select jsonb_agg(jsonb_build_object(
          'occurred_at', shipslog.iso_utc(l.occurred_at),
          'deployment_id', l.deployment_id,
          'tenant', l.tenant,
          'name', l.name,
          'chain_index', l.chain_index,
          'action', l.action,
          'summary', shipslog.describe_event(l.action, shipslog.event_changes(l.previous_state, l.new_state), l.previous_state, l.new_state),
          'db_user', l.db_user,
          'db_role', l.db_role,
          'application_name', l.application_name,
          'client_addr', host(l.client_addr)) order by l.occurred_at desc, l.seq desc) from listed as l), '[]'))
  from n
$$;

grant execute
  on function
    shipslog.compliance_deployments(text, uuid, text),
    shipslog.compliance_window_check(timestamptz, timestamptz),
    shipslog.compliance_applied_changes(timestamptz, timestamptz, text, uuid, text),
    shipslog.compliance_policies_in_scope(timestamptz, text, uuid, text),
    shipslog.compliance_check_immutable_storage(timestamptz, timestamptz, text, uuid, text),
    shipslog.compliance_check_chains(timestamptz, timestamptz, text, uuid, text),
    shipslog.compliance_check_checkpoints(timestamptz, timestamptz, text, uuid, text),
    shipslog.compliance_check_approvals(timestamptz, timestamptz, text, uuid, text),
    shipslog.compliance_check_gates(timestamptz, timestamptz, text, uuid, text),
    shipslog.compliance_check_retention(timestamptz, timestamptz, text, uuid, text),
    shipslog.compliance_check_changes_outside_api(timestamptz, timestamptz, text, uuid, text)
  to shipslog_app, shipslog_auditor;
