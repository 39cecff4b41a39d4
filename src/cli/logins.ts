import type { Command } from 'commander';
import pg from 'pg';
import type { Config } from '../config.ts';
import { migrate } from '../db/migrate.ts';
import { dropLogin, ensureLogin, generatePassword, groupRoles, LoginError, type LoginRole } from '../db/logins.ts';
import { createLog } from '../log.ts';
import { openDatabase } from './database.ts';

const roleNames = Object.keys(groupRoles) as LoginRole[];

/** Runs fn on one connection of the owner's database (embedded or DATABASE_URL), in a transaction. */
async function withOwner<T>(config: Config, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const log = createLog(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const database = await openDatabase(config, log);
  try {
    await migrate(database.url, { log: (m) => process.stderr.write(`${m}\n`), definitions: 'when-changed', logins: database.logins });
    const client = new pg.Client({ connectionString: database.url, application_name: 'shipslog logins' });
    await client.connect();
    try {
      await client.query('begin');
      const result = await fn(client);
      await client.query('commit');
      return result;
    } catch (err) {
      await client.query('rollback').catch(() => {});
      throw err;
    } finally {
      await client.end();
    }
  } finally {
    await database.stop();
  }
}

/** `shipslog logins create --role auditor NAME`: a LOGIN member of one group role; prints its password once. */
async function createCommand(config: Config, name: string, role: LoginRole): Promise<void> {
  const password = generatePassword();
  const manual = await withOwner(config, async (client) => {
    const exists = await client.query('select from pg_catalog.pg_roles where rolname = $1', [name]);
    if (exists.rowCount) throw new LoginError(`a role named "${name}" exists already; drop it first (shipslog logins drop ${name}) or choose another name`);
    return ensureLogin(client, { role, name, password });
  });
  if (manual) {
    process.stderr.write(
      `the schema owner may not create roles; run as a role that may:\n\n${manual.map((s) => `  ${s};\n`).join('')}\n`,
    );
    process.exitCode = 3;
    return;
  }
  process.stdout.write(`created login ${name}, a member of ${groupRoles[role]} only. Its password, shown only now:\n\n  ${password}\n\n`);
}

async function dropCommand(config: Config, name: string): Promise<void> {
  const dropped = await withOwner(config, (client) => dropLogin(client, name));
  if (!dropped) {
    process.stderr.write(`no login ${name}\n`);
    process.exitCode = 1;
    return;
  }
  process.stdout.write(`dropped login ${name}\n`);
}

async function listCommand(config: Config): Promise<void> {
  const rows = await withOwner(config, async (client) => {
    const result = await client.query<{ name: string; role: string; can_login: boolean }>(
      `select m.rolname as name, g.rolname as role, m.rolcanlogin as can_login
       from pg_catalog.pg_auth_members as a
         join pg_catalog.pg_roles as g on g.oid = a.roleid
         join pg_catalog.pg_roles as m on m.oid = a.member
       where g.rolname = any($1)
       order by g.rolname, m.rolname`,
      [Object.values(groupRoles)],
    );
    return result.rows;
  });
  for (const r of rows) process.stdout.write(`${r.role}\t${r.name}${r.can_login ? '' : '\t(no login)'}\n`);
}

export function addLoginsCommand(program: Command, config: () => Config): void {
  const logins = program
    .command('logins')
    .description('database logins for people and services (a member of shipslog_app, shipslog_reconciler or shipslog_auditor)');
  logins
    .command('create')
    .description('create a LOGIN that is a member of one group role and print its password once')
    .argument('<name>')
    .requiredOption('--role <role>', `one of ${roleNames.join(', ')}`)
    .action(async (name: string, opts: { role: string }) => {
      if (!roleNames.includes(opts.role as LoginRole)) throw new LoginError(`--role must be one of ${roleNames.join(', ')}, not "${opts.role}"`);
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new LoginError('a login name is lowercase letters, digits and _ (at most 63), starting with a letter or _');
      await createCommand(config(), name, opts.role as LoginRole);
    });
  logins.command('list').description('list the members of the group roles').action(async () => listCommand(config()));
  logins
    .command('drop')
    .description('drop a login made by `shipslog logins create`')
    .argument('<name>')
    .action(async (name: string) => dropCommand(config(), name));
}
