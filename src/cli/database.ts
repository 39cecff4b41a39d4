import { existsSync } from 'node:fs';
import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.ts';
import { EmbeddedInUseError, startEmbedded } from '../db/embedded.ts';
import { generatePassword, loginOf, urlFor, type LoginRole, type RuntimeLogin } from '../db/logins.ts';
import { migrate, schemaDigest } from '../db/migrate.ts';
import postgres from 'postgres';
import type { Log } from '../log.ts';
import { describeError, redactUrl } from './errors.ts';
import { findServerRecord, recordFile, writeServerRecord } from './server-record.ts';

export interface DatabaseHandle {
  /** The schema owner's URL: migrations and the administrative commands. */
  url: string;
  embedded: boolean;
  /** Embedded: the server of a running `serve` (recorded in <dataDir>/server.json), not started here. */
  shared?: boolean;
  /** The logins of this database (embedded: made here; else from the runtime URLs). */
  logins: RuntimeLogin[];
  stop: () => Promise<void>;
}

/**
 * The embedded default's logins, passwords in the data dir (mode 0600): the API's and the
 * reconciler's, and a read-only one for `shipslog psql --as auditor` (a member of
 * shipslog_auditor only, as one made by `shipslog logins create --role auditor` would be).
 */
export const embeddedLogins: Record<LoginRole, string> = {
  app: 'shipslog_app_login',
  reconciler: 'shipslog_reconciler_login',
  auditor: 'shipslog_auditor_login',
};

export class DatabaseConfigError extends Error {}

export interface OpenOptions {
  /**
   * Long-running commands (`serve`, `reconciler`): record the embedded server's address in
   * <dataDir>/server.json while it runs, so that other commands use it. One-shot commands
   * do not: a server they start stops when they finish, under whoever had found it.
   */
  share?: string;
}

/**
 * The owner's database: DATABASE_URL when set; otherwise the embedded PostgreSQL whose data
 * persists under the data dir: the one a running `serve` started when there is one, else
 * started here (and stopped by `stop`). Commands that change the schema or manage keys need it.
 */
export async function openDatabase(config: Config, log: Log, options: OpenOptions = {}): Promise<DatabaseHandle> {
  if (config.databaseUrl) {
    await checkReachable(config.databaseUrl, 'DATABASE_URL');
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
  const found = await findServerRecord(dataDir);
  if (found?.live) {
    const { record } = found;
    log.debug({ dataDir, pid: record.pid, port: record.port }, `using the embedded PostgreSQL of the running shipslog ${record.command}`);
    const password = (await readFile(path.join(dataDir, 'pg-password'), 'utf8')).trim();
    const url = `postgres://postgres:${encodeURIComponent(password)}@${record.host}:${record.port}/postgres`;
    return { url, embedded: true, shared: true, logins: await embeddedLoginsOf(dataDir), stop: async () => {} };
  }
  if (found) log.debug({ dataDir, record: found.record }, `ignoring a stale ${recordFile(dataDir)}: ${found.stale}`);

  log.info({ dataDir }, 'DATABASE_URL not set: starting embedded PostgreSQL');
  const server = await startEmbedded({
    dataDir,
    persistent: true,
    onLog: (message) => log.debug({ postgres: message.trim() }, 'embedded postgres'),
  }).catch((err: unknown) => {
    if (!(err instanceof EmbeddedInUseError)) throw err;
    const owner = found
      ? `the shipslog ${found.record.command} that started it (pid ${found.record.pid}) is gone or lost it`
      : 'no running shipslog serve recorded it (a one-shot command such as `shipslog psql` may be using it: wait for it to finish)';
    throw new DatabaseConfigError(`${err.message}, but ${owner}; if nothing should be using it, stop it with \`kill -INT ${err.pid}\` and run this again`);
  });
  let unrecord = async () => {};
  const stop = async () => {
    await unrecord(); // first: no new command may find a server that is stopping
    await server.stop();
  };
  try {
    // This process holds the data directory now: a record left by a crashed one is garbage.
    if (found) await rm(recordFile(dataDir), { force: true });
    const logins = await embeddedLoginsOf(dataDir);
    if (options.share) {
      unrecord = await writeServerRecord(dataDir, {
        pid: process.pid,
        command: options.share,
        host: '127.0.0.1',
        port: server.port,
        startedAt: new Date().toISOString(),
      });
    }
    return { url: server.url('postgres'), embedded: true, logins, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function embeddedLoginsOf(dataDir: string): Promise<RuntimeLogin[]> {
  return Promise.all(
    (Object.entries(embeddedLogins) as [LoginRole, string][]).map(async ([role, name]) => ({
      role,
      name,
      password: await passwordFile(path.join(dataDir, `${role}-login-password`)),
    })),
  );
}

async function passwordFile(file: string): Promise<string> {
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const password = generatePassword();
  try {
    // `wx`: two commands beside one serve may both find it missing; the first one's stays.
    await writeFile(file, `${password}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as { code?: string }).code === 'EEXIST') return (await readFile(file, 'utf8')).trim();
    throw err;
  }
  await chmod(file, 0o600);
  return password;
}

/**
 * One connection, closed at once, so that a wrong URL is reported as such, naming the
 * variable and the host (never the password), before any work starts.
 */
export async function checkReachable(url: string, variable: string): Promise<void> {
  const sql = postgres(url, { max: 1, connect_timeout: 10, onnotice: () => {}, connection: { application_name: 'shipslog connection check' } });
  try {
    await sql`select 1`;
  } catch (err) {
    throw new DatabaseConfigError(`cannot connect to ${variable} (${redactUrl(url)}): ${connectionProblem(err)}`);
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {});
  }
}

/** What went wrong with a connection, in words (the driver's codes are kept in parentheses). */
function connectionProblem(err: unknown): string {
  const code = (err as { code?: string }).code;
  const known: Record<string, string> = {
    ECONNREFUSED: 'connection refused (is PostgreSQL running there, on that port?)',
    ENOTFOUND: 'no such host',
    EAI_AGAIN: 'the host name could not be resolved now',
    ETIMEDOUT: 'timed out',
    CONNECT_TIMEOUT: 'no answer within 10 s',
    EHOSTUNREACH: 'host unreachable',
    '28P01': 'password authentication failed',
    '28000': 'the server refused this login',
    '3D000': 'the database does not exist',
  };
  const detail = describeError(err);
  return code && known[code] ? `${known[code]} (${code}: ${detail})` : detail;
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
    if (appUrl) await checkReachable(appUrl, 'SHIPSLOG_APP_DATABASE_URL');
    if (reconcilerUrl) await checkReachable(reconcilerUrl, 'SHIPSLOG_RECONCILER_DATABASE_URL');
    await checkSchemaCurrent((appUrl ?? reconcilerUrl) as string);
    return { owner: null, appUrl, reconcilerUrl, stop: async () => {} };
  }

  // The embedded server's address is recorded while this long-running process holds it.
  const owner = await openDatabase(config, log, { share: needs.app ? 'serve' : 'reconciler' });
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
    // The runtime URLs' logins exist now (migrate made them, or was told how): check that they log in.
    if (needs.app && config.appDatabaseUrl) await checkReachable(config.appDatabaseUrl, 'SHIPSLOG_APP_DATABASE_URL');
    if (needs.reconciler && config.reconcilerDatabaseUrl) await checkReachable(config.reconcilerDatabaseUrl, 'SHIPSLOG_RECONCILER_DATABASE_URL');
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
