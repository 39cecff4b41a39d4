import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureFirstAdminKey } from '../../src/cli/keys.ts';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { generateKey, hashKey } from '../../src/db/api-keys.ts';
import { pino } from 'pino';
import { createLog } from '../../src/log.ts';
import { cliEnv, run } from '../support/cli.ts';
import { createTestApi, type TestApi } from './harness.ts';

// The first admin key of a database of your own (SHIPSLOG_BOOTSTRAP_ADMIN_KEY), keys that
// expire (`keys create --expires-in`), and last_used_at kept without a write per request.
let api: TestApi;
beforeAll(async () => {
  api = await createTestApi();
});
afterAll(async () => api?.drop());

const shipslog = (args: string[], extra: Record<string, string> = {}) =>
  run(process.execPath, ['bin/shipslog.js', ...args], { env: cliEnv({ DATABASE_URL: api.t.url, LOG_LEVEL: 'warn', ...extra }), timeout: 60_000 });
const failure = (p: Promise<unknown>) => p.then(() => ({ code: 0, stdout: '', stderr: '' }), (e: { code: number; stdout: string; stderr: string }) => e);

type KeyRow = { id: string; name: string; scopes: string[]; last_used_at: Date | null; expires_at: Date | null; revoked_at: Date | null; xmin: string };
const rowOf = async (key: string) =>
  (await api.t.db<KeyRow[]>`
    select id, name, scopes, last_used_at, expires_at, revoked_at, xmin::text
    from shipslog.api_keys
    where key_hash = ${hashKey(key)}
  `)[0];

describe('SHIPSLOG_BOOTSTRAP_ADMIN_KEY', () => {
  it('is validated like every setting, and a bad value is never echoed', () => {
    const bad = `slk_${'é'.repeat(43)}`;
    let message = '';
    try {
      loadConfig({ SHIPSLOG_BOOTSTRAP_ADMIN_KEY: bad });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      message = (err as Error).message;
    }
    expect(message).toMatch(/SHIPSLOG_BOOTSTRAP_ADMIN_KEY: must be slk_ and 43 base64url characters/);
    expect(message).not.toContain(bad);
    const good = generateKey();
    expect(loadConfig({ SHIPSLOG_BOOTSTRAP_ADMIN_KEY: good }).bootstrapAdminKey).toBe(good);
  });

  it('`shipslog migrate` stores it hashed while no admin key exists; then it is ignored; revoking it is final', { timeout: 120_000 }, async () => {
    const key = (await shipslog(['keys', 'generate'])).stdout.trim();
    expect(key).toMatch(/^slk_[A-Za-z0-9_-]{43}$/);
    expect((await api.call(key, 'GET', '/v1/deployments')).status).toBe(401);

    const first = await shipslog(['migrate'], { SHIPSLOG_BOOTSTRAP_ADMIN_KEY: key });
    expect(first.stdout).toMatch(/SHIPSLOG_BOOTSTRAP_ADMIN_KEY stored \(hashed\) as admin key [0-9a-f-]{36} "bootstrap-admin"/);
    expect(`${first.stdout}${first.stderr}`).not.toContain(key.slice(4));
    expect(await rowOf(key)).toMatchObject({ name: 'bootstrap-admin', scopes: ['admin'], revoked_at: null, expires_at: null });
    expect((await api.call(key, 'GET', '/v1/deployments')).status).toBe(200);

    const again = await shipslog(['migrate'], { SHIPSLOG_BOOTSTRAP_ADMIN_KEY: key });
    expect(again.stdout).toMatch(/SHIPSLOG_BOOTSTRAP_ADMIN_KEY is stored already \(key [0-9a-f-]{36}\)/);

    // Another bootstrap key once an admin key exists: ignored, said so, and it opens nothing.
    const other = generateKey();
    const ignored = await shipslog(['migrate'], { SHIPSLOG_BOOTSTRAP_ADMIN_KEY: other });
    expect(ignored.stdout).toContain('SHIPSLOG_BOOTSTRAP_ADMIN_KEY ignored: an admin key exists already');
    expect(await rowOf(other)).toBeUndefined();

    // Revoked: a restart with the same variable does not bring it back.
    await shipslog(['keys', 'revoke', (await rowOf(key))!.id]);
    const afterRevoke = await shipslog(['migrate'], { SHIPSLOG_BOOTSTRAP_ADMIN_KEY: key });
    expect(afterRevoke.stdout).toContain('SHIPSLOG_BOOTSTRAP_ADMIN_KEY is stored already');
    expect((await api.call(key, 'GET', '/v1/deployments')).status).toBe(401);
    await expect(ensureFirstAdminKey(loadConfig({ SHIPSLOG_BOOTSTRAP_ADMIN_KEY: other }), { url: api.t.url, embedded: false }, createLog('silent'))).resolves.toBeUndefined();
    expect(await rowOf(other)).toBeUndefined();
  });

  it('serve with the owner\'s URL stores it (the same function as migrate); with no admin key ever, once', async () => {
    await api.t.db`delete from shipslog.api_keys`;
    const key = generateKey();
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (l: string) => lines.push(l) });
    const config = loadConfig({ DATABASE_URL: api.t.url, SHIPSLOG_BOOTSTRAP_ADMIN_KEY: key });
    await Promise.all([1, 2, 3].map(() => ensureFirstAdminKey(config, { url: api.t.url, embedded: false }, log))); // replicas at once
    const [count] = await api.t.db<{ n: number }[]>`select count(*)::int as n from shipslog.api_keys`;
    expect(count?.n).toBe(1);
    expect((await api.call(key, 'GET', '/v1/deployments')).status).toBe(200);
    expect(lines.join('')).toContain('stored (hashed) as admin key');
    expect(lines.join('')).not.toContain(key.slice(4));
  });
});

describe('keys that expire', () => {
  it('`keys create --expires-in 90d` sets expires_at; an expired key gets 401 and shows as expired', { timeout: 60_000 }, async () => {
    const created = await shipslog(['keys', 'create', '--name', 'ci-quarterly', '--scopes', 'read', '--expires-in', '90d']);
    const key = created.stdout.trim();
    expect(created.stderr).toMatch(/; expires \d{4}-\d\d-\d\dT/);
    const row = (await rowOf(key))!;
    const days = (row.expires_at!.getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(89.9);
    expect(days).toBeLessThan(90.1);
    expect((await api.call(key, 'GET', '/v1/deployments')).status).toBe(200);
    expect((await shipslog(['keys', 'list'])).stdout).toMatch(/ci-quarterly .* active until \d{4}-/);

    // Ninety days later (moved back in time, the CHECK expires_at > created_at kept).
    await api.t.db`
      update shipslog.api_keys
      set created_at = now() - interval '91 days', expires_at = now() - interval '1 day'
      where id = ${row.id}
    `;
    const refused = await api.call(key, 'GET', '/v1/deployments');
    expect(refused.status).toBe(401);
    expect((await refused.json()).detail).toContain('expired');
    expect((await shipslog(['keys', 'list'])).stdout).toMatch(/ci-quarterly .* expired \d{4}-/);

    for (const bad of ['0', 'soon']) {
      const err = await failure(shipslog(['keys', 'create', '--name', 'x', '--expires-in', bad]));
      expect(err.code).toBe(1);
      expect(err.stderr).toContain('--expires-in must be an age such as 90d');
    }
  });
});

describe('last use of a key', () => {
  it('is recorded at the first request, then at most once per 5 minutes: no write per request', async () => {
    const key = await api.key('acme', ['read'], 'busy-bot');
    expect((await rowOf(key))!.last_used_at).toBeNull();
    expect((await api.call(key, 'GET', '/v1/deployments')).status).toBe(200);
    const first = (await rowOf(key))!;
    expect(first.last_used_at).not.toBeNull();

    // Twenty more requests: the row is not written again (same xmin, same last_used_at).
    for (let i = 0; i < 20; i++) expect((await api.call(key, 'GET', '/v1/deployments')).status).toBe(200);
    const busy = (await rowOf(key))!;
    expect([busy.xmin, busy.last_used_at]).toEqual([first.xmin, first.last_used_at]);

    // Six minutes later, the next request records it again.
    await api.t.db`update shipslog.api_keys set last_used_at = now() - interval '6 minutes' where id = ${first.id}`;
    const stale = (await rowOf(key))!;
    expect((await api.call(key, 'GET', '/v1/deployments')).status).toBe(200);
    const later = (await rowOf(key))!;
    expect(later.xmin).not.toBe(stale.xmin);
    expect(later.last_used_at!.getTime()).toBeGreaterThan(Date.now() - 60_000);
  });

  it('through shipslog.record_api_key_use() only: the API\'s role may call it, and may not write the table', async () => {
    const key = await api.key(null, ['read'], 'role-check');
    const { id } = (await rowOf(key))!;
    await api.t.db.begin(async (tx) => {
      await tx`set local role shipslog_app`;
      await tx`select shipslog.record_api_key_use(${hashKey(key)})`;
      await tx`select shipslog.record_api_key_use(${hashKey(key)})`; // within 5 minutes: no second write
    });
    expect((await rowOf(key))!.last_used_at).not.toBeNull();
    await expect(
      api.t.db.begin(async (tx) => {
        await tx`set local role shipslog_app`;
        await tx`update shipslog.api_keys set last_used_at = now() where id = ${id}`;
      }),
    ).rejects.toMatchObject({ code: '42501' });
    // A revoked key's use is not recorded (its row is the owner's business now).
    await api.t.db`update shipslog.api_keys set revoked_at = now(), last_used_at = null where id = ${id}`;
    await api.t.db`select shipslog.record_api_key_use(${hashKey(key)})`;
    expect((await rowOf(key))!.last_used_at).toBeNull();
  });
});
