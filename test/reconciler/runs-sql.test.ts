import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { abandonRuns, finishRun, getRun, getRunAudit, insertRun, listRuns, type NewRun } from '../../src/db/runs.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { insertDeployment } from '../support/fixtures.ts';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => t?.drop());

const hash = `sha256:${'a'.repeat(64)}`;
function newRun(deploymentId: string, extra: Partial<NewRun> = {}): NewRun {
  return {
    deploymentId, tenant: 'acme', name: 'orders-db', generation: 1, configHash: hash, target: 'test/acme',
    phase: 'Running', workerId: 'w1', correlationId: 'c1', ...extra,
  };
}

async function sqlState(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    if (err instanceof postgres.PostgresError) return err.code;
    throw err;
  }
  return undefined;
}

describe('reconcile runs in SQL', () => {
  it('records every phase change as a transition and audits each result transition', async () => {
    const d = await insertDeployment(t.db, { name: 'runs-a' });
    const run = await insertRun(t.db, newRun(d.id));
    const done = await finishRun(t.db, run.id, { phase: 'Completed', outcome: 'Applied', changeSet: [{ kind: 'Service', name: 'x', namespace: 'acme', action: 'created' }] });
    expect(done.completedAt).not.toBeNull();
    expect(done.durationMs).toBeGreaterThanOrEqual(0);
    const audit = await getRunAudit(t.db, d.id, run.id);
    expect(audit!.map((a) => [a.fromPhase, a.toPhase])).toEqual([[null, 'Running'], ['Running', 'Completed']]);
    expect(audit![0]!.audit).toBeNull();
    expect(audit![1]!.audit).toMatchObject({ success: true, executionMs: done.durationMs });
    const [row] = await t.db`select worker_id, correlation_id from shipslog.reconcile_run_audit where run_id = ${run.id}`;
    expect(row).toEqual({ worker_id: 'w1', correlation_id: 'c1' });
  });

  it('refuses to leave a result state, to change attribution, and to start finished', async () => {
    const d = await insertDeployment(t.db, { name: 'runs-b' });
    const run = await insertRun(t.db, newRun(d.id));
    await finishRun(t.db, run.id, { phase: 'Failed', outcome: 'Failed', failureReason: 'ApplyFailed', failureMessage: 'boom' });
    expect(await sqlState(t.db`update shipslog.reconcile_runs set phase = 'Running' where id = ${run.id}`)).toBe('SL203');
    expect(await sqlState(t.db`update shipslog.reconcile_runs set failure_message = 'rewritten' where id = ${run.id}`)).toBe('SL203');
    const run2 = await insertRun(t.db, newRun(d.id));
    expect(await sqlState(t.db`update shipslog.reconcile_runs set worker_id = 'other' where id = ${run2.id}`)).toBe('SL202');
    expect(await sqlState(insertRun(t.db, newRun(d.id, { phase: 'Completed' as never })))).toBe('SL201');
    // A failed run must say why.
    expect(await sqlState(t.db`update shipslog.reconcile_runs set phase = 'Failed', outcome = 'Failed' where id = ${run2.id}`)).toBe('23514');
  });

  it('keeps transitions and run audit append-only, for the owner too', async () => {
    const d = await insertDeployment(t.db, { name: 'runs-c' });
    const run = await insertRun(t.db, newRun(d.id, { phase: 'Skipped', skipReason: 'ResourceBusy' }));
    expect(await sqlState(t.db`update shipslog.reconcile_run_transitions set worker_id = 'x' where run_id = ${run.id}`)).toBe('SL204');
    expect(await sqlState(t.db`delete from shipslog.reconcile_run_audit where run_id = ${run.id}`)).toBe('SL204');
    expect(await sqlState(t.db`truncate shipslog.reconcile_run_audit`)).toBe('SL005');
    expect(await sqlState(t.db`
      insert into shipslog.reconcile_run_transitions (run_id, run_started_at, deployment_id, tenant, to_phase, worker_id, correlation_id)
      values (${run.id}, now(), ${d.id}, 'acme', 'Completed', 'forged', 'c')`)).toBe('SL205');
    // An audit row that does not mirror a result transition is refused.
    const [tr] = await t.db<{ id: string }[]>`select id from shipslog.reconcile_run_transitions where run_id = ${run.id}`;
    expect(await sqlState(t.db`
      insert into shipslog.reconcile_run_audit (transition_id, run_id, deployment_id, tenant, worker_id, correlation_id, success)
      values (${tr!.id}, ${run.id}, ${d.id}, 'acme', 'w1', 'c1', true)`)).toMatch(/SL206|23505/);
  });

  it('the backfill adds missing audit rows once and is safe to run twice', async () => {
    const d = await insertDeployment(t.db, { name: 'runs-d' });
    const run = await insertRun(t.db, newRun(d.id));
    // Transitions recorded while triggers were bypassed (a restore): no audit rows for them.
    await t.db.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`
        insert into shipslog.reconcile_run_transitions
          (run_id, run_started_at, deployment_id, tenant, from_phase, to_phase, outcome, duration_ms, worker_id, correlation_id)
        values (${run.id}, ${run.startedAt}, ${d.id}, 'acme', 'Running', 'Completed', 'Applied', 12, 'old-worker', 'old-corr')`;
    });
    const [first] = await t.db<{ n: number }[]>`select shipslog.backfill_reconcile_run_audit() as n`;
    const [second] = await t.db<{ n: number }[]>`select shipslog.backfill_reconcile_run_audit() as n`;
    expect(first!.n).toBe(1);
    expect(second!.n).toBe(0);
    const rows = await t.db`select worker_id, success, execution_ms from shipslog.reconcile_run_audit where run_id = ${run.id}`;
    expect([...rows]).toEqual([{ worker_id: 'old-worker', success: true, execution_ms: 12 }]);
  });

  it('lists runs newest first, and a run of another deployment is not found', async () => {
    const a = await insertDeployment(t.db, { name: 'runs-e' });
    const b = await insertDeployment(t.db, { name: 'runs-f' });
    const r1 = await insertRun(t.db, newRun(a.id, { generation: 1 }));
    await abandonRuns(t.db, a.id, '00000000-0000-0000-0000-000000000000');
    const r2 = await insertRun(t.db, newRun(a.id, { generation: 2 }));
    expect((await listRuns(t.db, a.id)).map((r) => r.id)).toEqual([r2.id, r1.id]);
    expect((await getRun(t.db, a.id, r1.id))!.failureReason).toBe('WorkerLost');
    expect(await getRun(t.db, b.id, r1.id)).toBeNull();
    expect(await getRunAudit(t.db, b.id, r1.id)).toBeNull();
    const page = await listRuns(t.db, a.id, { limit: 1, beforeRunId: r2.id });
    expect(page.map((r) => r.id)).toEqual([r1.id]);
  });

  it('auditor views answer failures, lock effectiveness and success rate', async () => {
    const d = await insertDeployment(t.db, { name: 'runs-g' });
    const ok = await insertRun(t.db, newRun(d.id, { target: 'view/acme' }));
    await finishRun(t.db, ok.id, { phase: 'Completed', outcome: 'Applied' });
    const bad = await insertRun(t.db, newRun(d.id, { target: 'view/acme' }));
    await finishRun(t.db, bad.id, { phase: 'Failed', outcome: 'Failed', failureReason: 'ApplyFailed', failureMessage: '500' });
    await insertRun(t.db, newRun(d.id, { target: 'view/acme', phase: 'Skipped', skipReason: 'ResourceBusy', conflictingRunId: ok.id }));
    const [failures] = await t.db`select failures, last_failure_reason from shipslog.reconcile_recent_failures where target = 'view/acme'`;
    expect(failures).toEqual({ failures: '1', last_failure_reason: 'ApplyFailed' });
    const [rate] = await t.db`select completed, failed, skipped, success_percent from shipslog.reconcile_success_rate where target = 'view/acme'`;
    expect(rate).toEqual({ completed: '1', failed: '1', skipped: '1', success_percent: '50.00' });
    const locks = await t.db`select skip_reason from shipslog.reconcile_lock_effectiveness`;
    expect(locks.map((l) => l.skip_reason)).toContain('ResourceBusy');
    const auditor = await t.db.begin(async (tx) => {
      await tx`set local role shipslog_auditor`;
      return tx`select count(*)::int as n from shipslog.reconcile_runs`;
    });
    expect(auditor[0]!.n).toBeGreaterThan(0);
  });

  it('partitions runs by month and can add future months', async () => {
    const parts = await t.db`
      select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = 'shipslog.reconcile_runs'::regclass order by 1`;
    expect(parts.map((p) => p.relname)).toContain('reconcile_runs_default');
    expect(parts.filter((p) => /^reconcile_runs_y\d{4}m\d{2}$/.test(p.relname)).length).toBeGreaterThanOrEqual(4);
    // Replicas starting together race to create the same months: nobody fails.
    const created = await Promise.all([1, 2, 3].map(() => t.connect(1)`select shipslog.ensure_reconcile_run_partitions(6) as n`));
    expect(created.reduce((sum, [r]) => sum + Number(r!.n), 0)).toBe(3);
  });

  it('every deployment gets a queue row, and a desired-state change of a settled one notifies reconcilers', async () => {
    const listener = t.connect(1);
    const got: string[] = [];
    await listener.listen('shipslog_reconcile', (id) => got.push(id));
    const d = await insertDeployment(t.db, { name: 'runs-h' });
    const [q] = await t.db`select failures from shipslog.reconcile_queue where deployment_id = ${d.id}`;
    expect(q).toEqual({ failures: 0 });
    await t.db`update shipslog.deployments set health = 'Healthy' where id = ${d.id}`; // observed state: no wake-up
    // Settled by a reconciler (observed state: no wake-up); a new generation then is new work
    // (test/reconciler/wakeup-sql.test.ts has every case).
    await t.db`update shipslog.deployments set status = 'applied', observed_generation = generation where id = ${d.id}`;
    await t.db`update shipslog.deployments set app_version = '17' where id = ${d.id}`;
    await new Promise((r) => setTimeout(r, 200));
    expect(got.filter((id) => id === d.id)).toHaveLength(2);
  });
});
