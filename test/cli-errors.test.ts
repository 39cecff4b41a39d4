import { mkdtemp, rm, chmod } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { describeError, redactUrl } from '../src/cli/errors.ts';
import { freePort, startEmbedded } from '../src/db/embedded.ts';
import { shipslog } from './support/cli.ts';

// Every failure names its cause: never `shipslog: undefined`.
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

async function occupy(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => new Promise((resolve) => server.close(resolve)));
  return { port: (server.address() as { port: number }).port, server };
}

describe('errors name their cause', () => {
  it('describeError says something for what carries no message', () => {
    expect(describeError(undefined)).toMatch(/rejected with no error/);
    expect(describeError(null)).toMatch(/rejected with no error/);
    expect(describeError(new AggregateError([new Error('connect ECONNREFUSED ::1:5432'), new Error('connect ECONNREFUSED 127.0.0.1:5432')])))
      .toBe('connect ECONNREFUSED ::1:5432; connect ECONNREFUSED 127.0.0.1:5432');
    expect(describeError(Object.assign(new Error(''), { code: 'ECONNRESET' }))).toBe('ECONNRESET');
    expect(describeError(new Error('', { cause: new Error('inner') }))).toBe('inner');
    expect(describeError(new Error('outer', { cause: new Error('inner') }))).toBe('outer (cause: inner)');
    expect(describeError({ severity: 'FATAL' })).toBe('{"severity":"FATAL"}');
    expect(describeError('plain')).toBe('plain');
    expect(redactUrl('postgres://me:s3cret@db.example:5432/app')).toBe('postgres://me@db.example:5432/app');
  });

  it('a refused DATABASE_URL names the variable and the host, never the password', async () => {
    const port = await freePort(); // nothing listens there
    const r = await shipslog(['keys', 'list'], { DATABASE_URL: `postgres://owner:pw-s3cret@127.0.0.1:${port}/shipslog` });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `shipslog: cannot connect to DATABASE_URL (postgres://owner@127.0.0.1:${port}/shipslog): connection refused (is PostgreSQL running there, on that port?) (ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:${port})\n`,
    );
    expect(`${r.stdout}${r.stderr}`).not.toContain('pw-s3cret');

    const unknownHost = await shipslog(['migrate'], { DATABASE_URL: 'postgres://owner:pw-s3cret@no-such-host.invalid/shipslog' });
    expect(unknownHost.code).toBe(2);
    expect(unknownHost.stderr).toMatch(/^shipslog: cannot connect to DATABASE_URL \(postgres:\/\/owner@no-such-host\.invalid\/shipslog\): no such host/);
  });

  it('a busy PORT is found before the database starts: no data directory is initialised', async () => {
    const dataDir = await tempDir('shipslog-busy-port-');
    const { port } = await occupy();
    const started = Date.now();
    const r = await shipslog(['serve'], { SHIPSLOG_DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`shipslog: PORT ${port} on 127.0.0.1 is in use by another process: stop it, or set PORT to a free port (EADDRINUSE)`);
    expect(existsSync(path.join(dataDir, 'pgdata'))).toBe(false);
    expect(Date.now() - started).toBeLessThan(10_000);

    const reconciler = await shipslog(['reconciler'], { SHIPSLOG_DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1' });
    expect(reconciler.code).toBe(2);
    expect(reconciler.stderr).toContain(`PORT ${port} on 127.0.0.1 is in use`);
    expect(existsSync(path.join(dataDir, 'pgdata'))).toBe(false);
  });

  it('an embedded PostgreSQL that exits during start is reported with its own FATAL line, not undefined', async () => {
    const dataDir = await tempDir('shipslog-pg-exit-');
    const { port } = await occupy();
    const err = (await startEmbedded({ dataDir, persistent: true, port }).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toMatch(/^the embedded PostgreSQL in .*pgdata exited during start: .*FATAL: {2}could not create any TCP\/IP sockets/);
  }, 60_000);

  it('a command beside an embedded server nobody recorded names its pid and port, and how to stop it', async () => {
    const dataDir = await tempDir('shipslog-unrecorded-');
    const server = await startEmbedded({ dataDir, persistent: true });
    cleanup.push(server.stop);
    const r = await shipslog(['keys', 'list'], { SHIPSLOG_DATA_DIR: dataDir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      new RegExp(`^shipslog: the embedded PostgreSQL in .*pgdata is already running \\(postmaster pid (\\d+), port ${server.port}\\), but no running shipslog serve recorded it .*stop it with \`kill -INT \\1\``),
    );
  }, 60_000);
});
