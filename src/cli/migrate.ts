import type { Config } from '../config.ts';
import { migrate } from '../db/migrate.ts';
import { createLog } from '../log.ts';
import { openDatabase } from './database.ts';

export async function migrateCommand(config: Config): Promise<void> {
  const log = createLog(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const database = await openDatabase(config, log);
  try {
    const { applied } = await migrate(database.url, { log: (m) => process.stderr.write(`${m}\n`) });
    if (applied.length === 0) {
      process.stdout.write('database is up to date: no migration applied; sql/ definitions re-applied\n');
    } else {
      process.stdout.write(`applied ${applied.length} migration(s):\n${applied.map((n) => `  ${n}\n`).join('')}sql/ definitions re-applied\n`);
    }
  } finally {
    await database.stop();
  }
}
