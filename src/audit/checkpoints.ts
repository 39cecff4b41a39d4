import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Queryable } from '../db/client.ts';

/**
 * Signed checkpoints (sql/audit/70_checkpoints.sql): a digest of every chain head at a snapshot, signed
 * with an Ed25519 key that never enters the database. verifyCheckpoints() recomputes the
 * digest from the events and checks the signature with the public key, so a superuser who
 * rewrites a whole chain consistently is still found, and so is a forged checkpoint.
 */
export interface Checkpoint {
  id: number;
  createdAt: Date;
  chainCount: number;
  eventCount: number;
  digest: string;
  keyId: string;
}

export interface CheckpointKeys {
  privateKey: KeyObject;
  publicKey: KeyObject;
  keyId: string;
}

export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex');
}

/** PEM text, or a path to a PEM file. */
async function pemFrom(value: string): Promise<string> {
  return value.includes('-----BEGIN') ? value : readFile(value, 'utf8');
}

/**
 * The signing key: SHIPSLOG_CHECKPOINT_KEY (PEM or a path) when set, else
 * <data dir>/checkpoint-key.pem, created on first use (mode 0600) with its public half
 * beside it. Keep a copy of the public key outside the database's host: it is what makes
 * a checkpoint trustworthy.
 */
export async function loadSigningKey(configured: string | undefined, dataDir: string): Promise<CheckpointKeys> {
  let pem: string;
  if (configured) {
    pem = await pemFrom(configured);
  } else {
    const file = path.join(path.resolve(dataDir), 'checkpoint-key.pem');
    if (!existsSync(file)) {
      const pair = generateKeyPairSync('ed25519');
      await mkdir(path.dirname(file), { recursive: true, mode: 0o755 });
      await writeFile(file, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
      await writeFile(`${file.slice(0, -4)}.pub.pem`, pair.publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644 });
    }
    pem = await readFile(file, 'utf8');
  }
  const privateKey = createPrivateKey(pem);
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error('the checkpoint key must be an Ed25519 private key');
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, keyId: keyIdOf(publicKey) };
}

/** The public key as PEM (SubjectPublicKeyInfo), to hand to an auditor: `shipslog public-key`. */
export function publicKeyPem(publicKey: KeyObject): string {
  return publicKey.export({ type: 'spki', format: 'pem' }).toString();
}

/** The verification key: SHIPSLOG_CHECKPOINT_PUBLIC_KEY (PEM or a path), else the data dir's key pair if present. */
export async function loadVerifyKey(configured: string | undefined, dataDir: string): Promise<KeyObject | undefined> {
  if (configured) return createPublicKey(await pemFrom(configured));
  const file = path.join(path.resolve(dataDir), 'checkpoint-key.pub.pem');
  return existsSync(file) ? createPublicKey(await readFile(file, 'utf8')) : undefined;
}

interface CheckpointRow {
  id: string;
  created_at: Date;
  chain_count: string;
  event_count: string;
  digest: Buffer;
  key_id: string;
}

const toCheckpoint = (r: CheckpointRow): Checkpoint => ({
  id: Number(r.id),
  createdAt: r.created_at,
  chainCount: Number(r.chain_count),
  eventCount: Number(r.event_count),
  digest: r.digest.toString('hex'),
  keyId: r.key_id,
});

/**
 * Takes a checkpoint of every chain as committed now, signs it and records it: version 2, a
 * Merkle root over the chain heads (RFC 9162), so that one event's inclusion can be proven
 * with a short audit path (`shipslog prove`).
 */
export async function takeCheckpoint(db: Queryable, keys: CheckpointKeys): Promise<Checkpoint> {
  // One statement: the root and the snapshot it was computed in are the same moment.
  const [state] = await db<{ snapshot: string; digest: Buffer; message: string }[]>`
    select s.snapshot::text as snapshot, r.root as digest,
           shipslog.checkpoint_message(2::smallint, s.snapshot, r.chain_count, r.event_count, r.root) as message
    from (select pg_current_snapshot() as snapshot) as s
    cross join lateral shipslog.checkpoint_root(s.snapshot) as r
  `;
  if (!state) throw new Error('could not compute the chain digest');
  const signature = sign(null, Buffer.from(state.message, 'utf8'), keys.privateKey);
  const [row] = await db<CheckpointRow[]>`
    select id, created_at, chain_count, event_count, digest, key_id
    from shipslog.record_checkpoint(${state.snapshot}::pg_snapshot, ${state.digest}, ${keys.keyId}, ${signature})
  `;
  return toCheckpoint(row!);
}

export interface CheckpointFinding {
  checkpointId: number;
  createdAt: Date;
  problem: string;
}

export interface CheckpointReport {
  checked: number;
  recomputed: number;
  /**
   * Checkpoints taken before a purge (sql/audit/85_retention.sql): their signatures are checked,
   * their digests cannot be recomputed (events they cover are gone, under signed anchors). "Before"
   * by the anchors' signed judged_at, so a forged purge record cannot retire a checkpoint.
   */
  predatingPurge: number;
  signaturesChecked: boolean;
  findings: CheckpointFinding[];
}

/**
 * Checks every checkpoint's signature (when a public key is given) and recomputes the
 * digest of the newest one (of all with `all`): the newest covers everything committed
 * before it, so older ones add only cost unless the newest is itself in doubt.
 */
export async function verifyCheckpoints(db: Queryable, publicKey: KeyObject | undefined, all = false): Promise<CheckpointReport> {
  const rows = await db<(CheckpointRow & { signature: Buffer; message: string; latest: boolean; before_purge: boolean })[]>`
    select c.id, c.created_at, c.chain_count, c.event_count, c.digest, c.key_id, c.signature,
           shipslog.checkpoint_message(c) as message,
           c.id = max(c.id) over () as latest,
           exists (select from shipslog.audit_chain_anchors as a where a.judged_at > c.created_at) as before_purge
    from shipslog.audit_checkpoints as c
    order by c.id
  `;
  const findings: CheckpointFinding[] = [];
  const expectedKeyId = publicKey ? keyIdOf(publicKey) : undefined;
  let recomputed = 0;
  let predatingPurge = 0;
  for (const r of rows) {
    const at = { checkpointId: Number(r.id), createdAt: r.created_at };
    if (publicKey) {
      if (r.key_id !== expectedKeyId) {
        findings.push({ ...at, problem: `signed by an unknown key ${r.key_id.slice(0, 16)}…: forged, or the verification key is not the signing key's` });
        continue;
      }
      if (!verify(null, Buffer.from(r.message, 'utf8'), publicKey, r.signature)) {
        findings.push({ ...at, problem: 'signature does not match: the checkpoint was forged or altered' });
        continue;
      }
    }
    if (!all && !r.latest) continue;
    if (r.before_purge) {
      predatingPurge++;
      continue;
    }
    recomputed++;
    const [now] = await db<{ digest: Buffer; chain_count: string; event_count: string; heads_root: Buffer | null }[]>`
      select d.digest, d.chain_count, d.event_count, h.root as heads_root
      from shipslog.audit_checkpoints as c
      cross join lateral (
        select x.digest, x.chain_count, x.event_count
        from shipslog.chain_digest(c.snapshot) as x
        where c.version = 1
        union all
        select x.root, x.chain_count, x.event_count
        from shipslog.checkpoint_root(c.snapshot) as x
        where c.version = 2
      ) as d
      left join lateral (
        -- A version 2 checkpoint's stored leaves (what proofs and exports are built from) must give its root.
        select shipslog.merkle_root(array(
            select shipslog.merkle_leaf(l.deployment_id, l.chain_index, l.hash)
            from shipslog.audit_checkpoint_heads as l
            where l.checkpoint_id = c.id
            order by l.leaf_index)) as root
        where c.version = 2
      ) as h
        on true
      where c.id = ${r.id}
    `;
    if (now?.heads_root && !now.heads_root.equals(r.digest)) {
      findings.push({ ...at, problem: 'its stored chain heads (shipslog.audit_checkpoint_heads) no longer give its signed root: altered' });
    }
    if (!now || !now.digest.equals(r.digest)) {
      findings.push({
        ...at,
        problem: `the history it covers has changed since: it saw ${r.chain_count} chain(s) and ${r.event_count} event(s), now ${now?.chain_count} and ${now?.event_count} with a different digest`,
      });
    }
  }
  return { checked: rows.length, recomputed, predatingPurge, signaturesChecked: Boolean(publicKey), findings };
}
