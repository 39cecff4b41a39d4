import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseDuration } from '../agent/duration.ts';
import type { Config } from '../config.ts';
import { countActiveKeys, createApiKey, generateKey, keyScopes, listApiKeys, revokeApiKey, storeBootstrapAdminKey, type KeyScope } from '../db/api-keys.ts';
import { createDb, type Db } from '../db/client.ts';
import { migrate } from '../db/migrate.ts';
import { createLog, type Log } from '../log.ts';
import { openDatabase, type DatabaseHandle } from './database.ts';

export interface CreateKeyOptions {
  name: string;
  tenant?: string;
  scopes: string;
  actorType: string;
  expiresIn?: string;
}

/** Opens the database (migrated), runs fn, closes everything. */
async function withDb(config: Config, fn: (db: Db) => Promise<void>): Promise<void> {
  const log = createLog(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const database = await openDatabase(config, log);
  const db = createDb(database.url, { max: 1, applicationName: 'shipslog keys' });
  try {
    await migrate(database.url, { log: (m) => process.stderr.write(`${m}\n`), definitions: 'when-changed', logins: database.logins });
    await fn(db);
  } finally {
    await db.end();
    await database.stop();
  }
}

export function parseScopes(text: string): KeyScope[] {
  const scopes = [...new Set(text.split(',').map((s) => s.trim()).filter(Boolean))];
  const bad = scopes.filter((s) => !(keyScopes as readonly string[]).includes(s));
  if (scopes.length === 0 || bad.length > 0) {
    throw new Error(`--scopes must be a comma-separated list of ${keyScopes.join(', ')}${bad.length ? ` (not: ${bad.join(', ')})` : ''}`);
  }
  return scopes as KeyScope[];
}

/** `--expires-in 90d`: an age as parseDuration reads it (s, m, h, d, w), at least a minute. */
export function parseExpiresIn(text: string): number {
  const seconds = parseDuration(text);
  if (seconds === null || seconds < 60) throw new Error(`--expires-in must be an age such as 90d, 12h or 2w (at least 1m), not "${text}"`);
  return seconds;
}

/** `shipslog keys create`: prints the key once; only its SHA-256 is stored. */
export async function keysCreateCommand(config: Config, opts: CreateKeyOptions): Promise<void> {
  const scopes = parseScopes(opts.scopes);
  if (opts.actorType !== 'user' && opts.actorType !== 'service') throw new Error('--actor-type must be user or service');
  const actorType = opts.actorType;
  const expiresInSeconds = opts.expiresIn === undefined ? null : parseExpiresIn(opts.expiresIn);
  await withDb(config, async (db) => {
    const { key, apiKey } = await createApiKey(db, { name: opts.name, tenant: opts.tenant ?? null, scopes, actorType, expiresInSeconds });
    const expires = apiKey.expiresAt ? `; expires ${apiKey.expiresAt.toISOString()}` : '';
    process.stderr.write(`created key ${apiKey.id} "${apiKey.name}" (${apiKey.tenant ?? 'all tenants'}; ${apiKey.scopes.join(',')}${expires}). It is shown only now:\n`);
    process.stdout.write(`${key}\n`);
  });
}

function stateOf(k: { revokedAt: Date | null; expiresAt: Date | null }, now: number): string {
  if (k.revokedAt) return `revoked ${k.revokedAt.toISOString()}`;
  if (k.expiresAt && k.expiresAt.getTime() <= now) return `expired ${k.expiresAt.toISOString()}`;
  return k.expiresAt ? `active until ${k.expiresAt.toISOString()}` : 'active';
}

export async function keysListCommand(config: Config): Promise<void> {
  await withDb(config, async (db) => {
    const keys = await listApiKeys(db);
    const now = Date.now();
    const rows = keys.map((k) => [k.id, k.keyPrefix, k.name, k.tenant ?? '*', k.scopes.join(','), k.lastUsedAt?.toISOString() ?? 'never', stateOf(k, now)]);
    const header = ['ID', 'PREFIX', 'NAME', 'TENANT', 'SCOPES', 'LAST USED', 'STATE'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
    for (const r of [header, ...rows]) process.stdout.write(`${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()}\n`);
  });
}

export async function keysRevokeCommand(config: Config, idOrPrefix: string): Promise<void> {
  await withDb(config, async (db) => {
    const key = await revokeApiKey(db, idOrPrefix);
    if (!key) {
      process.stderr.write(`no key ${idOrPrefix}\n`);
      process.exitCode = 1;
      return;
    }
    process.stdout.write(`revoked ${key.id} "${key.name}"\n`);
  });
}

/**
 * First start of the embedded default: with no active key nobody could call the API, so an
 * admin key is made, printed once and kept in <dataDir>/admin-key (mode 0600) for the owner.
 */
export async function ensureAdminKey(db: Db, dataDir: string, log: Log): Promise<string | null> {
  if ((await countActiveKeys(db)) > 0) return null;
  const { key, apiKey } = await createApiKey(db, { name: 'admin', tenant: null, scopes: ['admin'], actorType: 'user' });
  const file = path.join(path.resolve(dataDir), 'admin-key');
  await mkdir(path.dirname(file), { recursive: true, mode: 0o755 });
  await writeFile(file, `${key}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  log.warn({ keyId: apiKey.id, file }, 'no API key existed: created an admin key');
  process.stderr.write(`\nshipslog: created an admin API key (also stored in ${file}, mode 0600):\n\n  ${key}\n\n`);
  return file;
}

/**
 * SHIPSLOG_BOOTSTRAP_ADMIN_KEY, as the schema owner (`shipslog migrate`, or `serve` when it
 * holds the owner's URL): stored hashed while no admin key exists. The key itself is never
 * written anywhere but PostgreSQL's hash; what happened is said in words and a key id.
 */
export async function applyBootstrapAdminKey(ownerUrl: string, key: string): Promise<string> {
  const db = createDb(ownerUrl, { max: 1, applicationName: 'shipslog bootstrap key' });
  try {
    const { outcome, id } = await storeBootstrapAdminKey(db, key);
    if (outcome === 'stored') return `SHIPSLOG_BOOTSTRAP_ADMIN_KEY stored (hashed) as admin key ${id} "bootstrap-admin"`;
    if (outcome === 'present') return `SHIPSLOG_BOOTSTRAP_ADMIN_KEY is stored already (key ${id})`;
    return 'SHIPSLOG_BOOTSTRAP_ADMIN_KEY ignored: an admin key exists already (revoked and expired ones count); make more with `shipslog keys create`';
  } finally {
    await db.end({ timeout: 5 });
  }
}

/**
 * `serve`'s first admin key. With the owner's URL (embedded, or DATABASE_URL): the bootstrap
 * key when set; then, on the embedded default only, a generated key when none is active (so
 * the API is usable at all). Without the owner's URL keys are `shipslog migrate`'s business:
 * the API's login cannot create them.
 */
export async function ensureFirstAdminKey(config: Config, owner: Pick<DatabaseHandle, 'url' | 'embedded'> | null, log: Log): Promise<void> {
  if (!owner) {
    if (config.bootstrapAdminKey) log.info('SHIPSLOG_BOOTSTRAP_ADMIN_KEY is not used by serve without DATABASE_URL: `shipslog migrate` stores it');
    return;
  }
  if (config.bootstrapAdminKey) log.info(await applyBootstrapAdminKey(owner.url, config.bootstrapAdminKey));
  if (!owner.embedded) return;
  const db = createDb(owner.url, { max: 1, applicationName: 'shipslog serve (owner)' });
  try {
    await ensureAdminKey(db, config.dataDir, log);
  } finally {
    await db.end({ timeout: 5 });
  }
}

/** `shipslog keys create|list|revoke|generate`. */
export function addKeysCommand(program: import('commander').Command, config: () => Config): void {
  const keys = program.command('keys').description('manage API keys (stored hashed; a key is shown only when created)');
  keys
    .command('create')
    .description('create an API key and print it once')
    .requiredOption('--name <name>', 'who holds it; recorded as the actor of its changes')
    .option('--tenant <tenant>', 'bind the key to one tenant (default: all tenants)')
    .option('--scopes <list>', 'comma-separated: read, deploy, audit, admin', 'read')
    .option('--actor-type <type>', 'user or service', 'service')
    .option('--expires-in <age>', 'refused after this age: 90d, 12h, 2w (default: never)')
    .action(async (opts: CreateKeyOptions) => keysCreateCommand(config(), opts));
  keys.command('list').description('list keys (never their secrets)').action(async () => keysListCommand(config()));
  keys
    .command('revoke')
    .description('revoke a key by id or prefix')
    .argument('<id-or-prefix>')
    .action(async (idOrPrefix: string) => keysRevokeCommand(config(), idOrPrefix));
  keys
    .command('generate')
    .description('print a new random key and store nothing (a value for SHIPSLOG_BOOTSTRAP_ADMIN_KEY)')
    .action(() => {
      process.stdout.write(`${generateKey()}\n`);
    });
}
