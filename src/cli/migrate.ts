import type { Config } from '../config.ts';
import { migrate } from '../db/migrate.ts';
import { createLog } from '../log.ts';
import { openDatabase } from './database.ts';
import { applyBootstrapAdminKey } from './keys.ts';

export async function migrateCommand(config: Config): Promise<void> {
  const log = createLog(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const database = await openDatabase(config, log);
  try {
    const { applied, loginSql } = await migrate(database.url, { log: (m) => process.stderr.write(`${m}\n`), logins: database.logins });
    if (applied.length === 0) {
      process.stdout.write('database is up to date: no migration applied; sql/ definitions re-applied\n');
    } else {
      process.stdout.write(`applied ${applied.length} migration(s):\n${applied.map((n) => `  ${n}\n`).join('')}sql/ definitions re-applied\n`);
    }
    if (config.bootstrapAdminKey) process.stdout.write(`${await applyBootstrapAdminKey(database.url, config.bootstrapAdminKey)}\n`);
    for (const login of database.logins) {
      if (!loginSql.some((s) => s.includes(`"${login.name}"`))) {
        process.stdout.write(`${login.role === 'auditor' ? 'read-only login' : 'runtime login'} ${login.name}: member of shipslog_${login.role}\n`);
      }
    }
    if (loginSql.length > 0) {
      // Printed for a person who may manage roles; the passwords stay in the runtime URLs.
      process.stdout.write(
        `\nthis login may not create or change roles; run as one that may (CREATEROLE, and ADMIN OPTION on the group roles):\n\n` +
          `${loginSql.map((s) => `  ${s};\n`).join('')}\n`,
      );
      process.exitCode = 3;
    }
  } finally {
    await database.stop();
  }
}
