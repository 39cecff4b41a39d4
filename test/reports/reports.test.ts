import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { purgeAgentMessages } from '../../src/agent/retention.ts';
import { loadSigningKey, takeCheckpoint, type CheckpointKeys } from '../../src/audit/checkpoints.ts';
import { withActor, type ActorContext } from '../../src/db/actor.ts';
import { createApiKey, revokeApiKey } from '../../src/db/api-keys.ts';
import { finishRun, insertRun, type NewRun } from '../../src/db/runs.ts';
import { recordMessage } from '../agent/support.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { insertDeployment } from '../support/fixtures.ts';
import { csvRecords, findPsql, runPsql } from '../support/psql.ts';

/**
 * Every file in sql/reports/ run with the real psql, as a LOGIN whose only membership is
 * shipslog_auditor, over history seeded through SQL; each report's rows are what that
 * history implies.
 */

const reportsDir = fileURLToPath(new URL('../../sql/reports', import.meta.url));
type Row = Record<string, string | null>;

let t: TestDatabase;
let psql: string;
let auditorUrl: string;
const auditor = `shipslog_test_auditor_${process.pid}_${randomBytes(4).toString('hex')}`;
let admin: string;
let start: string;
let afterOrdersDb: string;
let afterWeb: string;
const ids: Record<string, string> = {};

const agent = (messageId: string): ActorContext => ({ actor: 'agent', actorType: 'service', correlationId: messageId, tenant: 'acme' });
const alice: ActorContext = { actor: 'alice@example.com', actorType: 'user', reason: 'INC-42: disk full' };
const bob = (reason: string): ActorContext => ({ actor: 'bob@example.com', actorType: 'user', reason });
const cost = (total: string, tokens: number) => ({
  reasoning: ['decide'],
  tokens: { prompt: tokens, completion: 0, total: tokens },
  cost: { prompt: total, completion: '0', total },
});
const now = async () => (await t.db<{ at: string }[]>`select clock_timestamp()::text as at`)[0]!.at;

async function seed(keys: CheckpointKeys): Promise<void> {
  admin = (await t.db<{ u: string }[]>`select session_user as u`)[0]!.u;
  start = await now();
  // Agent messages; the oldest is purged by a manual retention run.
  await recordMessage(t.db, 'acme', { messageId: 'msg-create', projectId: 'shop', model: 'claude-opus-4' }, cost('0.25', 1000));
  await recordMessage(t.db, 'acme', { messageId: 'msg-upgrade', projectId: 'shop', model: 'claude-sonnet-4' }, cost('0.0125', 400));
  await recordMessage(t.db, 'acme', { messageId: 'msg-old', projectId: 'shop', createdAt: new Date(Date.now() - 8 * 86_400_000) });
  await purgeAgentMessages(t.db, 7 * 86_400, 'manual', pino({ level: 'silent' }));

  // acme/orders-db: created and upgraded by the agent, resized by alice, then by hand in psql.
  const orders = await withActor(t.db, { ...agent('msg-create'), reason: 'orders service needs a database' }, (tx) =>
    insertDeployment(tx, { tenant: 'acme', name: 'orders-db', config: { storage: '8Gi', replicas: 1 } }));
  ids.orders = orders.id;
  await withActor(t.db, alice, (tx) => tx`update shipslog.deployments set config = config || '{"storage": "16Gi"}' where id = ${orders.id}`);
  await withActor(t.db, agent('msg-upgrade'), (tx) => tx`update shipslog.deployments set app_version = '17' where id = ${orders.id}`);
  await t.db`update shipslog.deployments set config = config || '{"storage": "32Gi"}' where id = ${orders.id}`;
  afterOrdersDb = await now();

  // globex/web: created, removed and created again by bob: two incarnations of one name.
  const web = { tenant: 'globex', name: 'web', recipe: 'redis', app_version: '7', config: {} };
  ids.web1 = (await withActor(t.db, bob('launch'), (tx) => insertDeployment(tx, web))).id;
  await withActor(t.db, bob('decommissioned'), (tx) => tx`delete from shipslog.deployments where id = ${ids.web1!}`);
  ids.web2 = (await withActor(t.db, bob('relaunch'), (tx) => insertDeployment(tx, web))).id;
  afterWeb = await now();

  // Reconcile runs: orders-db applied once and failed once; web applied.
  const run = (deploymentId: string, name: string, tenant: string): NewRun => ({
    deploymentId, tenant, name, generation: 1, configHash: `sha256:${'a'.repeat(64)}`, target: `prod/${tenant}`,
    phase: 'Running', workerId: 'replica-1', correlationId: 'c',
  });
  await finishRun(t.db, (await insertRun(t.db, run(orders.id, 'orders-db', 'acme'))).id, { phase: 'Completed', outcome: 'Applied', changeSet: [] });
  await finishRun(t.db, (await insertRun(t.db, run(orders.id, 'orders-db', 'acme'))).id,
    { phase: 'Failed', outcome: 'Failed', failureReason: 'ApplyFailed', failureMessage: 'quota exceeded' });
  await finishRun(t.db, (await insertRun(t.db, run(ids.web2, 'web', 'globex'))).id, { phase: 'Completed', outcome: 'Applied', changeSet: [] });

  // API keys: an admin key, a tenant key, a revoked one.
  await createApiKey(t.db, { name: 'ci-bot', tenant: 'acme', scopes: ['read', 'deploy'] });
  await createApiKey(t.db, { name: 'ops-admin', tenant: null, scopes: ['admin'], actorType: 'user' });
  await revokeApiKey(t.db, (await createApiKey(t.db, { name: 'old-bot', tenant: 'globex', scopes: ['read'] })).apiKey.id);

  // Checkpoint 1; then tamper/ledger, checkpoint 2, and a superuser deletes ledger's last event.
  await takeCheckpoint(t.db, keys);
  ids.ledger = (await insertDeployment(t.db, { tenant: 'tamper', name: 'ledger' })).id;
  await t.db`update shipslog.deployments set config = config || '{"storage": "10Gi"}' where id = ${ids.ledger}`;
  await takeCheckpoint(t.db, keys);
  await t.db.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    await tx`delete from shipslog.deployment_events where deployment_id = ${ids.ledger!} and chain_index = 2`;
  });
}

beforeAll(async () => {
  psql = findPsql();
  t = await createTestDatabase();
  const password = randomBytes(16).toString('hex');
  // CREATE ROLE takes no bind parameters; the name and password are hex generated above.
  await t.db.unsafe(`create role ${auditor} login password '${password}' in role shipslog_auditor`);
  const database = new URL(t.url).pathname.slice(1);
  await t.db`grant connect on database ${t.db(database)} to ${t.db(auditor)}`;
  const u = new URL(t.url);
  u.username = auditor;
  u.password = password;
  auditorUrl = u.toString();
  const pair = generateKeyPairSync('ed25519');
  await seed(await loadSigningKey(pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, '.'));
});

afterAll(async () => {
  await t?.drop();
  // The role is cluster-wide: drop it once its database (and the CONNECT grant) is gone.
  const a = postgres(inject('adminUrl'), { max: 1, onnotice: () => {} });
  try {
    await a`drop role if exists ${a(auditor)}`;
  } finally {
    await a.end();
  }
});

/** Runs one report file as the auditor login; fails on any error or stderr output. */
async function report(file: string, vars: Record<string, string> = {}): Promise<Row[]> {
  const args = [...Object.entries(vars).flatMap(([k, v]) => ['-v', `${k}=${v}`]), '--csv', '-f', path.join(reportsDir, file)];
  const r = await runPsql(psql, auditorUrl, args);
  expect({ file, code: r.code, stderr: r.stderr }).toEqual({ file, code: 0, stderr: '' });
  return csvRecords(r.stdout);
}

const pick = (rows: Row[], ...columns: string[]) => rows.map((r) => columns.map((c) => r[c]));

/** One check per report file; a file in sql/reports/ without one fails the first test. */
const checks: Record<string, (file: string) => Promise<void>> = {
  'deployment-history.sql': async (file) => {
    const rows = await report(file, { deployment: 'acme/orders-db' });
    expect(pick(rows, 'action', 'summary', 'actor', 'actor_type', 'reason', 'correlation_id')).toEqual([
      ['config_changed', 'storage: 16Gi -> 32Gi', admin, 'database', null, null],
      ['upgraded', 'upgraded 16 -> 17', 'agent', 'service', null, 'msg-upgrade'],
      ['config_changed', 'storage: 8Gi -> 16Gi', 'alice@example.com', 'user', 'INC-42: disk full', null],
      ['created', 'created postgresql 16', 'agent', 'service', 'orders service needs a database', 'msg-create'],
    ]);
    const web = await report(file, { deployment: 'globex/web' });
    expect(pick(web, 'action', 'reason', 'deployment_id')).toEqual([
      ['created', 'relaunch', ids.web2], ['removed', 'decommissioned', ids.web1], ['created', 'launch', ids.web1],
    ]);
    expect(await report(file, { deployment: 'globex/web', limit: '1' })).toHaveLength(1);
    const usage = await runPsql(psql, auditorUrl, ['--csv', '-f', path.join(reportsDir, file)]);
    expect(usage.code).not.toBe(0);
    expect(usage.stderr).toContain('needs the deployment');
    expect(usage.stderr).toContain('-v deployment=TENANT/NAME');
  },
  'deployment-state-at.sql': async (file) => {
    const field = (rows: Row[], name: string) => rows.find((r) => r.field === name)?.value;
    const now = await report(file, { deployment: 'acme/orders-db' });
    expect(pick(now.slice(0, 1), 'tenant', 'name', 'chain_index', 'action', 'head_chain_index', 'matches_current', 'deployment_id'))
      .toEqual([['acme', 'orders-db', '4', 'config_changed', '4', 't', ids.orders]]);
    expect([field(now, 'app_version'), field(now, 'config')]).toEqual(['"17"', '{"storage": "32Gi", "replicas": 1}']);
    // One row per field, and no field holds a secret value (there is none in PostgreSQL).
    expect(now.map((r) => r.field)).toEqual([...now.map((r) => r.field!)].sort());
    const [second] = await t.db<{ at: string }[]>`
      select occurred_at::text as at from shipslog.deployment_events where deployment_id = ${ids.orders!} and chain_index = 2`;
    const then = await report(file, { deployment: ids.orders!, at: second!.at });
    expect(pick(then.slice(0, 1), 'chain_index', 'action', 'matches_current')).toEqual([['2', 'config_changed', null]]);
    expect([field(then, 'app_version'), field(then, 'config')]).toEqual(['"16"', '{"storage": "16Gi", "replicas": 1}']);
    // globex/web was removed and created again: the incarnation alive at the moment.
    const [removed] = await t.db<{ at: string }[]>`
      select occurred_at::text as at from shipslog.deployment_events where deployment_id = ${ids.web1!} and action = 'removed'`;
    expect(pick(await report(file, { deployment: 'globex/web', at: removed!.at }), 'deployment_id', 'action', 'matches_current', 'field'))
      .toEqual([[ids.web1, 'removed', 't', null]]);
    expect(pick((await report(file, { deployment: 'globex/web', at: afterWeb })).slice(0, 1), 'deployment_id', 'action'))
      .toEqual([[ids.web2, 'created']]);
    const before = await runPsql(psql, auditorUrl, ['-v', 'deployment=acme/orders-db', '-v', 'at=2001-01-01Z', '-f', path.join(reportsDir, file)]);
    expect(before.code).not.toBe(0);
    expect(before.stderr).toMatch(/deployment acme\/orders-db \(.+\) did not exist yet at 2001-01-01T00:00:00.000000Z: it was created at /);
    const usage = await runPsql(psql, auditorUrl, ['-f', path.join(reportsDir, file)]);
    expect(usage.code).not.toBe(0);
    expect(usage.stderr).toContain('-v deployment=TENANT/NAME');
  },
  'deployment-diff.sql': async (file) => {
    const columns = ['path', 'from_value', 'to_value', 'description'];
    expect(pick(await report(file, { deployment: 'acme/orders-db', from: '1', to: '4' }), ...columns)).toEqual([
      ['app_version', '"16"', '"17"', 'upgraded 16 -> 17'],
      ['config.storage', '"8Gi"', '"32Gi"', 'storage: 8Gi -> 32Gi'],
    ]);
    // Backwards, and to the last event by default.
    expect(pick(await report(file, { deployment: 'acme/orders-db', from: '4', to: '2' }), ...columns)).toEqual([
      ['app_version', '"17"', '"16"', 'downgraded 17 -> 16'],
      ['config.storage', '"32Gi"', '"16Gi"', 'storage: 32Gi -> 16Gi'],
    ]);
    expect(pick(await report(file, { deployment: 'acme/orders-db', from: '3' }), 'path', 'to_value')).toEqual([['config.storage', '"32Gi"']]);
    // To the removed event: every field goes.
    const gone = await report(file, { deployment: ids.web1!, from: '1', to: '2' });
    expect(gone.length).toBeGreaterThan(10);
    expect(gone.every((r) => r.to_value === null)).toBe(true);
    expect(pick(gone.filter((r) => r.path === 'recipe'), 'from_value')).toEqual([['"redis"']]);
    const outside = await runPsql(psql, auditorUrl, ['-v', 'deployment=acme/orders-db', '-v', 'from=9', '-f', path.join(reportsDir, file)]);
    expect(outside.code).not.toBe(0);
    expect(outside.stderr).toMatch(/has events #1 to #4: #9 is not one of them/);
    const usage = await runPsql(psql, auditorUrl, ['-v', 'deployment=acme/orders-db', '-f', path.join(reportsDir, file)]);
    expect(usage.code).not.toBe(0);
    expect(usage.stderr).toContain('needs the deployment and from');
  },
  'changes-in-window.sql': async (file) => {
    const [all] = await t.db<{ n: number }[]>`select count(*)::int as n from shipslog.deployment_events`;
    expect(await report(file)).toHaveLength(all!.n);
    const orders = await report(file, { from: start, to: afterOrdersDb });
    expect(pick(orders, 'name', 'action', 'actor')).toEqual([
      ['orders-db', 'config_changed', admin], ['orders-db', 'upgraded', 'agent'],
      ['orders-db', 'config_changed', 'alice@example.com'], ['orders-db', 'created', 'agent'],
    ]);
    expect(pick(await report(file, { actor: 'alice@example.com' }), 'name', 'summary', 'reason', 'db_role'))
      .toEqual([['orders-db', 'storage: 8Gi -> 16Gi', 'INC-42: disk full', admin]]);
    expect(pick(await report(file, { action: 'removed', tenant: 'globex' }), 'name', 'actor', 'reason'))
      .toEqual([['web', 'bob@example.com', 'decommissioned']]);
    expect(await report(file, { from: '2999-01-01' })).toEqual([]);
  },
  'changes-by-actor.sql': async (file) => {
    const rows = await report(file, { from: start, to: afterWeb });
    expect(pick(rows, 'actor', 'actor_type', 'changes', 'deployments', 'actions', 'db_users')).toEqual([
      ['bob@example.com', 'user', '3', '2', 'created removed', admin],
      ['agent', 'service', '2', '1', 'created upgraded', admin],
      ...[['alice@example.com', 'user', '1', '1', 'config_changed', admin], [admin, 'database', '1', '1', 'config_changed', admin]]
        .sort((a, b) => a[0]!.localeCompare(b[0]!)),
    ]);
  },
  'changes-outside-api.sql': async (file) => {
    const rows = await report(file, { tenant: 'acme' });
    expect(pick(rows, 'name', 'action', 'summary', 'db_user', 'application_name')).toEqual([
      ['orders-db', 'config_changed', 'storage: 16Gi -> 32Gi', admin, 'shipslog test'],
    ]);
    expect(rows[0]!.client_addr).toBe('127.0.0.1');
    // The tamper fixture's changes were made in psql too; bob's and the agent's were not.
    expect(new Set((await report(file)).map((r) => r.tenant))).toEqual(new Set(['acme', 'tamper']));
  },
  'config-changes.sql': async (file) => {
    const storage = await report(file, { path: 'config.storage', deployment: 'acme/orders-db' });
    expect(pick(storage, 'action', 'path', 'from_value', 'to_value', 'actor')).toEqual([
      ['created', 'config.storage', null, '8Gi', 'agent'],
      ['config_changed', 'config.storage', '8Gi', '16Gi', 'alice@example.com'],
      ['config_changed', 'config.storage', '16Gi', '32Gi', admin],
    ]);
    const config = await report(file, { deployment: 'acme/orders-db' });
    expect(pick(config, 'action', 'path', 'to_value')).toEqual([
      ['created', 'config', '{"storage": "8Gi", "replicas": 1}'],
      ['config_changed', 'config.storage', '16Gi'],
      ['config_changed', 'config.storage', '32Gi'],
    ]);
    const versions = await report(file, { path: 'app_version' });
    expect(pick(versions, 'name', 'action', 'from_value', 'to_value').filter((r) => r[0] === 'web')).toEqual([
      ['web', 'created', null, '7'], ['web', 'removed', '7', null], ['web', 'created', null, '7'],
    ]);
    expect(pick(versions, 'name', 'from_value', 'to_value')).toContainEqual(['orders-db', '16', '17']);
  },
  'verify-chains.sql': async (file) => {
    const rows = await report(file);
    expect(pick(rows, 'tenant', 'name', 'status', 'broken_at')).toEqual([
      ['tamper', 'ledger', 'BROKEN', '2'],
      ['acme', 'orders-db', 'intact', null],
      ['globex', 'web', 'intact', null],
      ['globex', 'web', 'intact', null],
    ]);
    expect(rows[0]!.problem).toMatch(/chain head is #2 but the chain ends at #1/);
    expect(pick(rows, 'name', 'deployment_id', 'events')).toEqual([
      ['ledger', ids.ledger, '1'],
      ['orders-db', ids.orders, '4'],
      // the two incarnations of globex/web, in deployment id order
      ...[['web', ids.web1, '2'], ['web', ids.web2, '1']].sort((a, b) => (a[1]! < b[1]! ? -1 : 1)),
    ]);
  },
  'checkpoints.sql': async (file) => {
    // Checkpoint 2 covered ledger's deleted event: its digest no longer matches; 1 did not.
    expect(pick(await report(file), 'id', 'chain_count', 'event_count', 'digest_matches')).toEqual([
      ['2', '4', '9', 'f'], ['1', '3', '7', null],
    ]);
    const both = await report(file, { recheck: '2' });
    expect(pick(both, 'id', 'digest_matches')).toEqual([['2', 'f'], ['1', 't']]);
    expect(both[0]!.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(both[0]!.created_by).toBe(admin);
  },
  'reconcile-failures.sql': async (file) => {
    expect(pick(await report(file), 'target', 'failures', 'deployments', 'last_failure_reason', 'last_failure_message'))
      .toEqual([['prod/acme', '1', '1', 'ApplyFailed', 'quota exceeded']]);
  },
  'reconcile-failed-runs.sql': async (file) => {
    const rows = await report(file);
    expect(pick(rows, 'tenant', 'name', 'generation', 'target', 'failure_reason', 'failure_message', 'worker_id', 'deployment_id'))
      .toEqual([['acme', 'orders-db', '1', 'prod/acme', 'ApplyFailed', 'quota exceeded', 'replica-1', ids.orders]]);
    expect(await report(file, { deployment: 'globex/web' })).toEqual([]);
    expect(pick(await report(file, { target: 'prod/acme' }), 'name', 'failure_reason')).toEqual([['orders-db', 'ApplyFailed']]);
    expect(await report(file, { target: 'prod/globex' })).toEqual([]);
    expect(await report(file, { from: '2999-01-01' })).toEqual([]);
    expect(Date.parse(rows[0]!.completed_at!)).toBeGreaterThanOrEqual(Date.parse(rows[0]!.started_at!));
  },
  'reconcile-success-rate.sql': async (file) => {
    expect(pick(await report(file), 'target', 'runs', 'completed', 'failed', 'skipped', 'success_percent')).toEqual([
      ['prod/acme', '2', '1', '1', '0', '50.00'],
      ['prod/globex', '1', '1', '0', '0', '100.00'],
    ]);
  },
  'agent-cost-by-deployment.sql': async (file) => {
    const rows = await report(file);
    expect(pick(rows, 'tenant', 'name', 'message_count', 'total_tokens', 'total_cost', 'deployment_id'))
      .toEqual([['acme', 'orders-db', '2', '1400', '0.2625', ids.orders]]);
    expect(await report(file, { tenant: 'globex' })).toEqual([]);
  },
  'agent-message-purges.sql': async (file) => {
    expect(pick(await report(file), 'kind', 'older_than', 'deleted_count', 'actor', 'actor_type', 'db_user'))
      .toEqual([['manual', '7 days', '1', 'agent-message-retention', 'system', admin]]);
  },
  'api-keys.sql': async (file) => {
    const rows = await report(file);
    expect(pick(rows, 'name', 'tenant', 'scopes', 'actor_type')).toEqual([
      ['ops-admin', null, 'admin', 'user'], ['ci-bot', 'acme', 'read deploy', 'service'], ['old-bot', 'globex', 'read', 'service'],
    ]);
    expect(rows.map((r) => r.revoked_at === null)).toEqual([true, true, false]);
  },
};

describe('auditors\' reports in sql/reports, run with psql as a shipslog_auditor login', () => {
  it('every report file has a check here, and every check a file', () => {
    const files = readdirSync(reportsDir).filter((f) => f.endsWith('.sql')).sort();
    expect(files.length).toBeGreaterThan(0);
    expect(Object.keys(checks).sort()).toEqual(files);
  });

  it('the login is a member of shipslog_auditor and nothing else, and cannot write', async () => {
    const [role] = await t.db<{ memberships: string[]; powerful: boolean }[]>`
      select array(select b.rolname::text from pg_auth_members as m join pg_roles as b on b.oid = m.roleid where m.member = r.oid) as memberships,
             r.rolsuper or r.rolcreaterole or r.rolcreatedb or r.rolbypassrls as powerful
      from pg_roles as r
      where r.rolname = ${auditor}`;
    expect(role).toEqual({ memberships: ['shipslog_auditor'], powerful: false });
    const write = await runPsql(psql, auditorUrl, ['-c', `update shipslog.deployments set app_version = '99'`]);
    expect(write.code).not.toBe(0);
    expect(write.stderr).toMatch(/permission denied/);
  });

  for (const [file, check] of Object.entries(checks)) {
    it(file, () => check(file));
  }
});
