-- The compliance report: what happened in a window (summary, events by type and category,
-- actors, timeline) and the checks of 80_compliance_checks.sql, as one jsonb document.
-- `shipslog report` and GET /v1/reports/compliance render it as JSON, text or HTML
-- (src/audit/report*.ts); a psql auditor calls it directly:
--
--   select jsonb_pretty(shipslog.compliance_report('2026-10-01', '2026-11-01', p_tenant => 'acme'));
--
-- Scope: p_tenant, p_deployment_id and p_environment narrow it (null: no narrowing); a
-- deployment is in an environment when it is there now, or was there when it was removed.
-- The events counted are those of deployments in scope that occurred in [p_from, p_to).
-- Lists are capped (actors 100, notable events 100, deployments 200) with their totals beside
-- them, so the document stays readable whatever the trail's size.
-- p_checks: the checks to run (null: all seven). `shipslog report` and the API leave out
-- chains_intact here and run it with `shipslog verify`'s reader (src/audit/report.ts), several
-- times faster than shipslog.verify_chains() in SQL; the summary then counts it there.
--
-- (The version without p_checks is dropped: a second signature would make calls ambiguous.)
drop function if exists shipslog.compliance_report(timestamptz, timestamptz, text, uuid, text);

create or replace function shipslog.compliance_report(
  p_from timestamptz,
  p_to timestamptz,
  p_tenant text default null,
  p_deployment_id uuid default null,
  p_environment text default null,
  p_checks text[] default null
)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  granularity text;
  result jsonb;
begin
  perform shipslog.compliance_window_check(p_from, p_to);
  if exists (select from unnest(p_checks) as c(name) where c.name is null or c.name not in (
    'immutable_storage', 'chains_intact', 'checkpoints', 'approvals_complete', 'gates_passed', 'retention_met', 'changes_outside_api'))
  then
    raise exception 'unknown compliance check in p_checks: %', p_checks
      using errcode = '22023',
            hint = 'The checks: immutable_storage, chains_intact, checkpoints, approvals_complete, gates_passed, retention_met, changes_outside_api.';
  end if;
  -- Timeline buckets: hours for up to two days, days for up to ~three months, else months.
  granularity := case
    when p_to - p_from <= interval '2 days' then 'hour'
    when p_to - p_from <= interval '92 days' then 'day'
    else 'month'
  end;

  with scope as materialized (
    select *
    from shipslog.compliance_deployments(p_tenant, p_deployment_id, p_environment)
  ),
  -- Every count in one pass over the window's events: one grouping set per question (by
  -- action; by actor and deployment; by time bucket and category), hashed together. The
  -- sections below only add these rows up: a materialised copy of the events scanned once per
  -- section cost 3-4 times as much (100,000 events).
  grouped as materialized (
    select
      grouping(e.action) = 0 as by_action,
      grouping(e.actor) = 0 as by_actor,
      e.action,
      e.actor,
      e.actor_type,
      e.deployment_id,
      date_trunc(granularity, e.occurred_at, 'UTC') as bucket,
      shipslog.event_category(e.action) as category,
      count(*) as n,
      min(e.occurred_at) as first_at,
      max(e.occurred_at) as last_at
    from shipslog.deployment_events as e
    where e.deployment_id in (select s.deployment_id from scope as s)
      and e.occurred_at >= p_from
      and e.occurred_at < p_to
    group by grouping sets (
      (e.action),
      (e.actor, e.actor_type, e.deployment_id),
      (date_trunc(granularity, e.occurred_at, 'UTC'), shipslog.event_category(e.action))
    )
  ),
  by_type as materialized (
    select g.action, shipslog.event_category(g.action) as category, shipslog.action_severity(g.action) as severity,
           g.n, g.first_at, g.last_at
    from grouped as g
    where g.by_action
  ),
  by_category as (
    select b.category, sum(b.n) as n
    from by_type as b
    group by b.category
  ),
  actors as (
    select g.actor, g.actor_type, sum(g.n) as n, count(*) as deployments, min(g.first_at) as first_at, max(g.last_at) as last_at
    from grouped as g
    where g.by_actor
    group by g.actor, g.actor_type
  ),
  per_deployment as (
    select g.deployment_id, sum(g.n) as n
    from grouped as g
    where g.by_actor
    group by g.deployment_id
  ),
  timeline as (
    select g.bucket, sum(g.n) as n, jsonb_object_agg(coalesce(g.category, 'unknown'), g.n order by g.category) as categories
    from grouped as g
    where not g.by_action
      and not g.by_actor
    group by g.bucket
  ),
  -- What a reviewer looks at first: anything but info, and every lifecycle, rollback,
  -- approval, gate and security event. Config and state changes are counted, not listed.
  notable_actions as (
    select b.action, b.n
    from by_type as b
    where b.severity is distinct from 'info'
      or b.category in ('deployment_lifecycle', 'rollback', 'approval_workflow', 'compliance_gate', 'security')
  ),
  notable_listed as (
    select
      e.seq, e.occurred_at, e.deployment_id, e.tenant, e.name, e.chain_index, e.action, e.actor,
      shipslog.event_category(e.action) as category,
      shipslog.action_severity(e.action) as severity,
      shipslog.describe_event(e.action, shipslog.event_changes(e.previous_state, e.new_state), e.previous_state, e.new_state) as summary
    from (
      select e.*
      from shipslog.deployment_events as e
      where e.action in (select a.action from notable_actions as a)
        and e.deployment_id in (select s.deployment_id from scope as s)
        and e.occurred_at >= p_from
        and e.occurred_at < p_to
      order by e.occurred_at desc, e.seq desc
      limit 100
    ) as e
  ),
  checks as (
    select c.*
    from (
      select 1 as ord, * from shipslog.compliance_check_immutable_storage(p_from, p_to, p_tenant, p_deployment_id, p_environment)
        where p_checks is null or 'immutable_storage' = any(p_checks)
      union all
      select 2 as ord, * from shipslog.compliance_check_chains(p_from, p_to, p_tenant, p_deployment_id, p_environment)
        where p_checks is null or 'chains_intact' = any(p_checks)
      union all
      select 3 as ord, * from shipslog.compliance_check_checkpoints(p_from, p_to, p_tenant, p_deployment_id, p_environment)
        where p_checks is null or 'checkpoints' = any(p_checks)
      union all
      select 4 as ord, * from shipslog.compliance_check_approvals(p_from, p_to, p_tenant, p_deployment_id, p_environment)
        where p_checks is null or 'approvals_complete' = any(p_checks)
      union all
      select 5 as ord, * from shipslog.compliance_check_gates(p_from, p_to, p_tenant, p_deployment_id, p_environment)
        where p_checks is null or 'gates_passed' = any(p_checks)
      union all
      select 6 as ord, * from shipslog.compliance_check_retention(p_from, p_to, p_tenant, p_deployment_id, p_environment)
        where p_checks is null or 'retention_met' = any(p_checks)
      union all
      select 7 as ord, * from shipslog.compliance_check_changes_outside_api(p_from, p_to, p_tenant, p_deployment_id, p_environment)
        where p_checks is null or 'changes_outside_api' = any(p_checks)
    ) as c
  ),
  totals as (
    select
      (select coalesce(sum(b.n), 0) from by_type as b) as events,
      (select count(*) from per_deployment) as active_deployments,
      (select count(*) from scope) as deployments,
      (select count(*) from actors) as actors,
      (select min(b.first_at) from by_type as b) as first_at,
      (select max(b.last_at) from by_type as b) as last_at,
      (select count(*) from checks where status = 'pass') as passed,
      (select count(*) from checks where status = 'fail') as failed,
      (select count(*) from checks where status = 'not_applicable') as not_applicable
  )
  select jsonb_build_object(
    'report', 'shipslog compliance report v1',
    'generated_at', shipslog.iso_utc(clock_timestamp()),
    'scope', jsonb_build_object(
      'from', shipslog.iso_utc(p_from),
      'to', shipslog.iso_utc(p_to),
      'tenant', p_tenant,
      'deployment_id', p_deployment_id,
      'environment', p_environment),
    'summary', jsonb_build_object(
      'status', case when t.failed > 0 then 'fail' else 'pass' end,
      'checks_passed', t.passed,
      'checks_failed', t.failed,
      'checks_not_applicable', t.not_applicable,
      'events', t.events,
      'deployments', t.deployments,
      'deployments_with_events', t.active_deployments,
      'actors', t.actors,
      'first_event_at', shipslog.iso_utc(t.first_at),
      'last_event_at', shipslog.iso_utc(t.last_at)),
    'events_by_type', coalesce((
      select jsonb_agg(jsonb_build_object('action', b.action, 'category', b.category, 'severity', b.severity, 'count', b.n)
                       order by b.n desc, b.action)
      from by_type as b), '[]'),
    'events_by_category', coalesce((
      select jsonb_agg(jsonb_build_object('category', b.category, 'count', b.n) order by b.n desc, b.category)
      from by_category as b), '[]'),
    'actors', jsonb_build_object(
      'total', t.actors,
      'items', coalesce((
        select jsonb_agg(jsonb_build_object('actor', a.actor, 'actor_type', a.actor_type, 'events', a.n, 'deployments', a.deployments,
                         'first_at', shipslog.iso_utc(a.first_at), 'last_at', shipslog.iso_utc(a.last_at))
                         order by a.n desc, a.actor, a.actor_type)
        from (select * from actors order by n desc, actor, actor_type limit 100) as a), '[]')),
    'deployments', jsonb_build_object(
      'total', t.deployments,
      'items', coalesce((
        select jsonb_agg(jsonb_build_object('deployment_id', s.deployment_id, 'tenant', s.tenant, 'name', s.name,
                         'environment', s.environment, 'removed', s.removed, 'events', s.n)
                         order by s.tenant, s.name, s.deployment_id)
        from (
          select s.*, coalesce(p.n, 0) as n
          from scope as s
            left join per_deployment as p
              on p.deployment_id = s.deployment_id
          order by s.tenant, s.name, s.deployment_id
          limit 200
        ) as s), '[]')),
    'timeline', jsonb_build_object(
      'granularity', granularity,
      'buckets', coalesce((
        select jsonb_agg(jsonb_build_object('start', shipslog.iso_utc(tl.bucket), 'events', tl.n, 'categories', tl.categories)
                         order by tl.bucket)
        from timeline as tl), '[]'),
      'notable_total', (select coalesce(sum(a.n), 0) from notable_actions as a),
      'notable', coalesce((
        select jsonb_agg(jsonb_build_object('occurred_at', shipslog.iso_utc(n.occurred_at), 'deployment_id', n.deployment_id,
                         'tenant', n.tenant, 'name', n.name, 'chain_index', n.chain_index, 'action', n.action,
                         'category', n.category, 'severity', n.severity, 'actor', n.actor, 'summary', n.summary)
                         order by n.occurred_at desc, n.seq desc)
        from notable_listed as n), '[]')),
    'checks', (
      select jsonb_agg(jsonb_build_object('check', c."check", 'status', c.status, 'summary', c.summary, 'evidence', c.evidence)
                       order by c.ord)
      from checks as c))
  into result
  from totals as t;
  return result;
end
$$;

grant execute
  on function shipslog.compliance_report(timestamptz, timestamptz, text, uuid, text, text[])
  to shipslog_app, shipslog_auditor;
