import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import type { Config } from '../config.ts';
import { groupRoles, urlFor, type LoginRole } from '../db/logins.ts';
import { migrate } from '../db/migrate.ts';
import { createLog } from '../log.ts';
import { DatabaseConfigError, embeddedLogins, openDatabase } from './database.ts';
import { describeError } from './errors.ts';
import { findServerRecord } from './server-record.ts';

export type As = 'owner' | LoginRole;
const asValues: As[] = ['owner', 'auditor', 'app', 'reconciler'];

interface Target {
  /** A postgres:// URL; its password (if any) is handed to psql through PGPASSWORD, never argv. */
  url: string;
  /** Stops an embedded server started for this command (not one a running `serve` holds). */
  release: () => Promise<void>;
}

const runtimeVariable = { app: 'SHIPSLOG_APP_DATABASE_URL', reconciler: 'SHIPSLOG_RECONCILER_DATABASE_URL' } as const;

/**
 * The URL for `--as`: the owner's (DATABASE_URL or the embedded server's), or a login that is a
 * member of one group role: the runtime URLs when set, the embedded default's own logins
 * (passwords in the data dir), or `--login NAME` (psql asks for its password).
 */
async function resolveTarget(config: Config, as: As, login: string | undefined, opts: { needRunning: boolean }): Promise<Target> {
  const none = async () => {};
  const withLogin = (url: string) => {
    if (!login) return url;
    const u = new URL(url);
    u.username = encodeURIComponent(login);
    u.password = '';
    return u.toString();
  };
  if (config.databaseUrl || config.appDatabaseUrl || config.reconcilerDatabaseUrl) {
    if (as === 'app' || as === 'reconciler') {
      const url = as === 'app' ? config.appDatabaseUrl : config.reconcilerDatabaseUrl;
      if (url) return { url: withLogin(url), release: none };
      if (config.databaseUrl && login) return { url: withLogin(config.databaseUrl), release: none };
      throw new DatabaseConfigError(`--as ${as} needs ${runtimeVariable[as]} (or --login NAME, a login made with \`shipslog logins create --role ${as} NAME\`)`);
    }
    const base = config.databaseUrl ?? config.appDatabaseUrl ?? config.reconcilerDatabaseUrl;
    if (as === 'owner') {
      if (!config.databaseUrl) throw new DatabaseConfigError('--as owner needs DATABASE_URL, the schema owner\'s URL');
      return { url: withLogin(config.databaseUrl), release: none };
    }
    if (!login) {
      throw new DatabaseConfigError(
        '--as auditor with a database of your own needs --login NAME: a login made with `shipslog logins create --role auditor NAME` (psql asks for its password, or reads PGPASSWORD or ~/.pgpass)',
      );
    }
    return { url: withLogin(base as string), release: none };
  }

  // The embedded default: the running serve's server, or one started for this command.
  const notRunning = () =>
    new DatabaseConfigError(
      `no \`shipslog serve\` is running on the embedded database in ${config.dataDir}: start it first. ` +
        'Its port changes at every start, so a URL is good only while that server runs.',
    );
  if (opts.needRunning && !(await findServerRecord(config.dataDir))?.live) throw notRunning();
  const log = createLog(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const database = await openDatabase(config, log);
  if (opts.needRunning && !database.shared) {
    await database.stop();
    throw notRunning();
  }
  try {
    // A server started here may hold an older schema or lack the embedded logins: what serve does first.
    if (!database.shared) await migrate(database.url, { log: (m) => process.stderr.write(`${m}\n`), definitions: 'when-changed', logins: database.logins });
    if (as === 'owner') return { url: withLogin(database.url), release: database.stop };
    const own = database.logins.find((l) => l.role === as && l.name === embeddedLogins[as]);
    if (login || !own) return { url: withLogin(database.url), release: database.stop };
    return { url: urlFor(database.url, own), release: database.stop };
  } catch (err) {
    await database.stop();
    throw err;
  }
}

function parseAs(value: string): As {
  if (!(asValues as string[]).includes(value)) throw new DatabaseConfigError(`--as must be one of ${asValues.join(', ')}, not "${value}"`);
  return value as As;
}

/** `shipslog psql [--as ROLE] [psql options...]`: the system's psql on shipslog's database. */
export async function psqlCommand(config: Config, as: As, login: string | undefined, args: string[], psql = 'psql'): Promise<void> {
  const target = await resolveTarget(config, as, login, { needRunning: false });
  try {
    const u = new URL(target.url);
    const password = decodeURIComponent(u.password);
    u.password = '';
    const env: NodeJS.ProcessEnv = { ...process.env, PGAPPNAME: `shipslog psql (${as})` };
    if (password) env.PGPASSWORD = password;
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn(psql, [`--dbname=${u.toString()}`, ...args], { stdio: 'inherit', env });
      // psql answers Ctrl-C itself (cancels the query); this process must outlive it to clean up.
      const ignore = () => {};
      process.on('SIGINT', ignore);
      process.on('SIGQUIT', ignore);
      const done = () => {
        process.off('SIGINT', ignore);
        process.off('SIGQUIT', ignore);
      };
      child.once('error', (err: NodeJS.ErrnoException) => {
        done();
        reject(
          err.code === 'ENOENT'
            ? new DatabaseConfigError(
                `psql is not installed (no "${psql}" on PATH): install the PostgreSQL client (Debian and Ubuntu: apt-get install postgresql-client), ` +
                  'or point another client at the URL `shipslog db-url` prints',
              )
            : new Error(`could not run ${psql}: ${describeError(err)}`),
        );
      });
      child.once('exit', (c, signal) => {
        done();
        resolve(c ?? (signal ? 128 : 1));
      });
    });
    process.exitCode = code;
  } finally {
    await target.release();
  }
}

/** `shipslog db-url [--as ROLE]`: the URL for other tools; it holds the password. */
export async function dbUrlCommand(config: Config, as: As, login: string | undefined): Promise<void> {
  const target = await resolveTarget(config, as, login, { needRunning: true });
  await target.release();
  process.stdout.write(`${target.url}\n`);
}

export function addPsqlCommands(program: Command, config: () => Config): void {
  const roles = `owner (default: the schema owner), auditor (read-only, ${groupRoles.auditor}), app (${groupRoles.app}), reconciler (${groupRoles.reconciler})`;
  program
    .command('psql')
    .description('open psql on the database (the running embedded server, or DATABASE_URL); options after --as go to psql')
    .option('--as <role>', roles, 'owner')
    .option('--login <name>', 'log in as this login instead (psql asks for its password)')
    .argument('[psql-options...]', 'passed to psql as they are, e.g. -c "select 1" or -f sql/reports/api-keys.sql')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (args: string[], opts: { as: string; login?: string }) => psqlCommand(config(), parseAs(opts.as), opts.login, args));
  program
    .command('db-url')
    .description('print a postgres:// URL of the database for other tools (it contains the password)')
    .option('--as <role>', roles, 'owner')
    .option('--login <name>', 'a URL for this login, without password')
    .action(async (opts: { as: string; login?: string }) => dbUrlCommand(config(), parseAs(opts.as), opts.login));
}
