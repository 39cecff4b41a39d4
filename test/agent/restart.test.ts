import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/db/api-keys.ts';
import { freePort } from '../../src/db/embedded.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

// The point of the audit trail: records live in PostgreSQL, not in the process, so they
// outlive it. Real `shipslog serve` processes, real HTTP, one database.

const run = promisify(execFile);
let t: TestDatabase;
let key: string;
beforeAll(async () => {
  t = await createTestDatabase();
  key = (await createApiKey(t.db, { name: 'restart-agent', tenant: 'acme', scopes: ['read', 'deploy'] })).key;
});
afterAll(async () => {
  await t?.drop();
});

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, DATABASE_URL: t.url, LOG_LEVEL: 'info', HOST: '127.0.0.1', ...extra };
}

async function startServe(): Promise<{ port: number; child: ChildProcess; logs: () => string }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['bin/shipslog.js', 'serve'], { env: env({ PORT: String(port) }), stdio: ['ignore', 'pipe', 'pipe'] });
  let logs = '';
  child.stdout!.on('data', (b: Buffer) => (logs += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (logs += b.toString()));
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`serve exited early: ${logs}`);
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
    if (ok) return { port, child, logs: () => logs };
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill('SIGTERM');
  throw new Error('serve did not become healthy');
}

async function stop(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  child.kill('SIGTERM');
  return exited;
}

const call = (port: number, method: string, path: string, body?: unknown) =>
  fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });

describe('agent messages across a service restart', () => {
  it('keeps a message written through one serve process for the next one, which schedules retention', async () => {
    const first = await startServe();
    try {
      expect((await call(first.port, 'POST', '/v1/agent-messages', { message_id: 'msg-restart', project_id: 'shop', model: 'claude-sonnet-4' })).status).toBe(201);
      const done = await call(first.port, 'PATCH', '/v1/agent-messages/msg-restart', {
        reasoning: ['survive'], tokens: { prompt: 1, completion: 1, total: 2 }, cost: { prompt: '0.01', completion: '0.02', total: '0.03' },
      });
      expect(done.status).toBe(200);
    } finally {
      expect(await stop(first.child)).toBe(0);
    }
    expect(first.logs()).toContain('"msg":"agent message retention scheduled daily"');

    const second = await startServe();
    try {
      const read = await call(second.port, 'GET', '/v1/agent-messages/msg-restart');
      expect(read.status).toBe(200);
      expect(await read.json()).toMatchObject({ status: 'finalised', reasoning: ['survive'], cost: { total: '0.03' } });
    } finally {
      expect(await stop(second.child)).toBe(0);
    }
  }, 90_000);

  it('`shipslog agent-messages purge --older-than 7d` removes expired messages and records the run', async () => {
    await t.db`
      insert into shipslog.agent_messages (message_id, tenant, project_id, model, created_at)
      values ('msg-ancient', 'acme', 'shop', 'm', now() - interval '8 days'), ('msg-recent', 'acme', 'shop', 'm', now() - interval '6 days')`;
    const { stdout } = await run(process.execPath, ['bin/shipslog.js', 'agent-messages', 'purge', '--older-than', '7d'], { env: env() });
    expect(stdout).toMatch(/^removed 1 agent message\(s\) older than 7d \(created before .+\); recorded as retention run \d+\n$/);
    const left = await t.db<{ message_id: string }[]>`
      select message_id from shipslog.agent_messages where message_id in ('msg-ancient', 'msg-recent')`;
    expect(left.map((r) => r.message_id)).toEqual(['msg-recent']);
    const [runRow] = await t.db<{ kind: string; actor: string }[]>`
      select kind, run_by ->> 'actor' as actor from shipslog.agent_message_retention_runs order by id desc limit 1`;
    expect(runRow?.kind).toBe('manual');
    expect(runRow?.actor).toMatch(/^cli:/);

    const refused = (await run(process.execPath, ['bin/shipslog.js', 'agent-messages', 'purge', '--older-than', '1h'], { env: env() }).catch(
      (e: unknown) => e,
    )) as { code: number; stderr: string };
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--older-than must be an age of at least 1d');
  }, 60_000);
});
