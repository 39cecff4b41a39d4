import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../src/db/embedded.ts';
import { cliEnv } from './support/cli.ts';

/**
 * The README's examples run as written. Every fenced block right after a
 * `<!-- readme-test ... -->` line runs, in one bash session (variables carry over): first the
 * API walk-through (the block that starts the server with `npm start &`), then the others in
 * the README's order; a sql block goes to `npx shipslog psql` on its stdin. They run in a fresh
 * directory that looks like a checkout (links to this one's files) so `.shipslog/` is new,
 * with PORT set to a free port (the walk-through reads it: `${PORT:-8080}`).
 */
interface Block {
  line: number;
  lang: string;
  code: string;
}

export function readmeBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^<!-- readme-test(:.*)? -->$/.test(lines[i] ?? '')) continue;
    const fence = /^```(\w+)$/.exec(lines[i + 1] ?? '');
    if (!fence) throw new Error(`README.md:${i + 1}: a readme-test marker must be followed by a fenced block`);
    const end = lines.indexOf('```', i + 2);
    blocks.push({ line: i + 2, lang: fence[1] as string, code: lines.slice(i + 2, end).join('\n') });
    i = end;
  }
  return blocks;
}

const tools = ['bash', 'curl', 'jq', 'psql'].filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

describe('README.md', () => {
  if (tools.length > 0) {
    // .ci/run installs them with apt-get; elsewhere say plainly what did not run and why.
    console.warn(`README examples not run: ${tools.join(', ')} not installed (Debian: apt-get install ${tools.map((t) => (t === 'psql' ? 'postgresql-client' : t)).join(' ')})`);
  }

  it.skipIf(tools.length > 0)('runs its marked examples as written on a fresh embedded server', async () => {
    const blocks = readmeBlocks(readFileSync('README.md', 'utf8'));
    const start = blocks.find((b) => /^npm start &/m.test(b.code));
    expect(start, 'the API walk-through starts the server with `npm start &`').toBeDefined();
    expect(blocks.length).toBeGreaterThanOrEqual(5);
    const ordered = [start as Block, ...blocks.filter((b) => b !== start)];

    const dir = await mkdtemp(path.join(tmpdir(), 'shipslog-readme-'));
    await chmod(dir, 0o755); // the embedded server runs as the postgres user when we are root
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    for (const f of ['package.json', 'bin', 'src', 'sql', 'migrations', 'node_modules']) await symlink(path.resolve(f), path.join(dir, f));

    const script = [
      'set -euo pipefail',
      // Whatever happens, stop the server the walk-through started and wait for it (npm passes
      // SIGTERM on to shipslog, which stops the embedded PostgreSQL).
      'trap \'kill $(jobs -p) 2>/dev/null || true; wait\' EXIT',
      ...ordered.map((b) => {
        const body = b.lang === 'sql' ? `npx shipslog psql -X -v ON_ERROR_STOP=1 <<'README_SQL'\n${b.code}\nREADME_SQL` : b.code;
        return `echo '### README.md:${b.line}'\n${body}`;
      }),
    ].join('\n');

    const port = await freePort();
    const child = spawn('bash', ['-c', script], {
      cwd: dir,
      detached: true, // its own process group: cleanup can reach everything it started
      stdio: ['ignore', 'pipe', 'pipe'],
      env: cliEnv({
        PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`,
        PORT: String(port),
        LOG_LEVEL: 'warn',
        npm_config_cache: path.join(dir, '.npm-cache'), // npx links this checkout into its cache: keep that here
        npm_config_update_notifier: 'false',
      }),
    });
    cleanup.push(async () => {
      try {
        process.kill(-(child.pid as number), 'SIGTERM');
        await new Promise((resolve) => setTimeout(resolve, 3000));
      } catch {
        // the group has exited
      }
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    const out = `${stdout}\n--- stderr ---\n${stderr}`;
    expect(code, out).toBe(0);

    const section = (line: number) => stdout.split(`### README.md:${line}\n`)[1]?.split('\n### README.md:')[0] ?? '';
    const api = section(start!.line);
    expect(api, out).toMatch(/^\{"version":\d+,"config":\{"storage":"16Gi",/m);
    expect(api, out).toMatch(/^\{"version":\d+,"app_version":"17"\}$/m);
    expect(api, out).toContain('{"action":"upgraded","when":"just now","actor":"admin","reason":"security fix","changes":["upgraded 16 -> 17"]}');
    expect(api, out).toContain('"action":"config_changed","when":"just now","actor":"admin","reason":"disk 91% full","changes":["storage: 8Gi -> 16Gi"]}');
    expect(api, out).toContain('"changes":["created postgresql 16"]}');
    expect(api, out).toMatch(/"changes":\["upgraded 16 -> 17"\]/); // the agent tool's answer too

    const of = (pattern: RegExp) => section(ordered.find((b) => pattern.test(b.code))!.line);
    expect(of(/shipslog verify/), out).toMatch(/^ok: \d+ chain\(s\), \d+ event\(s\) verified$/m);
    expect(of(/psql --as auditor/), out).toContain('upgraded 16 -> 17');
    expect(of(/^begin;/m), out).toMatch(/UPDATE 1\nCOMMIT/);
    const agent = of(/agent-messages purge/);
    expect(agent, out).toContain('"message_count": 1');
    expect(agent, out).toMatch(/removed 0 agent message\(s\) older than 7d/);
    const runs = of(/RUN=/);
    // Which generations got a run of their own depends on how soon the reconciler woke: the
    // README's commands change the deployment a few ms apart, and a generation already
    // superseded when it is claimed gets none.
    expect(runs, out).toMatch(/"generation": \d+,\n\s*"phase": "Completed"/);
    expect(runs, out).toMatch(/\{"from_phase":.*"to_phase":/);
    expect(runs, out).toMatch(/\(\d+ rows?\)/);
    expect(stderr).not.toMatch(/^shipslog: (?!created an admin API key)/m); // no command complained
  }, 180_000);
});
