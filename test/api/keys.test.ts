import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureAdminKey } from '../../src/cli/keys.ts';
import { createLog } from '../../src/log.ts';
import { createTestApi, type TestApi } from './harness.ts';

const run = promisify(execFile);
let api: TestApi;
let dir: string;
beforeAll(async () => {
  api = await createTestApi();
  dir = await mkdtemp(path.join(tmpdir(), 'shipslog-keys-'));
});
afterAll(async () => {
  await api?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const cli = (...args: string[]) =>
  run(process.execPath, ['bin/shipslog.js', 'keys', ...args], {
    env: { ...process.env, DATABASE_URL: api.t.url, LOG_LEVEL: 'warn' },
    timeout: 30_000,
  });

describe('API keys', () => {
  it('first start with no key: makes an admin key, stores it with mode 0600, once', async () => {
    const file = await ensureAdminKey(api.t.db, dir, createLog('silent'));
    expect(file).toBe(path.join(dir, 'admin-key'));
    expect((await stat(file as string)).mode & 0o777).toBe(0o600);
    const key = (await readFile(file as string, 'utf8')).trim();
    const res = await api.call(key, 'GET', '/v1/deployments');
    expect(res.status).toBe(200);
    expect(await ensureAdminKey(api.t.db, dir, createLog('silent'))).toBeNull();
  });

  it('stores only a SHA-256 of each key', async () => {
    const key = await api.key('acme', ['read']);
    const [row] = await api.t.db<{ n: number }[]>`
      select count(*)::int as n from shipslog.api_keys k where k::text like ${`%${key.slice(4)}%`}`;
    expect(row?.n).toBe(0);
    const [hashed] = await api.t.db<{ n: number }[]>`
      select count(*)::int as n from shipslog.api_keys where key_hash = sha256(convert_to(${key}, 'UTF8'))`;
    expect(hashed?.n).toBe(1);
  });

  it('shipslog keys create | list | revoke; a revoked key gets 401 and scopes are enforced', { timeout: 60_000 }, async () => {
    const created = await cli('create', '--name', 'ci-bot', '--tenant', 'acme', '--scopes', 'read');
    const key = created.stdout.trim();
    expect(key).toMatch(/^slk_[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).toContain('shown only now');
    expect((await api.call(key, 'GET', '/v1/deployments')).status).toBe(200);
    const write = await api.call(key, 'POST', '/v1/deployments', { name: 'x', recipe: 'redis', app_version: '7' });
    expect(write.status).toBe(403);

    const list = (await cli('list')).stdout;
    expect(list).toContain('ci-bot');
    expect(list).toContain(key.slice(0, 10));
    expect(list).not.toContain(key);

    const revoked = await cli('revoke', key.slice(0, 10));
    expect(revoked.stdout).toContain('revoked');
    expect((await api.call(key, 'GET', '/v1/deployments')).status).toBe(401);
    await expect(cli('create', '--name', 'x', '--scopes', 'root')).rejects.toMatchObject({ code: 1 });
  });

  it('refuses missing, malformed and unknown keys with 401 problem+json', async () => {
    for (const auth of [undefined, 'Bearer', 'Basic abc', `Bearer slk_${'x'.repeat(43)}`, 'Bearer slk_short']) {
      const res = await api.app.request('/v1/deployments', { headers: auth ? { authorization: auth } : {} });
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(res.headers.get('www-authenticate')).toContain('Bearer');
    }
  });
});
