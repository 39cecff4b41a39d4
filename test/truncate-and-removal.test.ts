import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyChains } from '../src/audit/verify.ts';
import { migrate } from '../src/db/migrate.ts';
import { finishRun, insertRun } from '../src/db/runs.ts';
import { asRole, recordMessage } from './agent/support.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { eventsOf, insertDeployment } from './support/fixtures.ts';

// Issue 8, item 3: no deployment disappears unrecorded. TRUNCATE (which fires no row trigger)
// is refused on every table whose rows are audit records, and every DELETE, however it is
// written and whoever runs it, writes the deployment's `removed` event.

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
  // A row or more in every audited table, so that a TRUNCATE that got through would show.
  const d = await insertDeployment(t.db, { name: 'kept' });
  const run = await insertRun(t.db, {
    deploymentId: d.id, tenant: 'acme', name: 'kept', generation: 1, configHash: `sha256:${'a'.repeat(64)}`,
    target: 'test/acme', phase: 'Running', workerId: 'w1', correlationId: 'c1',
  });
  await finishRun(t.db, run.id, { phase: 'Completed', outcome: 'Applied', changeSet: [] });
  await recordMessage(t.db, 'acme', { messageId: 'kept-msg', projectId: 'kept-project' });
  await t.db`select * from shipslog.purge_agent_messages(interval '7 days')`;
  await t.db`
    select c.id
    from (select pg_current_snapshot() as snapshot) as s
    cross join lateral shipslog.chain_digest(s.snapshot) as d
    cross join lateral shipslog.record_checkpoint(s.snapshot, d.digest, 'test-key', decode(repeat('00', 64), 'hex')) as c`;
});
afterAll(async () => {
  await t?.drop();
});

// The audited tables. A plain TRUNCATE of a table that another table references fails
// PostgreSQL's own foreign-key check (0A000) before any TRUNCATE trigger fires; with CASCADE
// (or the referencing table listed too) it reaches the trigger.
const audited: { table: string; referencedBy?: string }[] = [
  { table: 'deployments', referencedBy: 'reconcile_queue' },
  { table: 'deployment_events' },
  { table: 'audit_checkpoints' },
  { table: 'audit_checkpoint_heads' },
  { table: 'agent_messages' },
  { table: 'projects', referencedBy: 'agent_messages' },
  { table: 'agent_message_retention_runs' },
  { table: 'agent_message_daily' },
  { table: 'reconcile_runs' },
  { table: 'reconcile_run_transitions', referencedBy: 'reconcile_run_audit' },
  { table: 'reconcile_run_audit' },
  // Compliance records (sql/compliance/90_access.sql): the policy trail, requests, decisions, gate results.
  { table: 'approval_policy_changes' },
  { table: 'approval_requests', referencedBy: 'approval_decisions' },
  { table: 'approval_decisions' },
  { table: 'gate_results' },
  // Audit retention (sql/audit/85_retention.sql): the settings (changed by UPDATE, each change
  // recorded), their change log, the anchors of purged chains, the purge records.
  { table: 'audit_retention' },
  { table: 'audit_retention_changes' },
  { table: 'audit_chain_anchors' },
  { table: 'audit_purges' },
];
// Tables of the schema whose rows are not audit records: TRUNCATE stays the owner's tool.
// approval_policies holds the current policies; their history is approval_policy_changes.
const notAudited = ['api_keys', 'approval_policies', 'idempotency_keys', 'reconcile_queue', 'schema_definitions'];
const roles = ['shipslog_app', 'shipslog_reconciler', 'shipslog_auditor'] as const;

/** The partitions of the partitioned audited tables: reconcile runs and deployment events. */
async function partitions(): Promise<string[]> {
  const rows = await t.db<{ name: string }[]>`
    select c.relname as name
    from (
      select * from pg_partition_tree('shipslog.reconcile_runs')
      union all
      select * from pg_partition_tree('shipslog.deployment_events')
    ) as p
    join pg_class as c on c.oid = p.relid
    where p.parentrelid is not null
    order by 1`;
  return rows.map((r) => r.name);
}

async function rowCounts(tables: string[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of tables) {
    const [r] = await t.db<{ n: number }[]>`select count(*)::int as n from ${t.db(`shipslog.${table}`)}`;
    counts[table] = r!.n;
  }
  return counts;
}

/** What the owner (a superuser here) gets for TRUNCATE of this table: SL005, a message and a hint naming it. */
function refusedFor(table: string) {
  const named = table.startsWith('reconcile_runs')
    ? 'shipslog.reconcile_runs'
    : table.startsWith('deployment_events')
      ? 'shipslog.deployment_events'
      : `shipslog.${table}`;
  return { code: 'SL005', message: `shipslog.${table} cannot be truncated`, hint: expect.stringContaining(named) };
}

describe('TRUNCATE of an audited table', () => {
  it('every table of the schema is either guarded or deliberately left out', async () => {
    const rows = await t.db<{ name: string; guarded: boolean }[]>`
      select c.relname as name,
             exists (
               select
               from pg_trigger as g
               where g.tgrelid = c.oid
                 and (g.tgtype & 32) = 32 -- TRUNCATE
                 and (g.tgtype & 2) = 2 -- BEFORE
                 and g.tgfoid = 'shipslog.tg_audit_records__no_truncate()'::regprocedure
                 and g.tgenabled <> 'D'
             ) as guarded
      from pg_class as c
      where c.relnamespace = 'shipslog'::regnamespace
        and c.relkind in ('r', 'p')
      order by 1`;
    const parts = await partitions();
    expect(parts).toContain('reconcile_runs_default');
    expect(parts).toContain('deployment_events_default');
    expect(parts.length).toBeGreaterThan(1); // and the monthly ones migrate created
    expect(rows.filter((r) => r.guarded).map((r) => r.name).sort()).toEqual([...audited.map((a) => a.table), ...parts].sort());
    expect(rows.filter((r) => !r.guarded).map((r) => r.name)).toEqual(notAudited);
  });

  it('is refused for the owner, a superuser, with SL005 and a hint naming the table, also with CASCADE, and removes nothing', async () => {
    const tables = [...audited.map((a) => a.table), ...(await partitions())];
    const before = await rowCounts(tables);
    expect(before.deployments).toBeGreaterThan(0);
    for (const table of tables) {
      const referencedBy = audited.find((a) => a.table === table)?.referencedBy;
      const plain = t.db`truncate ${t.db(`shipslog.${table}`)}`;
      if (referencedBy) {
        await expect(plain, table).rejects.toMatchObject({ code: '0A000', hint: expect.stringContaining(referencedBy) });
        const both = t.db`truncate ${t.db(`shipslog.${table}`)}, ${t.db(`shipslog.${referencedBy}`)}`;
        await expect(both, table).rejects.toMatchObject({ code: 'SL005' });
      } else {
        await expect(plain, table).rejects.toMatchObject(refusedFor(table));
      }
      await expect(t.db`truncate ${t.db(`shipslog.${table}`)} cascade`, table).rejects.toMatchObject(refusedFor(table));
      await expect(t.db`truncate ${t.db(`shipslog.${table}`)} restart identity cascade`, table).rejects.toMatchObject({ code: 'SL005' });
    }
    expect(await rowCounts(tables)).toEqual(before);
  });

  it('TRUNCATE of several tables at once, and of a non-audited table that cascades into one, is refused', async () => {
    await expect(t.db`truncate shipslog.reconcile_queue, shipslog.deployments`).rejects.toMatchObject(refusedFor('deployments'));
    await expect(t.db`truncate shipslog.reconcile_queue, shipslog.deployment_events`).rejects.toMatchObject(refusedFor('deployment_events'));
    const [q] = await t.db<{ n: number }[]>`select count(*)::int as n from shipslog.reconcile_queue`;
    expect(q!.n).toBeGreaterThan(0); // the whole statement was refused, the queue included
  });

  for (const role of roles) {
    it(`is refused for ${role}, which holds no TRUNCATE privilege (42501)`, async () => {
      const tables = [...audited.map((a) => a.table), ...(await partitions())];
      const before = await rowCounts(tables);
      for (const table of tables) {
        for (const cascade of [false, true]) {
          const statement = asRole(t.db, role, { tenant: 'acme' }, (tx) =>
            cascade ? tx`truncate ${tx(`shipslog.${table}`)} cascade` : tx`truncate ${tx(`shipslog.${table}`)}`,
          );
          await expect(statement, `${table}${cascade ? ' cascade' : ''}`).rejects.toMatchObject({ code: '42501' });
        }
      }
      expect(await rowCounts(tables)).toEqual(before);
    });
  }

  it('guards the partitions that ensure_reconcile_run_partitions creates later, called by the reconciler', async () => {
    const before = await partitions();
    const [r] = await asRole(t.db, 'shipslog_reconciler', {}, (tx) => tx<{ n: number }[]>`select shipslog.ensure_reconcile_run_partitions(15) as n`);
    const created = (await partitions()).filter((p) => !before.includes(p));
    expect(created.length).toBe(r!.n);
    expect(created.length).toBeGreaterThan(0);
    for (const table of created) {
      await expect(t.db`truncate ${t.db(`shipslog.${table}`)}`, table).rejects.toMatchObject(refusedFor(table));
      await expect(asRole(t.db, 'shipslog_reconciler', {}, (tx) => tx`truncate ${tx(`shipslog.${table}`)}`)).rejects.toMatchObject({ code: '42501' });
    }
  });

  it('migrate guards partitions that exist without the guard (made before it, or by hand)', async () => {
    await t.db`
      create table shipslog.reconcile_runs_y2099m01
      partition of shipslog.reconcile_runs
      for values from ('2099-01-01 00:00:00+00') to ('2099-02-01 00:00:00+00')`;
    await t.db`truncate shipslog.reconcile_runs_y2099m01`; // the hole this closes
    await migrate(t.url);
    await expect(t.db`truncate shipslog.reconcile_runs_y2099m01`).rejects.toMatchObject(refusedFor('reconcile_runs_y2099m01'));
    await expect(t.db`select shipslog.guard_reconcile_run_partition('shipslog.deployments')`).rejects.toMatchObject({ code: '22023' });
  });

  it('only a bypass of triggers gets through, and verification reports every deployment it removed', async () => {
    const findings = await t.db
      .begin(async (tx) => {
        await tx`set local session_replication_role = replica`;
        await tx`truncate shipslog.deployments cascade`;
        const found = await tx<{ problem: string }[]>`select problem from shipslog.verify_chains()`;
        throw Object.assign(new Error('roll back'), { found });
      })
      .catch((err: { found?: { problem: string }[] }) => err.found);
    expect(findings?.length).toBeGreaterThan(0);
    for (const f of findings ?? []) expect(f.problem).toMatch(/but the deployment row is gone/);
  });
});

describe('every DELETE of a deployment writes its removed event', () => {
  /** Each id: row gone, exactly one `removed` event at the end of its chain, and the chain verifies. */
  async function expectRemoved(ids: string[]) {
    expect(ids.length).toBeGreaterThan(0);
    const left = await t.db`select id from shipslog.deployments where id = any(${ids}::uuid[])`;
    expect(left).toHaveLength(0);
    for (const id of ids) {
      const events = await eventsOf(t.db, id);
      expect(events.map((e) => e.action).filter((a) => a === 'removed')).toEqual(['removed']);
      expect(events.at(-1)?.action).toBe('removed');
      expect(events.at(-1)?.new_state).toBeNull();
      expect(await verifyChains(t.db, id)).toEqual([]);
    }
  }

  async function deployments(tenant: string, n: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) ids.push((await insertDeployment(t.db, { tenant, name: `app-${i}` })).id);
    return ids;
  }

  it('a single DELETE by id', async () => {
    const [id] = await deployments('single', 1);
    const r = await t.db`delete from shipslog.deployments where id = ${id!}`;
    expect(r.count).toBe(1);
    await expectRemoved([id!]);
    expect((await eventsOf(t.db, id!)).at(-1)?.previous_state).toMatchObject({ name: 'app-0', tenant: 'single' });
  });

  it('a bulk DELETE: one event per row, none for rows it leaves', async () => {
    const ids = await deployments('bulk', 4);
    const [other] = await deployments('bulk-other', 1);
    const r = await t.db`delete from shipslog.deployments where tenant = 'bulk'`;
    expect(r.count).toBe(4);
    await expectRemoved(ids);
    expect((await eventsOf(t.db, other!)).map((e) => e.action)).toEqual(['created']);
  });

  it('DELETE ... USING', async () => {
    const ids = await deployments('using', 3);
    const r = await t.db`
      delete from shipslog.deployments as d
      using (values ('app-0'), ('app-2')) as v(name)
      where d.tenant = 'using'
        and d.name = v.name`;
    expect(r.count).toBe(2);
    await expectRemoved([ids[0]!, ids[2]!]);
    expect((await eventsOf(t.db, ids[1]!)).map((e) => e.action)).toEqual(['created']);
  });

  it('DELETE in a CTE with RETURNING', async () => {
    const ids = await deployments('cte', 3);
    const gone = await t.db<{ id: string }[]>`
      with gone as (
        delete from shipslog.deployments
        where tenant = 'cte'
        returning id
      )
      select id from gone order by id`;
    expect(gone.map((g) => g.id)).toEqual([...ids].sort());
    await expectRemoved(ids);
  });

  it('MERGE ... WHEN MATCHED THEN DELETE (PostgreSQL 15+)', async (ctx) => {
    const [v] = await t.db<{ n: number }[]>`select current_setting('server_version_num')::int as n`;
    if (v!.n < 150000) ctx.skip(); // MERGE exists from PostgreSQL 15 on
    const ids = await deployments('merge', 3);
    const r = await t.db`
      merge into shipslog.deployments as d
      using (values ('app-0'), ('app-1'), ('absent')) as v(name)
      on d.tenant = 'merge' and d.name = v.name
      when matched then
        delete
      when not matched then
        do nothing`;
    expect(r.count).toBe(2);
    await expectRemoved([ids[0]!, ids[1]!]);
    expect((await eventsOf(t.db, ids[2]!)).map((e) => e.action)).toEqual(['created']);
  });

  it('DELETE as shipslog_app: row-level security limits it to the tenant, every removal recorded as the app', async () => {
    const mine = await deployments('rls-mine', 3);
    const theirs = await deployments('rls-theirs', 2);
    // No WHERE clause at all: the tenant policy is the only filter.
    const count = await asRole(t.db, 'shipslog_app', { tenant: 'rls-mine', actor: 'alice', actorType: 'user' }, async (tx) =>
      (await tx`delete from shipslog.deployments`).count,
    );
    expect(count).toBe(3);
    await expectRemoved(mine);
    for (const id of mine) {
      expect((await eventsOf(t.db, id)).at(-1)).toMatchObject({ action: 'removed', actor: 'alice', db_role: 'shipslog_app' });
    }
    for (const id of theirs) expect((await eventsOf(t.db, id)).map((e) => e.action)).toEqual(['created']);
  });

  it('DELETE as shipslog_reconciler (and its queue row cascades)', async () => {
    const ids = await deployments('reconciled', 2);
    const queued = () => t.db`select deployment_id from shipslog.reconcile_queue where deployment_id = any(${ids}::uuid[])`;
    expect(await queued()).toHaveLength(2);
    const count = await asRole(t.db, 'shipslog_reconciler', { actor: 'reconciler', actorType: 'system' }, async (tx) =>
      (await tx`delete from shipslog.deployments where tenant = 'reconciled'`).count,
    );
    expect(count).toBe(2);
    await expectRemoved(ids);
    for (const id of ids) {
      expect((await eventsOf(t.db, id)).at(-1)).toMatchObject({ action: 'removed', actor_type: 'system', db_role: 'shipslog_reconciler' });
    }
    expect(await queued()).toHaveLength(0);
  });

  it('a DELETE whose reconcile_queue row cascades, chosen through the queue (DELETE ... USING the queue)', async () => {
    const ids = await deployments('queued', 3);
    await t.db`update shipslog.reconcile_queue set failures = 5 where deployment_id = any(${ids.slice(0, 2)}::uuid[])`;
    const r = await t.db`
      delete from shipslog.deployments as d
      using shipslog.reconcile_queue as q
      where q.deployment_id = d.id
        and q.failures >= 5
        and d.tenant = 'queued'`;
    expect(r.count).toBe(2);
    await expectRemoved(ids.slice(0, 2));
    const left = await t.db<{ id: string }[]>`select deployment_id as id from shipslog.reconcile_queue where deployment_id = any(${ids}::uuid[])`;
    expect(left.map((q) => q.id)).toEqual([ids[2]]);
  });

  it('DELETE ... WHERE CURRENT OF a cursor', async () => {
    const ids = await deployments('cursor', 2);
    await t.db.begin(async (tx) => {
      await tx`declare doomed cursor for select id from shipslog.deployments where tenant = 'cursor' order by name for update`;
      await tx`fetch next from doomed`;
      await tx`delete from shipslog.deployments where current of doomed`;
    });
    await expectRemoved([ids[0]!]);
    expect((await eventsOf(t.db, ids[1]!)).map((e) => e.action)).toEqual(['created']);
  });

  it('a DELETE is recorded as removed even when shipslog.action names another action for the transaction', async () => {
    const [rolledBack, removed] = await deployments('mixed', 2);
    await asRole(t.db, null, { tenant: 'mixed', action: 'rolled_back', reason: 'tidy up' }, async (tx) => {
      await tx`update shipslog.deployments set app_version = '15' where id = ${rolledBack!}`;
      await tx`delete from shipslog.deployments where id = ${removed!}`;
    });
    expect((await eventsOf(t.db, rolledBack!)).at(-1)?.action).toBe('rolled_back');
    await expectRemoved([removed!]);
    expect((await eventsOf(t.db, removed!)).at(-1)?.reason).toBe('tidy up');
  });

  it('a DELETE rolled back leaves the row and no event: the event is part of the same transaction', async () => {
    const [id] = await deployments('rolled-back', 1);
    await t.db
      .begin(async (tx) => {
        await tx`delete from shipslog.deployments where id = ${id!}`;
        throw new Error('roll back');
      })
      .catch(() => {});
    expect((await eventsOf(t.db, id!)).map((e) => e.action)).toEqual(['created']);
    expect(await verifyChains(t.db, id!)).toEqual([]);
  });
});
