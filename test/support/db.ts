import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { inject } from 'vitest';
import { createDb, type Db } from '../../src/db/client.ts';
import { withDatabase } from './global-setup.ts';

export interface TestDatabase {
  /** URL of this file's own database (superuser). */
  url: string;
  /** A pool connected to it as the superuser that owns the schema. */
  db: Db;
  /** Opens another pool (for concurrency tests); closed by drop(). */
  connect: (max?: number, applicationName?: string) => Db;
  drop: () => Promise<void>;
}

/** A fresh, migrated database cloned from the template made in global setup. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = inject('adminUrl');
  const template = inject('templateDatabase');
  const name = `shipslog_test_${template.split('_').pop()}_${randomBytes(5).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    // Two clones of one template at the same moment can collide; retry briefly.
    for (let attempt = 0; ; attempt++) {
      try {
        await admin`create database ${admin(name)} template ${admin(template)}`;
        break;
      } catch (err) {
        if (attempt >= 20 || !(err instanceof postgres.PostgresError) || err.code !== '55006') throw err;
        await new Promise((r) => setTimeout(r, 100 + attempt * 50));
      }
    }
  } finally {
    await admin.end();
  }
  const url = withDatabase(adminUrl, name);
  const pools: Db[] = [];
  const connect = (max = 4, applicationName = 'shipslog test') => {
    const pool = createDb(url, { max, applicationName });
    pools.push(pool);
    return pool;
  };
  const db = connect(4);
  return {
    url,
    db,
    connect,
    drop: async () => {
      await Promise.all(pools.map((p) => p.end({ timeout: 5 })));
      const a = postgres(adminUrl, { max: 1, onnotice: () => {} });
      try {
        await a`drop database if exists ${a(name)} with (force)`;
      } finally {
        await a.end();
      }
    },
  };
}
