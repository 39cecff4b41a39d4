import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { startEmbedded } from '../../src/db/embedded.ts';
import { migrate } from '../../src/db/migrate.ts';
import { clusterRoot, startCluster } from './cluster.ts';

export interface BenchDatabase {
  url: string;
  close: () => Promise<void>;
}

/**
 * A fresh, migrated database for one benchmark run: on a throwaway cluster of the server
 * binaries in `bin` when given (bench/support/cluster.ts), else on DATABASE_URL's server when
 * set (a superuser's URL; the database is dropped afterwards), else on a throwaway embedded
 * server. BENCH_DATABASE names it (default shipslog_bench_<label>_<pid>), for servers where a
 * naming rule applies.
 */
export async function benchDatabase(label: string, bin?: string): Promise<BenchDatabase> {
  let adminUrl = bin ? undefined : process.env.DATABASE_URL;
  let stopEmbedded = async () => {};
  if (bin) {
    const root = await clusterRoot(`bench-${label}`);
    const cluster = await startCluster(bin, root).catch(async (err: unknown) => {
      await rm(root, { recursive: true, force: true });
      throw err;
    });
    adminUrl = cluster.url;
    stopEmbedded = async () => {
      await cluster.stop();
      await rm(root, { recursive: true, force: true });
    };
  } else if (!adminUrl) {
    const dir = await mkdtemp(path.join(tmpdir(), `shipslog-bench-${label}-`));
    await chmod(dir, 0o755);
    const server = await startEmbedded({ dataDir: dir, persistent: false });
    adminUrl = server.url('postgres');
    stopEmbedded = async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    };
  }
  const name = process.env.BENCH_DATABASE ?? `shipslog_bench_${label}_${process.pid}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin`drop database if exists ${admin(name)} with (force)`;
  await admin`create database ${admin(name)}`;
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  await migrate(url);
  return {
    url,
    close: async () => {
      await admin`drop database if exists ${admin(name)} with (force)`;
      await admin.end();
      await stopEmbedded();
    },
  };
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

/**
 * A migrated database on DATABASE_URL's server that outlives the run (BENCH_DATABASE, default
 * shipslog_bench_<label>): created when missing, migrated when present, never dropped. For
 * benchmarks whose data takes minutes to make.
 */
export async function keptDatabase(label: string): Promise<BenchDatabase> {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) throw new Error('BENCH_KEEP=1 needs DATABASE_URL: an embedded server does not outlive the run');
  const name = process.env.BENCH_DATABASE ?? `shipslog_bench_${label}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  const [exists] = await admin`select from pg_database where datname = ${name}`;
  if (!exists) await admin`create database ${admin(name)}`;
  await admin.end();
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  await migrate(url);
  return { url, close: async () => {} };
}
