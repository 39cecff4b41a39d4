import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../src/db/embedded.ts';
import { cliEnv, run, shipslog, startServe, type ServeProcess } from './support/cli.ts';
import { findPsql } from './support/psql.ts';

// Every `shipslog` command while `serve` runs on the embedded default uses that server
// (recorded in <dataDir>/server.json), and psql reaches it through `shipslog psql`.
const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  await chmod(dir, 0o755); // the embedded server runs as the postgres user when we are root
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function serveOn(dataDir: string): Promise<ServeProcess> {
  const serve = await startServe({ SHIPSLOG_DATA_DIR: dataDir });
  cleanup.push(serve.stop);
  return serve;
}

async function query<T extends object>(url: string, text: string): Promise<T[]> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return (await sql.unsafe(text)) as unknown as T[]; // fixed statements written in this file
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function postgresProcessesFor(dataDir: string): Promise<string> {
  const { stdout } = await run('ps', ['-eo', 'args']);
  return stdout.split('\n').filter((l) => l.includes(dataDir)).join('\n');
}

describe('the CLI beside a running serve (embedded default)', () => {
  it('every command uses the running server; db-url and psql reach it as owner and as auditor; the record goes at stop', async () => {
    const dataDir = await tempDir('shipslog-beside-');
    const env = { SHIPSLOG_DATA_DIR: dataDir };
    const serve = await serveOn(dataDir);

    const record = path.join(dataDir, 'server.json');
    expect((await stat(record)).mode & 0o777).toBe(0o600);
    const { pid, port, host } = JSON.parse(await readFile(record, 'utf8')) as { pid: number; port: number; host: string };
    expect(pid).toBe(serve.child.pid);
    expect(host).toBe('127.0.0.1');

    // The commands the README shows, while serve runs.
    const created = await shipslog(['keys', 'create', '--name', 'ci-bot', '--tenant', 'acme', '--scopes', 'read,deploy'], env);
    expect(created).toMatchObject({ code: 0, stdout: expect.stringMatching(/^slk_/) });
    expect(await shipslog(['keys', 'list'], env)).toMatchObject({ code: 0, stdout: expect.stringContaining('ci-bot') });
    expect(await shipslog(['verify'], env)).toMatchObject({ code: 0, stdout: expect.stringContaining('ok: ') });
    expect(await shipslog(['checkpoint'], env)).toMatchObject({ code: 0, stdout: expect.stringMatching(/^checkpoint #1 /) });
    expect(await shipslog(['report', '--from', '2000-01-01', '--to', '2100-01-01'], env)).toMatchObject({ code: 0, stdout: expect.stringMatching(/^shipslog compliance report: PASS\n/) });
    expect(await shipslog(['agent-messages', 'purge', '--older-than', '7d'], env)).toMatchObject({ code: 0, stdout: expect.stringContaining('removed 0 agent message(s)') });
    expect(await shipslog(['logins', 'list'], env)).toMatchObject({ code: 0, stdout: expect.stringContaining('shipslog_auditor\tshipslog_auditor_login') });
    expect(await shipslog(['migrate'], env)).toMatchObject({ code: 0 });

    // db-url: a URL of the running server (password included), owner and auditor.
    const ownerUrl = (await shipslog(['db-url'], env)).stdout.trim();
    expect(new URL(ownerUrl)).toMatchObject({ hostname: '127.0.0.1', port: String(port), username: 'postgres' });
    expect(await query(ownerUrl, 'select count(*)::int as n from shipslog.api_keys')).toEqual([{ n: 2 }]);
    const auditorUrl = (await shipslog(['db-url', '--as', 'auditor'], env)).stdout.trim();
    expect(new URL(auditorUrl).username).toBe('shipslog_auditor_login');
    expect(await query(auditorUrl, 'select current_user as role, session_user as login')).toEqual([
      { role: 'shipslog_auditor', login: 'shipslog_auditor_login' },
    ]);
    await expect(query(auditorUrl, "update shipslog.deployments set config = '{}'")).rejects.toMatchObject({ code: '42501' });
    expect((await stat(path.join(dataDir, 'auditor-login-password'))).mode & 0o777).toBe(0o600);
    const appUrl = (await shipslog(['db-url', '--as', 'app'], env)).stdout.trim();
    expect(await query(appUrl, 'select current_user as role')).toEqual([{ role: 'shipslog_app' }]);

    // psql, the system's client (the same path .ci/run installs), with options passed through.
    findPsql();
    const who = await shipslog(['psql', '--as', 'auditor', '-X', '-At', '-c', 'select current_user, session_user'], env);
    expect(who).toMatchObject({ code: 0, stdout: 'shipslog_auditor|shipslog_auditor_login\n' });
    const refused = await shipslog(['psql', '--as', 'auditor', '-X', '-v', 'ON_ERROR_STOP=1', '-c', 'delete from shipslog.api_keys'], env);
    expect(refused.code).toBe(1); // psql's own exit code
    expect(refused.stderr).toContain('permission denied for table api_keys');
    const report = await shipslog(['psql', '--as', 'auditor', '-X', '-v', 'ON_ERROR_STOP=1', '--csv', '-f', 'sql/reports/api-keys.sql'], env);
    expect(report).toMatchObject({ code: 0, stdout: expect.stringContaining('ci-bot') });

    expect(await serve.stop()).toBe(0);
    expect(existsSync(record)).toBe(false);
    expect(await postgresProcessesFor(dataDir)).toBe('');
    const noServer = await shipslog(['db-url'], env);
    expect(noServer.code).toBe(2);
    expect(noServer.stderr).toContain('no `shipslog serve` is running on the embedded database');
    expect(existsSync(path.join(dataDir, 'pgdata', 'postmaster.pid'))).toBe(false); // db-url started nothing

    // Without serve, psql starts the embedded server for its session and stops it after.
    const alone = await shipslog(['psql', '-X', '-At', '-c', 'select count(*) from shipslog.api_keys'], env);
    expect(alone).toMatchObject({ code: 0, stdout: '2\n' });
    expect(await postgresProcessesFor(dataDir)).toBe('');
  }, 180_000);

  it('a stale record (a crashed serve: pid gone, or nothing on its port) is ignored and replaced', async () => {
    const dataDir = await tempDir('shipslog-stale-');
    const env = { SHIPSLOG_DATA_DIR: dataDir };
    expect(await shipslog(['keys', 'create', '--name', 'first', '--scopes', 'admin'], env)).toMatchObject({ code: 0 });
    const record = path.join(dataDir, 'server.json');

    // A pid that no longer exists: a child that has exited.
    const gone = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => gone.once('exit', resolve));
    const stale = (pid: number, port: number) =>
      writeFile(record, JSON.stringify({ pid, command: 'serve', host: '127.0.0.1', port, startedAt: new Date().toISOString() }), { mode: 0o600 });
    await stale(gone.pid as number, await freePort());
    expect(await shipslog(['keys', 'list'], env)).toMatchObject({ code: 0, stdout: expect.stringContaining('first') });
    expect(existsSync(record)).toBe(false); // removed by the command that held the data directory

    // A live pid (this test's) with nothing of this data directory on the port.
    await stale(process.pid, await freePort());
    expect(await shipslog(['keys', 'list'], env)).toMatchObject({ code: 0, stdout: expect.stringContaining('first') });

    // serve replaces it with its own, and commands follow.
    const serve = await serveOn(dataDir);
    expect(JSON.parse(await readFile(record, 'utf8'))).toMatchObject({ pid: serve.child.pid });
    expect(await shipslog(['keys', 'list'], env)).toMatchObject({ code: 0, stdout: expect.stringContaining('first') });
    expect(await serve.stop()).toBe(0);
    expect(existsSync(record)).toBe(false);
  }, 120_000);

  it('psql missing, and --as auditor on a database of your own without a login, say what to do', async () => {
    const url = inject('adminUrl');
    const missing = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['bin/shipslog.js', 'psql', '-c', 'select 1'], {
        env: { ...cliEnv({ DATABASE_URL: url }), PATH: '/nonexistent' },
      });
      let stderr = '';
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      child.once('exit', (code) => resolve({ code, stderr }));
    });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('shipslog: psql is not installed (no "psql" on PATH): install the PostgreSQL client (Debian and Ubuntu: apt-get install postgresql-client)');

    const auditor = await shipslog(['db-url', '--as', 'auditor'], { DATABASE_URL: url });
    expect(auditor.code).toBe(2);
    expect(auditor.stderr).toContain('--as auditor with a database of your own needs --login NAME: a login made with `shipslog logins create --role auditor NAME`');
    const named = await shipslog(['db-url', '--as', 'auditor', '--login', 'alice_audit'], { DATABASE_URL: url });
    expect(new URL(named.stdout.trim())).toMatchObject({ username: 'alice_audit', password: '' });
    expect(await shipslog(['db-url', '--as', 'nobody'], { DATABASE_URL: url })).toMatchObject({ code: 2, stderr: expect.stringContaining('--as must be one of owner, auditor, app, reconciler') });
  });
});
