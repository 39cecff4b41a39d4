import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';

export const migrationsDir = fileURLToPath(new URL('../../migrations', import.meta.url));

export type MigrationLog = (message: string) => void;

/**
 * Applies pending migrations (SQL files in migrations/, in name order) and returns their
 * names. node-pg-migrate holds an advisory lock, so replicas starting together wait for
 * one another instead of racing.
 */
export async function migrate(databaseUrl: string, log: MigrationLog = () => {}): Promise<string[]> {
  const applied = await runner({
    databaseUrl,
    dir: migrationsDir,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    migrationsSchema: 'public',
    checkOrder: true,
    singleTransaction: true,
    advisoryLockMode: 'wait',
    log: () => {},
    logger: { debug: () => {}, info: () => {}, warn: log, error: log },
  });
  return applied.map((m) => m.name);
}
