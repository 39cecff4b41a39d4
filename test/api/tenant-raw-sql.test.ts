import { randomBytes } from 'node:crypto';
import type { Context } from 'hono';
import pg from 'pg';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ApiDeps, AppEnv, Principal } from '../../src/api/context.ts';
import { inTenantTx } from '../../src/api/tx.ts';
import { ensureLogin, urlFor } from '../../src/db/logins.ts';
import { recordMessage } from '../agent/support.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { insertDeployment } from '../support/fixtures.ts';

// Row-level security, not the handlers' WHERE clauses, keeps tenants apart: SQL that forgot
// the tenant filter, run inside a request's own transaction (inTenantTx) on the API's runtime
// login, sees only the caller's tenant in every table with tenant policies.
const tenantTables = [
  'deployments',
  'deployment_events',
  'agent_messages',
  'projects',
  'agent_message_daily',
  'idempotency_keys',
  'reconcile_runs',
  'reconcile_run_transitions',
  'reconcile_run_audit',
];

let t: TestDatabase;
let app: postgres.Sql;
const login = { role: 'app' as const, name: `rls_app_${randomBytes(3).toString('hex')}`, password: randomBytes(12).toString('hex') };

beforeAll(async () => {
  t = await createTestDatabase();
  const client = new pg.Client({ connectionString: t.url });
  await client.connect();
  await client.query('begin');
  expect(await ensureLogin(client, login)).toBeNull();
  await client.query('commit');
  await client.end();
  app = postgres(urlFor(t.url, login), { max: 2, onnotice: () => {} });
  for (const tenant of ['acme', 'globex']) {
    const d = await insertDeployment(t.db, { tenant, name: `${tenant}-db` });
    await recordMessage(t.db, tenant, { messageId: `msg-${tenant}`, projectId: `${tenant}-shop`, contextLayers: 1 });
    // A run that completes writes its transitions and run-audit rows (sql/reconciler/).
    const [run] = await t.db<{ id: string }[]>`
      insert into shipslog.reconcile_runs (deployment_id, tenant, name, generation, config_hash, target, phase, worker_id, correlation_id)
      values (${d.id}, ${tenant}, ${d.name}, 1, ${`sha256:${'0'.repeat(64)}`}, 'test', 'Running', 'worker-1', 'corr-1')
      returning id
    `;
    await t.db`update shipslog.reconcile_runs set phase = 'Completed', outcome = 'Applied' where id = ${run!.id}`;
    await t.db`
      insert into shipslog.idempotency_keys (api_key_id, idempotency_key, tenant, request_hash)
      values (gen_random_uuid(), 'k', ${tenant}, ${Buffer.alloc(32)})
    `;
  }
  const [counts] = await t.db<{ n: number }[]>`select count(distinct tenant)::int as n from shipslog.reconcile_run_audit`;
  expect(counts?.n).toBe(2);
});

afterAll(async () => {
  await app?.end({ timeout: 5 });
  await t?.drop();
  const admin = postgres(inject('adminUrl'), { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop role if exists ${login.name}`).finally(() => admin.end()); // a name made above
});

/** The smallest Hono context inTenantTx reads: the principal, the request id, headers. */
function requestOf(principal: Principal): Context<AppEnv> {
  const values: Record<string, unknown> = { principal, requestId: 'req-raw-sql' };
  return { get: (k: string) => values[k], req: { header: () => undefined } } as unknown as Context<AppEnv>;
}

const tenantKey = (tenant: string | null): Principal => ({
  keyId: '00000000-0000-4000-8000-000000000000',
  name: `${tenant ?? 'global'}-key`,
  tenant,
  scopes: ['read', 'deploy', 'audit'],
  actorType: 'service',
});

async function tenantsSeen(principal: Principal): Promise<Record<string, string[]>> {
  const deps = { db: app } as unknown as ApiDeps;
  return inTenantTx(requestOf(principal), deps, async (tx) => {
    const seen: Record<string, string[]> = {};
    for (const table of tenantTables) {
      // No WHERE: the forgotten filter this test is about.
      const rows = await tx<{ tenant: string }[]>`select distinct tenant from ${tx('shipslog')}.${tx(table)} order by tenant`;
      seen[table] = rows.map((r) => r.tenant);
    }
    const [who] = await tx<{ current_user: string; session_user: string }[]>`select current_user, session_user`;
    seen.who = [who!.current_user, who!.session_user];
    return seen;
  });
}

describe('tenant isolation below the handlers', () => {
  it('a tenant key sees only its tenant in every tenant table, whatever the SQL', async () => {
    const seen = await tenantsSeen(tenantKey('acme'));
    expect(seen.who).toEqual(['shipslog_app', login.name]);
    for (const table of tenantTables) {
      expect([table, seen[table]!.filter((x) => x !== 'acme')]).toEqual([table, []]);
    }
    // Each table holds both tenants' rows, so an empty result proves nothing was hidden wrongly.
    for (const table of tenantTables) expect([table, seen[table]]).toEqual([table, ['acme']]);
  });

  it('a global key sees every tenant', async () => {
    const seen = await tenantsSeen(tenantKey(null));
    for (const table of tenantTables) expect([table, seen[table]]).toEqual([table, ['acme', 'globex']]);
  });

  it('every table with tenant policies forces row-level security (binds its owner too)', async () => {
    const rows = await t.db<{ relname: string; forced: boolean }[]>`
      select c.relname, c.relforcerowsecurity as forced
      from pg_class as c join pg_namespace as n on n.oid = c.relnamespace
      where n.nspname = 'shipslog' and c.relrowsecurity and not c.relispartition
      order by 1
    `;
    expect(rows.filter((r) => !r.forced)).toEqual([]);
    expect(rows.map((r) => r.relname)).toEqual(expect.arrayContaining(tenantTables));
  });
});

describe('read-only requests (inTenantTx readOnly)', () => {
  const deps = () => ({ db: app, log: { warn: () => {} } }) as unknown as ApiDeps;

  it('answers with the reads, refuses any write in them (25006) and changes nothing', async () => {
    const before = await t.db`select count(*)::int as n from shipslog.deployments`;
    const names = await inTenantTx(requestOf(tenantKey('acme')), deps(), async (tx) =>
      (await tx<{ name: string }[]>`select name from shipslog.deployments order by name`).map((r) => r.name), { readOnly: true });
    expect(names).toEqual(['acme-db']);
    const write = inTenantTx(requestOf(tenantKey('acme')), deps(), (tx) =>
      tx`update shipslog.deployments set health = 'Degraded' where name = 'acme-db'`, { readOnly: true });
    await expect(write).rejects.toMatchObject({ code: '25006' });
    expect(await t.db`select count(*)::int as n from shipslog.deployments`).toEqual(before);
    const [row] = await t.db<{ health: string | null }[]>`select health from shipslog.deployments where name = 'acme-db'`;
    expect(row!.health).not.toBe('Degraded');
  });

  it('gives every connection back: more read-only requests than the pool holds, then a write', async () => {
    // The pool has 2 connections: had an answered request kept its connection (no COMMIT), the
    // last reads and the write would wait for ever.
    const reads = await Promise.all(Array.from({ length: 6 }, () =>
      inTenantTx(requestOf(tenantKey('globex')), deps(), async (tx) => (await tx`select 1 as one`).length, { readOnly: true })));
    expect(reads).toEqual([1, 1, 1, 1, 1, 1]);
    await inTenantTx(requestOf(tenantKey('globex')), deps(), (tx) => tx`update shipslog.deployments set health = 'Healthy' where name = 'globex-db'`);
  });
});
