import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyChains } from '../../src/audit/verify.ts';
import type { Queryable } from '../../src/db/client.ts';
import { recordedEventTypes } from '../../src/db/events.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { insertDeployment } from '../support/fixtures.ts';

// Events that are not row changes (sql/audit/45_record_event.sql): each type can be recorded,
// is refused when a required field is missing (SL401 naming it), goes on the deployment's own
// hash chain (verify covers it, a tampered one is caught) and nothing else can insert events.
let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

/** A valid details object for each type: every required field, well-formed. */
const validDetails: Record<string, Record<string, unknown>> = {
  deployment_started: { generation: 2, run_id: 'run-1' },
  deployment_completed: { generation: 2, run_id: 'run-1', outcome: 'Applied' },
  deployment_failed: { generation: 2, run_id: 'run-1', failure_reason: 'ApplyFailed' },
  deployment_cancelled: { generation: 2, superseded_by_generation: 3 },
  approval_requested: { approval_id: 'a1', generation: 2, required_approvals: 2, expires_at: '2030-01-01T00:00:00Z' },
  approval_granted: { approval_id: 'a1', generation: 2, approver: 'bob', approvals: 1, required_approvals: 2 },
  approval_denied: { approval_id: 'a1', generation: 2, approver: 'bob' },
  approval_expired: { approval_id: 'a1', generation: 2, expires_at: '2030-01-01T00:00:00Z' },
  approval_cancelled: { approval_id: 'a1', generation: 2, cancelled_because: 'superseded by generation 3' },
  gate_started: { gate: 'trivy', generation: 2 },
  gate_passed: { gate: 'trivy', generation: 2, evidence_url: 'https://ci.example/scan/1' },
  gate_failed: { gate: 'trivy', generation: 2, evidence_url: 'https://ci.example/scan/1' },
  gate_warned: { gate: 'trivy', generation: 2, evidence_url: 'https://ci.example/scan/1' },
  gate_skipped: { gate: 'trivy', generation: 2, skipped_because: 'no image change' },
  rollback_started: { generation: 3, target_seq: 1, target_chain_index: 1 },
  rollback_completed: { generation: 3, run_id: 'run-2' },
  rollback_failed: { generation: 3, failure_reason: 'ApplyFailed' },
  access_denied: { method: 'POST', path: '/v1/deployments/x/restart', denied_because: 'needs the deploy scope' },
  security_violation: { finding: 'event #3 does not match its hash' },
};

async function append(db: Queryable, id: string, action: string, details: unknown) {
  const [row] = await db<{ seq: string; chain_index: number }[]>`
    select (e).seq, (e).chain_index from (select shipslog.append_event(${id}, ${action}, ${db.json(details as never)}) as e) as x`;
  return row!;
}

async function sqlError(p: Promise<unknown>): Promise<{ code: string; message: string; column?: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as { code: string; message: string; column_name?: string };
    return { code: e.code, message: e.message, ...(e.column_name ? { column: e.column_name } : {}) };
  }
  throw new Error('expected the statement to fail');
}

describe('recording events that are not row changes', () => {
  it('records every type on the deployment chain, with category, severity and a summary', async () => {
    expect(Object.keys(validDetails).sort()).toEqual([...recordedEventTypes].sort());
    const d = await insertDeployment(t.db, { tenant: 'rec', name: 'all-types' });
    for (const [action, details] of Object.entries(validDetails)) {
      const row = await append(t.db, d.id, action, details);
      expect(row.chain_index, action).toBeGreaterThan(1);
    }
    const events = await t.db<{ action: string; category: string; severity: string; summary: string; details: Record<string, unknown> }[]>`
      select r.action, r.category, r.severity, r.summary, r.details
      from shipslog.readable_events(array(
        select e from shipslog.deployment_events as e where e.deployment_id = ${d.id} order by e.chain_index)) as r`;
    expect(events.map((e) => e.action)).toEqual(['created', ...Object.keys(validDetails)]);
    for (const e of events.slice(1)) {
      expect(e.details, e.action).toEqual(validDetails[e.action]);
      expect(e.summary, e.action).not.toBe(e.action);
      expect(e.summary, e.action).not.toMatch(/null/);
    }
    const by = Object.fromEntries(events.map((e) => [e.action, e]));
    expect(by.gate_failed).toMatchObject({ category: 'compliance_gate', severity: 'error', summary: 'gate trivy failed for generation 2' });
    expect(by.approval_granted).toMatchObject({ category: 'approval_workflow', severity: 'info', summary: 'approval granted by bob for generation 2 (1 of 2)' });
    expect(by.rollback_failed).toMatchObject({ category: 'rollback', severity: 'critical' });
    expect(by.security_violation).toMatchObject({ category: 'security', severity: 'critical' });
    expect(by.deployment_failed).toMatchObject({ category: 'deployment_lifecycle', severity: 'error', summary: 'rollout of generation 2 failed: ApplyFailed' });
    // The chain still verifies, and its head on the row is the last recorded event.
    expect(await verifyChains(t.db, d.id)).toEqual([]);
    const [row] = await t.db<{ chain_length: number }[]>`select chain_length from shipslog.deployments where id = ${d.id}`;
    expect(row!.chain_length).toBe(events.length);
  });

  it('refuses each type when any required field is missing, naming it (SL401)', async () => {
    const d = await insertDeployment(t.db, { tenant: 'rec', name: 'missing' });
    for (const [action, details] of Object.entries(validDetails)) {
      const required = (await t.db<{ f: string[] }[]>`select shipslog.event_required_fields(${action}) as f`)[0]!.f;
      expect(required.length, action).toBeGreaterThan(0);
      for (const field of required) {
        const { [field]: _, ...without } = details;
        const err = await sqlError(append(t.db, d.id, action, without));
        expect(err.code, `${action} without ${field}`).toBe('SL401');
        expect(err.message).toBe(`${action} event is missing required field details.${field}`);
        expect(err.column).toBe(field);
        // null and "" count as missing too
        expect((await sqlError(append(t.db, d.id, action, { ...details, [field]: null }))).code).toBe('SL401');
      }
    }
    // Nothing of it was written.
    const [n] = await t.db<{ n: number }[]>`select count(*)::int as n from shipslog.deployment_events where deployment_id = ${d.id}`;
    expect(n!.n).toBe(1);
  });

  it('refuses row-change and unknown types (SL400), bad fields (SL403) and unknown deployments (SL402)', async () => {
    const d = await insertDeployment(t.db, { tenant: 'rec', name: 'refusals' });
    expect((await sqlError(append(t.db, d.id, 'config_changed', {}))).code).toBe('SL400');
    expect((await sqlError(append(t.db, d.id, 'made_up', {}))).code).toBe('SL400');
    const badUrl = await sqlError(append(t.db, d.id, 'gate_passed', { ...validDetails.gate_passed, evidence_url: 'javascript:alert(1)' }));
    expect(badUrl).toMatchObject({ code: 'SL403', column: 'evidence_url' });
    const badGeneration = await sqlError(append(t.db, d.id, 'gate_started', { gate: 'x', generation: 'two' }));
    expect(badGeneration).toMatchObject({ code: 'SL403', column: 'generation' });
    const noParent = await sqlError(append(t.db, d.id, 'gate_started', { gate: 'x', generation: 1, parent_seq: 999999 }));
    expect(noParent.code).toBe('SL403');
    expect((await sqlError(append(t.db, d.id, 'gate_started', [1, 2]))).code).toBe('SL403');
    expect((await sqlError(append(t.db, '00000000-0000-4000-8000-000000000000', 'gate_started', { gate: 'x', generation: 1 }))).code).toBe('SL402');
  });

  it('links a parent event and related events of the same tenant only', async () => {
    const d = await insertDeployment(t.db, { tenant: 'rec', name: 'links' });
    const other = await insertDeployment(t.db, { tenant: 'rec-other', name: 'links' });
    const parent = await append(t.db, d.id, 'approval_requested', validDetails.approval_requested);
    const child = await append(t.db, d.id, 'approval_granted', { ...validDetails.approval_granted, parent_seq: Number(parent.seq), related_seqs: [Number(parent.seq)] });
    expect(child.chain_index).toBe(parent.chain_index + 1);
    // As the API would, with the tenant set: another tenant's event is not there to link.
    const [otherEvent] = await t.db<{ seq: string }[]>`select seq from shipslog.deployment_events where deployment_id = ${other.id}`;
    const err = await sqlError(t.db.begin(async (tx) => {
      await tx`select set_config('shipslog.tenant', 'rec', true)`;
      await append(tx, d.id, 'gate_started', { gate: 'x', generation: 1, related_seqs: [Number(otherEvent!.seq)] });
    }));
    expect(err.code).toBe('SL403');
  });

  it('takes the actor context like the audit trigger', async () => {
    const d = await insertDeployment(t.db, { tenant: 'rec', name: 'context' });
    await t.db.begin(async (tx) => {
      await tx`select set_config('shipslog.actor', 'ci/pipeline-7', true), set_config('shipslog.actor_type', 'service', true),
                      set_config('shipslog.correlation_id', 'corr-42', true), set_config('shipslog.reason', 'nightly scan', true)`;
      await append(tx, d.id, 'gate_started', { gate: 'trivy', generation: 1 });
    });
    const [e] = await t.db`select actor, actor_type, correlation_id, reason from shipslog.deployment_events where deployment_id = ${d.id} and action = 'gate_started'`;
    expect(e).toEqual({ actor: 'ci/pipeline-7', actor_type: 'service', correlation_id: 'corr-42', reason: 'nightly scan' });
    const bad = await sqlError(t.db.begin(async (tx) => {
      await tx`select set_config('shipslog.actor_type', 'robot', true)`;
      await append(tx, d.id, 'gate_started', { gate: 'trivy', generation: 1 });
    }));
    expect(bad.code).toBe('22023');
  });
});

describe('only the recording functions and the audit trigger write events', () => {
  it('refuses a copied event inserted directly, even by the owner (SL002)', async () => {
    const d = await insertDeployment(t.db, { tenant: 'guard', name: 'copy' });
    await append(t.db, d.id, 'gate_started', { gate: 'trivy', generation: 1 });
    const err = await sqlError(t.db`
      insert into shipslog.deployment_events overriding system value
      select * from shipslog.deployment_events where deployment_id = ${d.id} and action = 'gate_started'`);
    expect(err.code).toBe('SL002');
    // A DO block whose statement names the function in a comment is still no call of it.
    const spoof = await sqlError(t.db.unsafe(`
      do $$
      declare ev shipslog.deployment_events;
      begin
        select * into ev from shipslog.deployment_events where deployment_id = '${d.id}' and action = 'gate_started';
        ev.seq := nextval('shipslog.deployment_events_seq');
        insert into shipslog.deployment_events overriding system value select (ev).* -- PL/pgSQL function shipslog.append_event(uuid,text,jsonb) line 1 at SQL statement
        ;
      end $$`));
    expect(spoof.code).toBe('SL002');
  });

  it('grants append_event to no runtime role; the reconciler records only rollout events, the API only access_denied', async () => {
    const d = await insertDeployment(t.db, { tenant: 'guard', name: 'roles' });
    const as = (role: string, tenant: string, q: (tx: Queryable) => Promise<unknown>) =>
      t.db.begin(async (tx) => {
        await tx`select set_config('role', ${role}, true), set_config('shipslog.tenant', ${tenant}, true)`;
        await q(tx);
      });
    for (const role of ['shipslog_app', 'shipslog_reconciler', 'shipslog_auditor']) {
      expect((await sqlError(as(role, 'guard', (tx) => append(tx, d.id, 'gate_started', { gate: 'x', generation: 1 })))).code, role).toBe('42501');
    }
    await as('shipslog_reconciler', '', (tx) => tx`select shipslog.record_rollout_event(${d.id}, 'deployment_started', ${tx.json({ generation: 1, run_id: 'r' })})`);
    const notRollout = await sqlError(as('shipslog_reconciler', '', (tx) => tx`select shipslog.record_rollout_event(${d.id}, 'approval_granted', ${tx.json(validDetails.approval_granted as never)})`));
    expect(notRollout.code).toBe('SL400');
    expect((await sqlError(as('shipslog_app', 'guard', (tx) => tx`select shipslog.record_rollout_event(${d.id}, 'deployment_started', ${tx.json({ generation: 1, run_id: 'r' })})`))).code).toBe('42501');
    await as('shipslog_app', 'guard', (tx) => tx`select shipslog.record_access_denied(${d.id}, ${tx.json(validDetails.access_denied as never)})`);
    // Another tenant's deployment is not found for a tenant-bound caller.
    expect((await sqlError(as('shipslog_app', 'someone-else', (tx) => tx`select shipslog.record_access_denied(${d.id}, ${tx.json(validDetails.access_denied as never)})`))).code).toBe('SL402');
    const actions = await t.db<{ action: string }[]>`select action from shipslog.deployment_events where deployment_id = ${d.id} order by chain_index`;
    expect(actions.map((a) => a.action)).toEqual(['created', 'deployment_started', 'access_denied']);
    expect(await verifyChains(t.db, d.id)).toEqual([]);
  });
});

describe('verify covers the new events', () => {
  it('catches a tampered recorded event, and a forged one the head never took', async () => {
    const d = await insertDeployment(t.db, { tenant: 'verify', name: 'tampered' });
    await append(t.db, d.id, 'approval_requested', validDetails.approval_requested);
    await t.db`update shipslog.deployments set config = config || '{"storage": "9Gi"}' where id = ${d.id}`;
    await append(t.db, d.id, 'approval_granted', validDetails.approval_granted);
    expect(await verifyChains(t.db, d.id)).toEqual([]);
    await t.db.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`update shipslog.deployment_events set new_state = jsonb_set(new_state, '{details,approver}', '"mallory"')
               where deployment_id = ${d.id} and action = 'approval_granted'`;
    });
    const [finding] = await verifyChains(t.db, d.id);
    expect(finding).toMatchObject({ chainIndex: 4 });
    expect(finding!.problem).toMatch(/event #4 \(approval_granted\) does not match its hash/);

    // A forged event appended with triggers bypassed stays beyond the head, even after a later
    // no-op write (the head only moves to events of the writing transaction).
    const e = await insertDeployment(t.db, { tenant: 'verify', name: 'forged' });
    await t.db.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`insert into shipslog.deployment_events overriding system value
               select nextval('shipslog.deployment_events_seq'), deployment_id, 2, tenant, name, 'approval_granted', occurred_at, txid,
                      actor, actor_type, reason, correlation_id, request_id, source_ip, user_agent, db_role, db_user, application_name,
                      client_addr, null, '{"details": {}}', hash
               from shipslog.deployment_events where deployment_id = ${e.id}`;
    });
    await t.db`update shipslog.deployments set config = config where id = ${e.id}`;
    const [forged] = await verifyChains(t.db, e.id);
    expect(forged!.problem).toMatch(/does not match its hash|chain head is #1 but the chain ends at #2/);
  });
});
