import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { purgeAgentMessages } from '../../src/agent/retention.ts';
import { pino } from 'pino';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { asRole, recordMessage } from './support.ts';

// shipslog.agent_message_daily (sql/agent/40_daily.sql) is derived data: after any mix of starts, finalises,
// no-op retries and purges it must equal the sums recomputed from the messages, and
// agent_analytics (daily sums + edges) must answer exactly as agent_analytics_scan.

let t: TestDatabase;
const hour = 3_600_000;
const day = 24 * hour;
let seed = 42;
const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);

beforeAll(async () => {
  t = await createTestDatabase();
  const models = ['model-a', 'model-b', 'model-c'];
  for (let i = 0; i < 120; i++) {
    const ageMs = Math.floor(random() * 12 * day);
    const tokens = [Math.floor(random() * 5000), Math.floor(random() * 900)] as const;
    const cents = [(random() * 0.5).toFixed(Math.floor(random() * 12) + 1), (random() * 0.2).toFixed(6)] as const;
    const total = (BigInt(Math.round(Number(cents[0]) * 1e12)) + BigInt(Math.round(Number(cents[1]) * 1e12))).toString().padStart(13, '0');
    await recordMessage(
      t.db,
      i % 7 === 0 ? 'globex' : 'acme',
      { messageId: `d-${i}`, projectId: i % 7 === 0 ? 'g-proj' : i % 3 === 0 ? 'other' : 'main', model: models[i % 3]!, createdAt: new Date(Date.now() - ageMs) },
      i % 5 === 0
        ? null
        : {
            reasoning: [],
            tokens: { prompt: tokens[0], completion: tokens[1], total: tokens[0] + tokens[1] },
            cost: { prompt: cents[0], completion: cents[1], total: `${total.slice(0, -12)}.${total.slice(-12)}` },
          },
    );
  }
});
afterAll(async () => {
  await t?.drop();
});

async function drift(): Promise<unknown[]> {
  return [...(await t.db`select * from shipslog.agent_message_daily_drift()`)];
}

async function compare(project: string, from: Date, to: Date): Promise<void> {
  const [r] = await t.db<{ daily: unknown; scan: unknown }[]>`
    select shipslog.agent_analytics(${project}, ${from}, ${to}, 5) as daily,
           shipslog.agent_analytics_scan(${project}, ${from}, ${to}, 5) as scan`;
  expect([project, from.toISOString(), to.toISOString(), r?.daily]).toEqual([project, from.toISOString(), to.toISOString(), r?.scan]);
}

describe('daily sums of agent messages', () => {
  it('match the messages and give the same analytics as a full scan, for any range', async () => {
    expect(await drift()).toEqual([]);
    const [sums] = await t.db<{ n: number }[]>`select count(*)::int as n from shipslog.agent_message_daily`;
    expect(sums?.n).toBeGreaterThan(30); // 3 projects x 3 models x 12 days, mostly filled
    const midnight = new Date(Math.floor(Date.now() / day) * day);
    const ranges: [Date, Date][] = [
      [new Date(Date.now() - 30 * day), new Date()],
      [new Date(midnight.getTime() - 5 * day), midnight], // whole days only
      [new Date(midnight.getTime() - 3 * day + 5 * hour), new Date(midnight.getTime() - 2 * day + 2 * hour)], // two partial days
      [new Date(midnight.getTime() - day + hour), new Date(midnight.getTime() - day + 3 * hour)], // inside one day
    ];
    for (let i = 0; i < 12; i++) {
      const a = Date.now() - Math.floor(random() * 13 * day);
      const b = a + Math.floor(random() * 6 * day) + 1;
      ranges.push([new Date(a), new Date(b)]);
    }
    for (const [from, to] of ranges) {
      for (const project of ['main', 'other', 'g-proj']) await compare(project, from, to);
    }
  });

  it('follow finalises, no-op retries and purges', async () => {
    await recordMessage(t.db, 'acme', { messageId: 'late', projectId: 'main', model: 'model-a', createdAt: new Date(Date.now() - 10 * day) });
    await recordMessage(t.db, 'acme', { messageId: 'late', projectId: 'main', model: 'model-a' }, undefined).catch(() => {}); // duplicate start: refused
    await asRole(t.db, 'shipslog_app', { tenant: 'acme' }, (tx) => tx`update shipslog.agent_messages set model = model where message_id = 'late'`);
    expect(await drift()).toEqual([]);
    const result = await purgeAgentMessages(t.db, 9 * 86_400, 'manual', pino({ level: 'silent' }));
    expect(result.deletedCount).toBeGreaterThan(0);
    expect(await drift()).toEqual([]);
    const [old] = await t.db<{ n: number }[]>`
      select count(*)::int as n from shipslog.agent_message_daily where day_start < now() - interval '10 days'`;
    expect(old?.n).toBe(0);
    await compare('main', new Date(Date.now() - 30 * day), new Date());
  });

  it('stay exact when a write into a purged day commits while the purge waits for it', async () => {
    const oldDay = Math.floor(Date.now() / day) * day - 20 * day;
    await recordMessage(t.db, 'acme', { messageId: 'race-x', projectId: 'race', model: 'model-r', createdAt: new Date(oldDay + hour) });
    const writer = t.connect(1, 'race writer');
    const purger = t.connect(1, 'race purge');
    let commit!: () => void;
    const written = new Promise<void>((ready) => {
      void writer.begin(async (tx) => {
        await tx`select set_config('shipslog.tenant', 'acme', true)`;
        await tx`insert into shipslog.agent_messages (message_id, project_id, model, created_at)
                 values ('race-y', 'race', 'model-r', ${new Date(oldDay + 2 * hour)})`;
        ready();
        await new Promise<void>((r) => (commit = r));
      });
    });
    await written;
    const purge = purgeAgentMessages(purger, 9 * 86_400, 'manual', pino({ level: 'silent' }));
    // The purge removes race-x, then waits for the writer's lock on the day's sum row.
    for (let i = 0; ; i++) {
      const [w] = await t.db<{ n: number }[]>`
        select count(*)::int as n from pg_stat_activity where application_name = 'race purge' and wait_event_type = 'Lock'`;
      if (w?.n) break;
      if (i > 100) throw new Error('the purge never waited for the writer');
      await new Promise((r) => setTimeout(r, 50));
    }
    commit();
    expect((await purge).deletedCount).toBeGreaterThanOrEqual(1);
    expect(await drift()).toEqual([]);
    const [g] = await t.db<{ message_count: string }[]>`
      select message_count::text from shipslog.agent_message_daily where project_id = 'race'`;
    // race-y committed after the purge's snapshot: it survives this purge and is counted.
    expect(g?.message_count).toBe('1');
  });

  it('cannot be written except by the triggers, for any role', async () => {
    const refused = async (p: Promise<unknown>) => {
      try {
        await p;
      } catch (err) {
        return err instanceof postgres.PostgresError ? err.code : String(err);
      }
      return 'accepted';
    };
    expect(await refused(t.db`update shipslog.agent_message_daily set prompt_cost = 0`)).toBe('SL313');
    expect(await refused(t.db`delete from shipslog.agent_message_daily`)).toBe('SL313');
    expect(await refused(t.db`truncate shipslog.agent_message_daily`)).toBe('SL005');
    expect(await refused(t.db`insert into shipslog.agent_message_daily (tenant, project_id, day_start, model, message_count)
      values ('acme', 'main', '2000-01-01', 'x', 1)`)).toBe('SL313');
    for (const role of ['shipslog_app', 'shipslog_auditor', 'shipslog_reconciler'] as const) {
      expect(await refused(asRole(t.db, role, { tenant: 'acme' }, (tx) => tx`update shipslog.agent_message_daily set prompt_cost = 0`))).toBe('42501');
    }
    const seen = await asRole(t.db, 'shipslog_app', { tenant: 'globex' }, (tx) => tx<{ project_id: string }[]>`
      select distinct project_id from shipslog.agent_message_daily`);
    expect(seen.map((r) => r.project_id)).toEqual(['g-proj']);
  });
});
