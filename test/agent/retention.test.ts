import { Writable } from 'node:stream';
import postgres from 'postgres';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/agent/duration.ts';
import { purgeAgentMessages } from '../../src/agent/retention.ts';
import { createRetentionScheduler } from '../../src/agent/scheduler.ts';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { startAgentMessage } from '../../src/db/agent-messages.ts';
import type { Log } from '../../src/log.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { asRole, recordMessage } from './support.ts';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

function capturingLog(): { log: Log; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: 'debug' }, stream), lines };
}

const day = 86_400_000;

/** Messages whose start is `ageMs` ago; returns their ids. */
async function seed(prefix: string, ages: number[]): Promise<string[]> {
  const ids: string[] = [];
  for (const [i, age] of ages.entries()) {
    const id = `${prefix}-${i}`;
    await recordMessage(t.db, 'acme', { messageId: id, projectId: 'retention', createdAt: new Date(Date.now() - age) }, i % 2 ? null : undefined);
    ids.push(id);
  }
  return ids;
}

async function remaining(prefix: string): Promise<string[]> {
  const rows = await t.db<{ message_id: string }[]>`
    select message_id from shipslog.agent_messages where message_id like ${`${prefix}-%`} order by message_id`;
  return rows.map((r) => r.message_id);
}

async function sqlState(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof postgres.PostgresError) return err.code;
    throw err;
  }
  throw new Error('expected the statement to be refused');
}

describe('agent message retention', () => {
  it('removes exactly the messages older than the age, records the run and logs the count', async () => {
    const ids = await seed('exp', [8 * day, 7 * day + 60_000, 7 * day - 60_000, day, 0]);
    const { log, lines } = capturingLog();
    const result = await purgeAgentMessages(t.db, 7 * 86_400, 'manual', log);
    expect(result).toMatchObject({ outcome: 'ran', deletedCount: 2 });
    expect(await remaining('exp')).toEqual(ids.slice(2));
    const [run] = await t.db<{ kind: string; deleted_count: string; older_than: string; run_by: Record<string, unknown> }[]>`
      select kind, deleted_count::text, older_than::text, run_by from shipslog.agent_message_retention_runs where id = ${result.runId}`;
    expect(run).toMatchObject({ kind: 'manual', deleted_count: '2', older_than: '7 days' });
    expect(run?.run_by).toMatchObject({ actor: 'agent-message-retention', actor_type: 'system' });
    expect(lines.find((l) => l.msg === 'agent message retention removed 2 message(s)')).toMatchObject({ deleted: 2, kind: 'manual' });
  });

  it('runs once across two concurrently ticking schedulers (two pools, as two replicas)', async () => {
    const ids = await seed('dup', [10 * day, 9 * day, 8 * day, 2 * day]);
    const replicas = [t.connect(2, 'replica a'), t.connect(2, 'replica b')].map((db) =>
      createRetentionScheduler({ db, log: capturingLog().log, retentionSeconds: 7 * 86_400 }),
    );
    const results = await Promise.all(replicas.map((r) => r.tick()));
    // The other replica either found the lock taken or, if it came second, today's run recorded.
    const outcomes = results.map((r) => r?.outcome);
    expect(outcomes.filter((o) => o === 'ran')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'locked' || o === 'already_ran')).toHaveLength(1);
    expect(results.reduce((n, r) => n + (r?.deletedCount ?? 0), 0)).toBe(3);
    expect(await remaining('dup')).toEqual(ids.slice(3));
    // Later checks the same day do nothing, on either replica.
    await seed('dup2', [30 * day]);
    expect((await replicas[0]!.tick())?.outcome).toBe('already_ran');
    expect((await replicas[1]!.tick())?.outcome).toBe('already_ran');
    expect(await remaining('dup2')).toHaveLength(1);
    const [runs] = await t.db<{ n: number }[]>`
      select count(*)::int as n from shipslog.agent_message_retention_runs where kind = 'scheduled'`;
    expect(runs?.n).toBe(1);
    await Promise.all(replicas.map((r) => r.stop()));
  });

  it('checks on its timer after start, and stops cleanly', async () => {
    const { log, lines } = capturingLog();
    const scheduler = createRetentionScheduler({ db: t.db, log, retentionSeconds: 7 * 86_400, firstCheckMs: 10, checkIntervalMs: 40 });
    scheduler.start();
    await new Promise((r) => setTimeout(r, 400));
    await scheduler.stop();
    // Today's run is recorded (previous test): every timed check since found it done.
    const checks = lines.filter((l) => l.outcome === 'already_ran').length;
    expect(checks).toBeGreaterThanOrEqual(2);
    await new Promise((r) => setTimeout(r, 150));
    expect(lines.filter((l) => l.outcome === 'already_ran').length).toBe(checks); // stopped: no more checks
    expect(lines.some((l) => l.msg === 'agent message retention scheduled daily')).toBe(true);
  });

  it('a manual purge waits for a running purge instead of skipping it', async () => {
    const holder = t.connect(1, 'lock holder');
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const locked = new Promise<void>((ready) => {
      void holder.begin(async (tx) => {
        await tx`select pg_advisory_xact_lock(5459973005001)`;
        ready();
        await held;
      });
    });
    await locked;
    const purge = purgeAgentMessages(t.db, 7 * 86_400, 'manual', capturingLog().log);
    const early = await Promise.race([purge.then(() => 'done'), new Promise((r) => setTimeout(() => r('waiting'), 300))]);
    expect(early).toBe('waiting');
    release();
    expect((await purge).outcome).toBe('ran');
  });

  it('keeps every message when retention is 0, and refuses an age under one day', async () => {
    await seed('keep', [400 * day]);
    const scheduler = createRetentionScheduler({ db: t.db, log: capturingLog().log, retentionSeconds: 0 });
    scheduler.start();
    expect(await scheduler.tick()).toBeNull();
    await scheduler.stop();
    expect(await remaining('keep')).toHaveLength(1);
    await expect(purgeAgentMessages(t.db, 3600, 'manual', capturingLog().log)).rejects.toMatchObject({ code: 'SL308' });
  });

  it('refuses to let anyone write, change or remove the run record, or delete outside the purge', async () => {
    await asRole(t.db, 'shipslog_app', { tenant: 'acme' }, (tx) =>
      startAgentMessage(tx, { messageId: 'old-1', projectId: 'retention', model: 'm', createdAt: new Date(Date.now() - 30 * day) }),
    );
    expect(await sqlState(t.db`insert into shipslog.agent_message_retention_runs
      (kind, run_date, older_than, cutoff, deleted_count, started_at, finished_at, run_by)
      values ('scheduled', current_date + 1, '7 days', now(), 0, now(), now(), '{}')`)).toBe('SL307');
    expect(await sqlState(t.db`update shipslog.agent_message_retention_runs set deleted_count = 0`)).toBe('SL307');
    expect(await sqlState(t.db`delete from shipslog.agent_message_retention_runs`)).toBe('SL307');
    expect(await sqlState(t.db`truncate shipslog.agent_message_retention_runs`)).toBe('SL005');
    // Expired or not, a plain DELETE is refused (the owner included); only the purge path deletes.
    expect(await sqlState(t.db`delete from shipslog.agent_messages where message_id = 'old-1'`)).toBe('SL303');
    expect(await sqlState(t.db.begin((tx) => tx`set local role shipslog_app; delete from shipslog.agent_messages`.simple()))).toBe('42501');
  });

  it('parses retention ages and validates the setting', () => {
    expect(parseDuration('7d')).toBe(604_800);
    expect(parseDuration('36h')).toBe(129_600);
    expect(parseDuration('2w')).toBe(1_209_600);
    expect(parseDuration('0')).toBe(0);
    expect(parseDuration('7 days')).toBeNull();
    expect(parseDuration('-1d')).toBeNull();
    expect(loadConfig({}).agentMessageRetentionSeconds).toBe(604_800);
    expect(loadConfig({ SHIPSLOG_AGENT_MESSAGE_RETENTION: '0' }).agentMessageRetentionSeconds).toBe(0);
    expect(() => loadConfig({ SHIPSLOG_AGENT_MESSAGE_RETENTION: '12h' })).toThrow(ConfigError);
    expect(() => loadConfig({ SHIPSLOG_AGENT_MESSAGE_RETENTION: 'weekly' })).toThrow(/SHIPSLOG_AGENT_MESSAGE_RETENTION/);
  });
});
