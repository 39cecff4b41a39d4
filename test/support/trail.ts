import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a child to its end; a non-zero exit is an outcome, not a throw. */
export async function outcome(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<Outcome> {
  try {
    const r = await run(file, args, { env, maxBuffer: 256 << 20 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

export function shipslogEnv(url: string, dataDir: string): NodeJS.ProcessEnv {
  return { ...process.env, DATABASE_URL: url, SHIPSLOG_DATA_DIR: dataDir, LOG_LEVEL: 'error' };
}

/**
 * Checks a trail (or, with proof: true, a proof) with both verifiers as an auditor would run
 * them: `shipslog verify-export` / `verify-proof` and tools/verify-trail.mjs, each a child process.
 */
export async function verifyBoth(
  dir: string,
  name: string,
  text: string,
  publicKeyFile: string,
  opts: { proof?: boolean; args?: string[]; toolArgs?: string[] } = {},
): Promise<{ cli: Outcome; tool: Outcome }> {
  const file = path.join(dir, name);
  await writeFile(file, text);
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'error' };
  delete env.DATABASE_URL;
  const cliArgs = opts.proof
    ? ['bin/shipslog.js', 'verify-proof', file, '--public-key', publicKeyFile, ...(opts.args ?? [])]
    : ['bin/shipslog.js', 'verify-export', file, '--public-key', publicKeyFile, ...(opts.args ?? [])];
  const toolArgs = opts.proof
    ? ['tools/verify-trail.mjs', '--proof', file, '--public-key', publicKeyFile, ...(opts.toolArgs ?? opts.args ?? [])]
    : ['tools/verify-trail.mjs', file, '--public-key', publicKeyFile, ...(opts.toolArgs ?? opts.args ?? [])];
  const [cli, tool] = await Promise.all([outcome(process.execPath, cliArgs, env), outcome(process.execPath, toolArgs, env)]);
  return { cli, tool };
}

export interface Line {
  type: string;
  [key: string]: unknown;
}

export const parseLines = (text: string): Line[] => text.trimEnd().split('\n').map((l) => JSON.parse(l) as Line);
export const joinLines = (lines: Line[]): string => `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`;
