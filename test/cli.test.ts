import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { nodeProblem } from '../bin/check-node.js';
import { freePort } from '../src/db/embedded.ts';
import { cliEnv, run, waitForHealth } from './support/cli.ts';
import { withDatabase } from './support/global-setup.ts';

const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

async function serveOnce(dataDir: string): Promise<{ logs: string; code: number | null }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['bin/shipslog.js', 'serve'], {
    env: cliEnv({ SHIPSLOG_DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let logs = '';
  child.stdout.on('data', (b: Buffer) => (logs += b.toString()));
  child.stderr.on('data', (b: Buffer) => (logs += b.toString()));
  try {
    expect(await waitForHealth(port, child)).toEqual({ status: 'ok' });
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(200);
    // No cluster configured: the reconciler plans and applies nothing, and readiness says so.
    expect(await ready.json()).toMatchObject({
      status: 'ready',
      database: 'ok',
      reconciler: { mode: 'plan-only', running: true, message: expect.stringContaining('no cluster configured') },
    });
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toContain('shipslog_reconcile_runs_total');
    expect(metrics).toContain('shipslog_http_request_duration_seconds');
  } finally {
    child.kill('SIGTERM');
  }
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  return { logs, code };
}

function postgresProcessesFor(dataDir: string): Promise<string> {
  return run('ps', ['-eo', 'args']).then(({ stdout }) => stdout.split('\n').filter((l) => l.includes(dataDir)).join('\n'));
}

describe('shipslog CLI', () => {
  it('explains an old Node.js in one sentence naming both versions', () => {
    expect(nodeProblem('20.20.2', false)).toBe(
      'shipslog needs Node.js 22.12 or newer, but this is Node.js 20.20.2; install Node.js 24 LTS (for example: npm install --prefix ~/node24 node@24, then put ~/node24/node_modules/.bin first on PATH) and run it again.',
    );
    expect(nodeProblem('22.11.9', true)).toMatch(/needs Node.js 22.12 or newer, but this is Node.js 22.11.9/);
    expect(nodeProblem('22.12.0', false)).toMatch(/type stripping off/);
    expect(nodeProblem('24.11.0', true)).toBeNull();
  });

  it.runIf(existsSync('/usr/bin/node'))('on the machine\'s own older Node.js, prints that sentence and no stack trace', async () => {
    const { stdout: version } = await run('/usr/bin/node', ['--version']);
    const [major, minor] = version.trim().slice(1).split('.').map(Number);
    if (major! > 22 || (major === 22 && minor! >= 12)) return; // that Node is new enough: nothing to show
    const err = (await run('/usr/bin/node', ['bin/shipslog.js', 'serve']).catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(err.code).toBe(1);
    expect(err.stderr.trim().split('\n')).toHaveLength(1);
    expect(err.stderr).toContain(`this is Node.js ${version.trim().slice(1)}`);
  });

  it('`npm start` path: serve starts embedded PostgreSQL, twice in a row on one data directory, and leaves no process', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'shipslog-serve-'));
    await chmod(dataDir, 0o755);
    cleanup.push(() => rm(dataDir, { recursive: true, force: true }));

    const first = await serveOnce(dataDir);
    expect(first.code).toBe(0);
    expect(first.logs).toContain('"msg":"migrations applied"');
    expect(first.logs).toContain('"msg":"stopped"');
    expect(await postgresProcessesFor(dataDir)).toBe('');
    expect((await stat(path.join(dataDir, 'pg-password'))).mode & 0o777).toBe(0o600);

    const second = await serveOnce(dataDir);
    expect(second.code).toBe(0);
    expect(second.logs).not.toContain('migrations applied'); // same data: nothing left to apply
    expect(second.logs).toContain('"msg":"shipslog listening"');
    expect(await postgresProcessesFor(dataDir)).toBe('');
  }, 120_000);

  it('`shipslog migrate` applies every migration to an empty database, then reports it is up to date', async () => {
    const adminUrl = inject('adminUrl');
    const name = `shipslog_test_migrate_${process.pid}`;
    const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
    await admin`drop database if exists ${admin(name)}`;
    await admin`create database ${admin(name)}`;
    cleanup.push(async () => {
      await admin`drop database if exists ${admin(name)} with (force)`;
      await admin.end();
    });
    const env = cliEnv({ DATABASE_URL: withDatabase(adminUrl, name) });
    const first = await run(process.execPath, ['bin/shipslog.js', 'migrate'], { env });
    expect(first.stdout).toMatch(/^applied \d+ migration\(s\):\n {2}0001_baseline\n/);
    const second = await run(process.execPath, ['bin/shipslog.js', 'migrate'], { env });
    expect(second.stdout).toBe('database is up to date: no migration applied; sql/ definitions re-applied\n');
  });

  it('rejects a bad setting with a clear error naming the variable', async () => {
    const err = (await run(process.execPath, ['bin/shipslog.js', 'migrate'], { env: cliEnv({ PORT: 'eighty' }) }).catch((e: unknown) => e)) as {
      code: number;
      stderr: string;
    };
    expect(err.code).toBe(2);
    expect(err.stderr).toMatch(/invalid configuration:\n {2}PORT: /);
  });
});
