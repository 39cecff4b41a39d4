import { createApp, type App } from '../../src/api/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createApiKey, type KeyScope } from '../../src/db/api-keys.ts';
import { createLog } from '../../src/log.ts';
import type { SecretWriter } from '../../src/secrets.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

/** A Response whose json() is untyped: tests assert on shapes with expect(). */
// biome-ignore lint: tests read arbitrary JSON
export type TestResponse = Omit<Response, 'json'> & { json: () => Promise<any> };

export interface TestApi {
  t: TestDatabase;
  app: App;
  /** Makes a key; returns its secret. */
  key: (tenant: string | null, scopes?: KeyScope[], name?: string) => Promise<string>;
  /** A request with a bearer key and JSON body. */
  call: (key: string | null, method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<TestResponse>;
  secretWrites: { namespace: string; name: string; keys: string[] }[];
  drop: () => Promise<void>;
}

/** A real app on this file's own database; secret writes are recorded (names and keys only). */
export async function createTestApi(): Promise<TestApi> {
  const t = await createTestDatabase();
  const secretWrites: TestApi['secretWrites'] = [];
  const secretWriter: SecretWriter = {
    stores: true,
    write: async (namespace, name, values) => {
      secretWrites.push({ namespace, name, keys: Object.keys(values).sort() });
    },
  };
  const config = loadConfig({ DATABASE_URL: t.url, LOG_LEVEL: 'silent' });
  const app = createApp({ db: t.db, config, log: createLog('silent'), secretWriter, fingerprintKey: Buffer.alloc(32, 7) });
  let n = 0;
  return {
    t,
    app,
    secretWrites,
    key: async (tenant, scopes = ['read', 'deploy', 'audit'], name) =>
      (await createApiKey(t.db, { name: name ?? `test-key-${++n}`, tenant, scopes })).key,
    call: async (key, method, path, body, headers = {}) =>
      app.request(path, {
        method,
        headers: {
          ...(key ? { authorization: `Bearer ${key}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
        ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      }),
    drop: () => t.drop(),
  };
}
