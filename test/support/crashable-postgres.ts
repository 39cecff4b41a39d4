import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startEmbedded, type EmbeddedServer } from '../../src/db/embedded.ts';

/**
 * A PostgreSQL server a test or the soak may crash: the embedded package's binaries, data kept
 * across starts, on a fixed port so that it comes back at the same address.
 */
export class CrashablePostgres {
  readonly dataDir: string;
  readonly port: number;
  embedded: EmbeddedServer | undefined;
  logs = '';
  constructor(dataDir: string, port: number) {
    this.dataDir = dataDir;
    this.port = port;
  }

  async start(): Promise<void> {
    // After a SIGKILL of the postmaster its backends linger until they notice (a moment):
    // until then a new postmaster refuses to start on the same shared memory. Retry briefly.
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        this.embedded = await startEmbedded({ dataDir: this.dataDir, persistent: true, port: this.port, onLog: (m) => (this.logs += m) });
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`PostgreSQL did not start again: ${String(err)}\n${this.logs.slice(-2000)}`);
        await sleep(200);
      }
    }
  }

  url(database = 'postgres'): string {
    return (this.embedded as EmbeddedServer).url(database);
  }

  postmasterPid(): number {
    return Number(readFileSync(path.join(this.dataDir, 'pgdata', 'postmaster.pid'), 'utf8').split('\n')[0]);
  }

  /** Sends a signal to the postmaster and waits until it has exited. */
  async signal(signal: NodeJS.Signals): Promise<void> {
    const pid = this.postmasterPid();
    process.kill(pid, signal);
    const deadline = Date.now() + 30_000;
    while (alive(pid)) {
      if (Date.now() > deadline) throw new Error(`postmaster ${pid} did not exit after ${signal}`);
      await sleep(20);
    }
  }

  async stop(): Promise<void> {
    if (alive(this.postmasterPidOrZero())) await this.signal('SIGINT');
  }

  postmasterPidOrZero(): number {
    try {
      return this.postmasterPid();
    } catch {
      return 0;
    }
  }
}

export function alive(pid: number): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
