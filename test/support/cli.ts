import { execFile, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../src/db/embedded.ts';

export const run = promisify(execFile);

/** The test process's environment for a `shipslog` child: DATABASE_URL only when given. */
export function cliEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'info', ...extra };
  for (const name of ['DATABASE_URL', 'SHIPSLOG_APP_DATABASE_URL', 'SHIPSLOG_RECONCILER_DATABASE_URL']) {
    if (!extra[name]) delete env[name];
  }
  return env;
}

export async function waitForHealth(port: number, child: ChildProcess, ms = 30_000): Promise<unknown> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`serve exited early with ${child.exitCode}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (res.ok) return await res.json();
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('serve did not become healthy');
}

export interface ServeProcess {
  port: number;
  child: ChildProcess;
  logs: () => string;
  /** SIGTERM, then the exit code. */
  stop: () => Promise<number | null>;
}

/** `node bin/shipslog.js serve` with these variables, once /healthz answers. */
export async function startServe(extra: Record<string, string>): Promise<ServeProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ['bin/shipslog.js', 'serve'], {
    env: cliEnv({ PORT: String(port), HOST: '127.0.0.1', ...extra }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let logs = '';
  child.stdout?.on('data', (b: Buffer) => (logs += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (logs += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    return exited;
  };
  try {
    await waitForHealth(port, child);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n${logs}`);
  }
  return { port, child, logs: () => logs, stop };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `node bin/shipslog.js ...args` with cliEnv(extra); never throws: the exit code is in the result. */
export async function shipslog(args: string[], extra: Record<string, string>, options: { cwd?: string; timeout?: number } = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [path.resolve('bin/shipslog.js'), ...args], {
      env: cliEnv(extra),
      timeout: options.timeout ?? 60_000,
      ...(options.cwd ? { cwd: options.cwd } : {}),
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}
