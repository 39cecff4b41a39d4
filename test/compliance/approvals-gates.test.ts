import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyChains } from '../../src/audit/verify.ts';
import { createKube, createReconciler, type Reconciler } from '../../src/reconciler/index.ts';
import { createTestApi, type TestApi } from '../api/harness.ts';
import { startKubeApiTestServer, type KubeApiTestServer } from '../support/kube-api-server.ts';
import { converged, quietLog, rolloutEventsOf, runsOf, stateOf, waitFor } from '../reconciler/helpers.ts';

// Approvals and gates (sql/compliance/30_approvals.sql, 40_gates.sql, 50_release_check.sql)
// through the API, the reconciler and the Kubernetes API test server: a production change
// under a 2-approval policy is applied only after two distinct approvers grant it.
let api: TestApi;
let server: KubeApiTestServer;
let r: Reconciler;
const keys: Record<string, string> = {};
beforeAll(async () => {
  [api, server] = await Promise.all([createTestApi(), startKubeApiTestServer()]);
  keys.admin = await api.key('bank', ['read', 'admin'], 'root');
  keys.alice = await api.key('bank', ['read', 'deploy', 'approve'], 'alice');
  keys.bob = await api.key('bank', ['read', 'approve'], 'bob');
  keys.carol = await api.key('bank', ['read', 'approve'], 'carol');
  keys.scanner = await api.key('bank', ['read', 'gates'], 'trivy-ci');
  keys.other = await api.key('other-bank', ['read', 'approve', 'admin'], 'mallory');
  r = createReconciler({
    db: api.t.connect(5, 'shipslog reconciler test'),
    kube: createKube(server.kubeConfig()),
    log: quietLog,
    config: { pollIntervalMs: 150, healthIntervalMs: 100_000, backoffBaseMs: 100, backoffMaxMs: 400 },
  });
  await r.start();
});
afterAll(async () => {
  await r?.stop();
  await server?.stop();
  await api?.drop();
});

const create = (name: string, environment: string) =>
  api.call(keys.alice!, 'POST', '/v1/deployments', { name, environment, recipe: 'redis', app_version: '7.2', config: {} });
const appliedTo = (name: string) => server.applies().filter((a) => a.name === name && a.query.dryRun !== 'All').length;
const pendingOf = async (id: string) =>
  ((await (await api.call(keys.alice!, 'GET', `/v1/approvals?deployment_id=${id}`)).json()).items as { id: string; generation: number; state: string }[]);

describe('approvals', () => {
  it('applies a production change only after two distinct approvers grant it, every step on the chain', async () => {
    const policy = await api.call(keys.admin!, 'PUT', '/v1/approval-policies/production', { required_approvals: 2 });
    expect(policy.status).toBe(200);
    expect(await policy.json()).toMatchObject({ tenant: 'bank', environment: 'production', required_approvals: 2, expires_after_seconds: 86400, updated_by: 'root' });

    const d = await (await create('ledger', 'production')).json();
    const [request] = await waitFor('the approval request', async () => (await pendingOf(d.id)).length === 1 && pendingOf(d.id));
    expect(request).toMatchObject({ generation: 1, state: 'pending', required_approvals: 2, approvals: 0, change_actor: 'alice' });
    const held = await waitFor('an AwaitingApproval run', async () => (await runsOf(api.t.db, d.id)).find((x) => x.skip_reason === 'AwaitingApproval'));
    expect(held.phase).toBe('Skipped');

    // The author of the change cannot approve it; another tenant cannot see it.
    const self = await api.call(keys.alice!, 'POST', `/v1/approvals/${request!.id}/grant`, {});
    expect(self.status).toBe(403);
    expect((await self.json()).detail).toMatch(/alice made this change and cannot approve it/);
    expect((await api.call(keys.other!, 'POST', `/v1/approvals/${request!.id}/grant`, {})).status).toBe(404);

    const first = await api.call(keys.bob!, 'POST', `/v1/approvals/${request!.id}/grant`, { reason: 'reviewed the diff' });
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ state: 'pending', approvals: 1, approvers: ['bob'] });
    const again = await api.call(keys.bob!, 'POST', `/v1/approvals/${request!.id}/grant`, {});
    expect(again.status).toBe(409);
    expect((await again.json()).detail).toMatch(/bob has already decided/);
    // One approval is not enough: still held, nothing applied.
    await new Promise((res) => setTimeout(res, 600));
    expect(appliedTo('ledger')).toBe(0);
    expect((await stateOf(api.t.db, d.id))!.observed_generation).toBe(0);

    const second = await api.call(keys.carol!, 'POST', `/v1/approvals/${request!.id}/grant`, {});
    expect(await second.json()).toMatchObject({ state: 'approved', approvals: 2, approvers: ['bob', 'carol'] });
    await converged(api.t.db, d.id);
    expect(appliedTo('ledger')).toBeGreaterThan(0);
    await waitFor('deployment_completed', async () => (await rolloutEventsOf(api.t.db, d.id)).find((e) => e.action === 'deployment_completed'));

    const events = await rolloutEventsOf(api.t.db, d.id);
    expect(events.map((e) => e.action)).toEqual(['approval_requested', 'approval_granted', 'approval_granted', 'deployment_started', 'deployment_completed']);
    expect(events.slice(1, 3).map((e) => [e.actor, e.details.approver, e.details.approvals])).toEqual([['bob', 'bob', 1], ['carol', 'carol', 2]]);
    expect(events[1]!.details.parent_seq).toBeDefined();
    const history = (await (await api.call(keys.alice!, 'GET', `/v1/deployments/${d.id}/history?category=approval_workflow`)).json()).items;
    expect(history.map((e: { summary: string }) => e.summary)).toEqual([
      'approval granted by carol for generation 1 (2 of 2)', 'approval granted by bob for generation 1 (1 of 2)', 'approval requested for generation 1 (2 needed)',
    ]);
    expect(await verifyChains(api.t.db, d.id)).toEqual([]);
  });

  it('a newer generation cancels the pending request; a denial and an expiry close one', async () => {
    await api.call(keys.admin!, 'PUT', '/v1/approval-policies/prod-eu', { required_approvals: 1 });
    const d = await (await create('payments', 'prod-eu')).json();
    const [gen1] = await waitFor('the first request', async () => (await pendingOf(d.id)).length === 1 && pendingOf(d.id));
    const patched = await api.call(keys.alice!, 'PATCH', `/v1/deployments/${d.id}`, { config: { maxmemory: '64Mi' } });
    expect(patched.status).toBe(200);
    const [gen2] = await waitFor('the request of generation 2', async () => {
      const p = await pendingOf(d.id);
      return p.length === 1 && p[0]!.generation === 2 && p;
    });
    const cancelled = (await (await api.call(keys.alice!, 'GET', `/v1/approvals?state=cancelled&deployment_id=${d.id}`)).json()).items;
    expect(cancelled.map((x: { id: string }) => x.id)).toEqual([gen1!.id]);
    // A decision on the superseded request is refused.
    expect((await api.call(keys.bob!, 'POST', `/v1/approvals/${gen1!.id}/grant`, {})).status).toBe(409);

    const denied = await api.call(keys.bob!, 'POST', `/v1/approvals/${gen2!.id}/deny`, { reason: 'not in the change window' });
    expect(await denied.json()).toMatchObject({ state: 'denied' });
    expect((await api.call(keys.carol!, 'POST', `/v1/approvals/${gen2!.id}/grant`, {})).status).toBe(409);

    // A new request for the same generation, then it runs out.
    const again = await (await api.call(keys.alice!, 'POST', `/v1/deployments/${d.id}/approvals`)).json();
    expect(again).toMatchObject({ generation: 2, state: 'pending' });
    await api.t.db`update shipslog.approval_requests set expires_at = now() - interval '1 second' where id = ${again.id}`;
    const late = await api.call(keys.carol!, 'POST', `/v1/approvals/${again.id}/grant`, {});
    expect(late.status).toBe(409);
    expect((await late.json()).detail).toMatch(/expired/);

    const actions = (await rolloutEventsOf(api.t.db, d.id)).map((e) => [e.action, e.details.generation]);
    expect(actions).toEqual([
      ['approval_requested', 1], ['approval_cancelled', 1], ['approval_requested', 2], ['approval_denied', 2],
      ['approval_requested', 2], ['approval_expired', 2],
    ]);
    expect(appliedTo('payments')).toBe(0);
    expect(await verifyChains(api.t.db, d.id)).toEqual([]);
  });

  it('audits policy changes in their own append-only trail; only admins of the tenant set them', async () => {
    expect((await api.call(keys.alice!, 'PUT', '/v1/approval-policies/qa', { required_approvals: 1 })).status).toBe(403);
    await api.call(keys.admin!, 'PUT', '/v1/approval-policies/qa', { required_approvals: 1, required_gates: ['trivy'] });
    await api.call(keys.admin!, 'PUT', '/v1/approval-policies/qa', { required_approvals: 3 });
    expect((await api.call(keys.admin!, 'DELETE', '/v1/approval-policies/qa')).status).toBe(204);
    expect((await api.call(keys.admin!, 'DELETE', '/v1/approval-policies/qa')).status).toBe(404);
    const trail = await api.t.db`
      select change, previous_policy ->> 'required_approvals' as before, new_policy ->> 'required_approvals' as after, actor, db_role
      from shipslog.approval_policy_changes where tenant = 'bank' and environment = 'qa' order by id`;
    expect(trail).toEqual([
      { change: 'set', before: null, after: '1', actor: 'root', db_role: 'shipslog_app' },
      { change: 'set', before: '1', after: '3', actor: 'root', db_role: 'shipslog_app' },
      { change: 'removed', before: '3', after: null, actor: 'root', db_role: 'shipslog_app' },
    ]);
    await expect(api.t.db`delete from shipslog.approval_policy_changes`).rejects.toMatchObject({ code: 'SL001' });
    await expect(api.t.db`update shipslog.approval_decisions set approver = 'x'`).rejects.toMatchObject({ code: 'SL001' });
    await expect(api.t.db`truncate shipslog.gate_results`).rejects.toMatchObject({ code: 'SL005' });
    // The app login may not write the tables directly, and sees one tenant.
    await expect(api.t.db.begin(async (tx) => {
      await tx`select set_config('role', 'shipslog_app', true), set_config('shipslog.tenant', 'bank', true)`;
      await tx`insert into shipslog.approval_policies (tenant, environment, required_approvals, updated_by) values ('bank', 'x', 0, 'me')`;
    })).rejects.toMatchObject({ code: '42501' });
    const seen = await api.t.db.begin(async (tx) => {
      await tx`select set_config('role', 'shipslog_app', true), set_config('shipslog.tenant', 'other-bank', true)`;
      return tx`select count(*)::int as n from shipslog.approval_requests`;
    });
    expect(seen[0]!.n).toBe(0);
    // Bad values: 422 with the rule, 400 from the schema.
    expect((await api.call(keys.admin!, 'PUT', '/v1/approval-policies/qa', { required_approvals: 11 })).status).toBe(400);
  });
});

describe('gates', () => {
  it('holds a generation until its required gates pass; a gate result needs its evidence URL', async () => {
    await api.call(keys.admin!, 'PUT', '/v1/approval-policies/staging', { required_approvals: 0, required_gates: ['trivy', 'e2e'] });
    const d = await (await create('checkout', 'staging')).json();
    await waitFor('an AwaitingGates run', async () => (await runsOf(api.t.db, d.id)).find((x) => x.skip_reason === 'AwaitingGates'));
    const report = (body: Record<string, unknown>, key = keys.scanner!) => api.call(key, 'POST', `/v1/deployments/${d.id}/gates`, { generation: 1, ...body });

    expect((await report({ gate: 'trivy', result: 'passed', evidence_url: 'https://ci.example/1' }, keys.alice!)).status).toBe(403);
    const noEvidence = await report({ gate: 'trivy', result: 'failed' });
    expect(noEvidence.status).toBe(422);
    expect((await noEvidence.json()).detail).toBe('gate_failed event is missing required field details.evidence_url');
    expect((await report({ gate: 'trivy', result: 'passed', evidence_url: 'https://ci.example/1', generation: 9 })).status).toBe(409);

    await report({ gate: 'trivy', result: 'started' });
    const failed = await (await report({ gate: 'trivy', result: 'failed', evidence_url: 'https://ci.example/scan/1', details: { critical: 2 } })).json();
    expect(failed.missing_gates).toEqual(['e2e', 'trivy']);
    const passed = await (await report({ gate: 'trivy', result: 'passed', evidence_url: 'https://ci.example/scan/2' })).json();
    expect(passed.missing_gates).toEqual(['e2e']);
    await new Promise((res) => setTimeout(res, 500));
    expect(appliedTo('checkout')).toBe(0);
    const warned = await (await report({ gate: 'e2e', result: 'warned', evidence_url: 'https://ci.example/e2e/7' })).json();
    expect(warned.missing_gates).toEqual([]);
    await converged(api.t.db, d.id);
    expect(appliedTo('checkout')).toBeGreaterThan(0);

    const events = await rolloutEventsOf(api.t.db, d.id);
    expect(events.map((e) => [e.action, e.details.gate ?? null])).toEqual([
      ['access_denied', null], // alice's report without the gates scope
      ['gate_started', 'trivy'], ['gate_failed', 'trivy'], ['gate_passed', 'trivy'], ['gate_warned', 'e2e'],
      ['deployment_started', null], ['deployment_completed', null],
    ]);
    expect(events[0]!).toMatchObject({ actor: 'alice', details: { denied_because: 'this needs the gates scope' } });
    expect(events[2]!.details).toMatchObject({ evidence_url: 'https://ci.example/scan/1', critical: 2, generation: 1 });
    expect(events.slice(1).every((e) => e.action.startsWith('deployment_') || e.actor === 'trivy-ci')).toBe(true);
    expect(await verifyChains(api.t.db, d.id)).toEqual([]);
  });
});
