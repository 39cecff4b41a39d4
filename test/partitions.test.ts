import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureEventPartitions } from '../src/audit/retention.ts';
import { createAuditRetentionJob } from '../src/audit/retention-job.ts';
import { createLog } from '../src/log.ts';
import { verifyChains } from '../src/audit/verify.ts';
import { migrate } from '../src/db/migrate.ts';
import { asRole } from './agent/support.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { insertDeployment } from './support/fixtures.ts';

// Issue 12, item 1: shipslog.deployment_events partitioned by month (migration 0035), the
// partitions made ahead by migrate and by serve's daily job, each carrying the chain key and
// the guards, and the default partition empty in normal operation.

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

async function partitions(): Promise<{ name: string; bound: string }[]> {
  return t.db<{ name: string; bound: string }[]>`
    select c.relname as name, pg_get_expr(c.relpartbound, c.oid) as bound
    from pg_partition_tree('shipslog.deployment_events') as p
      join pg_class as c on c.oid = p.relid
    where p.parentrelid is not null
    order by c.relname`;
}

const monthName = (offset: number) => {
  const d = new Date();
  const m = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + offset, 1));
  return `deployment_events_y${m.getUTCFullYear()}m${String(m.getUTCMonth() + 1).padStart(2, '0')}`;
};

describe('deployment_events partitioned by month', () => {
  it('is partitioned by range of occurred_at, with this month and the next three made by migrate, and a default', async () => {
    const [k] = await t.db<{ key: string }[]>`select pg_get_partkeydef('shipslog.deployment_events'::regclass) as key`;
    expect(k!.key).toBe('RANGE (occurred_at)');
    const names = (await partitions()).map((p) => p.name);
    expect(names).toContain('deployment_events_default');
    for (const offset of [0, 1, 2, 3]) expect(names).toContain(monthName(offset));
  });

  it('keeps the default partition empty in normal operation, and events in their month', async () => {
    const d = await insertDeployment(t.db, { tenant: 'parts', name: 'normal' });
    await t.db`update shipslog.deployments set config = config || '{"storage": "9Gi"}' where id = ${d.id}`;
    await t.db`delete from shipslog.deployments where id = ${d.id}`;
    const [dflt] = await t.db<{ n: number }[]>`select count(*)::int as n from shipslog.deployment_events_default`;
    expect(dflt!.n).toBe(0);
    const rows = await t.db<{ part: string }[]>`
      select tableoid::regclass::text as part from shipslog.deployment_events where deployment_id = ${d.id}`;
    expect(rows.map((r) => r.part)).toEqual(Array(3).fill(`shipslog.${monthName(0)}`));
    expect(await verifyChains(t.db, d.id)).toEqual([]);
  });

  it('keeps the identity: seq is generated, always, and goes on increasing', async () => {
    const a = await insertDeployment(t.db, { tenant: 'parts', name: 'seq-a' });
    const b = await insertDeployment(t.db, { tenant: 'parts', name: 'seq-b' });
    const rows = await t.db<{ seq: string }[]>`
      select seq from shipslog.deployment_events where deployment_id in (${a.id}, ${b.id}) order by seq`;
    expect(BigInt(rows[1]!.seq)).toBeGreaterThan(BigInt(rows[0]!.seq));
    const [id] = await t.db<{ identity: string }[]>`
      select attidentity as identity from pg_attribute
      where attrelid = 'shipslog.deployment_events'::regclass and attname = 'seq'`;
    expect(id!.identity).toBe('a');
  });

  it('every partition has the unique chain key, so a repeated chain index is refused by the database', async () => {
    const parts = await partitions();
    const keyed = await t.db<{ part: string }[]>`
      select c.relname as part
      from pg_index as i
        join pg_class as c on c.oid = i.indrelid
        join pg_class as x on x.oid = i.indexrelid
      where i.indisunique
        and x.relname = c.relname || '_chain_key'
        and pg_get_indexdef(i.indexrelid) like '%(deployment_id, chain_index)'`;
    expect(keyed.map((k) => k.part).sort()).toEqual(parts.map((p) => p.name).sort());
    const d = await insertDeployment(t.db, { tenant: 'parts', name: 'dup' });
    // A superuser copying an event (triggers bypassed) hits the index.
    const copy = t.db.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`insert into shipslog.deployment_events overriding system value
               select * from shipslog.deployment_events where deployment_id = ${d.id}`;
    });
    await expect(copy).rejects.toMatchObject({ code: '23505' });
  });

  it('refuses UPDATE, DELETE and TRUNCATE on a partition named directly, for the owner too', async () => {
    const part = `shipslog.${monthName(0)}`;
    await expect(t.db`update ${t.db(part)} set actor = 'x'`).rejects.toMatchObject({ code: 'SL001' });
    await expect(t.db`delete from ${t.db(part)}`).rejects.toMatchObject({ code: 'SL001' });
    await expect(t.db`truncate ${t.db(part)}`).rejects.toMatchObject({ code: 'SL005' });
    await expect(t.db`insert into ${t.db(part)} overriding system value select * from ${t.db(part)} limit 1`).rejects.toMatchObject({ code: 'SL002' });
    for (const role of ['shipslog_app', 'shipslog_reconciler', 'shipslog_auditor'] as const) {
      await expect(asRole(t.db, role, { tenant: '*' }, (tx) => tx`select * from ${tx(part)} limit 1`)).rejects.toMatchObject({ code: '42501' });
    }
  });

  it('serve\'s daily job (the reconciler\'s login) makes partitions ahead, each guarded at once', async () => {
    const before = (await partitions()).map((p) => p.name);
    const n = await asRole(t.db, 'shipslog_reconciler', {}, async (tx) => {
      const [r] = await tx<{ n: number }[]>`select shipslog.ensure_deployment_event_partitions(14) as n`;
      return r!.n;
    });
    const created = (await partitions()).map((p) => p.name).filter((p) => !before.includes(p));
    expect(created).toHaveLength(n);
    expect(created).toContain(monthName(14));
    for (const part of created) {
      await expect(t.db`truncate ${t.db(`shipslog.${part}`)}`).rejects.toMatchObject({ code: 'SL005' });
    }
    expect(await ensureEventPartitions(t.db, 14)).toBe(0); // idempotent
  });

  it('migrate guards a partition made by hand, and the guard refuses a table that is not a partition', async () => {
    await t.db`
      create table shipslog.deployment_events_y2099m01
      partition of shipslog.deployment_events
      for values from ('2099-01-01 00:00:00+00') to ('2099-02-01 00:00:00+00')`;
    await t.db`truncate shipslog.deployment_events_y2099m01`; // the hole migrate closes
    await migrate(t.url);
    await expect(t.db`truncate shipslog.deployment_events_y2099m01`).rejects.toMatchObject({ code: 'SL005' });
    const [idx] = await t.db<{ n: number }[]>`
      select count(*)::int as n from pg_indexes where indexname = 'deployment_events_y2099m01_chain_key'`;
    expect(idx!.n).toBe(1);
    await expect(t.db`select shipslog.guard_deployment_event_partition('shipslog.deployments')`).rejects.toMatchObject({ code: '22023' });
  });

  it('the reads keep their indexes on every partition', async () => {
    const rows = await t.db<{ name: string }[]>`
      select c.relname as name
      from pg_index as i
        join pg_class as c on c.oid = i.indexrelid
      where i.indrelid = 'shipslog.deployment_events'::regclass
      order by 1`;
    expect(rows.map((r) => r.name)).toEqual([
      'deployment_events_action_idx',
      'deployment_events_actor_idx',
      'deployment_events_correlation_id_idx',
      'deployment_events_created_name_idx',
      'deployment_events_occurred_at_idx',
      'deployment_events_pkey',
      'deployment_events_tenant_occurred_at_idx',
      'deployment_events_tenant_txid_seq_idx',
      'deployment_events_txid_seq_idx',
    ]);
  });

  it('serve\'s daily audit job keeps partitions ahead, and without a checkpoint key purges nothing', async () => {
    await t.db`drop table ${t.db(`shipslog.${monthName(3)}`)}`;
    const job = createAuditRetentionJob({ db: t.db, log: createLog('silent'), keys: undefined, firstRunMs: 3_600_000 });
    await job.run();
    expect((await partitions()).map((p) => p.name)).toContain(monthName(3));
    const [purges] = await t.db<{ n: number }[]>`select count(*)::int as n from shipslog.audit_purges`;
    expect(purges!.n).toBe(0);
    await job.stop();
  });
});
