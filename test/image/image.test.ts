import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import { generateKey } from '../../src/db/api-keys.ts';
import { freePort } from '../../src/db/embedded.ts';
import { run } from '../support/cli.ts';
import { withDatabase } from '../support/global-setup.ts';
import { interpolate, packageOf, reproduceImage, runtimeImports, snapshot, type ReproducedImage } from '../support/image.ts';

/**
 * The container image without a container runtime: test/support/image.ts carries out the
 * Dockerfile (exactly what its COPY lines name, its `npm ci --omit=dev`) into a temporary
 * directory, and docker-compose.yml's `migrate` and `shipslog` services run from there, with
 * the environments compose gives them, against real PostgreSQL. What this proves: the image's
 * files and production dependencies are enough to migrate, serve, pass the healthcheck and
 * answer the API; what it cannot prove: that `docker build` itself succeeds (base image, a
 * layer's shell), which needs a Docker engine.
 */

const repo = path.resolve(import.meta.dirname, '../..');
const adminUrl = inject('adminUrl');
const suffix = randomBytes(3).toString('hex');
const cleanup: (() => Promise<void>)[] = [];
let image: ReproducedImage;
let root: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'shipslog-image-'));
  cleanup.push(() => rm(root, { recursive: true, force: true }));
  // Node would find a node_modules in any parent directory: none may exist, or a dev
  // dependency could resolve from there and hide a missing one.
  for (let d = path.dirname(root); ; d = path.dirname(d)) {
    expect(existsSync(path.join(d, 'node_modules')), `${d}/node_modules exists: the image test needs a temporary directory without one above it`).toBe(false);
    if (d === path.dirname(d)) break;
  }
  image = await reproduceImage(repo, path.join(root, 'app'));
}, 180_000);

afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => {});
});

const pkg = JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };

/** Runtime imports that the image cannot satisfy: a relative file it lacks, or a package that is not a production dependency. */
function unsatisfiedImports(dir: string): string[] {
  return runtimeImports(dir, ['bin', 'src']).flatMap(({ file, specifier }) => {
    const name = packageOf(specifier);
    if (name === null) {
      if (specifier.startsWith('node:') || !specifier.startsWith('.')) return [];
      return existsSync(path.resolve(dir, path.dirname(file), specifier)) ? [] : [`${file}: ${specifier} is not in the image`];
    }
    if (!(name in pkg.dependencies)) return [`${file}: ${specifier} (${name} is ${name in pkg.devDependencies ? 'a dev dependency' : 'no dependency'})`];
    return existsSync(path.join(dir, 'node_modules', name)) ? [] : [`${file}: ${specifier} is not installed by npm ci --omit=dev`];
  });
}

interface Started {
  child: ChildProcess;
  logs: () => string;
  exited: Promise<number | null>;
}

/** A command of the image, as its container would run it: cwd WORKDIR, `node` being this Node.js. */
function start(img: ReproducedImage, command: string[], env: Record<string, string>): Started {
  const [bin, ...args] = command;
  expect(bin).toBe('node');
  const child = spawn(process.execPath, args, { cwd: img.dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let logs = '';
  child.stdout?.on('data', (b: Buffer) => (logs += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (logs += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, logs: () => logs, exited };
}

async function runToEnd(img: ReproducedImage, command: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const p = start(img, command, env);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 60_000);
  const code = await p.exited;
  clearTimeout(timer);
  return { code, out: p.logs() };
}

/** The container's environment: the image's ENV, then the service's, container paths moved into the test's directories. */
function containerEnv(img: ReproducedImage, service: Record<string, string>, paths: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: paths['/data'] ?? tmpdir() };
  for (const [k, v] of Object.entries({ ...img.env, ...service })) {
    env[k] = Object.entries(paths).reduce((value, [from, to]) => (value === from || value.startsWith(`${from}/`) ? to + value.slice(from.length) : value), v);
  }
  return env;
}

describe('the container image (Dockerfile) and docker-compose.yml, without a container runtime', () => {
  it('holds exactly what the Dockerfile copies plus production dependencies, and every runtime import resolves in it', async () => {
    expect(image.workdir).toBe('/app');
    expect(image.user).toBe('1000:1000'); // numeric, as runAsNonRoot needs; deploy/ runs as the same
    expect(image.cmd).toEqual(['node', 'bin/shipslog.js', 'serve']);
    expect((await readdir(image.dir)).sort()).toEqual([...new Set([...image.copied, 'node_modules'])].sort());
    // patches/: npm ci's postinstall applies it (patch-package) to the driver in the image.
    expect(image.copied.sort()).toEqual(['bin', 'migrations', 'package-lock.json', 'package.json', 'patches', 'sql', 'src']);
    for (const copy of ['src', 'cjs/src']) {
      expect(readFileSync(path.join(image.dir, 'node_modules/postgres', copy, 'connection.js'), 'utf8')).toContain('shipslog patch');
    }
    const installed = new Set(await readdir(path.join(image.dir, 'node_modules')));
    const lock = JSON.parse(readFileSync(path.join(repo, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const devOnly = Object.entries(lock.packages).filter(([p, v]) => v.dev && p.split('node_modules/').length === 2).map(([p]) => p.slice('node_modules/'.length));
    expect(devOnly.length).toBeGreaterThan(0);
    expect(devOnly.filter((name) => installed.has(name.split('/')[0] as string) && existsSync(path.join(image.dir, 'node_modules', name)))).toEqual([]);
    expect(unsatisfiedImports(image.dir)).toEqual([]);
  });

  it('runs as compose does: migrate as the owner (logins, first admin key), then serve with only the runtime logins; /readyz, healthcheck, API', async () => {
    const compose = parse(readFileSync(path.join(repo, 'docker-compose.yml'), 'utf8')) as {
      services: Record<string, { command?: string[]; environment?: Record<string, string>; depends_on?: Record<string, { condition: string }>; healthcheck?: { test: string[] }; read_only?: boolean }>;
    };
    const { migrate, shipslog } = compose.services;
    expect(migrate?.command).toEqual(['node', 'bin/shipslog.js', 'migrate']);
    expect(shipslog?.depends_on?.migrate?.condition).toBe('service_completed_successfully');
    expect(shipslog?.environment).not.toHaveProperty('DATABASE_URL'); // the server never holds the owner's URL
    expect(shipslog?.read_only).toBe(true);

    // Compose's own values, with the test's PostgreSQL standing in for the `postgres` service.
    const name = `shipslog_test_${process.pid}_img_${suffix}`;
    const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
    await admin`create database ${admin(name)}`;
    const logins: string[] = [];
    cleanup.push(async () => {
      await admin`drop database if exists ${admin(name)} with (force)`;
      for (const login of logins) await admin.unsafe(`drop role if exists "${login}"`); // names made here
      await admin.end({ timeout: 5 });
    });
    const server = new URL(withDatabase(adminUrl, name));
    const bootstrapKey = generateKey();
    const vars = { SHIPSLOG_BOOTSTRAP_ADMIN_KEY: bootstrapKey };
    const asHere = (vars: Record<string, string>, env: Record<string, string> = {}) =>
      Object.fromEntries(
        Object.entries(env).map(([k, raw]) => {
          const value = interpolate(String(raw), vars);
          if (!k.endsWith('DATABASE_URL')) return [k, value];
          const u = new URL(value);
          expect(u.host).toBe('postgres:5432');
          u.host = server.host;
          u.pathname = server.pathname;
          if (k === 'DATABASE_URL') {
            u.username = server.username;
            u.password = server.password;
          } else {
            u.username = `${u.username}_${suffix}`; // roles are server-wide: another run's must not collide
            logins.push(u.username);
          }
          return [k, u.toString()];
        }),
      );
    const dataDir = path.join(root, 'data');
    const paths = { '/data': dataDir };
    const migrateEnv = containerEnv(image, asHere(vars, migrate?.environment), paths);
    const port = await freePort();
    const serveEnv: Record<string, string> = { ...containerEnv(image, asHere(vars, shipslog?.environment), paths), PORT: String(port), HOST: '127.0.0.1' };
    expect(serveEnv.SHIPSLOG_BOOTSTRAP_ADMIN_KEY).toBeUndefined();
    expect(serveEnv.SHIPSLOG_DATA_DIR).toBe(dataDir);

    const migrated = await runToEnd(image, migrate!.command!, migrateEnv);
    expect(migrated, migrated.out).toMatchObject({ code: 0 });
    expect(migrated.out).toContain(`runtime login shipslog_api_${suffix}: member of shipslog_app`);
    expect(migrated.out).toContain(`runtime login shipslog_worker_${suffix}: member of shipslog_reconciler`);
    expect(migrated.out).toMatch(/SHIPSLOG_BOOTSTRAP_ADMIN_KEY stored \(hashed\) as admin key/);
    expect(migrated.out).not.toContain(bootstrapKey);

    // README's compose step for more keys: `docker compose run --rm migrate node bin/shipslog.js keys create ...`.
    const made = await runToEnd(image, ['node', 'bin/shipslog.js', 'keys', 'create', '--name', 'ops', '--scopes', 'read', '--expires-in', '90d'], migrateEnv);
    expect(made, made.out).toMatchObject({ code: 0 });
    const readKey = /slk_[A-Za-z0-9_-]{43}/.exec(made.out)?.[0] as string;

    expect(image.madeDirs).toContain('/data'); // the image's RUN mkdir; here, the volume's stand-in
    await mkdir(dataDir);
    const before = snapshot(image.dir);
    const serve = start(image, shipslog?.command ?? image.cmd, serveEnv);
    const base = `http://127.0.0.1:${port}`;
    try {
      const deadline = Date.now() + 60_000;
      let ready: Response | undefined;
      while (Date.now() < deadline && serve.child.exitCode === null) {
        ready = await fetch(`${base}/readyz`).catch(() => undefined);
        if (ready?.ok) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(ready?.status, serve.logs()).toBe(200);
      expect(await ready!.json()).toMatchObject({ status: 'ready', database: 'ok', reconciler: { mode: 'plan-only', running: true } });

      const health = await runToEnd(image, shipslog!.healthcheck!.test.slice(1), serveEnv);
      expect(shipslog!.healthcheck!.test[0]).toBe('CMD');
      expect(health, health.out).toMatchObject({ code: 0 });

      const auth = { authorization: `Bearer ${bootstrapKey}`, 'content-type': 'application/json' };
      const created = await fetch(`${base}/v1/deployments`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ tenant: 'acme', name: 'orders-db', recipe: 'postgresql', app_version: '16', config: { storage: '8Gi' }, secrets: { POSTGRES_PASSWORD: 's3cret' }, reason: 'image test' }),
      });
      expect(created.status, await created.clone().text()).toBe(201);
      const { id } = (await created.json()) as { id: string };
      expect((await fetch(`${base}/v1/deployments/${id}/history`, { headers: auth })).status).toBe(200);
      expect((await fetch(`${base}/v1/deployments`, { headers: { authorization: `Bearer ${readKey}` } })).status).toBe(200);
      // /docs/assets/... come from the production dependency swagger-ui-dist; /ui/login is a page of src/ui.
      for (const p of ['/healthz', '/openapi.json', '/docs', '/docs/assets/swagger-ui-bundle.js', '/ui/login', '/metrics']) {
        expect([p, (await fetch(`${base}${p}`)).status]).toEqual([p, 200]);
      }

      // The change was written by the API's runtime login, not by the owner.
      const db = postgres(withDatabase(adminUrl, name), { max: 1, onnotice: () => {} });
      try {
        const rows = await db<{ db_role: string; db_user: string }[]>`
          select db_role, db_user from shipslog.deployment_events where deployment_id = ${id} and action = 'created'
        `;
        expect(rows).toEqual([{ db_role: 'shipslog_app', db_user: `shipslog_api_${suffix}` }]);
      } finally {
        await db.end({ timeout: 5 });
      }
    } finally {
      if (serve.child.exitCode === null) serve.child.kill('SIGTERM');
    }
    expect(await serve.exited, serve.logs()).toBe(0);
    expect(serve.logs()).not.toContain(bootstrapKey);
    // read_only: true (compose) and readOnlyRootFilesystem (deploy/): the app's files are
    // unchanged, and the data directory holds only the fingerprint key (none was configured).
    expect(snapshot(image.dir)).toEqual(before);
    expect(await readdir(dataDir)).toEqual(['fingerprint-key']);
    // The healthcheck fails when nothing answers.
    expect((await runToEnd(image, shipslog!.healthcheck!.test.slice(1), serveEnv)).code).toBe(1);
  }, 150_000);

  it('catches a file the Dockerfile forgot and a runtime import of a dev dependency (the checks above, shown to fail)', async () => {
    // 1. A Dockerfile without `COPY sql ./sql`: migrate fails, naming what is missing.
    const dockerfile = readFileSync(path.join(repo, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^COPY sql \.\/sql$/m);
    const noSql = await reproduceImage(repo, path.join(root, 'no-sql'), { dockerfile: dockerfile.replace(/^COPY sql \.\/sql$/m, ''), linkNodeModulesFrom: image.dir });
    const name = `shipslog_test_${process.pid}_imgneg_${suffix}`;
    const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
    await admin`create database ${admin(name)}`;
    cleanup.push(async () => {
      await admin`drop database if exists ${admin(name)} with (force)`;
      await admin.end({ timeout: 5 });
    });
    const env = containerEnv(noSql, { DATABASE_URL: withDatabase(adminUrl, name) }, { '/data': path.join(root, 'no-sql-data') });
    const failed = await runToEnd(noSql, ['node', 'bin/shipslog.js', 'migrate'], env);
    expect(failed.code).not.toBe(0);
    expect(failed.out).toMatch(/no such file or directory.*\/sql/);

    // 2. A source file that imports a dev dependency at runtime: the static check names it,
    // and the image's own `serve` cannot even load.
    const devDep = Object.keys(pkg.devDependencies).find((d) => !(d in pkg.dependencies) && !existsSync(path.join(image.dir, 'node_modules', d))) as string;
    const devImport = await reproduceImage(repo, path.join(root, 'dev-import'), { linkNodeModulesFrom: image.dir });
    const serveTs = path.join(devImport.dir, 'src/cli/serve.ts');
    await writeFile(serveTs, `import '${devDep}';\n${readFileSync(serveTs, 'utf8')}`);
    expect(unsatisfiedImports(devImport.dir)).toEqual([`src/cli/serve.ts: ${devDep} (${devDep} is a dev dependency)`]);
    const crashed = await runToEnd(devImport, devImport.cmd, containerEnv(devImport, {}, {}));
    expect(crashed.code).not.toBe(0);
    expect(crashed.out).toMatch(/ERR_MODULE_NOT_FOUND|Cannot find package/); // the CLI prints the message, not the code
    expect(crashed.out).toContain(`'${devDep}'`);
    // ... while the repository itself, whose node_modules holds dev dependencies, would not notice.
    expect(existsSync(path.join(repo, 'node_modules', devDep))).toBe(true);
  }, 60_000);
});
