import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Queryable } from '../../src/db/client.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

/*
 * Run audit as seeds 003 and 004 query it (issue 11, item 7): the failed-runs list and the
 * per-target view answer what the runs say, and each query of docs/reconciler.md ("Run audit
 * queries and their indexes") is served by the index migration 0025 made for it, shown with
 * EXPLAIN over 60 days of runs (30,000 runs, 3% failed, a worker id per 2 days, 200 targets: a namespace per tenant). Without the
 * index, the same query reads the whole table: the plan is checked both ways.
 * SHIPSLOG_PRINT_PLANS=1 prints each plan with its timing (EXPLAIN ANALYZE), as the doc shows.
 */

let t: TestDatabase;
const printPlans = process.env.SHIPSLOG_PRINT_PLANS === '1';

beforeAll(async () => {
  t = await createTestDatabase();
  // Written as history, not through the run triggers: 30,000 runs one by one would take
  // minutes. Rows satisfy every CHECK of the tables (constraints are not triggers).
  await t.db.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    await tx`
      insert into shipslog.reconcile_runs
        (id, started_at, deployment_id, tenant, name, generation, config_hash, target, phase, outcome,
         failure_reason, failure_message, skip_reason, completed_at, duration_ms, worker_id, correlation_id)
      select
        gen_random_uuid(), s.started_at, s.deployment_id, 'acme', 'app-' || (s.i % 500), 1 + s.i / 500,
        'sha256:' || repeat('0', 64), 'prod/t' || (s.i % 200),
        s.phase, case s.phase when 'Completed' then 'Applied' else s.phase end,
        case when s.phase = 'Failed' then 'ApplyFailed' end,
        case when s.phase = 'Failed' then 'quota exceeded (' || s.i || ')' end,
        case when s.phase = 'Skipped' then 'ResourceBusy' end,
        -- A worker id lives as long as its process (hostname-pid-random): here 2 days, 1,000 runs each.
        s.started_at + interval '200 milliseconds', 200, 'replica-' || (s.i / 1000), 'corr-' || s.i
      from (
        select
          i,
          now() - (i * interval '60 days' / 30000) - interval '1 second' as started_at,
          ('00000000-0000-4000-8000-' || lpad((i % 500)::text, 12, '0'))::uuid as deployment_id,
          case when i % 33 = 0 then 'Failed' when i % 50 = 1 then 'Skipped' else 'Completed' end as phase
        from generate_series(1, 30000) as i
      ) as s
    `;
    await tx`
      insert into shipslog.reconcile_run_transitions
        (run_id, run_started_at, deployment_id, tenant, from_phase, to_phase, outcome, failure_reason, skip_reason,
         duration_ms, worker_id, correlation_id, occurred_at)
      select r.id, r.started_at, r.deployment_id, r.tenant, 'Running', r.phase, r.outcome, r.failure_reason, r.skip_reason,
             r.duration_ms, r.worker_id, r.correlation_id, r.completed_at
      from shipslog.reconcile_runs as r
      order by r.completed_at
    `;
    await tx`
      insert into shipslog.reconcile_run_audit
        (transition_id, run_id, deployment_id, tenant, worker_id, correlation_id, success, execution_ms, recorded_at)
      select x.id, x.run_id, x.deployment_id, x.tenant, x.worker_id, x.correlation_id, x.to_phase = 'Completed', x.duration_ms, x.occurred_at
      from shipslog.reconcile_run_transitions as x
      order by x.id
    `;
  });
  await t.db`analyze shipslog.reconcile_runs`;
  await t.db`analyze shipslog.reconcile_run_transitions`;
  await t.db`analyze shipslog.reconcile_run_audit`;
}, 120_000);

afterAll(async () => {
  await t?.drop();
});

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}

/** The indexes and the tables read whole by a plan, partition indexes named by their parent index. */
async function planOf(db: Queryable, query: string): Promise<{ indexes: string[]; seqScans: string[]; text: string }> {
  const [row] = await db.unsafe(`explain (format json) ${query}`); // the fixed queries below
  const nodes: PlanNode[] = [];
  const walk = (n: PlanNode) => {
    nodes.push(n);
    for (const c of n.Plans ?? []) walk(c);
  };
  walk((row!['QUERY PLAN'] as { Plan: PlanNode }[])[0]!.Plan);
  const used = [...new Set(nodes.map((n) => n['Index Name']).filter((n): n is string => !!n))];
  // An index on a partitioned table has one index per partition, named after the partition.
  const parents = await db<{ child: string; parent: string }[]>`
    select c.relname as child, p.relname as parent
    from pg_inherits as i
    join pg_class as c on c.oid = i.inhrelid
    join pg_class as p on p.oid = i.inhparent
    where c.relname = any(${used})`;
  const byChild = new Map(parents.map((p) => [p.child, p.parent]));
  const text = printPlans
    ? (await db.unsafe(`explain (analyze, costs off, timing on, summary on) ${query}`)).map((r) => r['QUERY PLAN']).join('\n')
    : '';
  return {
    indexes: [...new Set(used.map((u) => byChild.get(u) ?? u))].sort(),
    seqScans: [...new Set(nodes.filter((n) => n['Node Type'] === 'Seq Scan').map((n) => n['Relation Name']!))].sort(),
    text,
  };
}

/** As an auditor would run it (row-level security policies apply to the role). */
function asAuditor<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
  return t.db.begin(async (tx) => {
    await tx`set local role shipslog_auditor`;
    return fn(tx);
  }) as Promise<T>;
}

/** The plan with the index, and without it (dropped in a transaction that is rolled back). */
async function withAndWithout(query: string, index: string) {
  const withIndex = await asAuditor((tx) => planOf(tx, query));
  let without: Awaited<ReturnType<typeof planOf>> | undefined;
  await t.db
    .begin(async (tx) => {
      await tx.unsafe(`drop index shipslog.${index}`); // names of the migration's indexes
      await tx`set local role shipslog_auditor`;
      without = await planOf(tx, query);
      throw new Error('rollback');
    })
    .catch((err: Error) => {
      if (err.message !== 'rollback') throw err;
    });
  if (printPlans) console.log(`--- ${query}\n[with ${index}]\n${withIndex.text}\n[without]\n${without!.text}\n`);
  return { withIndex, without: without! };
}

const queries: [string, string, string][] = [
  ['recent failures, as rows (seed 004)', 'select * from shipslog.reconcile_recent_failed_runs', 'reconcile_runs_failed_idx'],
  ['recent failures per target (seed 004)', 'select * from shipslog.reconcile_recent_failures', 'reconcile_runs_failed_idx'],
  ['every failure of one target', "select * from shipslog.reconcile_failed_runs('-infinity', 'infinity', 'prod/t3')", 'reconcile_runs_failed_target_idx'],
  ['a worker\'s runs, newest first', "select * from shipslog.reconcile_runs where worker_id = 'replica-3' order by started_at desc", 'reconcile_runs_worker_idx'],
  ['a worker\'s audit rows, newest first (seed 003)', "select * from shipslog.reconcile_run_audit where worker_id = 'replica-3' order by recorded_at desc", 'reconcile_run_audit_worker_idx'],
  ['audit rows by time, last hour (seed 003)', "select * from shipslog.reconcile_run_audit where recorded_at > now() - interval '1 hour' order by recorded_at", 'reconcile_run_audit_recorded_at_idx'],
  ['a deployment\'s latest audit rows (seed 003: by task)', "select * from shipslog.reconcile_run_audit where deployment_id = '00000000-0000-4000-8000-000000000007' order by recorded_at desc limit 20", 'reconcile_run_audit_deployment_idx'],
];

describe('run audit queries (seeds 003 and 004)', () => {
  it('the failed-runs list holds each run that failed in the last 24 hours, newest first; the per-target view groups it', async () => {
    const list = await asAuditor((tx) => tx<{ completed_at: Date; target: string; failure_reason: string; run_id: string; worker_id: string; correlation_id: string }[]>`
      select * from shipslog.reconcile_recent_failed_runs`);
    const [expected] = await t.db<{ n: number }[]>`
      select count(*)::int as n from shipslog.reconcile_runs where phase = 'Failed' and completed_at >= now() - interval '24 hours'`;
    expect(list.length).toBe(expected!.n);
    expect(list.length).toBeGreaterThan(5);
    expect(list.map((r) => r.completed_at.getTime())).toEqual(list.map((r) => r.completed_at.getTime()).sort((a, b) => b - a));
    expect(list.every((r) => r.failure_reason === 'ApplyFailed' && r.worker_id.startsWith('replica-') && r.correlation_id.startsWith('corr-'))).toBe(true);
    const perTarget = await asAuditor((tx) => tx<{ target: string; failures: string; last_failure_at: Date }[]>`
      select target, failures, last_failure_at from shipslog.reconcile_recent_failures order by target`);
    const grouped = new Map<string, { n: number; last: number }>();
    for (const r of list) {
      const g = grouped.get(r.target) ?? { n: 0, last: 0 };
      grouped.set(r.target, { n: g.n + 1, last: Math.max(g.last, r.completed_at.getTime()) });
    }
    expect(perTarget.map((r) => [r.target, Number(r.failures), r.last_failure_at.getTime()]))
      .toEqual([...grouped].sort(([a], [b]) => (a < b ? -1 : 1)).map(([target, g]) => [target, g.n, g.last]));
    // One target, every failure: the function's arguments.
    const [all] = await t.db<{ n: number }[]>`select count(*)::int as n from shipslog.reconcile_runs where phase = 'Failed' and target = 'prod/t3'`;
    const target = await asAuditor((tx) => tx`select target from shipslog.reconcile_failed_runs('-infinity', 'infinity', 'prod/t3')`);
    expect(target.length).toBe(all!.n);
    expect(target.length).toBeGreaterThan(0);
    expect(target.every((r) => r.target === 'prod/t3')).toBe(true);
    const older = await asAuditor((tx) => tx`select * from shipslog.reconcile_failed_runs(now() - interval '30 days', now() - interval '29 days')`);
    expect(older.length).toBeGreaterThan(5);
  });

  it.each(queries)('%s is served by its index (EXPLAIN), and not without it', async (_what, query, index) => {
    // Monthly partitions ahead of today are empty: a plan may read those whole, at no cost.
    const filled = (await t.db<{ rel: string }[]>`
      select distinct tableoid::regclass::text as rel from shipslog.reconcile_runs
      union
      select 'shipslog.' || relname from pg_class where relname in ('reconcile_run_audit', 'reconcile_run_transitions')`)
      .map((r) => r.rel.replace(/^shipslog\./, ''));
    const { withIndex, without } = await withAndWithout(query, index);
    expect(withIndex.indexes).toContain(index);
    expect(withIndex.seqScans.filter((rel) => filled.includes(rel))).toEqual([]);
    expect(without.indexes).not.toContain(index);
  });
});
