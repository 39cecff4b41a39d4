import { createRoute, z } from '@hono/zod-openapi';
import {
  cancelApproval, decideApproval, listApprovals, listPolicies, removePolicy, reportGate, requestApproval, setPolicy,
} from '../db/approvals.ts';
import { requireScope } from './auth.ts';
import type { ApiDeps, App } from './context.ts';
import { ProblemError } from './problem.ts';
import { dnsLabel, idParam, problems, reason, uuid } from './schemas.ts';
import { inTenantTx } from './tx.ts';

// Approvals and gates (docs/compliance.md). The rules live in sql/compliance/; a refusal there
// (SL43x/SL44x) becomes a problem+json here. Scopes: admin sets policies, deploy requests and
// cancels, approve grants and denies, gates reports gate results, read lists.

const json = <T extends z.ZodType>(schema: T) => ({ 'application/json': { schema } });
const gateName = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'lowercase letters, digits, ".", "_" and "-", up to 63 characters');

const policySchema = z.object({
  tenant: z.string(), environment: z.string(), required_approvals: z.number().int(), expires_after_seconds: z.number().int(),
  required_gates: z.array(z.string()), updated_at: z.string(), updated_by: z.string(),
}).openapi('ApprovalPolicy');

const policyBody = z.strictObject({
  required_approvals: z.number().int().min(0).max(10).openapi({ description: 'distinct approvers needed (0: none; gates may still be required)' }),
  expires_after_seconds: z.number().int().min(60).max(30 * 86400).default(86400),
  required_gates: z.array(gateName).max(20).default([]),
  tenant: dnsLabel.optional().openapi({ description: 'for a global key: the tenant whose policy this is' }),
}).openapi('ApprovalPolicyInput');

const requestSchema = z.object({
  id: z.uuid(), tenant: z.string(), deployment_id: z.uuid(), name: z.string(), environment: z.string(), generation: z.number().int(),
  required_approvals: z.number().int(), approvals: z.number().int(), approvers: z.array(z.string()),
  requested_by: z.string(), change_actor: z.string().nullable(), requested_at: z.string(), expires_at: z.string(),
  state: z.enum(['pending', 'approved', 'denied', 'expired', 'cancelled']), closed_at: z.string().nullable(),
  requested_seq: z.number().int(),
}).openapi('ApprovalRequest');

const envParam = z.object({ environment: dnsLabel.openapi({ param: { name: 'environment', in: 'path' } }) });
const approvalParam = z.object({ id: uuid.openapi({ param: { name: 'id', in: 'path' } }) });
const decisionBody = z.strictObject({ reason: reason.optional() }).openapi('ApprovalDecision');
const tenantQuery = z.strictObject({ tenant: dnsLabel.optional() });

const putPolicy = createRoute({
  method: 'put', path: '/v1/approval-policies/{environment}', tags: ['approvals'],
  summary: 'Set what an environment requires before a generation is applied: N approvals, named gates (admin scope; audited)',
  request: { params: envParam, body: { required: true, content: json(policyBody) } },
  responses: { 200: { description: 'the policy', content: json(policySchema) }, ...problems(403, 415, 422) },
});
const deletePolicy = createRoute({
  method: 'delete', path: '/v1/approval-policies/{environment}', tags: ['approvals'],
  summary: 'Remove an environment\'s policy (admin scope; audited)',
  request: { params: envParam, query: tenantQuery },
  responses: { 204: { description: 'removed' }, ...problems(403, 404) },
});
const getPolicies = createRoute({
  method: 'get', path: '/v1/approval-policies', tags: ['approvals'], summary: 'The approval and gate policies you may see',
  request: { query: tenantQuery },
  responses: { 200: { description: 'policies', content: json(z.object({ items: z.array(policySchema) })) }, ...problems(403) },
});
const postRequest = createRoute({
  method: 'post', path: '/v1/deployments/{id}/approvals', tags: ['approvals'],
  summary: 'Request approval of the deployment\'s current generation (or get the open request); deploy scope',
  request: { params: idParam },
  responses: { 201: { description: 'the open request', content: json(requestSchema) }, ...problems(403, 404, 409) },
});
const listRequests = createRoute({
  method: 'get', path: '/v1/approvals', tags: ['approvals'], summary: 'Approval requests, pending by default (overdue ones expire first)',
  request: { query: z.strictObject({ state: z.enum(['pending', 'approved', 'denied', 'expired', 'cancelled']).default('pending'), deployment_id: uuid.optional() }) },
  responses: { 200: { description: 'requests, newest first', content: json(z.object({ items: z.array(requestSchema) })) }, ...problems(403) },
});
const decide = (action: 'grant' | 'deny' | 'cancel') => createRoute({
  method: 'post', path: `/v1/approvals/{id}/${action}`, tags: ['approvals'],
  summary: action === 'cancel'
    ? 'Withdraw a pending request (deploy scope)'
    : `${action === 'grant' ? 'Grant' : 'Deny'} a pending request as the caller (approve scope; not the requester nor the change's author; once per approver)`,
  request: { params: approvalParam, body: { required: false, content: json(decisionBody) } },
  responses: { 200: { description: 'the request after the decision', content: json(requestSchema) }, ...problems(403, 404, 409, 415) },
});

const gateBody = z.strictObject({
  generation: z.number().int().min(1).openapi({ description: 'the generation the gate checked (the deployment\'s current one)' }),
  gate: gateName,
  result: z.enum(['started', 'passed', 'failed', 'warned', 'skipped']),
  evidence_url: z.url({ protocol: /^https?$/ }).max(2000).optional().openapi({ description: 'required for passed, failed and warned' }),
  skipped_because: z.string().min(1).max(1000).optional(),
  details: z.record(z.string(), z.unknown()).optional().openapi({ description: 'what the gate found (e.g. counts by severity); kept on the event' }),
}).openapi('GateResultInput');
const gateSchema = z.object({
  id: z.number().int(), deployment_id: z.uuid(), generation: z.number().int(), gate: z.string(),
  result: z.enum(['started', 'passed', 'failed', 'warned', 'skipped']), evidence_url: z.string().nullable(),
  details: z.record(z.string(), z.unknown()), reported_by: z.string(), reported_at: z.string(), event_seq: z.number().int(),
  missing_gates: z.array(z.string()).openapi({ description: 'required gates this generation still lacks' }),
}).openapi('GateResult');
const postGate = createRoute({
  method: 'post', path: '/v1/deployments/{id}/gates', tags: ['approvals'],
  summary: 'Report a gate result for a generation (gates scope): a gate_* event with its evidence URL',
  request: { params: idParam, body: { required: true, content: json(gateBody) } },
  responses: { 201: { description: 'the recorded result', content: json(gateSchema) }, ...problems(403, 404, 409, 415, 422) },
});

/** The tenant a policy call acts on: the key's, or for a global key the one it names. */
function policyTenant(keyTenant: string | null, asked: string | undefined): string {
  if (keyTenant !== null) {
    if (asked !== undefined && asked !== keyTenant) throw new ProblemError('forbidden', `this key acts for tenant ${keyTenant} only`);
    return keyTenant;
  }
  if (asked === undefined) throw new ProblemError('invalid-request', 'a global key names the tenant', [{ path: 'tenant', message: 'required for a global key' }]);
  return asked;
}

export function registerApprovals(app: App, deps: ApiDeps): void {
  app.openapi(putPolicy, async (c) => {
    const p = c.get('principal');
    requireScope(p, 'admin');
    const { environment } = c.req.valid('param');
    const b = c.req.valid('json');
    const tenant = policyTenant(p.tenant, b.tenant);
    const policy = await inTenantTx(c, deps, (tx) =>
      setPolicy(tx, tenant, environment, { requiredApprovals: b.required_approvals, expiresAfterSeconds: b.expires_after_seconds, requiredGates: b.required_gates }));
    return c.json(policy, 200);
  });
  app.openapi(deletePolicy, async (c) => {
    const p = c.get('principal');
    requireScope(p, 'admin');
    const { environment } = c.req.valid('param');
    const tenant = policyTenant(p.tenant, c.req.valid('query').tenant);
    if (!(await inTenantTx(c, deps, (tx) => removePolicy(tx, tenant, environment)))) {
      throw new ProblemError('not-found', `no approval policy for environment ${environment} of tenant ${tenant}`);
    }
    return c.body(null, 204);
  });
  app.openapi(getPolicies, async (c) => {
    const p = c.get('principal');
    requireScope(p, 'read');
    const q = c.req.valid('query');
    const items = await inTenantTx(c, deps, (tx) => listPolicies(tx, q.tenant ?? null));
    return c.json({ items }, 200);
  });
  app.openapi(postRequest, async (c) => {
    requireScope(c.get('principal'), 'deploy');
    const { id } = c.req.valid('param');
    return c.json(await inTenantTx(c, deps, (tx) => requestApproval(tx, id)), 201);
  });
  app.openapi(listRequests, async (c) => {
    const principal = c.get('principal');
    requireScope(principal, 'read');
    const q = c.req.valid('query');
    // A tenant key states its tenant: the page is then a range of an index (listApprovals).
    const filter = { deploymentId: q.deployment_id, tenant: principal.tenant ?? undefined };
    return c.json({ items: await inTenantTx(c, deps, (tx) => listApprovals(tx, q.state, filter)) }, 200);
  });
  for (const action of ['grant', 'deny', 'cancel'] as const) {
    app.openapi(decide(action), async (c) => {
      requireScope(c.get('principal'), action === 'cancel' ? 'deploy' : 'approve');
      const { id } = c.req.valid('param');
      const body = c.req.header('content-type')?.includes('json') ? c.req.valid('json') : {};
      const r = await inTenantTx(c, deps, (tx) =>
        action === 'cancel' ? cancelApproval(tx, id, body.reason ?? null) : decideApproval(tx, id, action === 'grant' ? 'granted' : 'denied', body.reason ?? null),
        { reason: body.reason });
      // An overdue or superseded request was closed (and that recorded) instead of decided.
      if (action !== 'cancel' && (r.state === 'expired' || r.state === 'cancelled')) {
        throw new ProblemError('conflict', `approval request ${id} is ${r.state}${r.state === 'expired' ? ` (it expired at ${r.expires_at})` : ' (a newer generation superseded it)'}: request approval again`);
      }
      return c.json(r, 200);
    });
  }
  app.openapi(postGate, async (c) => {
    requireScope(c.get('principal'), 'gates');
    const { id } = c.req.valid('param');
    const b = c.req.valid('json');
    const details = { ...(b.details ?? {}), ...(b.skipped_because ? { skipped_because: b.skipped_because } : {}) };
    const g = await inTenantTx(c, deps, (tx) =>
      reportGate(tx, id, { generation: b.generation, gate: b.gate, result: b.result, evidenceUrl: b.evidence_url ?? null, details }));
    return c.json(g, 201);
  });
}
