import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../src/db/embedded.ts';
import { cliEnv, run, waitForHealth } from './support/cli.ts';

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

async function postgresProcessesFor(dataDir: string): Promise<string> {
  const { stdout } = await run('ps', ['-eo', 'args']);
  return stdout.split('\n').filter((l) => l.includes(dataDir)).join('\n');
}

describe('npm start', () => {
  // npm runs the script through `sh -c`; the script execs node, so the signal npm passes on
  // reaches shipslog (a shell in between would die and leave the server running).
  it.each(['SIGINT', 'SIGTERM'] as const)('stops on %s sent to npm\'s own process, leaving no server behind', async (signal) => {
    const dataDir = await tempDir(`shipslog-npm-${signal}-`);
    const port = await freePort();
    const npm = process.env.npm_execpath;
    const [command, args] = npm ? [process.execPath, [npm, 'start']] : ['npm', ['start']];
    const child = spawn(command, args, {
      env: cliEnv({ SHIPSLOG_DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1' }),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, so that cleanup can reach a shipslog npm failed to stop
    });
    let logs = '';
    child.stdout.on('data', (b: Buffer) => (logs += b.toString()));
    child.stderr.on('data', (b: Buffer) => (logs += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    cleanup.push(async () => {
      try {
        process.kill(-(child.pid as number), 'SIGTERM'); // the whole group: npm, sh, node
      } catch {
        return; // the group is gone
      }
      await new Promise((resolve) => setTimeout(resolve, 5000));
    });
    await waitForHealth(port, child, 60_000);
    child.kill(signal);
    const code = await Promise.race([exited, new Promise<string>((resolve) => setTimeout(() => resolve('still running after 20 s'), 20_000))]);
    expect(code, logs).toBe(0);
    expect(logs).toContain(`"signal":"${signal}","msg":"shutting down"`);
    expect(logs).toContain('"msg":"stopped"');
    expect(await postgresProcessesFor(dataDir)).toBe('');
    expect(existsSync(path.join(dataDir, 'server.json'))).toBe(false);
  }, 90_000);
});
