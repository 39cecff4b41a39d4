import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finaliseAgentMessage, getAgentMessage, startAgentMessage } from '../../src/db/agent-messages.ts';
import { DomainError } from '../../src/db/errors.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { asRole, finalise } from './support.ts';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

const acme = { tenant: 'acme', requestId: 'req-1', correlationId: 'conv-7', sourceIp: '203.0.113.9' };

async function count(where = 'true'): Promise<number> {
  const [r] = await t.db.unsafe<{ n: number }[]>(`select count(*)::int as n from shipslog.agent_messages where ${where}`); // fixed test strings
  return r!.n;
}

async function sqlState(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    const cause = err instanceof DomainError ? err.cause : err;
    if (cause instanceof postgres.PostgresError) return cause.code;
    throw err;
  }
  throw new Error('expected the statement to be refused');
}

describe('agent message lifecycle', () => {
  it('writes a placeholder, finalises it once, and reads it back with attribution', async () => {
    const started = await asRole(t.db, 'shipslog_app', acme, (tx) =>
      startAgentMessage(tx, { messageId: 'msg-life-1', projectId: 'shop', model: 'claude-sonnet-4', contextLayers: 3 }),
    );
    expect(started).toMatchObject({ tenant: 'acme', projectId: 'shop', reasoning: null, tokens: null, cost: null, finalisedAt: null });
    expect(started.createdBy).toMatchObject({ actor: 'test-agent', actor_type: 'service', db_role: 'shipslog_app', request_id: 'req-1', correlation_id: 'conv-7' });

    const done = await asRole(t.db, 'shipslog_app', { ...acme, requestId: 'req-2' }, (tx) => finaliseAgentMessage(tx, 'msg-life-1', finalise));
    expect(done?.outcome).toBe('finalised');
    const read = await asRole(t.db, 'shipslog_app', acme, (tx) => getAgentMessage(tx, 'msg-life-1'));
    expect(read).toMatchObject({
      contextLayers: 3,
      reasoning: finalise.reasoning,
      tokens: finalise.tokens,
      cost: finalise.cost,
    });
    expect(read?.finalisedAt).toBeInstanceOf(Date);
    expect(read?.finalisedBy).toMatchObject({ request_id: 'req-2', db_role: 'shipslog_app' });
  });

  it('treats a second finalise with the same values (numerically) as a no-op and refuses other values', async () => {
    await asRole(t.db, 'shipslog_app', acme, (tx) => startAgentMessage(tx, { messageId: 'msg-twice', projectId: 'shop', model: 'm1' }));
    await asRole(t.db, 'shipslog_app', acme, (tx) => finaliseAgentMessage(tx, 'msg-twice', finalise));
    const first = await getAgentMessage(t.db, 'msg-twice');
    const same = { ...finalise, cost: { prompt: '0.00360', completion: '0.0045', total: '0.00810' } };
    const again = await asRole(t.db, 'shipslog_app', acme, (tx) => finaliseAgentMessage(tx, 'msg-twice', same));
    expect(again?.outcome).toBe('unchanged');
    const after = await getAgentMessage(t.db, 'msg-twice');
    expect(after?.finalisedAt).toEqual(first?.finalisedAt);
    expect(after?.cost).toEqual(finalise.cost); // as first sent, not as retried

    const other = { ...finalise, tokens: { prompt: 1200, completion: 301, total: 1501 } };
    await expect(asRole(t.db, 'shipslog_app', acme, (tx) => finaliseAgentMessage(tx, 'msg-twice', other))).rejects.toMatchObject({
      kind: 'conflict',
      code: 'SL301',
    });
    // Raw SQL is refused the same way, for the owner too.
    expect(await sqlState(t.db`update shipslog.agent_messages set reasoning = '{}' where message_id = 'msg-twice'`)).toBe('SL301');
    expect(await sqlState(t.db`update shipslog.agent_messages set finalised_at = null, reasoning = null where message_id = 'msg-twice'`)).toBe('SL301');
  });

  it('refuses a finalise that is partial, has wrong totals, negative or float-ish values', async () => {
    await asRole(t.db, 'shipslog_app', acme, (tx) => startAgentMessage(tx, { messageId: 'msg-bad', projectId: 'shop', model: 'm1' }));
    const bad: [string, string][] = [
      ["reasoning = '{a}'", 'SL304'],
      ["reasoning = '{a}', prompt_tokens = 1, completion_tokens = 2, total_tokens = 4, prompt_cost = 1, completion_cost = 1, total_cost = 2", '23514'],
      ["reasoning = '{a}', prompt_tokens = -1, completion_tokens = 2, total_tokens = 1, prompt_cost = 1, completion_cost = 1, total_cost = 2", '23514'],
      ["reasoning = '{a}', prompt_tokens = 1, completion_tokens = 2, total_tokens = 3, prompt_cost = 0.1, completion_cost = 0.2, total_cost = 0.30000000000000004", '23514'],
      ["reasoning = '{a}', prompt_tokens = 1, completion_tokens = 2, total_tokens = 3, prompt_cost = 'NaN', completion_cost = 0, total_cost = 'NaN'", '23514'],
      ["reasoning = '{a}', prompt_tokens = 1, completion_tokens = 2, total_tokens = 3, prompt_cost = -0.1, completion_cost = 0.2, total_cost = 0.1", '23514'],
      ["reasoning = '{a,NULL}', prompt_tokens = 1, completion_tokens = 2, total_tokens = 3, prompt_cost = 0.1, completion_cost = 0.2, total_cost = 0.3", '23514'],
      ["reasoning = '{{a},{b}}', prompt_tokens = 1, completion_tokens = 2, total_tokens = 3, prompt_cost = 0.1, completion_cost = 0.2, total_cost = 0.3", '23514'],
      ["reasoning = '{a}', prompt_tokens = 2000000000, completion_tokens = 2000000000, total_tokens = 2147483647, prompt_cost = 0.1, completion_cost = 0.2, total_cost = 0.3", '23514'],
      ["reasoning = '{a}', prompt_tokens = 1, completion_tokens = 2, total_tokens = 3, prompt_cost = 0.1234567890123, completion_cost = 0, total_cost = 0.1234567890123", '23514'],
    ];
    for (const [set, code] of bad) {
      const stmt = t.db.unsafe(`update shipslog.agent_messages set ${set} where message_id = 'msg-bad'`); // fixed test strings
      expect([set, await sqlState(stmt)]).toEqual([set, code]);
    }
    expect(await count("message_id = 'msg-bad' and finalised_at is null")).toBe(1);
    // The exact sum is accepted: 0.1 + 0.2 = 0.3 in numeric.
    await t.db`update shipslog.agent_messages set reasoning = '{}', prompt_tokens = 1, completion_tokens = 2, total_tokens = 3,
      prompt_cost = 0.1, completion_cost = 0.2, total_cost = 0.3 where message_id = 'msg-bad'`;
    expect(await count("message_id = 'msg-bad' and finalised_at is not null")).toBe(1);
  });

  it('refuses a non-placeholder insert, bad ids, a future start, and changes of identity fields', async () => {
    const insert = (cols: string, vals: string) =>
      t.db.unsafe(`insert into shipslog.agent_messages (tenant, project_id, ${cols}) values ('acme', 'shop', ${vals})`); // fixed test strings
    expect(await sqlState(insert('message_id, model, prompt_tokens', "'msg-x1', 'm', 5"))).toBe('SL305');
    expect(await sqlState(insert('message_id, model', "'bad id with spaces', 'm'"))).toBe('23514');
    expect(await sqlState(insert('message_id, model', "'msg-x2', ''"))).toBe('23514');
    expect(await sqlState(insert('message_id, model, created_at', "'msg-x3', 'm', now() + interval '1 hour'"))).toBe('SL311');
    expect(await sqlState(insert('message_id, model, context_layers', "'msg-x4', 'm', -1"))).toBe('23514');
    expect(await count("message_id like 'msg-x%'")).toBe(0);

    await asRole(t.db, 'shipslog_app', acme, (tx) => startAgentMessage(tx, { messageId: 'msg-id', projectId: 'shop', model: 'm1' }));
    for (const set of ["model = 'm2'", "project_id = 'other'", 'context_layers = 9', "created_at = now() - interval '1 day'", "created_by = '{}'", "message_id = 'msg-id2'"]) {
      const stmt = t.db.unsafe(`update shipslog.agent_messages set ${set} where message_id = 'msg-id'`); // fixed test strings
      expect([set, await sqlState(stmt)]).toEqual([set, 'SL302']);
    }
    // An UPDATE that changes nothing on a placeholder is a no-op, not an error.
    await t.db`update shipslog.agent_messages set model = model where message_id = 'msg-id'`;
    expect(await count("message_id = 'msg-id' and finalised_at is null and model = 'm1'")).toBe(1);
    // A duplicate message id is a conflict.
    await expect(
      asRole(t.db, 'shipslog_app', acme, (tx) => startAgentMessage(tx, { messageId: 'msg-id', projectId: 'shop', model: 'm1' })),
    ).rejects.toMatchObject({ kind: 'conflict', code: '23505' });
  });

  it('refuses delete and truncate for every role, the owner included', async () => {
    await asRole(t.db, 'shipslog_app', acme, (tx) => startAgentMessage(tx, { messageId: 'msg-keep', projectId: 'shop', model: 'm1' }));
    await asRole(t.db, 'shipslog_app', acme, (tx) => finaliseAgentMessage(tx, 'msg-keep', finalise));
    const before = await count();
    // Owner / superuser: the guard trigger.
    expect(await sqlState(t.db`delete from shipslog.agent_messages where message_id = 'msg-keep'`)).toBe('SL303');
    expect(await sqlState(t.db`truncate shipslog.agent_messages`)).toBe('SL005');
    expect(await sqlState(t.db`update shipslog.agent_messages set model = 'x' where message_id = 'msg-keep'`)).toBe('SL302');
    // The app: no delete grant; its updates hit the guard.
    for (const role of ['shipslog_app', 'shipslog_reconciler', 'shipslog_auditor'] as const) {
      const ctx = { tenant: 'acme' };
      expect([role, await sqlState(asRole(t.db, role, ctx, (tx) => tx`delete from shipslog.agent_messages`))]).toEqual([role, '42501']);
      expect([role, await sqlState(asRole(t.db, role, ctx, (tx) => tx`truncate shipslog.agent_messages`))]).toEqual([role, '42501']);
      const update = asRole(t.db, role, ctx, (tx) => tx`update shipslog.agent_messages set total_tokens = 1 where message_id = 'msg-keep'`);
      expect([role, await sqlState(update)]).toEqual([role, role === 'shipslog_app' ? 'SL301' : '42501']);
    }
    // Even the retention role itself cannot delete fresh rows outside the purge function's age floor.
    expect(await sqlState(t.db`select * from shipslog.purge_agent_messages(interval '1 hour')`)).toBe('SL308');
    expect(await count()).toBe(before);
  });

  it('lets an API session neither purge nor register projects for another tenant', async () => {
    for (const role of ['shipslog_app', 'shipslog_auditor'] as const) {
      const purge = asRole(t.db, role, { tenant: '*' }, (tx) => tx`select * from shipslog.purge_agent_messages(interval '7 days')`);
      expect([role, await sqlState(purge)]).toEqual([role, '42501']);
    }
    // The service's daily retention job runs on the reconciler's login (src/cli/serve.ts).
    const [ran] = await asRole(t.db, 'shipslog_reconciler', {}, (tx) => tx`select outcome from shipslog.purge_agent_messages(interval '7 days')`);
    expect(ran?.outcome).toMatch(/ran|skipped/);
    const squat = asRole(t.db, 'shipslog_app', { tenant: 'acme' }, (tx) => tx`select shipslog.register_project('globex', 'squatted')`);
    expect(await sqlState(squat)).toBe('SL306');
    const [n] = await t.db<{ n: number }[]>`select count(*)::int as n from shipslog.projects where id = 'squatted'`;
    expect(n?.n).toBe(0);
  });

  it('keeps projects immutable', async () => {
    expect(await sqlState(t.db`update shipslog.projects set tenant = 'other' where id = 'shop'`)).toBe('SL310');
    expect(await sqlState(t.db`delete from shipslog.projects where id = 'shop'`)).toBe('SL310');
    expect(await sqlState(t.db`truncate shipslog.projects cascade`)).toBe('SL005');
  });
});
