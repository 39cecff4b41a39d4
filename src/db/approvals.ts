import type { Queryable } from './client.ts';

/**
 * Approval policies, requests and decisions, and gate results. The rules (distinct approvers,
 * the requester never counts, expiry, superseded generations, required gates) live in
 * sql/compliance/; these call its functions in the caller's transaction (actor context set).
 */

export interface ApprovalPolicy {
  tenant: string;
  environment: string;
  required_approvals: number;
  expires_after_seconds: number;
  required_gates: string[];
  updated_at: string;
  updated_by: string;
}

const policyColumns = (db: Queryable) => db`
  p.tenant, p.environment, p.required_approvals, extract(epoch from p.expires_after)::int as expires_after_seconds,
  p.required_gates, shipslog.iso_utc(p.updated_at) as updated_at, p.updated_by
`;

export async function setPolicy(
  db: Queryable, tenant: string, environment: string, v: { requiredApprovals: number; expiresAfterSeconds: number; requiredGates: string[] },
): Promise<ApprovalPolicy> {
  const [row] = await db<ApprovalPolicy[]>`
    select ${policyColumns(db)}
    from shipslog.set_approval_policy(${tenant}, ${environment}, ${v.requiredApprovals},
      make_interval(secs => ${v.expiresAfterSeconds}), ${v.requiredGates}::text[]) as p`;
  return row!;
}

export async function removePolicy(db: Queryable, tenant: string, environment: string): Promise<boolean> {
  const [row] = await db<{ removed: boolean }[]>`select shipslog.remove_approval_policy(${tenant}, ${environment}) as removed`;
  return row!.removed;
}

export async function listPolicies(db: Queryable, tenant: string | null): Promise<ApprovalPolicy[]> {
  return [...(await db<ApprovalPolicy[]>`
    select ${policyColumns(db)}
    from shipslog.approval_policies as p
    where ${tenant === null ? db`true` : db`p.tenant = ${tenant}`}
    order by p.tenant, p.environment`)];
}

export interface ApprovalRequest {
  id: string;
  tenant: string;
  deployment_id: string;
  name: string;
  environment: string;
  generation: number;
  required_approvals: number;
  approvals: number;
  approvers: string[];
  requested_by: string;
  change_actor: string | null;
  requested_at: string;
  expires_at: string;
  state: 'pending' | 'approved' | 'denied' | 'expired' | 'cancelled';
  closed_at: string | null;
  requested_seq: number;
}

const requestColumns = (db: Queryable) => db`
  r.id, r.tenant, r.deployment_id, r.name, r.environment, r.generation::int as generation, r.required_approvals,
  (select count(*)::int from shipslog.approval_decisions as x where x.request_id = r.id and x.decision = 'granted') as approvals,
  array(select x.approver from shipslog.approval_decisions as x where x.request_id = r.id and x.decision = 'granted' order by x.id) as approvers,
  r.requested_by, r.change_actor, shipslog.iso_utc(r.requested_at) as requested_at, shipslog.iso_utc(r.expires_at) as expires_at,
  r.state, shipslog.iso_utc(r.closed_at) as closed_at, r.requested_seq::float8 as requested_seq
`;

// Each call is followed by a read in a statement of its own: a statement's snapshot is taken
// before the function runs, so the same statement would not see the decision it recorded.
async function getRequest(db: Queryable, id: string): Promise<ApprovalRequest> {
  const [row] = await db<ApprovalRequest[]>`select ${requestColumns(db)} from shipslog.approval_requests as r where r.id = ${id}`;
  return row!;
}

export async function requestApproval(db: Queryable, deploymentId: string): Promise<ApprovalRequest> {
  const [row] = await db<{ id: string }[]>`select (shipslog.request_approval(${deploymentId})).id`;
  return getRequest(db, row!.id);
}

export async function decideApproval(db: Queryable, requestId: string, decision: 'granted' | 'denied', reason: string | null): Promise<ApprovalRequest> {
  const [row] = await db<{ id: string }[]>`select (shipslog.decide_approval(${requestId}, ${decision}, ${reason})).id`;
  return getRequest(db, row!.id);
}

export async function cancelApproval(db: Queryable, requestId: string, because: string | null): Promise<ApprovalRequest> {
  const [row] = await db<{ id: string }[]>`select (shipslog.cancel_approval(${requestId}, ${because})).id`;
  return getRequest(db, row!.id);
}

/**
 * Requests in a state (pending: overdue ones are expired first), newest first. `tenant`: only
 * that tenant's. Row-level security hides other tenants' requests either way, but its
 * predicate cannot use an index: a tenant key states its tenant so that the page is a range
 * of (tenant, state, requested_at) instead of every tenant's requests in that state read and
 * discarded (test/api/tenant-scans.test.ts).
 */
export async function listApprovals(
  db: Queryable,
  state: ApprovalRequest['state'],
  filter: { deploymentId?: string | undefined; tenant?: string | undefined } = {},
): Promise<ApprovalRequest[]> {
  if (state === 'pending') await db`select shipslog.expire_approvals(${filter.deploymentId ?? null}::uuid)`;
  return [...(await db<ApprovalRequest[]>`
    select ${requestColumns(db)}
    from shipslog.approval_requests as r
    where r.state = ${state}
      ${filter.tenant ? db`and r.tenant = ${filter.tenant}` : db``}
      ${filter.deploymentId ? db`and r.deployment_id = ${filter.deploymentId}` : db``}
    order by r.requested_at desc
    limit 200`)];
}

export interface GateResult {
  id: number;
  deployment_id: string;
  generation: number;
  gate: string;
  result: 'started' | 'passed' | 'failed' | 'warned' | 'skipped';
  evidence_url: string | null;
  details: Record<string, unknown>;
  reported_by: string;
  reported_at: string;
  event_seq: number;
  missing_gates: string[];
}

export async function reportGate(
  db: Queryable, deploymentId: string,
  g: { generation: number; gate: string; result: GateResult['result']; evidenceUrl: string | null; details: Record<string, unknown> },
): Promise<GateResult> {
  const [created] = await db<{ id: string }[]>`
    select (shipslog.report_gate_result(${deploymentId}, ${g.generation}, ${g.gate}, ${g.result}, ${g.evidenceUrl},
      ${db.json(g.details as never)})).id`;
  const [row] = await db<GateResult[]>`
    select g.id::float8 as id, g.deployment_id, g.generation::int as generation, g.gate, g.result, g.evidence_url, g.details,
           g.reported_by, shipslog.iso_utc(g.reported_at) as reported_at, g.event_seq::float8 as event_seq,
           shipslog.missing_gates(g.deployment_id, g.generation) as missing_gates
    from shipslog.gate_results as g
    where g.id = ${created!.id}`;
  return row!;
}
