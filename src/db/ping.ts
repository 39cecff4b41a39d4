import type { Db } from './client.ts';

/** One round trip to the database: what readiness probes check. */
export async function ping(db: Db): Promise<void> {
  await db`select 1`.execute();
}
