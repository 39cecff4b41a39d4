/*
 * Issue 9, item 7: the server's memory. A real `node bin/shipslog.js serve` with the image's
 * memory settings (the Dockerfile's ENV NODE_OPTIONS and MALLOC_ARENA_MAX) and a cluster
 * configured (the Kubernetes API test server, so the cluster client is loaded and used): its
 * RSS idle must stay <= 150 MB and, under 50 concurrent API connections, <= 300 MB. The deploy
 * manifest must run with the same settings and a memory limit above what they allow.
 * `npm run soak` measures the same over minutes (RELIABILITY.md).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { createApiKey } from '../src/db/api-keys.ts';
import { startServe, type ServeProcess } from './support/cli.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { parseDockerfile } from './support/image.ts';
import { startKubeApiTestServer, type KubeApiTestServer } from './support/kube-api-server.ts';

const repo = path.resolve(import.meta.dirname, '..');
const idleLimitMb = 150;
const loadLimitMb = 300;

/** NODE_OPTIONS and MALLOC_ARENA_MAX as the Dockerfile's ENV sets them. */
function imageMemoryEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { op, args } of parseDockerfile(readFileSync(path.join(repo, 'Dockerfile'), 'utf8'))) {
    if (op !== 'ENV') continue;
    for (const m of args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) {
      if (m[1] === 'NODE_OPTIONS' || m[1] === 'MALLOC_ARENA_MAX') out[m[1]] = (m[2] as string).replace(/^"|"$/g, '');
    }
  }
  return out;
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Math.round(Number(m?.[1]) / 1024);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('memory settings', () => {
  it('the image caps the heap, and deploy/ runs with the same settings and a limit above what they allow', () => {
    const image = imageMemoryEnv();
    expect(image.NODE_OPTIONS).toMatch(/--max-old-space-size=\d+/);
    expect(image.NODE_OPTIONS).toMatch(/--max-semi-space-size=\d+/);
    expect(image.MALLOC_ARENA_MAX).toBe('2');
    const docs = parseAllDocuments(readFileSync(path.join(repo, 'deploy/shipslog.yaml'), 'utf8')).map((d) => d.toJS());
    const deployment = docs.find((d) => d?.kind === 'Deployment');
    const server = deployment.spec.template.spec.containers.find((c: { name: string }) => c.name === 'shipslog');
    const env = Object.fromEntries((server.env as { name: string; value?: string }[]).filter((e) => e.value !== undefined).map((e) => [e.name, e.value]));
    expect({ NODE_OPTIONS: env.NODE_OPTIONS, MALLOC_ARENA_MAX: env.MALLOC_ARENA_MAX }).toEqual(image);
    const oldSpaceMb = Number(/--max-old-space-size=(\d+)/.exec(image.NODE_OPTIONS as string)?.[1]);
    const limit = /^(\d+)Mi$/.exec(server.resources.limits.memory as string);
    expect(limit, 'the memory limit in Mi').not.toBeNull();
    // The old generation at its cap plus what the process holds beside it (~100 MB measured idle).
    expect(Number(limit?.[1])).toBeGreaterThanOrEqual(oldSpaceMb + 100);
    expect(Number(limit?.[1])).toBeGreaterThanOrEqual(loadLimitMb);
  });

  it('the Kubernetes client loads without its generated API classes (patches/@kubernetes+client-node+2.0.1.patch)', async () => {
    // The modules Node loads for src/reconciler/kube.ts, recorded by a load hook.
    const script = `
      import { registerHooks } from 'node:module';
      const seen = [];
      registerHooks({ load(url, context, next) { seen.push(url); return next(url, context); } });
      await import(${JSON.stringify(path.join(repo, 'src/reconciler/kube.ts'))});
      console.log(JSON.stringify(seen.filter((u) => u.includes('@kubernetes/client-node'))));
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd: repo });
    const loaded = JSON.parse(stdout) as string[];
    expect(loaded.some((u) => u.endsWith('/dist/config.js'))).toBe(true);
    expect(loaded.filter((u) => /\/gen\/(types\/|apis\/(?!exception))|\/dist\/(index|api)\.js$/.test(u))).toEqual([]);
  });
});

describe('the server RSS', () => {
  let database: TestDatabase;
  let kubeApi: KubeApiTestServer;
  let serve: ServeProcess | undefined;
  let dir: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    kubeApi = await startKubeApiTestServer();
    dir = await mkdtemp(path.join(tmpdir(), 'shipslog-memory-'));
    const kubeconfig = path.join(dir, 'kubeconfig');
    await writeFile(kubeconfig, [
      'apiVersion: v1', 'kind: Config', 'current-context: t',
      `clusters: [{name: t, cluster: {server: "${kubeApi.url}", insecure-skip-tls-verify: true}}]`,
      'users: [{name: t, user: {token: t}}]',
      'contexts: [{name: t, context: {cluster: t, user: t, namespace: default}}]', '',
    ].join('\n'));
    serve = await startServe({ DATABASE_URL: database.url, KUBECONFIG: kubeconfig, SHIPSLOG_DATA_DIR: path.join(dir, 'data'), LOG_LEVEL: 'warn', ...imageMemoryEnv() });
  }, 60_000);

  afterAll(async () => {
    await serve?.stop();
    await kubeApi?.stop();
    await database?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it(`<= ${idleLimitMb} MB idle and <= ${loadLimitMb} MB under 50 concurrent connections`, async () => {
    const { port, child } = serve as ServeProcess;
    const pid = child.pid as number;
    await sleep(8000); // started: migrations checked, reconciler listening, nothing to do
    const idle = rssMb(pid);

    const base = `http://127.0.0.1:${port}`;
    const { key } = await createApiKey(database.db, { name: 'memory', tenant: null, scopes: ['admin'] });
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    const deadline = Date.now() + 20_000;
    let peak = idle;
    let ok = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 500);
    await Promise.all(
      Array.from({ length: 50 }, async (_, c) => {
        const created = await fetch(`${base}/v1/deployments`, {
          method: 'POST', headers,
          body: JSON.stringify({ tenant: `mem-${c % 4}`, name: `m${c}`, recipe: 'web', app_version: '1', config: { image: 'nginx' } }),
        });
        expect(created.status).toBe(201);
        const { id } = (await created.json()) as { id: string };
        for (let n = 0; Date.now() < deadline; n++) {
          const res = n % 3 === 2
            ? await fetch(`${base}/v1/deployments/${id}/history?limit=20`, { headers })
            : await fetch(`${base}/v1/deployments/${id}`, { method: 'PATCH', headers, body: JSON.stringify({ config: { env: { N: String(n) } } }) });
          await res.arrayBuffer();
          expect(res.status).toBe(200);
          ok++;
        }
      }),
    );
    clearInterval(sampler);
    peak = Math.max(peak, rssMb(pid));
    console.log(`server RSS: ${idle} MB idle, ${peak} MB at most under 50 connections (${ok} requests in 20 s); ${kubeApi.requests.length} Kubernetes API requests`);
    expect(idle).toBeLessThanOrEqual(idleLimitMb);
    expect(peak).toBeLessThanOrEqual(loadLimitMb);
    expect(ok).toBeGreaterThan(50);
  }, 90_000);
});
