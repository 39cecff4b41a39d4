import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/db/embedded.ts';

/** Debian's package installs it in /usr/sbin, which a non-root PATH may lack. */
export function pgbouncerBinary(): string | null {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/local/sbin'];
  for (const d of dirs) if (d && existsSync(path.join(d, 'pgbouncer'))) return path.join(d, 'pgbouncer');
  return null;
}

export interface PgBouncer {
  port: number;
  /** The URL of `database` on PgBouncer for this login, `?prepare=false` as shipslog needs it there. */
  url: (user: string, password: string, database: string) => string;
  logs: () => string;
  stop: () => Promise<void>;
}

/**
 * PgBouncer in transaction pooling mode in front of host:port: at most `poolSize` server
 * connections per database and user, however many clients connect, so that every client's
 * transactions share them as in production.
 */
export async function startPgBouncer(options: { host: string; port: number; users: Record<string, string>; poolSize: number }): Promise<PgBouncer> {
  const binary = pgbouncerBinary();
  if (!binary) throw new Error('pgbouncer is not installed');
  const dir = await mkdtemp(path.join(tmpdir(), 'shipslog-pgbouncer-'));
  await chmod(dir, 0o755); // PgBouncer refuses to run as root: as root it switches to postgres (-u)
  const port = await freePort();
  const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;
  await writeFile(path.join(dir, 'userlist.txt'), Object.entries(options.users).map(([u, p]) => `${quote(u)} ${quote(p)}`).join('\n') + '\n', { mode: 0o644 });
  await writeFile(
    path.join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=${options.host} port=${options.port}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = scram-sha-256',
      `auth_file = ${path.join(dir, 'userlist.txt')}`,
      'pool_mode = transaction',
      `default_pool_size = ${options.poolSize}`,
      'min_pool_size = 0',
      'reserve_pool_size = 0',
      'max_client_conn = 500',
      // What the driver sends at startup and PgBouncer does not track itself.
      'ignore_startup_parameters = extra_float_digits',
      'server_reset_query =',
      'log_connections = 0',
      'log_disconnections = 0',
      '',
    ].join('\n'),
    { mode: 0o644 },
  );
  const args = [...(process.getuid?.() === 0 ? ['-u', 'postgres'] : []), path.join(dir, 'pgbouncer.ini')];
  const child: ChildProcess = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let logs = '';
  child.stdout?.on('data', (b: Buffer) => (logs += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (logs += b.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`pgbouncer did not start:\n${logs}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    url: (user, password, database) =>
      `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}?prepare=false`,
    logs: () => logs,
    stop,
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
