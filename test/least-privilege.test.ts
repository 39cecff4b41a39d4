import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { startEmbedded } from '../src/db/embedded.ts';
import { urlFor } from '../src/db/logins.ts';
import { cliEnv, run, startServe } from './support/cli.ts';
import { withDatabase } from './support/global-setup.ts';

// Through the real entry points (`shipslog serve` as a child process): the API writes as a
// login that is a member of shipslog_app only, the reconciler as a member of
// shipslog_reconciler only; events prove it with db_role and db_user.
const adminUrl = inject('adminUrl');
const template = inject('templateDatabase');
const suffix = randomBytes(3).toString('hex');
const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => {});
});

async function createDeployment(port: number, key: string, name: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/deployments`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ tenant: 'acme', name, recipe: 'redis', app_version: '7', config: {}, reason: 'least privilege' }),
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

type Who = { action: string; actor_type: string; db_role: string; db_user: string };

async function writersOf(db: postgres.Sql, id: string, until: (rows: Who[]) => boolean): Promise<Who[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const rows = await db<Who[]>`
      select action, actor_type, db_role, db_user from shipslog.deployment_events where deployment_id = ${id} order by chain_index
    `;
    if (until(rows) || Date.now() > deadline) return [...rows];
    await new Promise((r) => setTimeout(r, 200));
  }
}

const hasReconcilerEvent = (rows: Who[]) => rows.some((r) => r.actor_type === 'system');

/** What a login may do beyond its group role: nothing, for a runtime login. */
async function powersOf(db: postgres.Sql, login: string) {
  const [row] = await db<{ superuser: boolean; createrole: boolean; bypassrls: boolean; groups: string[]; owner_member: boolean }[]>`
    select r.rolsuper as superuser, r.rolcreaterole as createrole, r.rolbypassrls as bypassrls,
           array(select g.rolname::text from pg_auth_members as m join pg_roles as g on g.oid = m.roleid where m.member = r.oid order by 1) as groups,
           pg_has_role(r.oid, (select nspowner from pg_namespace where nspname = 'shipslog'), 'member') as owner_member
    from pg_roles as r
    where r.rolname = ${login}
  `;
  return row;
}

describe('least privilege at runtime', () => {
  it('embedded default: serve makes its own logins; the API writes as shipslog_app, the reconciler as shipslog_reconciler', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'shipslog-lp-'));
    await chmod(dataDir, 0o755);
    cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
    const serve = await startServe({ SHIPSLOG_DATA_DIR: dataDir });
    let id: string;
    try {
      const key = (await readFile(path.join(dataDir, 'admin-key'), 'utf8')).trim();
      id = await createDeployment(serve.port, key, 'embedded-db');
      // Wait for the reconciler's plan-only run to record its status.
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        const res = await fetch(`http://127.0.0.1:${serve.port}/v1/deployments/${id}/history?limit=50`, { headers: { authorization: `Bearer ${key}` } });
        const body = (await res.json()) as { items: { actor_type: string }[] };
        if (body.items.some((e) => e.actor_type === 'system')) break;
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      expect(await serve.stop()).toBe(0);
    }
    for (const role of ['app', 'reconciler']) {
      expect((await stat(path.join(dataDir, `${role}-login-password`))).mode & 0o777).toBe(0o600);
    }
    // Read what was written, as the owner, on the same (now stopped) embedded server.
    const server = await startEmbedded({ dataDir, persistent: true });
    cleanup.push(server.stop);
    const db = postgres(server.url('postgres'), { max: 1, onnotice: () => {} });
    cleanup.push(() => db.end({ timeout: 5 }));
    const rows = await writersOf(db, id, hasReconcilerEvent);
    const api = rows.filter((r) => r.actor_type !== 'system');
    const reconciler = rows.filter((r) => r.actor_type === 'system');
    expect(api.length).toBeGreaterThan(0);
    expect(reconciler.length).toBeGreaterThan(0);
    expect(new Set(api.map((r) => `${r.db_role} ${r.db_user}`))).toEqual(new Set(['shipslog_app shipslog_app_login']));
    expect(new Set(reconciler.map((r) => `${r.db_role} ${r.db_user}`))).toEqual(new Set(['shipslog_reconciler shipslog_reconciler_login']));
    for (const [login, group] of [['shipslog_app_login', 'shipslog_app'], ['shipslog_reconciler_login', 'shipslog_reconciler']] as const) {
      expect(await powersOf(db, login)).toEqual({ superuser: false, createrole: false, bypassrls: false, groups: [group], owner_member: false });
      const password = (await readFile(path.join(dataDir, `${group.replace('shipslog_', '')}-login-password`), 'utf8')).trim();
      const as = postgres(urlFor(server.url('postgres'), { name: login, password }), { max: 1, onnotice: () => {} });
      try {
        const [who] = await as<{ current_user: string }[]>`select current_user`;
        expect(who?.current_user).toBe(group); // sessions start as the group role
        await expect(as`set role postgres`).rejects.toMatchObject({ code: '42501' });
        await expect(as`select * from shipslog.api_keys`).rejects.toMatchObject({ code: '42501' });
        await expect(as`truncate shipslog.deployment_events`).rejects.toMatchObject({ code: '42501' });
      } finally {
        await as.end({ timeout: 5 });
      }
    }
  }, 120_000);

  it('a database of your own: migrate creates the logins named in the runtime URLs; serve runs with only those URLs', async () => {
    const name = `shipslog_test_${template.split('_').pop()}_lp_${suffix}`;
    const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
    cleanup.push(() => admin.end({ timeout: 5 }));
    await admin`create database ${admin(name)}`;
    const appLogin = { name: `lp_app_${suffix}`, password: `pw-${randomBytes(8).toString('hex')}` };
    const reconcilerLogin = { name: `lp_rec_${suffix}`, password: `pw-${randomBytes(8).toString('hex')}` };
    cleanup.push(async () => {
      await admin`drop database if exists ${admin(name)} with (force)`;
      await admin.unsafe(`drop role if exists ${appLogin.name}, ${reconcilerLogin.name}`); // names made here, safe
    });
    const ownerUrl = withDatabase(adminUrl, name);
    const appUrl = urlFor(ownerUrl, appLogin);
    const reconcilerUrl = urlFor(ownerUrl, reconcilerLogin);

    const migrated = await run(process.execPath, ['bin/shipslog.js', 'migrate'], {
      env: cliEnv({ DATABASE_URL: ownerUrl, SHIPSLOG_APP_DATABASE_URL: appUrl, SHIPSLOG_RECONCILER_DATABASE_URL: reconcilerUrl }),
    });
    expect(migrated.stdout).toContain(`runtime login ${appLogin.name}: member of shipslog_app`);
    expect(migrated.stdout).toContain(`runtime login ${reconcilerLogin.name}: member of shipslog_reconciler`);
    expect(`${migrated.stdout}${migrated.stderr}`).not.toContain(appLogin.password);

    // A key, made by the owner (the CLI), for the API that runs without the owner's URL.
    const keyOut = await run(process.execPath, ['bin/shipslog.js', 'keys', 'create', '--name', 'lp-admin', '--scopes', 'admin'], {
      env: cliEnv({ DATABASE_URL: ownerUrl }),
    });
    const key = /slk_[A-Za-z0-9_-]{43}/.exec(keyOut.stdout)?.[0] as string;

    const serve = await startServe({ SHIPSLOG_APP_DATABASE_URL: appUrl, SHIPSLOG_RECONCILER_DATABASE_URL: reconcilerUrl });
    let id: string;
    const db = postgres(ownerUrl, { max: 1, onnotice: () => {} });
    cleanup.push(() => db.end({ timeout: 5 }));
    try {
      id = await createDeployment(serve.port, key, 'own-db');
      const rows = await writersOf(db, id, hasReconcilerEvent);
      expect(rows.filter((r) => r.actor_type !== 'system').map((r) => `${r.db_role} ${r.db_user}`)).toEqual([`shipslog_app ${appLogin.name}`]);
      expect(new Set(rows.filter((r) => r.actor_type === 'system').map((r) => `${r.db_role} ${r.db_user}`))).toEqual(
        new Set([`shipslog_reconciler ${reconcilerLogin.name}`]),
      );
    } finally {
      expect(await serve.stop()).toBe(0);
    }
    expect(serve.logs()).not.toContain('connecting as the schema owner');
    expect(serve.logs()).not.toContain(appLogin.password);
    expect(await powersOf(db, appLogin.name)).toMatchObject({ superuser: false, createrole: false, bypassrls: false, groups: ['shipslog_app'] });
  }, 120_000);

  it('an owner that is not a superuser (CREATEROLE only): migrate, logins and writes work under forced row-level security', async () => {
    const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
    cleanup.push(() => admin.end({ timeout: 5 }));
    const owner = { name: `lp_owner_${suffix}`, password: `pw-${randomBytes(8).toString('hex')}` };
    const app = { name: `lp_oapp_${suffix}`, password: `pw-${randomBytes(8).toString('hex')}` };
    const rec = { name: `lp_orec_${suffix}`, password: `pw-${randomBytes(8).toString('hex')}` };
    const name = `shipslog_test_${template.split('_').pop()}_lpo_${suffix}`;
    await admin.unsafe(`create role ${owner.name} login createrole password '${owner.password}'`); // names and passwords made here
    cleanup.push(async () => {
      await admin`drop database if exists ${admin(name)} with (force)`;
      await admin.unsafe(`drop role if exists ${app.name}, ${rec.name}`);
      await admin.unsafe(`drop role if exists ${owner.name}`);
    });
    await admin.unsafe(`create database ${name} owner ${owner.name}`);
    // The group roles exist already on this shared server (another database made them): on
    // PostgreSQL 16+ a CREATEROLE owner needs their ADMIN OPTION from a superuser, as the
    // migrate error's hint says. An owner that creates them itself holds it already.
    const [row] = await admin<{ major: number }[]>`select current_setting('server_version_num')::int / 10000 as major`;
    if ((row?.major ?? 0) >= 16) {
      await admin.unsafe(`grant shipslog_app, shipslog_reconciler, shipslog_auditor, shipslog_agent_retention, shipslog_audit_retention to ${owner.name} with admin option`);
    }
    const ownerUrl = urlFor(withDatabase(adminUrl, name), owner);
    const env = { DATABASE_URL: ownerUrl, SHIPSLOG_APP_DATABASE_URL: urlFor(ownerUrl, app), SHIPSLOG_RECONCILER_DATABASE_URL: urlFor(ownerUrl, rec) };
    for (let i = 0; i < 2; i++) {
      // Twice: the second run updates the existing logins and re-applies sql/ as this owner.
      const migrated = await run(process.execPath, ['bin/shipslog.js', 'migrate'], { env: cliEnv(env) });
      expect(migrated.stdout).toContain(`runtime login ${app.name}: member of shipslog_app`);
    }
    const keyOut = await run(process.execPath, ['bin/shipslog.js', 'keys', 'create', '--name', 'lp-owner', '--scopes', 'admin'], {
      env: cliEnv({ DATABASE_URL: ownerUrl }),
    });
    const key = /slk_[A-Za-z0-9_-]{43}/.exec(keyOut.stdout)?.[0] as string;
    const serve = await startServe({ SHIPSLOG_APP_DATABASE_URL: env.SHIPSLOG_APP_DATABASE_URL, SHIPSLOG_RECONCILER_DATABASE_URL: env.SHIPSLOG_RECONCILER_DATABASE_URL });
    const db = postgres(withDatabase(adminUrl, name), { max: 1, onnotice: () => {} });
    cleanup.push(() => db.end({ timeout: 5 }));
    try {
      const id = await createDeployment(serve.port, key, 'owner-db');
      const rows = await writersOf(db, id, hasReconcilerEvent);
      expect(rows[0]).toMatchObject({ action: 'created', db_role: 'shipslog_app', db_user: app.name });
      expect(rows.some((r) => r.db_user === rec.name)).toBe(true);
    } finally {
      expect(await serve.stop()).toBe(0);
    }
    expect(await db`select * from shipslog.verify_chains()`).toEqual([]);
  }, 120_000);

  it('serve with only the owner\'s URL warns once, naming the risk', async () => {
    const name = `shipslog_test_${template.split('_').pop()}_lpw_${suffix}`;
    const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
    cleanup.push(() => admin.end({ timeout: 5 }));
    await admin`create database ${admin(name)} template ${admin(template)}`;
    cleanup.push(async () => {
      await admin`drop database if exists ${admin(name)} with (force)`;
    });
    const serve = await startServe({ DATABASE_URL: withDatabase(adminUrl, name) });
    await serve.stop();
    const warnings = serve.logs().split('\n').filter((l) => l.includes('connecting as the schema owner'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('SHIPSLOG_APP_DATABASE_URL and SHIPSLOG_RECONCILER_DATABASE_URL not set');
  }, 60_000);

  it('serve with runtime URLs refuses a database whose schema is not this version', async () => {
    const name = `shipslog_test_${template.split('_').pop()}_lpe_${suffix}`;
    const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
    cleanup.push(() => admin.end({ timeout: 5 }));
    await admin`create database ${admin(name)}`;
    cleanup.push(async () => {
      await admin`drop database if exists ${admin(name)} with (force)`;
    });
    const url = withDatabase(adminUrl, name);
    const err = (await run(process.execPath, ['bin/shipslog.js', 'serve'], {
      env: cliEnv({ SHIPSLOG_APP_DATABASE_URL: url, SHIPSLOG_RECONCILER_DATABASE_URL: url }),
    }).catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(err.code).toBe(2);
    expect(err.stderr).toContain("run `shipslog migrate` with the schema owner's DATABASE_URL first");
  }, 60_000);
});
