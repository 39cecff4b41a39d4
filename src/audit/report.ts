import { verify, type KeyObject } from 'node:crypto';
import { inExportedSnapshot, isPool, type Db, type Queryable } from '../db/client.ts';
import { keyIdOf } from './checkpoints.ts';
import { verifyAll } from './verify.ts';

/**
 * The compliance report: shipslog.compliance_report() (sql/audit/85_compliance_report.sql)
 * builds the document in PostgreSQL; this adds the one thing PostgreSQL cannot do, checking
 * the checkpoints' Ed25519 signatures with the public key, into the checkpoints check, and
 * runs the chains_intact check with `shipslog verify`'s reader (src/audit/verify.ts: the same
 * checks as shipslog.verify_chains(), several times faster; BENCHMARKS.md). Everything reads
 * one snapshot, so a deployment changed meanwhile cannot look like a row ahead of its chain.
 * Rendering: report-text.ts (terminal) and report-html.ts (a page a person reads).
 */

export const reportFormats = ['json', 'text', 'html'] as const;
export type ReportFormat = (typeof reportFormats)[number];

export const checkStatuses = ['pass', 'fail', 'not_applicable'] as const;
export type CheckStatus = (typeof checkStatuses)[number];

export interface ReportScope {
  from: Date;
  to: Date;
  tenant?: string | undefined;
  deploymentId?: string | undefined;
  environment?: string | undefined;
}

export interface ReportCheck {
  check: string;
  status: CheckStatus;
  summary: string;
  evidence: Record<string, unknown>;
}

export interface ComplianceReport {
  report: string;
  generated_at: string;
  scope: { from: string; to: string; tenant: string | null; deployment_id: string | null; environment: string | null };
  summary: {
    status: 'pass' | 'fail';
    checks_passed: number;
    checks_failed: number;
    checks_not_applicable: number;
    events: number;
    deployments: number;
    deployments_with_events: number;
    actors: number;
    first_event_at: string | null;
    last_event_at: string | null;
  };
  events_by_type: { action: string; category: string | null; severity: string | null; count: number }[];
  events_by_category: { category: string | null; count: number }[];
  actors: {
    total: number;
    items: { actor: string; actor_type: string; events: number; deployments: number; first_at: string; last_at: string }[];
  };
  deployments: {
    total: number;
    items: { deployment_id: string; tenant: string; name: string; environment: string | null; removed: boolean; events: number }[];
  };
  timeline: {
    granularity: 'hour' | 'day' | 'month';
    buckets: { start: string; events: number; categories: Record<string, number> }[];
    notable_total: number;
    notable: {
      occurred_at: string;
      deployment_id: string;
      tenant: string;
      name: string;
      chain_index: number;
      action: string;
      category: string | null;
      severity: string | null;
      actor: string;
      summary: string;
    }[];
  };
  checks: ReportCheck[];
}

// Evidence keys in the order a reader wants them (jsonb keeps keys sorted by length): when
// and where first, then what, then who. Keys not listed follow in their own order.
const keyOrder = [
  'occurred_at', 'tenant', 'name', 'chain_index', 'action', 'summary', 'problem', 'db_user', 'db_role', 'application_name', 'client_addr',
  'table', 'trigger', 'purpose', 'present', 'enabled', 'grantee', 'privilege', 'id', 'deployment_id',
];

/** Keys of an evidence object in reading order (the text and HTML renderings use it). */
export function readingOrder(keys: string[]): string[] {
  const rank = (k: string) => (keyOrder.includes(k) ? keyOrder.indexOf(k) : keyOrder.length);
  return [...keys].sort((a, b) => rank(a) - rank(b));
}

/** The checks, in the report's order. */
export const complianceChecks = [
  'immutable_storage', 'chains_intact', 'checkpoints', 'approvals_complete', 'gates_passed', 'retention_met', 'changes_outside_api',
] as const;

/**
 * The report, signatures checked with publicKey (none: the check fails and says why). Given a
 * pool it opens a read-only repeatable-read transaction; a transaction passed in should be one
 * (the API's is), else a deployment changed during the report can show as a broken chain.
 * With a pool at hand (`options.pool`, or `db` itself) the chain check runs beside the SQL
 * document on a second connection that shares the snapshot, the role and the tenant context.
 */
export async function complianceReport(
  db: Queryable,
  scope: ReportScope,
  publicKey: KeyObject | undefined,
  options: { pool?: Db } = {},
): Promise<ComplianceReport> {
  if (isPool(db)) {
    return (await db.begin('isolation level repeatable read read only', (tx) => complianceReport(tx, scope, publicKey, { pool: options.pool ?? db }))) as ComplianceReport;
  }
  const document = db<{ report: ComplianceReport }[]>`
    select shipslog.compliance_report(
      ${scope.from}::timestamptz,
      ${scope.to}::timestamptz,
      ${scope.tenant ?? null}::text,
      ${scope.deploymentId ?? null}::uuid,
      ${scope.environment ?? null}::text,
      ${complianceChecks.filter((c) => c !== 'chains_intact')}::text[]
    ) as report
  `;
  let chains: ReportCheck;
  let rows: { report: ComplianceReport }[];
  if (options.pool) {
    const [context] = await db<{ snapshot: string; role: string; tenant: string | null }[]>`
      select pg_export_snapshot() as snapshot, current_user as role, current_setting('shipslog.tenant', true) as tenant`;
    const beside = inExportedSnapshot(options.pool, context!.snapshot, async (tx) => {
      await tx`select set_config('role', ${context!.role}, true), set_config('shipslog.tenant', ${context!.tenant ?? ''}, true)`;
      return chainsCheck(tx, scope);
    });
    [rows, chains] = await Promise.all([document, beside]);
  } else {
    rows = await document;
    chains = await chainsCheck(db, scope);
  }
  const report = rows[0]!.report;
  report.checks.splice(complianceChecks.indexOf('chains_intact'), 0, chains);
  const checkpoints = report.checks.find((c) => c.check === 'checkpoints');
  if (checkpoints) await checkSignatures(db, checkpoints, publicKey);
  return recount(report);
}

/**
 * chains_intact, as shipslog.compliance_check_chains() (sql/audit/80_compliance_checks.sql)
 * words it: every chain in scope verified from its start, whatever the window.
 */
async function chainsCheck(db: Queryable, scope: ReportScope): Promise<ReportCheck> {
  const [counts] = await db<{ ids: string[]; events: number }[]>`
    with scope as materialized (
      select s.deployment_id
      from shipslog.compliance_deployments(${scope.tenant ?? null}::text, ${scope.deploymentId ?? null}::uuid, ${scope.environment ?? null}::text) as s
    )
    select
      coalesce((select array_agg(s.deployment_id::text) from scope as s), '{}') as ids,
      (select count(*) from shipslog.deployment_events as e where e.deployment_id in (select s.deployment_id from scope as s))::float8 as events
  `;
  const ids = new Set(counts!.ids);
  // One deployment: its chain alone. Otherwise every chain the caller sees, in one pass, kept to the scope.
  const only = scope.deploymentId && ids.has(scope.deploymentId) ? scope.deploymentId : undefined;
  const findings = ids.size === 0 ? [] : (await verifyAll(db, { deploymentId: only })).findings.filter((f) => ids.has(f.deploymentId));
  const chains = ids.size;
  const events = Number(counts!.events);
  const first = findings[0];
  return {
    check: 'chains_intact',
    status: findings.length === 0 ? 'pass' : 'fail',
    summary: first
      ? `${findings.length} of ${chains} chain(s) broken; first: ${first.tenant}/${first.name} at event #${first.chainIndex}: ${first.problem}`
      : `${chains} chain(s) with ${events} event(s) verified from their start: every hash links and every chain ends in its deployment's row`,
    evidence: {
      chains,
      events,
      broken: findings.map((f) => ({ deployment_id: f.deploymentId, tenant: f.tenant, name: f.name, chain_index: f.chainIndex, problem: f.problem })),
      method:
        "shipslog verify (the checks of shipslog.verify_chains()): each event's SHA-256 over the previous hash and its payload, " +
        "chain_index without gaps, the chain's end against the row's chain head and the state its events replay to",
    },
  };
}

/**
 * Every checkpoint's signature, not only the newest's: a forged older one means someone
 * could write the table, which the reader should know. ~60 us per Ed25519 verification.
 */
async function checkSignatures(db: Queryable, check: ReportCheck, publicKey: KeyObject | undefined): Promise<void> {
  const rows = await db<{ id: string; key_id: string; signature: Buffer; message: string }[]>`
    select c.id, c.key_id, c.signature,
           shipslog.checkpoint_message(c) as message
    from shipslog.audit_checkpoints as c
    order by c.id
  `;
  if (rows.length === 0) return; // the SQL check already fails: no checkpoint at all
  if (!publicKey) {
    fail(check, 'the signatures were not checked: no public key (set SHIPSLOG_CHECKPOINT_PUBLIC_KEY)');
    check.evidence.signature_checked = false;
    return;
  }
  const expected = keyIdOf(publicKey);
  const bad: { id: number; problem: string }[] = [];
  for (const r of rows) {
    if (r.key_id !== expected) bad.push({ id: Number(r.id), problem: `signed by an unknown key ${r.key_id.slice(0, 16)}…` });
    else if (!verify(null, Buffer.from(r.message, 'utf8'), publicKey, r.signature)) bad.push({ id: Number(r.id), problem: 'signature does not match' });
  }
  check.evidence.signature_checked = true;
  check.evidence.public_key_id = expected;
  check.evidence.signatures_checked = rows.length;
  check.evidence.bad_signatures = bad;
  if (bad.length > 0) {
    fail(check, `${bad.length} of ${rows.length} checkpoint signature(s) do not verify with the public key: forged or altered (first: #${bad[0]!.id}, ${bad[0]!.problem})`);
  } else {
    check.summary = `${check.summary}; all ${rows.length} signature(s) verify with key ${expected.slice(0, 16)}…`;
  }
}

function fail(check: ReportCheck, problem: string): void {
  check.summary = check.status === 'fail' ? `${check.summary}; ${problem}` : problem;
  check.status = 'fail';
}

/** The summary's counts and status after a check changed here. */
function recount(report: ComplianceReport): ComplianceReport {
  const count = (s: CheckStatus) => report.checks.filter((c) => c.status === s).length;
  report.summary.checks_passed = count('pass');
  report.summary.checks_failed = count('fail');
  report.summary.checks_not_applicable = count('not_applicable');
  report.summary.status = report.summary.checks_failed > 0 ? 'fail' : 'pass';
  return report;
}
