import { Hono } from 'hono';
import type { Config } from '../config.ts';
import type { Db } from '../db/client.ts';
import type { Log } from '../log.ts';

export interface AppDeps {
  db: Db;
  config: Config;
  log: Log;
}

/** The HTTP application. Health routes need no authentication. */
export function createApp(deps: AppDeps): Hono {
  const app = new Hono();

  app.get('/healthz', (c) => c.json({ status: 'ok' }));

  app.get('/readyz', async (c) => {
    try {
      await withTimeout(deps.db`select 1`.execute(), 2000);
      return c.json({ status: 'ready', database: 'ok' });
    } catch (err) {
      deps.log.warn({ err }, 'readiness check failed: database unreachable');
      return c.json({ status: 'not ready', database: 'unreachable' }, 503);
    }
  });

  return app;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
