-- The compliance report's checks (shipslog.compliance_report(), 85_compliance_report.sql).
--
-- One function per check, all with the same signature, so that a check can be added or
-- rewritten on its own (the approvals, gates and retention checks are completed by the work
-- that creates their tables):
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

-- Approvals complete for every production change. Approvals are recorded by the approval
-- workflow (issue 11); until its tables exist there is nothing to check. When
-- shipslog.approval_requests exists and this body has not been written against it, the
-- check fails rather than pass silently.
create or replace function shipslog.compliance_check_approvals(
  p_from timestamptz, p_to timestamptz, p_tenant text, p_deployment_id uuid, p_environment text)
returns table ("check" text, status text, summary text, evidence jsonb)
language sql
stable
set search_path = ''
as $$
  select
    'approvals_complete',
    case when to_regclass('shipslog.approval_requests') is null then 'not_applicable' else 'fail' end,
    case when to_regclass('shipslog.approval_requests') is null
      then 'approvals are not recorded by this version of shipslog (no table shipslog.approval_requests): no production change can be checked against an approval policy'
      else 'shipslog.approval_requests exists but this check does not read it yet: complete shipslog.compliance_check_approvals()'
    end,
    jsonb_build_object('table', 'shipslog.approval_requests', 'exists', to_regclass('shipslog.approval_requests') is not null)
$$;

-- Gates passed for every applied generation. Gate results are recorded by issue 11's work;
-- the same rule as approvals until shipslog.gate_results exists.
create or replace function shipslog.compliance_check_gates(
  p_from timestamptz, p_to timestamptz, p_tenant text, p_deployment_id uuid, p_environment text)
returns table ("check" text, status text, summary text, evidence jsonb)
language sql
stable
set search_path = ''
as $$
  select
    'gates_passed',
    case when to_regclass('shipslog.gate_results') is null then 'not_applicable' else 'fail' end,
    case when to_regclass('shipslog.gate_results') is null
      then 'gates are not recorded by this version of shipslog (no table shipslog.gate_results): no change can be checked against a gate policy'
      else 'shipslog.gate_results exists but this check does not read it yet: complete shipslog.compliance_check_gates()'
    end,
    jsonb_build_object('table', 'shipslog.gate_results', 'exists', to_regclass('shipslog.gate_results') is not null)
$$;

-- Retention met: nothing older than its period remains, nothing inside it was purged.
-- Retention by category is issue 12 item 1; the same rule until shipslog.event_retention
-- (the periods by category) exists.
create or replace function shipslog.compliance_check_retention(
  p_from timestamptz, p_to timestamptz, p_tenant text, p_deployment_id uuid, p_environment text)
returns table ("check" text, status text, summary text, evidence jsonb)
language sql
stable
set search_path = ''
as $$
  select
    'retention_met',
    case when to_regclass('shipslog.event_retention') is null then 'not_applicable' else 'fail' end,
    case when to_regclass('shipslog.event_retention') is null
      then 'no retention periods are defined by this version of shipslog (no table shipslog.event_retention): every event is kept and none was purged'
      else 'shipslog.event_retention exists but this check does not read it yet: complete shipslog.compliance_check_retention()'
    end,
    jsonb_build_object('table', 'shipslog.event_retention', 'exists', to_regclass('shipslog.event_retention') is not null,
      'events_purged', (select count(*) from shipslog.deployment_events as e where e.action = 'events_purged'))
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
    shipslog.compliance_check_immutable_storage(timestamptz, timestamptz, text, uuid, text),
    shipslog.compliance_check_chains(timestamptz, timestamptz, text, uuid, text),
    shipslog.compliance_check_checkpoints(timestamptz, timestamptz, text, uuid, text),
    shipslog.compliance_check_approvals(timestamptz, timestamptz, text, uuid, text),
    shipslog.compliance_check_gates(timestamptz, timestamptz, text, uuid, text),
    shipslog.compliance_check_retention(timestamptz, timestamptz, text, uuid, text),
    shipslog.compliance_check_changes_outside_api(timestamptz, timestamptz, text, uuid, text)
  to shipslog_app, shipslog_auditor;
