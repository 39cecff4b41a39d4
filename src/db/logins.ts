import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import pg from 'pg';

/** The group roles a login may be made a member of (sql/common/10_schema.sql grants them). */
export const groupRoles = { app: 'shipslog_app', reconciler: 'shipslog_reconciler', auditor: 'shipslog_auditor' } as const;
export type LoginRole = keyof typeof groupRoles;

/** A LOGIN role that is a member of exactly one group role. */
export interface RuntimeLogin {
  role: LoginRole;
  name: string;
  password: string;
}

/** The login and password a postgres:// URL names. */
export function loginOf(url: string, role: LoginRole): RuntimeLogin {
  const u = new URL(url);
  return { role, name: decodeURIComponent(u.username), password: decodeURIComponent(u.password) };
}

/** A copy of url that logs in as this login. */
export function urlFor(url: string, login: { name: string; password: string }): string {
  const u = new URL(url);
  u.username = encodeURIComponent(login.name);
  u.password = encodeURIComponent(login.password);
  return u.toString();
}

export function generatePassword(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for a password (RFC 5802, RFC 7677), made here
 * so that the password itself never reaches the server, its statement log or pg_stat_activity:
 * CREATE ROLE ... PASSWORD accepts a verifier as it is (psql's \password does the same).
 */
export function scramVerifier(password: string, salt = randomBytes(16), iterations = 4096): string {
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

export class LoginError extends Error {}

type Client = pg.Client | pg.PoolClient;

/** Every statement that makes `login` exist with its password, a member of its group role only. */
export function loginStatements(login: RuntimeLogin, exists: boolean, password = scramVerifier(login.password)): string[] {
  const name = pg.escapeIdentifier(login.name);
  const group = pg.escapeIdentifier(groupRoles[login.role]);
  const secret = pg.escapeLiteral(password);
  return [
    // An existing login was checked for SUPERUSER, CREATEROLE and BYPASSRLS by ensureLogin();
    // naming those attributes here would need a superuser even to switch them off.
    exists
      ? `alter role ${name} with login password ${secret}`
      : `create role ${name} with login nosuperuser nocreaterole nocreatedb nobypassrls noreplication password ${secret}`,
    `grant ${group} to ${name}`,
    // Every session starts as the group role, so events record db_role = the group and
    // db_user = this login; one setting, so it holds through transaction pooling too.
    `alter role ${name} set role = ${pg.escapeLiteral(groupRoles[login.role])}`,
  ];
}

/**
 * Creates or updates a runtime login, inside the caller's transaction. Refuses a role of
 * that name that could do more than its group role (superuser, CREATEROLE, BYPASSRLS, other
 * memberships, ownership of shipslog's schema). Returns the SQL to run by hand, with the
 * password left out, when the current user may not manage roles (no CREATEROLE, or no ADMIN
 * OPTION on the group role): migrations still apply, and the caller prints it.
 */
export async function ensureLogin(client: Client, login: RuntimeLogin): Promise<string[] | null> {
  const group = groupRoles[login.role];
  const { rows } = await client.query<{ super: boolean; createrole: boolean; bypassrls: boolean; others: string[]; owner: boolean }>(
    `select r.rolsuper as super, r.rolcreaterole as createrole, r.rolbypassrls as bypassrls,
            array(select g.rolname from pg_catalog.pg_auth_members as m join pg_catalog.pg_roles as g on g.oid = m.roleid
                  where m.member = r.oid and g.rolname <> $2 order by 1)::text[] as others,
            exists (select from pg_catalog.pg_namespace as n where n.nspname = 'shipslog' and n.nspowner = r.oid) as owner
     from pg_catalog.pg_roles as r
     where r.rolname = $1`,
    [login.name, group],
  );
  const existing = rows[0];
  if (existing) {
    const powers = [
      existing.super && 'is a superuser',
      existing.createrole && 'holds CREATEROLE',
      existing.bypassrls && 'holds BYPASSRLS',
      existing.owner && "owns schema shipslog",
      existing.others.length > 0 && `is a member of ${existing.others.join(', ')}`,
    ].filter(Boolean);
    if (powers.length > 0) {
      throw new LoginError(
        `the ${login.role} login "${login.name}" ${powers.join(', ')}: a runtime login must be a member of ${group} and nothing more. ` +
          'Name another login in the URL, or take those away from it.',
      );
    }
  }
  await client.query('savepoint ensure_login');
  try {
    for (const statement of loginStatements(login, existing !== undefined)) await client.query(statement);
    await client.query('release savepoint ensure_login');
    return null;
  } catch (err) {
    await client.query('rollback to savepoint ensure_login');
    if ((err as { code?: string }).code !== '42501') throw err;
    return loginStatements(login, existing !== undefined, `<the password in the ${login.role} URL>`);
  }
}

/** Drops a login made by `shipslog logins create` (only a member of one shipslog group role). */
export async function dropLogin(client: Client, name: string): Promise<boolean> {
  const { rows } = await client.query<{ groups: string[]; login: boolean }>(
    `select r.rolcanlogin as login,
            array(select g.rolname from pg_catalog.pg_auth_members as m join pg_catalog.pg_roles as g on g.oid = m.roleid
                  where m.member = r.oid order by 1)::text[] as groups
     from pg_catalog.pg_roles as r
     where r.rolname = $1`,
    [name],
  );
  const role = rows[0];
  if (!role) return false;
  const ours = Object.values(groupRoles) as string[];
  if (!role.login || role.groups.length !== 1 || !ours.includes(role.groups[0] as string)) {
    throw new LoginError(`"${name}" is not a login made by shipslog (a member of exactly one of ${ours.join(', ')}); drop it by hand`);
  }
  await client.query(`drop role ${pg.escapeIdentifier(name)}`);
  return true;
}
