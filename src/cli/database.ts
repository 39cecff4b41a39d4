import path from 'node:path';
import type { Config } from '../config.ts';
import { startEmbedded } from '../db/embedded.ts';
import type { Log } from '../log.ts';

export interface DatabaseHandle {
  url: string;
  embedded: boolean;
  stop: () => Promise<void>;
}

/** DATABASE_URL when set; otherwise the embedded PostgreSQL whose data persists under the data dir. */
export async function openDatabase(config: Config, log: Log): Promise<DatabaseHandle> {
  if (config.databaseUrl) {
    return { url: config.databaseUrl, embedded: false, stop: async () => {} };
  }
  const dataDir = path.resolve(config.dataDir);
  log.info({ dataDir }, 'DATABASE_URL not set: starting embedded PostgreSQL');
  const server = await startEmbedded({
    dataDir,
    persistent: true,
    onLog: (message) => log.debug({ postgres: message.trim() }, 'embedded postgres'),
  });
  return { url: server.url('postgres'), embedded: true, stop: server.stop };
}
