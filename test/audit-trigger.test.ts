import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { verifyChains } from '../src/audit/verify.ts';
import { withActor } from '../src/db/actor.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { eventsOf, insertDeployment } from './support/fixtures.ts';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});
beforeEach(async () => {
  // Tests share one database; each starts from no deployments (history stays, ids differ).
  await t.db`delete from shipslog.deployments`;
});

describe('audit trigger', () => {
  it('writes exactly one created event with the whole state on insert', async () => {
    const d = await insertDeployment(t.db, { name: 'created-one' });
    const events = await eventsOf(t.db, d.id);
    expect(events).toHaveLength(1);
    const [e] = events;
    expect(e?.action).toBe('created');
    expect(e?.chain_index).toBe(1);
    expect(e?.previous_state).toBeNull();
    expect(e?.new_state).toMatchObject({ name: 'created-one', recipe: 'postgresql', config: { storage: '8Gi' } });
    expect(e?.changes).toEqual([]);
    expect(d.chain_length).toBe(1);
  });

  it('records only the changed paths and a readable change list on a config change', async () => {
    const d = await insertDeployment(t.db, { name: 'cfg', config: { storage: '8Gi', replicas: 1, tuning: { shared_buffers: '128MB', work_mem: '4MB' } } });
    await t.db`update shipslog.deployments set config = jsonb_set(config, '{storage}', '"16Gi"') where id = ${d.id}`;
    await t.db`update shipslog.deployments set config = jsonb_set(config, '{tuning,work_mem}', '"8MB"') where id = ${d.id}`;
    const [, storage, nested] = await eventsOf(t.db, d.id);
    expect(storage?.action).toBe('config_changed');
    expect(storage?.previous_state).toEqual({ config: { storage: '8Gi' } });
    expect(storage?.new_state).toEqual({ config: { storage: '16Gi' } });
    expect(storage?.changes).toEqual([{ path: 'config.storage', from: '8Gi', to: '16Gi' }]);
    expect(nested?.changes).toEqual([{ path: 'config.tuning.work_mem', from: '4MB', to: '8MB' }]);
    const [summary] = await t.db<{ s: string }[]>`
      select shipslog.describe_event(action, shipslog.event_changes(previous_state, new_state), previous_state, new_state) as s
      from shipslog.deployment_events where deployment_id = ${d.id} and chain_index = 2`;
    expect(summary?.s).toBe('storage: 8Gi -> 16Gi');
  });

  it('writes nothing for an update that changes nothing, and does not bump version', async () => {
    const d = await insertDeployment(t.db, { name: 'noop' });
    const r = await t.db`update shipslog.deployments set config = config, app_version = app_version where id = ${d.id}`;
    expect(r.count).toBe(1);
    // Bookkeeping columns set by a caller are ignored, so this is also no change.
    await t.db`update shipslog.deployments set version = 99, chain_length = 42 where id = ${d.id}`;
    expect(await eventsOf(t.db, d.id)).toHaveLength(1);
    const [row] = await t.db<{ version: string; chain_length: number }[]>`select version, chain_length from shipslog.deployments where id = ${d.id}`;
    expect(row).toEqual({ version: '1', chain_length: 1 });
  });

  it('classifies each kind of change', async () => {
    const d = await insertDeployment(t.db, { name: 'kinds' });
    const steps: [string, string][] = [
      ["app_version = '17'", 'upgraded'],
      ["config = config || '{\"replicas\": 2}'", 'config_changed'],
      ["secrets_fingerprint = 'hmac-sha256:' || repeat('a', 64)", 'secrets_rotated'],
      ['restarted_at = now()', 'restarted'],
      [`managed_resources = '[{"kind":"StatefulSet","name":"kinds","namespace":"acme"}]'`, 'resources_changed'],
      ["health = 'Healthy'", 'health_changed'],
      ["status = 'applied', observed_generation = 1", 'status_changed'],
      ['deletion_requested_at = now()', 'removal_requested'],
    ];
    for (const [set, _] of steps) {
      await t.db.unsafe(`update shipslog.deployments set ${set} where id = $1`, [d.id]); // fixed test strings
    }
    // The events replay to exactly the row as it stands (what verification relies on).
    expect(await verifyChains(t.db, d.id)).toEqual([]);
    await t.db`delete from shipslog.deployments where id = ${d.id}`;
    const events = await eventsOf(t.db, d.id);
    expect(events.map((e) => e.action)).toEqual(['created', ...steps.map(([, a]) => a), 'removed']);
    expect(events.map((e) => e.chain_index)).toEqual(events.map((_, i) => i + 1));
    const summaries = await t.db<{ s: string }[]>`
      select shipslog.describe_event(action, shipslog.event_changes(previous_state, new_state), previous_state, new_state) as s
      from shipslog.deployment_events where deployment_id = ${d.id} order by chain_index`;
    expect(summaries.map((r) => r.s)).toContain('upgraded 16 -> 17');
    expect(summaries.map((r) => r.s)).toContain('secrets rotated');
    expect(summaries.map((r) => r.s)).toContain('health: Unknown -> Healthy');
  });

  it('lets shipslog.action override the derived action', async () => {
    const d = await insertDeployment(t.db, { name: 'rollback' });
    await t.db`update shipslog.deployments set app_version = '17' where id = ${d.id}`;
    await withActor(t.db, { actor: 'agent', actorType: 'service', action: 'rolled_back', reason: 'v17 failed' }, (tx) =>
      tx`update shipslog.deployments set app_version = '16' where id = ${d.id}`,
    );
    const events = await eventsOf(t.db, d.id);
    expect(events.map((e) => e.action)).toEqual(['created', 'upgraded', 'rolled_back']);
  });

  it('records the actor context when set, and the database session when not (psql)', async () => {
    const d = await withActor(
      t.db,
      {
        actor: 'alice@example.com',
        actorType: 'user',
        reason: 'more space',
        correlationId: 'msg-123',
        requestId: 'req-9',
        sourceIp: '203.0.113.7',
        userAgent: 'curl/8',
      },
      (tx) => insertDeployment(tx, { name: 'attributed' }),
    );
    const psql = t.connect(1, 'psql');
    await psql`update shipslog.deployments set config = config || '{"storage": "32Gi"}' where id = ${d.id}`;
    const [api, raw] = await eventsOf(t.db, d.id);
    expect(api).toMatchObject({
      actor: 'alice@example.com',
      actor_type: 'user',
      reason: 'more space',
      correlation_id: 'msg-123',
      request_id: 'req-9',
      source_ip: '203.0.113.7',
      user_agent: 'curl/8',
    });
    expect(raw).toMatchObject({ actor: 'postgres', actor_type: 'database', reason: null, db_role: 'postgres', db_user: 'postgres', application_name: 'psql' });
    // A role switched to with SET ROLE is what the database saw, even inside the SECURITY DEFINER trigger.
    await psql.begin(async (tx) => {
      await tx`set local role shipslog_app`;
      await tx`select set_config('shipslog.tenant', 'acme', true)`;
      await tx`update shipslog.deployments set config = config || '{"storage": "64Gi"}' where id = ${d.id}`;
    });
    const last = (await eventsOf(t.db, d.id)).at(-1);
    expect(last).toMatchObject({ actor: 'postgres', actor_type: 'database', db_role: 'shipslog_app', db_user: 'postgres' });
  });

  it('the context is transaction-local: the next transaction on the same connection is attributed to the database', async () => {
    const one = t.connect(1);
    const d = await withActor(one, { actor: 'bob', actorType: 'user' }, (tx) => insertDeployment(tx, { name: 'local' }));
    await one`update shipslog.deployments set app_version = '17' where id = ${d.id}`;
    const [, second] = await eventsOf(t.db, d.id);
    expect(second).toMatchObject({ actor: 'postgres', actor_type: 'database' });
  });

  it('audits bulk updates typed into psql: one event per changed row, none for unchanged rows', async () => {
    for (let i = 0; i < 5; i++) await insertDeployment(t.db, { tenant: 'bulk', name: `app-${i}`, app_version: i < 3 ? '16' : '17' });
    await insertDeployment(t.db, { tenant: 'other', name: 'app-x' });
    const before = await t.db<{ n: number }[]>`select count(*)::int as n from shipslog.deployment_events`;
    const r = await t.db`update shipslog.deployments set app_version = '17' where tenant = 'bulk'`;
    expect(r.count).toBe(5);
    const after = await t.db<{ n: number }[]>`select count(*)::int as n from shipslog.deployment_events`;
    expect(after[0]!.n - before[0]!.n).toBe(3);
    const upgraded = await t.db<{ n: number }[]>`
      select count(*)::int as n from shipslog.deployment_events where tenant = 'bulk' and action = 'upgraded'`;
    expect(upgraded[0]!.n).toBe(3);
  });

  it('keeps history after the deployment is removed, with the last config', async () => {
    const d = await insertDeployment(t.db, { name: 'gone', config: { storage: '20Gi' } });
    await t.db`delete from shipslog.deployments where id = ${d.id}`;
    const events = await eventsOf(t.db, d.id);
    expect(events.map((e) => e.action)).toEqual(['created', 'removed']);
    expect(events[1]?.previous_state).toMatchObject({ config: { storage: '20Gi' } });
    const history = await t.db<{ action: string; summary: string }[]>`select action, summary from shipslog.history('acme', 'gone')`;
    expect(history.map((h) => h.action)).toEqual(['removed', 'created']);
    expect(history[0]?.summary).toBe('removed postgresql 16');
  });

  it('refuses to reuse a removed deployment id, and keeps both incarnations of a name in history', async () => {
    const d = await insertDeployment(t.db, { name: 'reborn' });
    await t.db`delete from shipslog.deployments where id = ${d.id}`;
    await expect(
      t.db`insert into shipslog.deployments (id, tenant, name, recipe, app_version) values (${d.id}, 'acme', 'reborn', 'postgresql', '16')`,
    ).rejects.toMatchObject({ code: 'SL003' });
    await insertDeployment(t.db, { name: 'reborn', app_version: '17' });
    const history = await t.db<{ summary: string }[]>`select summary from shipslog.history('acme', 'reborn')`;
    expect(history.map((h) => h.summary)).toEqual(['created postgresql 17', 'removed postgresql 16', 'created postgresql 16']);
  });

  it('bumps version on every audited change and generation only on desired-state changes', async () => {
    const d = await insertDeployment(t.db, { name: 'gen' });
    await t.db`update shipslog.deployments set health = 'Healthy' where id = ${d.id}`;
    await t.db`update shipslog.deployments set app_version = '17' where id = ${d.id}`;
    const [row] = await t.db<{ version: string; generation: string }[]>`select version, generation from shipslog.deployments where id = ${d.id}`;
    expect(row).toEqual({ version: '3', generation: '2' });
  });

  it('refuses changes of identity fields with a clear error and writes nothing', async () => {
    const d = await insertDeployment(t.db, { name: 'fixed' });
    await expect(t.db`update shipslog.deployments set name = 'renamed' where id = ${d.id}`).rejects.toMatchObject({
      code: 'SL010',
      message: expect.stringContaining('cannot change its id, tenant, name or recipe'),
    });
    expect(await eventsOf(t.db, d.id)).toHaveLength(1);
  });

  it('rejects bad values through CHECK constraints and writes no event', async () => {
    const before = await t.db<{ n: number }[]>`select count(*)::int as n from shipslog.deployment_events`;
    const bad = [
      t.db`insert into shipslog.deployments (tenant, name, recipe, app_version) values ('acme', 'Bad_Name', 'postgresql', '16')`,
      t.db`insert into shipslog.deployments (tenant, name, recipe, app_version, config) values ('acme', 'ok', 'postgresql', '16', '[1]')`,
      t.db`insert into shipslog.deployments (tenant, name, recipe, app_version, managed_resources) values ('acme', 'ok', 'postgresql', '16', '[{"kind":"Service"}]')`,
      t.db`insert into shipslog.deployments (tenant, name, recipe, app_version, secrets_fingerprint) values ('acme', 'ok', 'postgresql', '16', 'hunter2')`,
      t.db`insert into shipslog.deployments (tenant, name, recipe, app_version, status) values ('acme', 'ok', 'postgresql', '16', 'exploded')`,
    ];
    for (const q of bad) await expect(q).rejects.toMatchObject({ code: '23514' });
    const after = await t.db<{ n: number }[]>`select count(*)::int as n from shipslog.deployment_events`;
    expect(after[0]!.n).toBe(before[0]!.n);
  });

  it('the audit trigger is the last BEFORE row trigger, so it hashes the row as stored', async () => {
    // tgtype bit 1: row level; bit 2: BEFORE. Triggers of one kind fire in name order. The one
    // after it, deployments_chain_head (sql/audit/45_record_event.sql), moves only the chain
    // head, which no event hashes, to an event shipslog.append_event() wrote.
    const rows = await t.db<{ tgname: string }[]>`
      select tgname from pg_trigger
      where tgrelid = 'shipslog.deployments'::regclass and not tgisinternal
        and (tgtype & 1) = 1 and (tgtype & 2) = 2
      order by tgname collate "C"`;
    expect(rows.map((r) => r.tgname).slice(-2)).toEqual(['deployments_audit', 'deployments_chain_head']);
  });

  it('checks the shape of managed_resources in PostgreSQL', async () => {
    const d = await insertDeployment(t.db, { name: 'inventory' });
    const set = (value: unknown) => t.db`update shipslog.deployments set managed_resources = ${t.db.json(value as never)} where id = ${d.id}`;
    await set([
      { kind: 'StatefulSet', name: 'inventory', namespace: 'acme', apiVersion: 'apps/v1' },
      { kind: 'ClusterRole', name: 'reader', namespace: null },
    ]);
    for (const bad of [
      {},
      [{ kind: 'Service', name: 'x' }],
      [{ kind: 'Service', name: 'x', namespace: 'acme', extra: 1 }],
      [{ kind: 'Service', name: 7, namespace: 'acme' }],
      [{ kind: 'Service', name: 'x', namespace: 'acme', apiVersion: 1 }],
      ['Service/x'],
    ]) {
      await expect(set(bad)).rejects.toMatchObject({ code: '23514', constraint_name: 'deployments_managed_resources_check' });
    }
    const events = await eventsOf(t.db, d.id);
    expect(events.map((e) => e.action)).toEqual(['created', 'resources_changed']);
  });

  it('history() reads as a timeline: relative time, readable summary, actor', async () => {
    const d = await withActor(t.db, { actor: 'agent', actorType: 'service', reason: 'user asked' }, (tx) =>
      insertDeployment(tx, { name: 'timeline', config: { storage: '8Gi' } }),
    );
    await withActor(t.db, { actor: 'agent', actorType: 'service', reason: 'disk 90% full' }, (tx) =>
      tx`update shipslog.deployments set config = config || '{"storage": "16Gi"}' where id = ${d.id}`,
    );
    const rows = await t.db<{ when: string; action: string; summary: string; actor: string; reason: string }[]>`
      select "when", action, summary, actor, reason from shipslog.history('acme', 'timeline')`;
    expect(rows).toEqual([
      { when: 'just now', action: 'config_changed', summary: 'storage: 8Gi -> 16Gi', actor: 'agent', reason: 'disk 90% full' },
      { when: 'just now', action: 'created', summary: 'created postgresql 16', actor: 'agent', reason: 'user asked' },
    ]);
    const [ago] = await t.db<{ a: string; b: string; c: string }[]>`
      select shipslog.relative_time(now() - interval '3 hours') as a,
             shipslog.relative_time(now() - interval '2 days') as b,
             shipslog.relative_time(now() - interval '20 minutes') as c`;
    expect(ago).toEqual({ a: '3 hours ago', b: '2 days ago', c: '20 minutes ago' });
  });

  it('rejects an invalid actor type or source ip in the context and rolls the change back', async () => {
    await expect(
      withActor(t.db, { actor: 'x', actorType: 'robot' as never }, (tx) => insertDeployment(tx, { name: 'bad-actor' })),
    ).rejects.toMatchObject({ code: '22023', message: 'shipslog.actor_type must be user, service or system, not "robot"' });
    await expect(
      withActor(t.db, { actor: 'x', actorType: 'user', action: 'exploded' }, (tx) => insertDeployment(tx, { name: 'bad-action' })),
    ).rejects.toMatchObject({ code: '22023', message: 'shipslog.action "exploded" is not an audit action' });
    await expect(
      withActor(t.db, { actor: 'x', actorType: 'user', reason: 'r'.repeat(1001) }, (tx) => insertDeployment(tx, { name: 'long-reason' })),
    ).rejects.toMatchObject({ code: '22001', hint: expect.stringContaining('shipslog.reason 1000') });
    await expect(
      withActor(t.db, { actor: 'x', actorType: 'user', sourceIp: 'not-an-ip' }, (tx) => insertDeployment(tx, { name: 'bad-ip' })),
    ).rejects.toMatchObject({ code: '22P02', message: expect.stringContaining('shipslog.source_ip') });
    // Only address characters, still no address: refused by the cast.
    await expect(
      withActor(t.db, { actor: 'x', actorType: 'user', sourceIp: '1.2.3.999' }, (tx) => insertDeployment(tx, { name: 'bad-ip-2' })),
    ).rejects.toMatchObject({ code: '22P02' });
    // Long settings whose sum passes the quick check's bound are still checked one by one.
    await expect(
      withActor(t.db, { actor: 'a'.repeat(150), actorType: 'user', requestId: 'r'.repeat(150) }, (tx) => insertDeployment(tx, { name: 'long-sum' })),
    ).resolves.toMatchObject({ name: 'long-sum' });
    await expect(
      withActor(t.db, { actor: 'a'.repeat(201), actorType: 'user' }, (tx) => insertDeployment(tx, { name: 'long-actor' })),
    ).rejects.toMatchObject({ code: '22001', hint: expect.stringContaining('shipslog.actor 200') });
    const rows = await t.db`select 1 from shipslog.deployments where name in ('bad-actor', 'bad-ip', 'bad-ip-2', 'bad-action', 'long-reason', 'long-actor')`;
    expect(rows).toHaveLength(0);
  });

  it('stores the transaction id and a microsecond clock timestamp', async () => {
    const d = await t.db.begin(async (tx) => {
      const x = await insertDeployment(tx, { name: 'clock' });
      await tx`update shipslog.deployments set app_version = '17' where id = ${x.id}`;
      return x;
    });
    const [a, b] = await eventsOf(t.db, d.id);
    expect(a?.txid).toBe(b?.txid);
    expect(b!.occurred_at.getTime()).toBeGreaterThanOrEqual(a!.occurred_at.getTime());
    const [us] = await t.db<{ distinct_times: number }[]>`
      select count(distinct occurred_at)::int as distinct_times from shipslog.deployment_events where deployment_id = ${d.id}`;
    expect(us?.distinct_times).toBe(2); // clock_timestamp(), not the transaction's now()
  });
});
