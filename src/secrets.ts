import { createHmac, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Secret values never enter PostgreSQL or logs. A deployment stores only the Kubernetes
 * Secret's name (secrets_ref) and a keyed fingerprint of the values, so history can say
 * "secrets rotated" without anyone learning the values from it. The fingerprint is an
 * HMAC (a plain SHA-256 of a weak password could be guessed offline).
 */
export function fingerprintSecrets(key: Buffer, values: Record<string, string>): string {
  const mac = createHmac('sha256', key);
  for (const name of Object.keys(values).sort()) {
    mac.update(`${name.length}:${name}`);
    const value = values[name] ?? '';
    mac.update(`${Buffer.byteLength(value)}:${value}`);
  }
  return `hmac-sha256:${mac.digest('hex')}`;
}

/** Where secret values go: a Kubernetes Secret (reconciler) or nowhere when no cluster is configured. */
export interface SecretWriter {
  /** Writes (creates or replaces) the Secret `name` in `namespace` with these values. */
  write(namespace: string, name: string, values: Record<string, string>): Promise<void>;
  /** False when the values are dropped because no cluster is configured. */
  readonly stores: boolean;
}

export const noClusterSecretWriter: SecretWriter = {
  stores: false,
  write: async () => {},
};

/**
 * The fingerprint key: SHIPSLOG_FINGERPRINT_KEY when given (hex or base64, >= 32 bytes),
 * else generated once and kept in the data dir with mode 0600. It must stay the same across
 * restarts or every secret would look rotated.
 */
export async function loadFingerprintKey(configured: string | undefined, dataDir: string): Promise<Buffer> {
  if (configured) return decodeKey(configured);
  const file = path.join(path.resolve(dataDir), 'fingerprint-key');
  if (existsSync(file)) return decodeKey((await readFile(file, 'utf8')).trim());
  await mkdir(path.dirname(file), { recursive: true, mode: 0o755 });
  const key = randomBytes(32);
  await writeFile(file, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' }).catch(async (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err; // another process won the race; use its key
  });
  return decodeKey((await readFile(file, 'utf8')).trim());
}

function decodeKey(text: string): Buffer {
  const key = /^[0-9a-f]+$/i.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  if (key.length < 32) throw new Error('the fingerprint key must be at least 32 bytes (64 hex characters)');
  return key;
}
