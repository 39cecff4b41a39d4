import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { complianceReport } from '../../src/audit/report.ts';
import { setActorContext } from '../../src/db/actor.ts';
import type { Tx } from '../../src/db/client.ts';
import { beginRollout, finishRollout, releaseCheck, setRunContext } from '../../src/db/rollouts.ts';
import { finishRun, insertRun } from '../../src/db/runs.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { insertDeployment } from '../support/fixtures.ts';

// The approvals_complete and gates_passed checks of the compliance report
// (sql/audit/80_compliance_checks.sql). A production change goes through the SQL functions the
// reconciler calls (release_check, begin_rollout, the result's UPDATE of observed_generation,
// finish_rollout) and the ones the API calls (decide_approval, report_gate_result): both checks
// pass. Then each way the data can show a change applied without its approvals or gates is made
// in a transaction that rolls back, and the check fails naming it.

let t: TestDatabase;
let ledger: string;
const window = { from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' };

interface Check {
  check: string;
  status: 'pass' | 'fail' | 'not_applicable';
  summary: string;
  evidence: Record<string, any>;
}

class Rollback extends Error {
  readonly value: unknown;
  constructor(value: unknown) {
    super('rollback');
    this.value = value;
  }
}

/** Runs fn in a transaction that is always rolled back; returns what fn returned. */
async function rolledBack<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
  try {
    await t.db.begin(async (tx) => {
      throw new Rollback(await fn(tx));
    });
  } catch (err) {
    if (err instanceof Rollback) return err.value as T;
    throw err;
  }
  throw new Error('unreachable');
}

async function checks(tx: Tx | TestDatabase['db'], scope: { tenant?: string; from?: string; to?: string } = {}): Promise<{ approvals: Check; gates: Check }> {
  const from = scope.from ?? window.from;
  const to = scope.to ?? window.to;
  const tenant = scope.tenant ?? 'bank';
  const [approvals] = await tx<Check[]>`select * from shipslog.compliance_check_approvals(${from}, ${to}, ${tenant}, null, null)`;
  const [gates] = await tx<Check[]>`select * from shipslog.compliance_check_gates(${from}, ${to}, ${tenant}, null, null)`;
  return { approvals: approvals!, gates: gates! };
}

const as = (tx: Tx, actor: string, actorType: 'user' | 'service' = 'user') => setActorContext(tx, { actor, actorType });

async function generationOf(tx: Tx, id: string): Promise<number> {
  const [row] = await tx<{ generation: number }[]>`select generation::int as generation from shipslog.deployments where id = ${id}`;
  return row!.generation;
}

/** What the reconciler does with a deployment: ask release_check, and if free, apply it. */
async function reconcile(tx: Tx, id: string, opts: { skipReleaseCheck?: boolean } = {}): Promise<string | null> {
  const runId = randomUUID();
  await setRunContext(tx, { actor: 'reconciler-1', deploymentId: id, runId });
  const generation = await generationOf(tx, id);
  if (!opts.skipReleaseCheck) {
    const why = await releaseCheck(tx, id, generation);
    if (why) return why;
  }
  await beginRollout(tx, id, generation, runId);
  await tx`update shipslog.deployments set observed_generation = generation, status = 'applied' where id = ${id}`;
  await finishRollout(tx, id, generation, runId, { completed: true, outcome: 'Applied', failureReason: null, terminal: false });
  return null;
}

async function pendingRequest(tx: Tx, id: string): Promise<string> {
  const [r] = await tx<{ id: string }[]>`select id from shipslog.approval_requests where deployment_id = ${id} and state = 'pending'`;
  return r!.id;
}

async function grant(tx: Tx, requestId: string, approver: string) {
  await as(tx, approver);
  await tx`select shipslog.decide_approval(${requestId}, 'granted', 'reviewed')`;
}

async function gate(tx: Tx, id: string, result: 'passed' | 'failed', name = 'trivy') {
  await as(tx, 'trivy-ci', 'service');
  await tx`select shipslog.report_gate_result(${id}, ${await generationOf(tx, id)}, ${name}, ${result}, 'https://ci.example/scan/1', '{}')`;
}

/** A new generation of the ledger, made by alice. */
async function change(tx: Tx, id: string, storage: string) {
  await as(tx, 'alice');
  await tx`update shipslog.deployments set config = config || ${tx.json({ storage })} where id = ${id}`;
}

beforeAll(async () => {
  t = await createTestDatabase();
  await t.db.begin(async (tx) => {
    await as(tx, 'root');
    await tx`select shipslog.set_approval_policy('bank', 'production', 2, null, array['trivy'])`;
  });
  // ledger, generation 1 in production: held for approval, then for its gate, then applied.
  await t.db.begin(async (tx) => {
    await as(tx, 'alice');
    ledger = (await insertDeployment(tx, { tenant: 'bank', name: 'ledger' })).id;
  });
  expect(await t.db.begin((tx) => reconcile(tx, ledger))).toBe('AwaitingApproval');
  const request = await t.db.begin((tx) => pendingRequest(tx, ledger));
  await t.db.begin((tx) => grant(tx, request, 'bob'));
  await t.db.begin((tx) => grant(tx, request, 'carol'));
  expect(await t.db.begin((tx) => reconcile(tx, ledger))).toBe('AwaitingGates');
  await t.db.begin((tx) => gate(tx, ledger, 'passed'));
  expect(await t.db.begin((tx) => reconcile(tx, ledger))).toBeNull();
  // cache: created in production, moved to staging (generation 2) before its first apply.
  // Staging needed nothing when it was applied; a policy set on staging afterwards changes
  // nothing about it.
  await t.db.begin(async (tx) => {
    await as(tx, 'alice');
    const cache = (await insertDeployment(tx, { tenant: 'bank', name: 'cache' })).id;
    await tx`update shipslog.deployments set environment = 'staging' where id = ${cache}`;
    expect(await reconcile(tx, cache)).toBeNull();
  });
  await t.db.begin(async (tx) => {
    await as(tx, 'root');
    await tx`select shipslog.set_approval_policy('bank', 'staging', 1, null, array['trivy', 'zap'])`;
  });
  await t.db.begin(async (tx) => {
    await as(tx, 'someone');
    await insertDeployment(tx, { tenant: 'other', name: 'blog' });
  });
});

afterAll(async () => {
  await t?.drop();
});

describe('approvals_complete and gates_passed on changes made through the reconciler', () => {
  it('pass, listing each production change with its approvers and gates', async () => {
    const { approvals, gates } = await checks(t.db);
    expect(approvals.status).toBe('pass');
    expect(approvals.summary).toMatch(/^1 production change\(s\) applied in the window, each with the distinct approvals .* \(1 other applied change\(s\) needed none\)/);
    expect(approvals.evidence).toMatchObject({ applied_changes: 2, production_changes: 1, violations: [] });
    expect(approvals.evidence.changes).toEqual([expect.objectContaining({
      name: 'ledger', environment: 'production', generation: 1, author: 'alice', applied_by: 'reconciler-1',
      applied_evidence: ['deployment_completed', 'deployment_started', 'observed_generation'],
      required_approvals: 2, approvals: 2, requests: 1,
    })]);
    expect(approvals.evidence.changes[0].approvers.map((a: { approver: string; counted: boolean }) => [a.approver, a.counted])).toEqual([['bob', true], ['carol', true]]);
    expect(gates.status).toBe('pass');
    expect(gates.evidence).toMatchObject({ gated_changes: 1, failures: [] });
    expect(gates.evidence.changes[0]).toMatchObject({ name: 'ledger', generation: 1, required_gates: ['trivy'] });
    expect(gates.evidence.changes[0].gates).toEqual([expect.objectContaining({ gate: 'trivy', result: 'passed', reported_by: 'trivy-ci', passed: true })]);
  });

  it('are in the report; a policy raised after the change does not make it a violation', async () => {
    const r = await rolledBack(async (tx) => {
      await as(tx, 'root');
      await tx`select shipslog.set_approval_policy('bank', 'production', 3, null, array['trivy', 'sonar'])`;
      return complianceReport(tx, { from: new Date(window.from), to: new Date(window.to), tenant: 'bank' }, undefined);
    });
    expect(r.checks.filter((c) => ['approvals_complete', 'gates_passed'].includes(c.check)).map((c) => c.status)).toEqual(['pass', 'pass']);
  });

  it('read what a tenant\'s API transaction and an auditor\'s login may read', async () => {
    const asTenant = await rolledBack(async (tx) => {
      await tx`set local role shipslog_app`;
      await tx`select set_config('shipslog.tenant', 'bank', true)`;
      return checks(tx);
    });
    expect([asTenant.approvals.status, asTenant.gates.status]).toEqual(['pass', 'pass']);
    expect(asTenant.approvals.evidence).toMatchObject({ applied_changes: 2, production_changes: 1 });
    const otherTenant = await rolledBack(async (tx) => {
      await tx`set local role shipslog_app`;
      await tx`select set_config('shipslog.tenant', 'other', true)`;
      return checks(tx, { tenant: 'bank' });
    });
    // Row-level security: another tenant's key sees none of bank's changes or policies.
    expect(otherTenant.approvals).toMatchObject({ status: 'not_applicable', evidence: expect.objectContaining({ applied_changes: 0 }) });
    const asAuditor = await rolledBack(async (tx) => {
      await tx`set local role shipslog_auditor`;
      return checks(tx);
    });
    expect(asAuditor.approvals.evidence).toMatchObject({ applied_changes: 2, production_changes: 1 });
  });

  it('are not applicable where no policy ever required approvals or gates', async () => {
    const { approvals, gates } = await checks(t.db, { tenant: 'other' });
    expect(approvals).toMatchObject({ status: 'not_applicable', summary: expect.stringMatching(/no approval policy in scope requires approvals/) });
    expect(gates).toMatchObject({ status: 'not_applicable', summary: expect.stringMatching(/no approval policy in scope requires gates/) });
  });
});

describe('approvals_complete fails when a production change lacked its approvals', () => {
  it('observed_generation forced by the owner: no request at all, and no gate either', async () => {
    const { now, before, removed } = await rolledBack(async (tx) => {
      await change(tx, ledger, '32Gi');
      const cut = (await tx<{ at: string }[]>`select clock_timestamp()::text as at`)[0]!.at;
      // The owner in psql, no actor context: the hold is bypassed, the trail still records it.
      await tx`select set_config('shipslog.actor', '', true), set_config('shipslog.actor_type', '', true)`;
      await tx`update shipslog.deployments set observed_generation = generation where id = ${ledger}`;
      const now = await checks(tx);
      const before = await checks(tx, { to: cut });
      // Removing the policy afterwards does not excuse the change.
      await as(tx, 'root');
      await tx`select shipslog.remove_approval_policy('bank', 'production')`;
      return { now, before, removed: await checks(tx) };
    });
    expect(now.approvals.status).toBe('fail');
    expect(now.approvals.summary).toMatch(/^1 of 2 production change\(s\) applied without the approvals their policy required; first: bank\/ledger generation 2 in production: 0 of 2 approval\(s\)/);
    expect(now.approvals.evidence.violations).toEqual([expect.objectContaining({
      name: 'ledger', generation: 2, applied_evidence: ['observed_generation'], problem: 'no approval request for this generation', approvals: 0, required_approvals: 2,
    })]);
    expect(now.gates.status).toBe('fail');
    expect(now.gates.evidence.failures).toEqual([expect.objectContaining({ name: 'ledger', generation: 2, gate: 'trivy', problem: 'no result reported' })]);
    // A window that ends before the apply does not hold it.
    expect([before.approvals.status, before.gates.status]).toEqual(['pass', 'pass']);
    expect([removed.approvals.status, removed.gates.status]).toEqual(['fail', 'fail']);
  });

  it('an older reconciler applied past the hold with one grant of two (and one decision with no event)', async () => {
    const c = await rolledBack(async (tx) => {
      await change(tx, ledger, '32Gi');
      expect(await reconcile(tx, ledger)).toBe('AwaitingApproval');
      const request = await pendingRequest(tx, ledger);
      await grant(tx, request, 'bob');
      // A decision row written around decide_approval(): no approval_granted event backs it.
      await tx`insert into shipslog.approval_decisions (request_id, tenant, approver, decision, event_seq)
               select ${request}, 'bank', 'dave', 'granted', requested_seq from shipslog.approval_requests where id = ${request}`;
      await gate(tx, ledger, 'passed');
      expect(await reconcile(tx, ledger, { skipReleaseCheck: true })).toBeNull();
      return checks(tx);
    });
    expect(c.approvals.status).toBe('fail');
    const [v] = c.approvals.evidence.violations;
    expect(v).toMatchObject({ generation: 2, approvals: 1, required_approvals: 2, problem: '1 of 2 counted approval(s) before the apply began' });
    expect(v.applied_evidence).toEqual(['deployment_completed', 'deployment_started', 'observed_generation']);
    expect(v.approvers.map((a: { approver: string; not_counted_because: string | null }) => [a.approver, a.not_counted_because])).toEqual([
      ['bob', null], ['dave', 'no approval_granted event on the chain'],
    ]);
    // The gate was passed: that check has nothing to say.
    expect(c.gates.status).toBe('pass');
  });

  it('a grant by the change\'s own author, forged with its event and the request\'s record, is listed and not counted', async () => {
    const c = await rolledBack(async (tx) => {
      await change(tx, ledger, '32Gi');
      expect(await reconcile(tx, ledger)).toBe('AwaitingApproval');
      const request = await pendingRequest(tx, ledger);
      await grant(tx, request, 'bob');
      // The owner writes alice's grant as decide_approval() would have, event included.
      await as(tx, 'alice');
      const [ev] = await tx<{ seq: string }[]>`
        select (shipslog.append_event(${ledger}, 'approval_granted', jsonb_build_object(
          'approval_id', ${request}::uuid, 'generation', 2, 'approver', 'alice', 'approvals', 2, 'required_approvals', 2,
          'parent_seq', (select requested_seq from shipslog.approval_requests where id = ${request})))).seq`;
      await tx`insert into shipslog.approval_decisions (request_id, tenant, approver, decision, event_seq)
               values (${request}, 'bank', 'alice', 'granted', ${ev!.seq})`;
      // And blanks the author the request recorded: the chain still names alice as the author.
      await tx`update shipslog.approval_requests set change_actor = null where id = ${request}`;
      await gate(tx, ledger, 'passed');
      expect(await reconcile(tx, ledger, { skipReleaseCheck: true })).toBeNull();
      return checks(tx);
    });
    expect(c.approvals.status).toBe('fail');
    expect(c.approvals.evidence.violations[0].approvers.map((a: { approver: string; not_counted_because: string | null }) => [a.approver, a.not_counted_because]))
      .toEqual([['bob', null], ['alice', 'by the requester or the change\'s author']]);
  });

  it('a grant the data shows made after its request expired is not counted', async () => {
    const c = await rolledBack(async (tx) => {
      await change(tx, ledger, '32Gi');
      expect(await reconcile(tx, ledger)).toBe('AwaitingApproval');
      const request = await pendingRequest(tx, ledger);
      await grant(tx, request, 'bob');
      await grant(tx, request, 'carol');
      // The request's expiry, as the data now shows it, fell between the two grants.
      await tx`update shipslog.approval_requests set expires_at = (
                 select decided_at from shipslog.approval_decisions where request_id = ${request} and approver = 'carol')
               where id = ${request}`;
      await gate(tx, ledger, 'passed');
      expect(await reconcile(tx, ledger)).toBeNull();
      return checks(tx);
    });
    expect(c.approvals.status).toBe('fail');
    expect(c.approvals.evidence.violations[0].approvers.map((a: { approver: string; not_counted_because: string | null }) => [a.approver, a.not_counted_because]))
      .toEqual([['bob', null], ['carol', 'made after the request expired']]);
  });

  it('a Completed run alone (a reconciler that wrote no rollout events and left observed_generation) is an apply too', async () => {
    const c = await rolledBack(async (tx) => {
      await change(tx, ledger, '32Gi');
      const runId = randomUUID();
      await setRunContext(tx, { actor: 'reconciler-0', deploymentId: ledger, runId });
      await insertRun(tx, {
        id: runId, deploymentId: ledger, tenant: 'bank', name: 'ledger', generation: await generationOf(tx, ledger),
        configHash: `sha256:${'0'.repeat(64)}`, target: 'test-cluster', phase: 'Running', workerId: 'reconciler-0', correlationId: null,
      });
      await finishRun(tx, runId, { phase: 'Completed', outcome: 'Applied' });
      return checks(tx);
    });
    expect(c.approvals.evidence.violations).toEqual([expect.objectContaining({
      generation: 2, applied_by: 'reconciler-0', applied_evidence: ['run_completed', 'run_started'], problem: 'no approval request for this generation',
    })]);
    expect(c.gates.status).toBe('fail');
  });

  it('approvals recorded after the apply began', async () => {
    const c = await rolledBack(async (tx) => {
      await change(tx, ledger, '32Gi');
      expect(await reconcile(tx, ledger)).toBe('AwaitingApproval');
      await gate(tx, ledger, 'passed');
      expect(await reconcile(tx, ledger, { skipReleaseCheck: true })).toBeNull();
      const request = await pendingRequest(tx, ledger);
      await grant(tx, request, 'bob');
      await grant(tx, request, 'carol');
      return checks(tx);
    });
    expect(c.approvals.status).toBe('fail');
    expect(c.approvals.evidence.violations[0].approvers.map((a: { approver: string; counted: boolean; not_counted_because: string }) => [a.approver, a.counted, a.not_counted_because]))
      .toEqual([['bob', false, 'recorded after the apply began'], ['carol', false, 'recorded after the apply began']]);
  });
});

describe('gates_passed fails when a gated change lacked a passed gate', () => {
  it('the required gate failed, and the change was applied past the hold', async () => {
    const c = await rolledBack(async (tx) => {
      await change(tx, ledger, '32Gi');
      expect(await reconcile(tx, ledger)).toBe('AwaitingApproval');
      const request = await pendingRequest(tx, ledger);
      await grant(tx, request, 'bob');
      await grant(tx, request, 'carol');
      await gate(tx, ledger, 'failed');
      expect(await reconcile(tx, ledger)).toBe('AwaitingGates');
      expect(await reconcile(tx, ledger, { skipReleaseCheck: true })).toBeNull();
      return checks(tx);
    });
    expect(c.approvals.status).toBe('pass');
    expect(c.gates.status).toBe('fail');
    expect(c.gates.summary).toMatch(/^1 of 2 gated change\(s\) applied without every required gate passed .* first: bank\/ledger generation 2 gate trivy: newest result before the apply: failed/);
    expect(c.gates.evidence.changes[0].gates).toEqual([expect.objectContaining({ gate: 'trivy', result: 'failed', passed: false })]);
  });

  it('the gate passed only after the apply began', async () => {
    const c = await rolledBack(async (tx) => {
      await change(tx, ledger, '32Gi');
      expect(await reconcile(tx, ledger)).toBe('AwaitingApproval');
      const request = await pendingRequest(tx, ledger);
      await grant(tx, request, 'bob');
      await grant(tx, request, 'carol');
      expect(await reconcile(tx, ledger, { skipReleaseCheck: true })).toBeNull();
      await gate(tx, ledger, 'passed');
      return checks(tx);
    });
    expect(c.gates.status).toBe('fail');
    expect(c.gates.evidence.failures).toEqual([expect.objectContaining({ gate: 'trivy', problem: expect.stringMatching(/^reported only after the apply began: passed at /) })]);
  });
});
