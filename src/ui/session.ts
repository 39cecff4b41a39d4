import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { AppEnv } from '../api/context.ts';

/*
 * The web UI's session: a cookie holding the API key SEALED (AES-256-GCM), never the key as
 * text. Why not the key itself (HttpOnly would keep it from scripts): a cookie also lives in
 * the browser profile on disk, in HAR files and debugging proxies, where a plain key would
 * leak a credential that works on the whole API (writes too, with the deploy scope) until it
 * is revoked. The sealed cookie is useless outside /ui and expires after 8 hours.
 * Why not a session table: it would need a table the API's login may write and a migration;
 * the sealed cookie needs neither and works on every replica (the sealing key derives from
 * SHIPSLOG_FINGERPRINT_KEY, which replicas already share and restarts keep).
 * Every request opens the seal and authenticates the key again (one index probe, as for a
 * bearer key), so a revoked or expired key ends its sessions at once. Sign-out deletes the
 * cookie; a copy taken before stays valid until its expiry or the key's revocation.
 */

export const sessionCookie = 'shipslog_session';
/** A working day. */
export const sessionSeconds = 8 * 3600;

const version = 'v1';
const aad = Buffer.from('shipslog ui session v1');

/** The sealing key: HKDF-SHA256 of the fingerprint key, for this use only. */
export function sessionKey(fingerprintKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', fingerprintKey, Buffer.alloc(0), 'shipslog ui session cookie v1', 32));
}

export function seal(key: Buffer, apiKey: string, nowSeconds = Math.floor(Date.now() / 1000)): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad);
  const plain = Buffer.from(JSON.stringify({ k: apiKey, exp: nowSeconds + sessionSeconds }), 'utf8');
  const body = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  return `${version}.${body.toString('base64url')}`;
}

/** The API key in a sealed value, or null when it is not ours, was altered, or expired. */
export function open(key: Buffer, sealed: string, nowSeconds = Math.floor(Date.now() / 1000)): string | null {
  const [v, data, ...rest] = sealed.split('.');
  if (v !== version || !data || rest.length > 0 || data.length > 400) return null;
  const body = Buffer.from(data, 'base64url');
  if (body.length < 12 + 16 + 2) return null;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, body.subarray(0, 12));
    decipher.setAAD(aad);
    decipher.setAuthTag(body.subarray(body.length - 16));
    const plain = Buffer.concat([decipher.update(body.subarray(12, body.length - 16)), decipher.final()]);
    const value: unknown = JSON.parse(plain.toString('utf8'));
    if (typeof value !== 'object' || value === null) return null;
    const { k, exp } = value as { k?: unknown; exp?: unknown };
    if (typeof k !== 'string' || typeof exp !== 'number' || exp <= nowSeconds) return null;
    return k;
  } catch {
    return null; // wrong key, altered bytes or tag
  }
}

// Secure only over https: shipslog is often reached as http://localhost, where a Secure
// cookie would never come back. Path /ui: the API never sees it (it takes bearer keys only).
function cookieOptions(c: Context<AppEnv>) {
  return { path: '/ui', httpOnly: true, sameSite: 'Strict', secure: new URL(c.req.url).protocol === 'https:' } as const;
}

export function setSession(c: Context<AppEnv>, key: Buffer, apiKey: string): void {
  setCookie(c, sessionCookie, seal(key, apiKey), { ...cookieOptions(c), maxAge: sessionSeconds });
}

export function clearSession(c: Context<AppEnv>): void {
  deleteCookie(c, sessionCookie, cookieOptions(c));
}

export function sessionApiKey(c: Context<AppEnv>, key: Buffer): string | null {
  const value = getCookie(c, sessionCookie);
  return value ? open(key, value) : null;
}
