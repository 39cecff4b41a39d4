import { verify, type KeyObject } from 'node:crypto';
import type { Queryable } from '../db/client.ts';
import { keyIdOf } from './checkpoints.ts';

/**
 * Signed chain anchors (sql/audit/85_retention.sql): where a purged chain's retained part
 * starts. PostgreSQL checks, when it stores one, that its index, hash and state are the data's;
 * it cannot check an Ed25519 signature, so this does, against the public key held outside the
 * database: a forged anchor (one that would let a removed prefix, or a rewritten start, pass as
 * purged) carries a signature the key rejects.
 */
export interface AnchorFinding {
  anchorId: number;
  deploymentId: string;
  chainIndex: number;
  problem: string;
}

export interface AnchorReport {
  checked: number;
  signaturesChecked: boolean;
  findings: AnchorFinding[];
}

export async function verifyAnchors(db: Queryable, publicKey: KeyObject | undefined): Promise<AnchorReport> {
  const rows = await db<{ id: string; deployment_id: string; chain_index: number; key_id: string; signature: Buffer; message: string }[]>`
    select a.id, a.deployment_id, a.chain_index, a.key_id, a.signature,
           shipslog.anchor_message(a.deployment_id, a.chain_index, a.hash, a.state, a.removed, a.judged_at) as message
    from shipslog.audit_chain_anchors as a
    order by a.id
  `;
  const findings: AnchorFinding[] = [];
  if (publicKey) {
    const expectedKeyId = keyIdOf(publicKey);
    for (const r of rows) {
      const at = { anchorId: Number(r.id), deploymentId: r.deployment_id, chainIndex: r.chain_index };
      if (r.key_id !== expectedKeyId) {
        findings.push({ ...at, problem: `signed by an unknown key ${r.key_id.slice(0, 16)}…: forged, or the verification key is not the signing key's` });
      } else if (!verify(null, Buffer.from(r.message, 'utf8'), publicKey, r.signature)) {
        findings.push({ ...at, problem: 'signature does not match: the anchor was forged or altered' });
      }
    }
  }
  return { checked: rows.length, signaturesChecked: Boolean(publicKey), findings };
}
