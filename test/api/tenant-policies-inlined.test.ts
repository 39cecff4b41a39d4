import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

// Every tenant policy calls shipslog.tenant_visible() (sql/api/10_tenant_visible.sql), and the
// planner must inline it: as a function call it costs each row the API reads 1-3 us instead of
// ~0.1 us (a count of 100,000 events: 137 ms against 22 ms). Inlining stops silently if the
// function gains a SET clause, SECURITY DEFINER, or a body that is not a single expression, so
// this reads the plans.

let t: TestDatabase;

beforeAll(async () => {
  t = await createTestDatabase();
});

afterAll(async () => {
  await t?.drop();
});

interface TenantPolicy {
  table: string;
  policy: string;
}

async function tenantPolicies(): Promise<TenantPolicy[]> {
  return t.db<TenantPolicy[]>`
    select c.relname as table, p.polname as policy
    from pg_catalog.pg_policy as p
      join pg_catalog.pg_class as c on c.oid = p.polrelid
    where c.relnamespace = 'shipslog'::regnamespace
      and 'shipslog_app'::regrole = any (p.polroles)
      and p.polcmd in ('r', '*')
      and pg_catalog.pg_get_expr(p.polqual, p.polrelid) like '%tenant_visible(%'
      and pg_catalog.has_table_privilege('shipslog_app', c.oid, 'SELECT')
    order by 1, 2`;
}

async function planAsApp(table: string): Promise<string> {
  return t.db.begin(async (tx) => {
    await tx`set local role shipslog_app`;
    await tx`select set_config('shipslog.tenant', 'acme', true)`;
    // The name comes from pg_policies; every table name of the schema is a plain identifier.
    const rows = await tx.unsafe<{ 'QUERY PLAN': string }[]>(`explain (verbose, costs off) select * from shipslog."${table}"`);
    return rows.map((r) => r['QUERY PLAN']).join('\n');
  }) as Promise<string>;
}

describe('tenant policies', () => {
  it('cover the tables the API reads per tenant', async () => {
    const tables = new Set((await tenantPolicies()).map((p) => p.table));
    for (const table of ['deployments', 'deployment_events', 'reconcile_runs', 'agent_messages', 'projects', 'approval_requests']) {
      expect([table, tables.has(table)]).toEqual([table, true]);
    }
  });

  it('have shipslog.tenant_visible() inlined into the plan, not called per row', async () => {
    const policies = await tenantPolicies();
    expect(policies.length).toBeGreaterThan(5);
    for (const { table } of policies) {
      const plan = await planAsApp(table);
      expect([table, plan]).toEqual([table, expect.stringContaining("current_setting('shipslog.tenant'::text, true)")]);
      expect([table, plan]).toEqual([table, expect.not.stringContaining('tenant_visible(')]);
    }
  });

  it('are called per row when the function cannot be inlined (the check above can fail)', async () => {
    await t.db.begin(async (tx) => {
      await tx`alter function shipslog.tenant_visible(text) set search_path = ''`;
      await tx`set local role shipslog_app`;
      await tx`select set_config('shipslog.tenant', 'acme', true)`;
      const rows = await tx<{ 'QUERY PLAN': string }[]>`explain (verbose, costs off) select * from shipslog.deployment_events`;
      expect(rows.map((r) => r['QUERY PLAN']).join('\n')).toContain('tenant_visible(');
      throw new Error('rollback');
    }).catch((err: unknown) => {
      if (!(err instanceof Error) || err.message !== 'rollback') throw err;
    });
  });
});
