import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentAnalytics, getAgentMessage, startAgentMessage } from '../../src/db/agent-messages.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { asRole, recordMessage } from './support.ts';

let t: TestDatabase;
const dayMs = 86_400_000;
const today = new Date(Math.floor(Date.now() / dayMs) * dayMs); // 00:00 UTC today
const at = (daysAgo: number, hour = 12) => new Date(today.getTime() - daysAgo * dayMs + hour * 3_600_000);
const iso = (d: Date) => d.toISOString().slice(0, 10);

function values(prompt: string, completion: string, total: string, tokens: [number, number]) {
  return {
    reasoning: ['r'],
    tokens: { prompt: tokens[0], completion: tokens[1], total: tokens[0] + tokens[1] },
    cost: { prompt, completion, total },
  };
}

beforeAll(async () => {
  t = await createTestDatabase();
  // Three days ago: 0.1 + 0.2 (exactly 0.3, not 0.30000000000000004), two models.
  await recordMessage(t.db, 'acme', { messageId: 'a1', projectId: 'shop', model: 'model-a', createdAt: at(3, 9) }, values('0.04', '0.06', '0.1', [100, 10]));
  await recordMessage(t.db, 'acme', { messageId: 'a2', projectId: 'shop', model: 'model-b', createdAt: at(3, 23) }, values('0.2', '0', '0.2', [200, 0]));
  // Two days ago: nothing. Yesterday: one tiny cost at the 12th decimal, one placeholder.
  await recordMessage(t.db, 'acme', { messageId: 'a3', projectId: 'shop', model: 'model-a', createdAt: at(1, 0) }, values('0.000000000001', '0.1', '0.100000000001', [1, 2]));
  await recordMessage(t.db, 'acme', { messageId: 'a4', projectId: 'shop', model: 'model-a', createdAt: at(1, 6) }, null);
  // Outside the range, and in another project and tenant: never counted.
  await recordMessage(t.db, 'acme', { messageId: 'a5', projectId: 'shop', model: 'model-a', createdAt: at(9) }, values('5', '5', '10', [1, 1]));
  await recordMessage(t.db, 'acme', { messageId: 'a6', projectId: 'warehouse', model: 'model-a', createdAt: at(1) }, values('7', '0', '7', [1, 0]));
  await recordMessage(t.db, 'globex', { messageId: 'g1', projectId: 'globex-shop', model: 'model-a', createdAt: at(1) }, values('9', '0', '9', [1, 0]));
});
afterAll(async () => {
  await t?.drop();
});

const from = () => new Date(today.getTime() - 3 * dayMs);
const to = () => new Date(today.getTime() + dayMs);

describe('agent analytics', () => {
  it('sums exactly, zero-fills days, groups by model and lists the most recent', async () => {
    const a = await asRole(t.db, 'shipslog_app', { tenant: 'acme' }, (tx) => agentAnalytics(tx, 'shop', from(), to(), 2));
    expect(a).toMatchObject({
      project_id: 'shop',
      message_count: 4,
      finalised_count: 3,
      tokens: { prompt: 301, completion: 12, total: 313 },
      cost: { prompt: '0.240000000001', completion: '0.16', total: '0.400000000001' },
      // 0.400000000001 / 3, rounded to 12 places.
      average_cost_per_message: '0.133333333334',
    });
    expect(a.cost_by_day).toEqual([
      { day: iso(at(3)), message_count: 2, total_tokens: 310, total_cost: '0.3' },
      { day: iso(at(2)), message_count: 0, total_tokens: 0, total_cost: '0' },
      { day: iso(at(1)), message_count: 2, total_tokens: 3, total_cost: '0.100000000001' },
      { day: iso(at(0)), message_count: 0, total_tokens: 0, total_cost: '0' },
    ]);
    expect(a.cost_by_model).toEqual([
      // Most expensive first: 0.200000000001 > 0.2 by one trillionth, exactly.
      { model: 'model-a', message_count: 3, total_tokens: 113, total_cost: '0.200000000001' },
      { model: 'model-b', message_count: 1, total_tokens: 200, total_cost: '0.2' },
    ]);
    expect(a.recent_messages.map((m) => m.message_id)).toEqual(['a4', 'a3']);
    expect(a.recent_messages[0]).toMatchObject({ tokens: null, cost: null, finalised_at: null });
    expect(a.recent_messages[1]).toMatchObject({ cost: { total: '0.100000000001' }, tokens: { total: 3 } });
  });

  it('answers an empty range with zeros and no average', async () => {
    const a = await agentAnalytics(t.db, 'shop', new Date(today.getTime() - 40 * dayMs), new Date(today.getTime() - 38 * dayMs));
    expect(a).toMatchObject({ message_count: 0, cost: { total: '0' }, average_cost_per_message: null, cost_by_model: [], recent_messages: [] });
    expect(a.cost_by_day.map((d) => d.total_cost)).toEqual(['0', '0']);
  });

  it('refuses bad ranges and unknown projects', async () => {
    await expect(agentAnalytics(t.db, 'shop', to(), from())).rejects.toMatchObject({ code: 'SL309', kind: 'invalid' });
    await expect(agentAnalytics(t.db, 'shop', new Date(0), to())).rejects.toMatchObject({ code: 'SL309' });
    await expect(agentAnalytics(t.db, 'nope', from(), to())).rejects.toMatchObject({ code: 'SL312', kind: 'not_found' });
  });
});

describe('tenant isolation in PostgreSQL', () => {
  it('hides another tenant\'s messages and projects from an app session, and everything from one without a tenant', async () => {
    const seen = (tenant: string) =>
      asRole(t.db, 'shipslog_app', { tenant }, async (tx) => {
        const rows = await tx<{ message_id: string }[]>`select message_id from shipslog.agent_messages order by 1`;
        const projects = await tx<{ id: string }[]>`select id from shipslog.projects order by 1`;
        return { messages: rows.map((r) => r.message_id), projects: projects.map((p) => p.id) };
      });
    expect(await seen('globex')).toEqual({ messages: ['g1'], projects: ['globex-shop'] });
    expect((await seen('acme')).projects).toEqual(['shop', 'warehouse']);
    expect(await seen('')).toEqual({ messages: [], projects: [] });
    expect((await seen('*')).messages).toHaveLength(7);
    expect(await asRole(t.db, 'shipslog_app', { tenant: 'globex' }, (tx) => getAgentMessage(tx, 'a1'))).toBeNull();
    // An update aimed at another tenant's row finds nothing.
    const r = await asRole(t.db, 'shipslog_app', { tenant: 'globex' }, (tx) => tx`update shipslog.agent_messages set model = model where message_id = 'a4'`);
    expect(r.count).toBe(0);
  });

  it('applies the rule of shipslog.tenant_visible, inlined into the policy', async () => {
    for (const tenant of ['', 'acme', 'globex', '*', 'nobody']) {
      const [viaPolicy] = await asRole(t.db, 'shipslog_app', { tenant }, (tx) => tx<{ n: number }[]>`
        select count(*)::int as n from shipslog.agent_messages`);
      const [viaFunction] = await asRole(t.db, null, { tenant }, (tx) => tx<{ n: number }[]>`
        select count(*)::int as n from shipslog.agent_messages where shipslog.tenant_visible(tenant)`);
      expect([tenant, viaPolicy?.n]).toEqual([tenant, viaFunction?.n]);
    }
  });

  it('answers another tenant\'s project as not found, and refuses messages into it', async () => {
    await expect(
      asRole(t.db, 'shipslog_app', { tenant: 'globex' }, (tx) => agentAnalytics(tx, 'shop', from(), to())),
    ).rejects.toMatchObject({ code: 'SL312', kind: 'not_found' });
    await expect(
      asRole(t.db, 'shipslog_app', { tenant: 'globex' }, (tx) => startAgentMessage(tx, { messageId: 'g-sneak', projectId: 'shop', model: 'm' })),
    ).rejects.toMatchObject({ code: 'SL306', kind: 'not_found' });
    // Writing a row for another tenant is refused by the project registration (SL306, 0306);
    // the policy's WITH CHECK stands behind it.
    for (const projectId of ['fresh', 'shop']) {
      await expect(
        asRole(t.db, 'shipslog_app', { tenant: 'globex' }, (tx) => startAgentMessage(tx, { messageId: 'g-sneak', projectId, model: 'm', tenant: 'acme' })),
      ).rejects.toMatchObject({ code: 'SL306' });
    }
    const [n] = await t.db<{ n: number }[]>`
      select (select count(*) from shipslog.agent_messages where message_id = 'g-sneak')
           + (select count(*) from shipslog.projects where id = 'fresh') as n`;
    expect(Number(n?.n)).toBe(0);
  });
});
