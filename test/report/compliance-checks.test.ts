import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyIdOf, loadSigningKey, takeCheckpoint, type CheckpointKeys } from '../../src/audit/checkpoints.ts';
import { complianceReport, type ComplianceReport, type ReportCheck } from '../../src/audit/report.ts';
import { setActorContext } from '../../src/db/actor.ts';
import type { Queryable, Tx } from '../../src/db/client.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { insertDeployment } from '../support/fixtures.ts';

// Each check of the compliance report (sql/audit/80_compliance_checks.sql) passes on a sound
// trail and fails when its evidence is broken: a guard trigger dropped or disabled, a write
// privilege granted, an event tampered with as a superuser, a checkpoint stale, rewritten or
// forged, a deployment changed over raw SQL. Catalog changes happen in transactions that roll
// back, so the file's database stays sound for the next test.

let t: TestDatabase;
let keys: CheckpointKeys;
let dataDir: string;
let orders: string;
const window = { from: new Date('2000-01-01T00:00:00Z'), to: new Date('2100-01-01T00:00:00Z') };

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

async function report(db: Queryable = t.db, scope: Partial<Parameters<typeof complianceReport>[1]> = {}, publicKey: KeyObject | null = keys.publicKey): Promise<ComplianceReport> {
  return complianceReport(db, { ...window, ...scope }, publicKey ?? undefined);
}

function check(r: ComplianceReport, name: string): ReportCheck {
  const c = r.checks.find((x) => x.check === name);
  if (!c) throw new Error(`no check ${name} in ${r.checks.map((x) => x.check).join(', ')}`);
  return c;
}

/** A change made as the API makes it: inside a transaction with the actor context set. */
async function asApi(fn: (tx: Tx) => Promise<unknown>, actor = 'alice@acme.example') {
  await t.db.begin(async (tx) => {
    await setActorContext(tx, { actor, actorType: 'user', reason: 'ticket 42' });
    await fn(tx);
  });
}

beforeAll(async () => {
  t = await createTestDatabase();
  dataDir = await mkdtemp(path.join(tmpdir(), 'shipslog-report-'));
  await chmod(dataDir, 0o755);
  keys = await loadSigningKey(undefined, dataDir);
  await asApi(async (tx) => {
    orders = (await insertDeployment(tx, { tenant: 'acme', name: 'orders-db' })).id;
    await insertDeployment(tx, { tenant: 'globex', name: 'ledger-db' });
  });
  await asApi((tx) => tx`update shipslog.deployments set config = config || '{"storage": "16Gi"}' where id = ${orders}`);
  await asApi((tx) => tx`update shipslog.deployments set app_version = '17' where id = ${orders}`, 'bob@acme.example');
  await takeCheckpoint(t.db, keys);
});

afterAll(async () => {
  await t?.drop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('the compliance report on a sound trail', () => {
  it('passes every check it can make and says why the others do not apply', async () => {
    const r = await report();
    expect(r.checks.map((c) => [c.check, c.status])).toEqual([
      ['immutable_storage', 'pass'],
      ['chains_intact', 'pass'],
      ['checkpoints', 'pass'],
      ['approvals_complete', 'not_applicable'],
      ['gates_passed', 'not_applicable'],
      ['retention_met', 'pass'],
      ['changes_outside_api', 'pass'],
    ]);
    expect(r.summary).toMatchObject({ status: 'pass', checks_passed: 5, checks_failed: 0, checks_not_applicable: 2, events: 4, deployments: 2, actors: 2 });
    expect(check(r, 'approvals_complete').summary).toMatch(/no approval policy in scope requires approvals/);
    expect(check(r, 'gates_passed').summary).toMatch(/no approval policy in scope requires gates/);
    expect(check(r, 'chains_intact').evidence).toMatchObject({ chains: 2, events: 4, broken: [] });
    expect(check(r, 'checkpoints').evidence).toMatchObject({ checkpoints: 1, signature_checked: true, bad_signatures: [] });
    expect(check(r, 'checkpoints').summary).toMatch(/all 1 signature\(s\) verify/);
  });

  it('counts events by type, category and actor, and lays them on a timeline', async () => {
    const r = await report(t.db, { tenant: 'acme' });
    expect(r.summary).toMatchObject({ events: 3, deployments: 1, deployments_with_events: 1, actors: 2 });
    expect(r.events_by_type).toEqual([
      { action: 'config_changed', category: 'configuration', severity: 'info', count: 1 },
      { action: 'created', category: 'deployment_lifecycle', severity: 'info', count: 1 },
      { action: 'upgraded', category: 'configuration', severity: 'info', count: 1 },
    ]);
    expect(r.events_by_category).toEqual([
      { category: 'configuration', count: 2 },
      { category: 'deployment_lifecycle', count: 1 },
    ]);
    expect(r.actors.items.map((a) => [a.actor, a.actor_type, a.events])).toEqual([
      ['alice@acme.example', 'user', 2],
      ['bob@acme.example', 'user', 1],
    ]);
    expect(r.timeline.granularity).toBe('month');
    expect(r.timeline.buckets).toHaveLength(1);
    expect(r.timeline.buckets[0]).toMatchObject({ events: 3, categories: { configuration: 2, deployment_lifecycle: 1 } });
    // Lifecycle events are notable; config changes are counted, not listed.
    expect(r.timeline.notable.map((n) => [n.name, n.action, n.summary])).toEqual([['orders-db', 'created', expect.stringMatching(/created/)]]);
  });

  it('narrows to a deployment, an environment and a window', async () => {
    expect((await report(t.db, { deploymentId: orders })).summary.events).toBe(3);
    expect((await report(t.db, { environment: 'production' })).summary.deployments).toBe(2);
    expect((await report(t.db, { environment: 'staging' })).summary).toMatchObject({ deployments: 0, events: 0 });
    const hour = await report(t.db, { from: new Date(Date.now() - 3_600_000), to: new Date(Date.now() + 3_600_000) });
    expect(hour.timeline.granularity).toBe('hour');
    const before = await report(t.db, { from: new Date('2001-01-01T00:00:00Z'), to: new Date('2001-02-01T00:00:00Z') });
    expect(before.summary).toMatchObject({ events: 0, deployments: 2, first_event_at: null });
    expect(before.timeline.granularity).toBe('day');
  });

  it('refuses a window that ends before it starts, in SQL, with a hint', async () => {
    const err = await t.db`select shipslog.compliance_report('2026-02-01', '2026-01-01')`.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(postgres.PostgresError);
    expect(err).toMatchObject({ code: '22023', message: expect.stringMatching(/starts .* at or after its end/) });
    await expect(t.db`select shipslog.compliance_report('2026-01-01', 'infinity')`).rejects.toMatchObject({ code: '22023' });
  });

  it('runs the checks p_checks names, and refuses a name it does not know', async () => {
    const [row] = await t.db<{ r: ComplianceReport }[]>`
      select shipslog.compliance_report('2000-01-01', '2100-01-01', p_checks => array['retention_met', 'immutable_storage']) as r`;
    expect(row!.r.checks.map((c) => c.check)).toEqual(['immutable_storage', 'retention_met']);
    expect(row!.r.summary.checks_passed + row!.r.summary.checks_failed + row!.r.summary.checks_not_applicable).toBe(2);
    await expect(t.db`select shipslog.compliance_report('2000-01-01', '2100-01-01', p_checks => array['chains'])`).rejects.toMatchObject({
      code: '22023', message: expect.stringMatching(/unknown compliance check/),
    });
  });

  it('is what an auditor\'s login may run, and a tenant\'s API transaction sees only its tenant', async () => {
    const asAuditor = await rolledBack(async (tx) => {
      await tx`set local role shipslog_auditor`;
      return (await tx<{ r: ComplianceReport }[]>`select shipslog.compliance_report('2000-01-01', '2100-01-01') as r`)[0]!.r;
    });
    expect(asAuditor.summary.events).toBe(4);
    const asTenant = await rolledBack(async (tx) => {
      await tx`set local role shipslog_app`;
      await tx`select set_config('shipslog.tenant', 'globex', true)`;
      const r = await report(tx);
      // The checkpoint check clears the tenant context for its digest only, and puts it back.
      const [after] = await tx<{ tenant: string }[]>`select current_setting('shipslog.tenant') as tenant`;
      expect(after!.tenant).toBe('globex');
      return r;
    });
    expect(asTenant.summary).toMatchObject({ events: 1, deployments: 1 });
    expect(asTenant.deployments.items.map((d) => d.name)).toEqual(['ledger-db']);
    // The checkpoint's digest covers every tenant's chains: still recomputed, still matching.
    expect(check(asTenant, 'checkpoints').status).toBe('pass');
    expect(check(asTenant, 'chains_intact').evidence).toMatchObject({ chains: 1 });
  });
});

describe('each check fails when its evidence is broken', () => {
  it('immutable_storage: a guard trigger dropped', async () => {
    const r = await rolledBack(async (tx) => {
      await tx`drop trigger deployment_events_append_only on shipslog.deployment_events`;
      return report(tx);
    });
    const c = check(r, 'immutable_storage');
    expect(c.status).toBe('fail');
    expect(c.summary).toMatch(/1 guard trigger\(s\) missing or disabled: shipslog\.deployment_events\.deployment_events_append_only/);
    expect(c.evidence.triggers).toContainEqual(expect.objectContaining({ trigger: 'deployment_events_append_only', present: false }));
    expect(r.summary.status).toBe('fail');
    expect(check(await report(), 'immutable_storage').status).toBe('pass');
  });

  it('immutable_storage: a guard trigger disabled, or set to fire only on replicas', async () => {
    for (const how of ['disable', 'enable replica'] as const) {
      const c = check(await rolledBack(async (tx) => {
        await tx.unsafe(`alter table shipslog.audit_checkpoints ${how} trigger audit_checkpoints_append_only`); // fixed text
        return report(tx);
      }), 'immutable_storage');
      expect(c.status).toBe('fail');
      expect(c.evidence.triggers).toContainEqual(expect.objectContaining({ trigger: 'audit_checkpoints_append_only', present: true, enabled: false }));
    }
  });

  it('immutable_storage: a write privilege on the audit table, granted or inherited', async () => {
    const granted = check(await rolledBack(async (tx) => {
      await tx`grant delete on shipslog.deployment_events to shipslog_reconciler`;
      return report(tx);
    }), 'immutable_storage');
    expect(granted.status).toBe('fail');
    expect(granted.summary).toMatch(/DELETE on shipslog\.deployment_events to shipslog_reconciler/);
    const inherited = check(await rolledBack(async (tx) => {
      await tx`create role report_test_writer nologin`;
      await tx`grant insert on shipslog.audit_checkpoints to report_test_writer`;
      await tx`grant report_test_writer to shipslog_app`;
      return report(tx);
    }), 'immutable_storage');
    expect(inherited.status).toBe('fail');
    expect(inherited.evidence.write_privileges).toEqual(expect.arrayContaining([
      { table: 'shipslog.audit_checkpoints', grantee: 'report_test_writer', privilege: 'INSERT' },
      { table: 'shipslog.audit_checkpoints', grantee: 'shipslog_app', privilege: 'through membership' },
    ]));
  });

  it('immutable_storage: the purge role, sanctioned only while nobody can act as it', async () => {
    const sound = check(await report(), 'immutable_storage');
    expect(sound.status).toBe('pass');
    expect(sound.evidence.purge_privileges).toEqual(expect.arrayContaining([
      expect.objectContaining({ table: 'shipslog.deployment_events', grantee: 'shipslog_audit_retention', privilege: 'DELETE' }),
    ]));
    for (const how of ['alter role shipslog_audit_retention login', 'grant shipslog_audit_retention to shipslog_app'] as const) {
      const c = check(await rolledBack(async (tx) => {
        await tx.unsafe(how); // fixed text
        return report(tx);
      }), 'immutable_storage');
      expect(c.status, how).toBe('fail');
      expect(c.summary, how).toMatch(/DELETE on shipslog\.deployment_events to shipslog_audit_retention/);
    }
    const update = check(await rolledBack(async (tx) => {
      await tx`grant update on shipslog.deployment_events to shipslog_audit_retention`;
      return report(tx);
    }), 'immutable_storage');
    expect(update.status).toBe('fail');
    expect(update.summary).toMatch(/UPDATE on shipslog\.deployment_events to shipslog_audit_retention/);
  });

  it('chains_intact: an event edited by a superuser with triggers bypassed', async () => {
    const [r, inSql] = await rolledBack(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`update shipslog.deployment_events set new_state = '{"config": {"storage": "9Gi"}}' where deployment_id = ${orders} and chain_index = 2`;
      // The report runs this check with verify's reader; the SQL function's own check says the same.
      const [sql] = await tx<{ r: ComplianceReport }[]>`select shipslog.compliance_report('2000-01-01', '2100-01-01') as r`;
      return [await report(tx), sql!.r] as const;
    });
    const c = check(r, 'chains_intact');
    const reference = check(inSql, 'chains_intact');
    expect({ status: c.status, summary: c.summary, broken: c.evidence.broken, chains: c.evidence.chains, events: c.evidence.events }).toEqual({
      status: reference.status, summary: reference.summary, broken: reference.evidence.broken, chains: reference.evidence.chains, events: reference.evidence.events,
    });
    expect(c.status).toBe('fail');
    expect(c.summary).toMatch(/1 of 2 chain\(s\) broken; first: acme\/orders-db at event #2: event #2 \(config_changed\) does not match its hash/);
    expect(c.evidence.broken).toEqual([expect.objectContaining({ deployment_id: orders, chain_index: 2 })]);
    // Narrowed to the tenant or the environment (each chain verified on its own): still found.
    for (const scope of [{ tenant: 'acme' }, { environment: 'production' }]) {
      expect(check(await rolledBack(async (tx) => {
        await tx`set local session_replication_role = replica`;
        await tx`update shipslog.deployment_events set new_state = '{"config": {"storage": "9Gi"}}' where deployment_id = ${orders} and chain_index = 2`;
        return report(tx, scope);
      }), 'chains_intact').evidence.broken, JSON.stringify(scope)).toEqual([expect.objectContaining({ deployment_id: orders, chain_index: 2 })]);
    }
    // Another tenant's report does not carry acme's broken chain.
    expect(check(await rolledBack(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`update shipslog.deployment_events set new_state = '{"config": {"storage": "9Gi"}}' where deployment_id = ${orders} and chain_index = 2`;
      return report(tx, { tenant: 'globex' });
    }), 'chains_intact').status).toBe('pass');
  });

  it('checkpoints: none at all, or the newest one stale', async () => {
    const none = await rolledBack(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`delete from shipslog.audit_checkpoints`;
      return report(tx);
    });
    expect(check(none, 'checkpoints')).toMatchObject({ status: 'fail', summary: expect.stringMatching(/no signed checkpoint exists/) });
    const stale = check(await rolledBack(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`update shipslog.audit_checkpoints set created_at = now() - interval '3 days'`;
      return report(tx);
    }), 'checkpoints');
    expect(stale.status).toBe('fail');
    expect(stale.summary).toMatch(/is 3 days( [\d:]+)? old, more than 24:00:00/);
    // The limit is a setting.
    expect(check(await rolledBack(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`update shipslog.audit_checkpoints set created_at = now() - interval '3 days'`;
      await tx`set local shipslog.checkpoint_max_age = '7 days'`;
      return report(tx);
    }), 'checkpoints').status).toBe('pass');
  });

  it('checkpoints: a chain rewritten consistently after the checkpoint no longer gives its digest', async () => {
    const c = check(await rolledBack(async (tx) => {
      await tx`set local session_replication_role = replica`;
      // The head event's hash and the row's head changed alike: the chain alone looks sound.
      await tx`update shipslog.deployment_events set hash = sha256('forged') where deployment_id = ${orders} and chain_index = 3`;
      await tx`update shipslog.deployments set chain_head = sha256('forged') where id = ${orders}`;
      return report(tx);
    }), 'checkpoints');
    expect(c.status).toBe('fail');
    expect(c.summary).toMatch(/no longer produce the digest checkpoint #\d+ signed/);
    expect(c.evidence.newest).toMatchObject({ digest_matches: false });
  });

  it('checkpoints: a forged checkpoint (right digest, signed by another key) and a missing public key', async () => {
    const forged = check(await rolledBack(async (tx) => {
      const other = generateKeyPairSync('ed25519');
      const [s] = await tx<{ snapshot: string; digest: Buffer; chain_count: string; event_count: string; message: string }[]>`
        select s.snapshot::text as snapshot, d.root as digest, d.chain_count, d.event_count,
               shipslog.checkpoint_message(2::smallint, s.snapshot, d.chain_count, d.event_count, d.root) as message
        from (select pg_current_snapshot() as snapshot) as s cross join lateral shipslog.checkpoint_root(s.snapshot) as d`;
      const signature = sign(null, Buffer.from(s!.message), other.privateKey);
      // A superuser's direct insert (no role holds INSERT; no trigger guards inserts here).
      await tx`insert into shipslog.audit_checkpoints (version, snapshot, chain_count, event_count, digest, key_id, signature)
               values (2, ${s!.snapshot}::pg_snapshot, ${s!.chain_count}, ${s!.event_count}, ${s!.digest}, ${keyIdOf(other.publicKey)}, ${signature})`;
      return report(tx);
    }), 'checkpoints');
    expect(forged.status).toBe('fail');
    expect(forged.summary).toMatch(/1 of 2 checkpoint signature\(s\) do not verify .* signed by an unknown key/);
    const tampered = check(await rolledBack(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`update shipslog.audit_checkpoints set signature = ${Buffer.alloc(64, 1)}`;
      return report(tx);
    }), 'checkpoints');
    expect(tampered.summary).toMatch(/signature does not match/);
    const unchecked = check(await report(t.db, {}, null), 'checkpoints');
    expect(unchecked).toMatchObject({ status: 'fail', summary: expect.stringMatching(/no public key/), evidence: expect.objectContaining({ signature_checked: false }) });
  });

  it('changes_outside_api: a deployment changed by a raw SQL login lists the login, its role and program', async () => {
    const r = await rolledBack(async (tx) => {
      // A psql session of a login with the app's role, and no actor context.
      await tx`set local role shipslog_app`;
      await tx`select set_config('shipslog.tenant', '*', true)`;
      await tx`update shipslog.deployments set config = config || '{"storage": "32Gi"}' where id = ${orders}`;
      await tx`reset role`;
      return { all: await report(tx), past: await report(tx, { to: new Date(Date.now() - 60_000), from: new Date('2000-01-01T00:00:00Z') }) };
    });
    const c = check(r.all, 'changes_outside_api');
    expect(c.status).toBe('fail');
    expect(c.summary).toMatch(/^1 change\(s\) made outside the API and the reconciler/);
    expect(c.evidence).toMatchObject({ count: 1, listed: 1 });
    expect((c.evidence.changes as unknown[])[0]).toMatchObject({
      name: 'orders-db', chain_index: 4, action: 'config_changed', summary: 'storage: 16Gi -> 32Gi', db_role: 'shipslog_app', application_name: 'shipslog test',
    });
    // A window that ends before the change does not list it.
    expect(check(r.past, 'changes_outside_api').status).toBe('pass');
  });
});
