import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tx } from '../src/db/client.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { insertDeployment } from './support/fixtures.ts';

let t: TestDatabase;
let deploymentId: string;
beforeAll(async () => {
  t = await createTestDatabase();
  deploymentId = (await insertDeployment(t.db, { name: 'guarded' })).id;
  await t.db`update shipslog.deployments set app_version = '17' where id = ${deploymentId}`;
});
afterAll(async () => {
  await t?.drop();
});

// null = the owner of the schema (the superuser that ran the migrations).
const roles = ['shipslog_app', 'shipslog_reconciler', 'shipslog_auditor', null] as const;

async function as<T>(role: string | null, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return t.db.begin(async (tx) => {
    if (role) await tx.unsafe(`set local role ${role}`); // role names come from the fixed list above
    await tx`select set_config('shipslog.tenant', 'acme', true)`; // row-level security scope for shipslog_app
    return fn(tx);
  }) as Promise<T>;
}

async function eventCount(): Promise<number> {
  const [r] = await t.db<{ n: number }[]>`select count(*)::int as n from shipslog.deployment_events`;
  return r!.n;
}

describe('deployment_events is append-only for every role', () => {
  for (const role of roles) {
    const who = role ?? 'the table owner';
    const refused = role ? { code: expect.stringMatching(/^(42501|SL001)$/) } : { code: 'SL001' };

    it(`refuses UPDATE by ${who}`, async () => {
      await expect(as(role, (tx) => tx`update shipslog.deployment_events set reason = 'edited'`)).rejects.toMatchObject(refused);
    });

    it(`refuses DELETE by ${who}`, async () => {
      await expect(as(role, (tx) => tx`delete from shipslog.deployment_events`)).rejects.toMatchObject(refused);
    });

    it(`refuses TRUNCATE by ${who}`, async () => {
      // TRUNCATE has its own SQLSTATE on every audited table (test/truncate-and-removal.test.ts).
      await expect(as(role, (tx) => tx`truncate shipslog.deployment_events`)).rejects.toMatchObject({ code: role ? '42501' : 'SL005' });
    });

    it(`refuses a forged INSERT by ${who}`, async () => {
      const before = await eventCount();
      await expect(
        as(role, (tx) => tx`
          insert into shipslog.deployment_events
            (deployment_id, chain_index, tenant, name, action, occurred_at, txid, actor, actor_type,
             db_role, db_user, hash)
          select deployment_id, chain_index + 100, tenant, name, 'config_changed', now(), txid, 'mallory', 'user',
                 db_role, db_user, hash
          from shipslog.deployment_events
          limit 1
        `),
      ).rejects.toMatchObject(role ? { code: expect.stringMatching(/^(42501|SL002)$/) } : { code: 'SL002' });
      expect(await eventCount()).toBe(before);
    });
  }

  it('explains the refusal with a message and a hint', async () => {
    const err = await as(null, (tx) => tx`delete from shipslog.deployment_events`).catch((e: unknown) => e);
    expect(err).toMatchObject({
      message: 'shipslog.deployment_events is append-only: DELETE refused',
      hint: expect.stringContaining('correcting change'),
    });
  });

  it('privileges: no role holds INSERT, UPDATE, DELETE or TRUNCATE on events; the auditor holds SELECT only', async () => {
    const rows = await t.db<{ role: string; privilege: string; granted: boolean }[]>`
      select r.role, p.privilege,
             has_table_privilege(r.role, 'shipslog.deployment_events', p.privilege) as granted
      from unnest(array['shipslog_app', 'shipslog_reconciler', 'shipslog_auditor']) as r(role)
      cross join unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) as p(privilege)
    `;
    for (const r of rows) expect(`${r.role} ${r.privilege} ${r.granted}`).toBe(`${r.role} ${r.privilege} ${r.privilege === 'SELECT'}`);
    const [auditorWrites] = await t.db<{ any: boolean }[]>`
      select bool_or(has_table_privilege('shipslog_auditor', 'shipslog.deployments', p)) as any
      from unnest(array['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) as p`;
    expect(auditorWrites?.any).toBe(false);
  });

  it('no function in schema shipslog is executable by PUBLIC, and no table is readable by it', async () => {
    const functions = await t.db<{ name: string }[]>`
      select p.oid::regprocedure::text as name
      from pg_proc as p
      where p.pronamespace = 'shipslog'::regnamespace
        and (p.proacl is null
             or exists (select from aclexplode(p.proacl) as a where a.grantee = 0 and a.privilege_type = 'EXECUTE'))
      order by 1`;
    expect(functions.map((f) => f.name)).toEqual([]);
    const tables = await t.db<{ name: string }[]>`
      select c.oid::regclass::text as name
      from pg_class as c
      where c.relnamespace = 'shipslog'::regnamespace
        and c.relkind in ('r', 'p', 'v', 'm')
        and exists (select from aclexplode(c.relacl) as a where a.grantee = 0)
      order by 1`;
    expect(tables.map((r) => r.name)).toEqual([]);
  });

  it('the auditor can read both tables but change nothing', async () => {
    const rows = await as('shipslog_auditor', (tx) => tx`select count(*)::int as n from shipslog.deployment_events`);
    expect(rows[0]?.n).toBeGreaterThan(0);
    await expect(as('shipslog_auditor', (tx) => tx`update shipslog.deployments set app_version = '18'`)).rejects.toMatchObject({ code: '42501' });
  });

  it('the app and reconciler roles write deployments and so (only) through the trigger, events', async () => {
    const before = await eventCount();
    await as('shipslog_app', (tx) => tx`update shipslog.deployments set config = config || '{"replicas": 2}' where id = ${deploymentId}`);
    await as('shipslog_reconciler', (tx) => tx`update shipslog.deployments set health = 'Healthy' where id = ${deploymentId}`);
    expect(await eventCount()).toBe(before + 2);
  });
});
