import type { Ctx } from './openapi-fixtures.ts';
import { missing, newDeployment, type Cases } from './openapi-fixtures.ts';

// Cases for the approval, gate and rollback routes (src/api/approvals.ts, rollback.ts): each
// route's success and the refusals a client meets (scope, rule, unknown id).

const extra = new WeakMap<Ctx, Promise<{ admin: string; approver: string; gates: string }>>();
/** Keys with the admin, approve and gates scopes (made once per run). */
function keysOf(x: Ctx) {
  let k = extra.get(x);
  if (!k) {
    k = (async () => ({
      admin: await x.api.key('acme', ['read', 'admin'], 'acme-admin'),
      approver: await x.api.key('acme', ['read', 'approve'], 'acme-approver'),
      gates: await x.api.key('acme', ['read', 'gates'], 'acme-scanner'),
    }))();
    extra.set(x, k);
  }
  return k;
}

/** A deployment in environment "guarded" of acme (policy: 1 approval, gate "scan") with an open request. */
async function guarded(x: Ctx, name: string): Promise<{ id: string; request: string }> {
  const k = await keysOf(x);
  await x.api.call(k.admin, 'PUT', '/v1/approval-policies/guarded', { required_approvals: 1, required_gates: ['scan'] });
  const res = await x.api.call(x.keys.acme, 'POST', '/v1/deployments', { name, environment: 'guarded', recipe: 'redis', app_version: '7.2' });
  const { id } = (await res.json()) as { id: string };
  const request = (await (await x.api.call(x.keys.acme, 'POST', `/v1/deployments/${id}/approvals`)).json()) as { id: string };
  return { id, request: request.id };
}

export const complianceCases: Cases = {
  'PUT /v1/approval-policies/{environment}': async (x) => {
    const k = await keysOf(x);
    return [
      await x.api.call(k.admin, 'PUT', '/v1/approval-policies/prod', { required_approvals: 2, required_gates: ['trivy'] }),
      await x.api.call(x.keys.acme, 'PUT', '/v1/approval-policies/prod', { required_approvals: 2 }), // 403
      await x.api.call(k.admin, 'PUT', '/v1/approval-policies/prod', { required_approvals: 99 }), // 400
      await x.api.call(k.admin, 'PUT', '/v1/approval-policies/prod', 'x', { 'content-type': 'text/plain' }), // 415
    ];
  },
  'DELETE /v1/approval-policies/{environment}': async (x) => {
    const k = await keysOf(x);
    await x.api.call(k.admin, 'PUT', '/v1/approval-policies/gone', { required_approvals: 1 });
    return [
      await x.api.call(k.admin, 'DELETE', '/v1/approval-policies/gone'),
      await x.api.call(k.admin, 'DELETE', '/v1/approval-policies/gone'), // 404
      await x.api.call(x.keys.reader, 'DELETE', '/v1/approval-policies/gone'), // 403
    ];
  },
  'GET /v1/approval-policies': async (x) => [await x.api.call(x.keys.reader, 'GET', '/v1/approval-policies')],
  'POST /v1/deployments/{id}/approvals': async (x) => {
    const g = await guarded(x, 'approval-requested');
    const plain = await newDeployment(x, 'no-approval-needed');
    return [
      await x.api.call(x.keys.acme, 'POST', `/v1/deployments/${g.id}/approvals`), // the open one
      await x.api.call(x.keys.acme, 'POST', `/v1/deployments/${plain.id}/approvals`), // 409: needs none
      await x.api.call(x.keys.acme, 'POST', `/v1/deployments/${missing}/approvals`), // 404
      await x.api.call(x.keys.reader, 'POST', `/v1/deployments/${g.id}/approvals`), // 403
    ];
  },
  'GET /v1/approvals': async (x) => {
    await guarded(x, 'approval-listed');
    return [await x.api.call(x.keys.reader, 'GET', '/v1/approvals'), await x.api.call(x.keys.reader, 'GET', '/v1/approvals?state=nope')];
  },
  'POST /v1/approvals/{id}/grant': async (x) => {
    const k = await keysOf(x);
    const g = await guarded(x, 'approval-granted');
    return [
      await x.api.call(k.approver, 'POST', `/v1/approvals/${g.request}/grant`, { reason: 'looks right' }),
      await x.api.call(k.approver, 'POST', `/v1/approvals/${g.request}/grant`, {}), // 409: decided
      await x.api.call(x.keys.acme, 'POST', `/v1/approvals/${g.request}/grant`, {}), // 403: scope
      await x.api.call(k.approver, 'POST', `/v1/approvals/${missing}/grant`, {}), // 404
    ];
  },
  'POST /v1/approvals/{id}/deny': async (x) => {
    const k = await keysOf(x);
    const g = await guarded(x, 'approval-denied');
    return [
      await x.api.call(k.approver, 'POST', `/v1/approvals/${g.request}/deny`, { reason: 'outside the window' }),
      await x.api.call(k.approver, 'POST', `/v1/approvals/${g.request}/deny`, {}), // 409
    ];
  },
  'POST /v1/approvals/{id}/cancel': async (x) => {
    const g = await guarded(x, 'approval-cancelled');
    return [
      await x.api.call(x.keys.acme, 'POST', `/v1/approvals/${g.request}/cancel`, { reason: 'wrong change' }),
      await x.api.call(x.keys.acme, 'POST', `/v1/approvals/${g.request}/cancel`), // 409
      await x.api.call(x.keys.reader, 'POST', `/v1/approvals/${g.request}/cancel`), // 403
    ];
  },
  'POST /v1/deployments/{id}/gates': async (x) => {
    const k = await keysOf(x);
    const g = await guarded(x, 'gated');
    return [
      await x.api.call(k.gates, 'POST', `/v1/deployments/${g.id}/gates`, { generation: 1, gate: 'scan', result: 'passed', evidence_url: 'https://ci.example/1' }),
      await x.api.call(k.gates, 'POST', `/v1/deployments/${g.id}/gates`, { generation: 1, gate: 'scan', result: 'failed' }), // 422: no evidence
      await x.api.call(k.gates, 'POST', `/v1/deployments/${g.id}/gates`, { generation: 5, gate: 'scan', result: 'started' }), // 409
      await x.api.call(k.gates, 'POST', `/v1/deployments/${missing}/gates`, { generation: 1, gate: 'scan', result: 'started' }), // 404
      await x.api.call(x.keys.acme, 'POST', `/v1/deployments/${g.id}/gates`, { generation: 1, gate: 'scan', result: 'started' }), // 403
    ];
  },
  'POST /v1/deployments/{id}/rollback': async (x) => {
    const d = await newDeployment(x, 'rolled-back');
    await x.api.call(x.keys.acme, 'PATCH', `/v1/deployments/${d.id}`, { config: { storage: '16Gi' } });
    return [
      await x.api.call(x.keys.acme, 'POST', `/v1/deployments/${d.id}/rollback`, { event: { chain_index: 1 } }),
      await x.api.call(x.keys.acme, 'POST', `/v1/deployments/${d.id}/rollback`, { event: { chain_index: 1 } }), // 409: nothing to change
      await x.api.call(x.keys.acme, 'POST', `/v1/deployments/${d.id}/rollback`, { event: { chain_index: 42 } }), // 404
      await x.api.call(x.keys.reader, 'POST', `/v1/deployments/${d.id}/rollback`, { event: { chain_index: 1 } }), // 403
      await x.api.call(x.keys.acme, 'POST', `/v1/deployments/${d.id}/rollback`, { event: 1 }), // 400
    ];
  },
  'POST /v1/tools/rollback-app': async (x) => {
    const d = await newDeployment(x, 'tool-rolled-back');
    await x.api.call(x.keys.acme, 'PATCH', `/v1/deployments/${d.id}`, { config: { storage: '16Gi' } });
    return [
      await x.api.call(x.keys.acme, 'POST', '/v1/tools/rollback-app', { appId: 'tool-rolled-back', event: { chain_index: 1 } }),
      await x.api.call(x.keys.acme, 'POST', '/v1/tools/rollback-app', { appId: 'no-such-app', event: { chain_index: 1 } }), // 404
    ];
  },
};
