import { readFileSync, rmSync } from 'node:fs';
import { chmod, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import path from 'node:path';
import { processAlive, runningPostmaster } from '../db/embedded.ts';

/**
 * `<dataDir>/server.json`: where the embedded PostgreSQL of a running `serve` (or
 * `reconciler`) listens, so that every other `shipslog` command uses that server instead of
 * starting a second one on the same data directory (which PostgreSQL refuses: postmaster.pid).
 * Its port changes at every start. Written once the server is up (mode 0600: it is the map to
 * a database whose password sits beside it), removed at stop and, on a crash that still runs
 * exit handlers, on exit. A record left by a process killed outright is recognised as stale and
 * ignored: its pid is gone, or nothing answers on its port, or the postmaster that holds the
 * data directory listens elsewhere.
 */
export interface ServerRecord {
  /** The shipslog process that started the embedded server and will stop it. */
  pid: number;
  command: string;
  host: string;
  port: number;
  startedAt: string;
}

export const recordFile = (dataDir: string) => path.join(path.resolve(dataDir), 'server.json');

export async function writeServerRecord(dataDir: string, record: ServerRecord): Promise<() => Promise<void>> {
  const file = recordFile(dataDir);
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  await chmod(temp, 0o600);
  await rename(temp, file); // atomic: a reader sees the old record or the new one, never half
  const removeOnExit = () => removeIfOurs(file, record.pid);
  process.on('exit', removeOnExit);
  return async () => {
    process.off('exit', removeOnExit);
    if ((await readRecord(file))?.pid === record.pid) await rm(file, { force: true });
  };
}

function removeIfOurs(file: string, pid: number): void {
  try {
    if ((JSON.parse(readFileSync(file, 'utf8')) as ServerRecord).pid === pid) rmSync(file, { force: true });
  } catch {
    // gone already, or not ours to read
  }
}

async function readRecord(file: string): Promise<ServerRecord | null> {
  try {
    const r = JSON.parse(await readFile(file, 'utf8')) as Partial<ServerRecord>;
    if (typeof r.pid !== 'number' || typeof r.port !== 'number' || typeof r.host !== 'string') return null;
    return { command: 'serve', startedAt: '', ...r } as ServerRecord;
  } catch {
    return null;
  }
}

export type RecordLookup = { record: ServerRecord; live: true } | { record: ServerRecord; live: false; stale: string } | null;

/** The record, and whether the server it names is really up (see the module comment). */
export async function findServerRecord(dataDir: string): Promise<RecordLookup> {
  const record = await readRecord(recordFile(dataDir));
  if (!record) return null;
  if (!processAlive(record.pid)) return { record, live: false, stale: `its process ${record.pid} is gone` };
  const postmaster = await runningPostmaster(path.join(path.resolve(dataDir), 'pgdata'));
  if (!postmaster || postmaster.port !== record.port) {
    return { record, live: false, stale: `no PostgreSQL of this data directory listens on port ${record.port}` };
  }
  if (!(await answers(record.host, record.port, 1000))) {
    return { record, live: false, stale: `nothing answers on ${record.host}:${record.port}` };
  }
  return { record, live: true };
}

/** Whether a TCP connection to host:port opens within ms. */
export function answers(host: string, port: number, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(ms, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
