import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';
import pg from 'pg';
import { definitionsDigest, loadDefinitions } from './definitions.ts';
import { ensureLogin, type RuntimeLogin } from './logins.ts';
import { adoptReleasedHistory } from './released-history.ts';

export const migrationsDir = fileURLToPath(new URL('../../migrations', import.meta.url));

/** sha256sum-format checksums of the released migrations (test/schema/migration-checksums.test.ts). */
export const migrationChecksumsFile = 'CHECKSUMS';

export type MigrationLog = (message: string) => void;

export interface MigrateOptions {
  log?: MigrationLog;
  /**
   * `always` (the `shipslog migrate` command) re-applies every file of sql/; `when-changed`
   * (`serve` at start) skips them when the database already holds this exact set: re-creating
   * triggers and policies locks their tables, which every replica's start would otherwise do.
   */
  definitions?: 'always' | 'when-changed';
  /** Runtime logins to create or update (their passwords reach the server only as SCRAM verifiers). */
  logins?: RuntimeLogin[];
}

export interface MigrateResult {
  /** Versioned migrations applied now, in order. */
  applied: string[];
  /** Whether sql/'s definitions were applied in this run. */
  definitionsApplied: boolean;
  /**
   * Statements the current user could not run (no CREATEROLE or no ADMIN OPTION on a group
   * role), password left out: for a person with those rights to run.
   */
  loginSql: string[];
}

// The key node-pg-migrate itself locks with, so a shipslog of an older layout that starts at
// the same moment waits for this one instead of racing it.
const migrationLockId = 7241865325823964n;

/**
 * Brings the database to this version of shipslog in ONE transaction: the versioned
 * migrations of migrations/ (node-pg-migrate, name order, each once), then the current
 * definitions of sql/ (functions, triggers, views, policies, grants), so that no session
 * ever sees new tables with old functions. A failure anywhere rolls back all of it.
 */
export async function migrate(databaseUrl: string, options: MigrateOptions = {}): Promise<MigrateResult> {
  const log = options.log ?? (() => {});
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'shipslog migrate' });
  await client.connect();
  try {
    await client.query('begin');
    await client.query('select pg_advisory_xact_lock($1)', [migrationLockId.toString()]);
    await adoptReleasedHistory(client, log);
    const applied = await runner({
      dbClient: inOurTransaction(client),
      dir: migrationsDir,
      ignorePattern: `\\..*|${migrationChecksumsFile}`,
      direction: 'up',
      migrationsTable: 'pgmigrations',
      migrationsSchema: 'public',
      checkOrder: true,
      singleTransaction: true,
      noLock: true,
      log: () => {},
      logger: { debug: () => {}, info: () => {}, warn: log, error: log },
    });
    const definitionsApplied = await applyDefinitions(client, options.definitions ?? 'always', applied.length > 0);
    const loginSql: string[] = [];
    for (const login of options.logins ?? []) loginSql.push(...((await ensureLogin(client, login)) ?? []));
    await client.query('commit');
    return { applied: applied.map((m) => m.name), definitionsApplied, loginSql };
  } catch (err) {
    await client.query('rollback').catch(() => {});
    throw err;
  } finally {
    await client.end();
  }
}

/**
 * node-pg-migrate's singleTransaction mode sends its own BEGIN and COMMIT; here the
 * transaction is ours (sql/ is applied in it after the migrations), so those two become
 * no-ops. Its ROLLBACK after a failed migration still goes through.
 */
function inOurTransaction(client: pg.Client) {
  return {
    query: (text: unknown, values?: unknown[]) => {
      if (text === 'BEGIN' || text === 'COMMIT') return Promise.resolve({ rows: [], rowCount: 0 });
      return client.query(text as string, values);
    },
  } as unknown as pg.Client;
}

/** Names of the migrations in migrations/, as node-pg-migrate records them. */
export function migrationNames(): string[] {
  return readdirSync(migrationsDir)
    .filter((f) => f.endsWith('.sql'))
    .map((f) => f.slice(0, -'.sql'.length))
    .sort();
}

/** The digest a database at this version's schema records (see definitionsDigest). */
export function schemaDigest(): string {
  return definitionsDigest(loadDefinitions(), migrationNames());
}

async function applyDefinitions(client: pg.Client, mode: 'always' | 'when-changed', migrated: boolean): Promise<boolean> {
  const files = loadDefinitions();
  const digest = definitionsDigest(files, migrationNames());
  if (mode === 'when-changed' && !migrated) {
    const { rows } = await client.query<{ digest: string }>(
      'select digest from shipslog.schema_definitions order by applied_at desc, id desc limit 1',
    );
    if (rows[0]?.digest === digest) return false;
  }
  for (const file of files) {
    try {
      await client.query(file.text);
    } catch (err) {
      throw new Error(`sql/${file.name}: ${(err as Error).message}`, { cause: err });
    }
  }
  await client.query('insert into shipslog.schema_definitions (digest, file_count) values ($1, $2)', [digest, files.length]);
  return true;
}
