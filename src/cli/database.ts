import { existsSync } from 'node:fs';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.ts';
import { startEmbedded } from '../db/embedded.ts';
import { generatePassword, loginOf, urlFor, type LoginRole, type RuntimeLogin } from '../db/logins.ts';
import { migrate, schemaDigest } from '../db/migrate.ts';
import postgres from 'postgres';
import type { Log } from '../log.ts';

export interface DatabaseHandle {
  /** The schema owner's URL: migrations and the administrative commands. */
  url: string;
  embedded: boolean;
  /** The runtime logins of this database (embedded: made here; else from the runtime URLs). */
  logins: RuntimeLogin[];
  stop: () => Promise<void>;
}

/** The embedded default's runtime logins; their passwords live in the data dir (mode 0600). */
export const embeddedLogins: Record<Exclude<LoginRole, 'auditor'>, string> = {
  app: 'shipslog_app_login',
  reconciler: 'shipslog_reconciler_login',
};

export class DatabaseConfigError extends Error {}

/**
 * The owner's database: DATABASE_URL when set; otherwise the embedded PostgreSQL whose data
 * persists under the data dir. Commands that change the schema or manage keys need it.
 */
export async function openDatabase(config: Config, log: Log): Promise<DatabaseHandle> {
  if (config.databaseUrl) {
    const logins = [
      ...(config.appDatabaseUrl ? [loginOf(config.appDatabaseUrl, 'app')] : []),
      ...(config.reconcilerDatabaseUrl ? [loginOf(config.reconcilerDatabaseUrl, 'reconciler')] : []),
    ];
    return { url: config.databaseUrl, embedded: false, logins, stop: async () => {} };
  }
  if (config.appDatabaseUrl || config.reconcilerDatabaseUrl) {
    throw new DatabaseConfigError(
      'this command needs the schema owner: set DATABASE_URL (SHIPSLOG_APP_DATABASE_URL and SHIPSLOG_RECONCILER_DATABASE_URL are runtime logins and may not change the schema or keys)',
    );
  }
  const dataDir = path.resolve(config.dataDir);
  log.info({ dataDir }, 'DATABASE_URL not set: starting embedded PostgreSQL');
  const server = await startEmbedded({
    dataDir,
    persistent: true,
    onLog: (message) => log.debug({ postgres: message.trim() }, 'embedded postgres'),
  });
  const logins = await Promise.all(
    (Object.entries(embeddedLogins) as [Exclude<LoginRole, 'auditor'>, string][]).map(async ([role, name]) => ({
      role,
      name,
      password: await passwordFile(path.join(dataDir, `${role}-login-password`)),
    })),
  );
  return { url: server.url('postgres'), embedded: true, logins, stop: server.stop };
}

async function passwordFile(file: string): Promise<string> {
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const password = generatePassword();
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return password;
}

/** Where the long-running processes connect, and how the schema was made current. */
export interface RuntimeDatabase {
  /** The owner's handle when this process may migrate (embedded, or DATABASE_URL set). */
  owner: DatabaseHandle | null;
  appUrl: string | null;
  reconcilerUrl: string | null;
  stop: () => Promise<void>;
}

/**
 * For `serve` and `reconciler`: migrates when the owner's URL is at hand (creating or updating
 * the runtime logins), else checks that the database already holds this version's schema;
 * then answers the runtime logins' URLs. A runtime URL that is not configured falls back to
 * the owner's, with one warning naming the risk.
 */
export async function openRuntimeDatabase(config: Config, log: Log, needs: { app: boolean; reconciler: boolean }): Promise<RuntimeDatabase> {
  if (!config.databaseUrl && (config.appDatabaseUrl || config.reconcilerDatabaseUrl)) {
    const appUrl = config.appDatabaseUrl ?? null;
    const reconcilerUrl = config.reconcilerDatabaseUrl ?? null;
    const missing = [
      needs.app && !appUrl && 'SHIPSLOG_APP_DATABASE_URL',
      needs.reconciler && !reconcilerUrl && 'SHIPSLOG_RECONCILER_DATABASE_URL',
    ].filter(Boolean);
    if (missing.length > 0) {
      throw new DatabaseConfigError(`${missing.join(' and ')} must be set too (or DATABASE_URL, the schema owner's, to fall back to)`);
    }
    await checkSchemaCurrent((appUrl ?? reconcilerUrl) as string);
    return { owner: null, appUrl, reconcilerUrl, stop: async () => {} };
  }

  const owner = await openDatabase(config, log);
  try {
    const { applied, definitionsApplied, loginSql } = await migrate(owner.url, {
      log: (m) => log.warn(m),
      definitions: 'when-changed',
      logins: owner.logins,
    });
    if (applied.length > 0) log.info({ applied }, 'migrations applied');
    if (definitionsApplied) log.info('sql/ definitions applied');
    if (loginSql.length > 0) {
      log.warn(
        { sql: loginSql },
        `the schema owner may not create or change roles: run this as a role that may (CREATEROLE and ADMIN OPTION on the group roles), then restart`,
      );
    }
  } catch (err) {
    await owner.stop();
    throw err;
  }
  const url = (role: LoginRole, configured: string | undefined) => {
    if (configured) return configured;
    const login = owner.logins.find((l) => l.role === role);
    return login ? urlFor(owner.url, login) : null;
  };
  const appUrl = url('app', config.appDatabaseUrl);
  const reconcilerUrl = url('reconciler', config.reconcilerDatabaseUrl);
  const fallbacks = [
    needs.app && !appUrl && 'SHIPSLOG_APP_DATABASE_URL',
    needs.reconciler && !reconcilerUrl && 'SHIPSLOG_RECONCILER_DATABASE_URL',
  ].filter(Boolean);
  if (fallbacks.length > 0) {
    log.warn(
      { user: new URL(owner.url).username, unset: fallbacks },
      `${fallbacks.join(' and ')} not set: connecting as the schema owner from DATABASE_URL, which can alter or drop every table, ` +
        'and whose security-definer code paths are the only thing between a bug and every tenant\'s rows. ' +
        'Set the runtime URLs (shipslog migrate creates those logins; see README "Database roles").',
    );
  }
  return {
    owner,
    appUrl: appUrl ?? owner.url,
    reconcilerUrl: reconcilerUrl ?? owner.url,
    stop: owner.stop,
  };
}

/** Without the owner's URL nothing can migrate: refuse to run on a schema of another version. */
async function checkSchemaCurrent(url: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {}, connection: { application_name: 'shipslog schema check' } });
  try {
    const [row] = await sql<{ digest: string }[]>`
      select digest from shipslog.schema_definitions order by id desc limit 1
    `.catch((err: { code?: string }) => {
      if (err.code === '42P01' || err.code === '3F000') return [];
      throw err;
    });
    if (row?.digest !== schemaDigest()) {
      throw new DatabaseConfigError(
        'the database does not hold this version\'s schema: run `shipslog migrate` with the schema owner\'s DATABASE_URL first (migrations are not run with the runtime logins)',
      );
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}
