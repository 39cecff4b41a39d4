import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { urlFor } from '../src/db/logins.ts';
import { cliEnv, run } from './support/cli.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { insertDeployment } from './support/fixtures.ts';

// `shipslog logins create --role auditor NAME`: a LOGIN that is a member of shipslog_auditor
// only, its password printed once; the auditor reads the trail and changes nothing.
let t: TestDatabase;
const name = `auditor_${randomBytes(3).toString('hex')}`;
const shipslog = (...args: string[]) => run(process.execPath, ['bin/shipslog.js', 'logins', ...args], { env: cliEnv({ DATABASE_URL: t.url }) });
const failure = (p: Promise<unknown>) => p.then(() => ({ code: 0, stderr: '' }), (e: { code: number; stderr: string }) => e);

beforeAll(async () => {
  t = await createTestDatabase();
  await insertDeployment(t.db, { tenant: 'acme', name: 'orders-db' });
});
afterAll(async () => {
  await t.db.unsafe(`drop role if exists ${name}`).catch(() => {}); // a name made above
  await t?.drop();
});

describe('shipslog logins', () => {
  it('creates an auditor login that reads the trail and may change nothing, then drops it', async () => {
    const created = await shipslog('create', '--role', 'auditor', name);
    const password = /^ {2}(\S+)$/m.exec(created.stdout)?.[1] as string;
    expect(created.stdout).toContain(`created login ${name}, a member of shipslog_auditor only`);
    expect(password.length).toBeGreaterThanOrEqual(32);

    const auditor = postgres(urlFor(t.url, { name, password }), { max: 1, onnotice: () => {} });
    try {
      const [row] = await auditor<{ n: number; who: string }[]>`select count(*)::int as n, current_user as who from shipslog.deployment_events`;
      expect(row).toEqual({ n: 1, who: 'shipslog_auditor' });
      await expect(auditor`update shipslog.deployments set config = '{}'`).rejects.toMatchObject({ code: '42501' });
      await expect(auditor`select key_hash from shipslog.api_keys`).rejects.toMatchObject({ code: '42501' });
    } finally {
      await auditor.end({ timeout: 5 });
    }
    expect((await shipslog('list')).stdout).toContain(`shipslog_auditor\t${name}\n`);

    const again = await failure(shipslog('create', '--role', 'auditor', name));
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`a role named "${name}" exists already`);

    expect((await shipslog('drop', name)).stdout).toBe(`dropped login ${name}\n`);
    expect((await t.db`select from pg_roles where rolname = ${name}`).length).toBe(0);
  }, 60_000);

  it('refuses an unknown role, a bad name, and dropping a role it did not make', async () => {
    const badRole = await failure(shipslog('create', '--role', 'root', 'someone'));
    expect([badRole.code, badRole.stderr]).toEqual([2, 'shipslog: --role must be one of app, reconciler, auditor, not "root"\n']);
    const badName = await failure(shipslog('create', '--role', 'auditor', 'Robert"; drop'));
    expect(badName.code).toBe(2);
    const notOurs = await failure(shipslog('drop', 'postgres'));
    expect(notOurs.code).toBe(2);
    expect(notOurs.stderr).toContain('"postgres" is not a login made by shipslog');
  }, 60_000);
});
