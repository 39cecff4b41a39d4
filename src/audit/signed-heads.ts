import type { Queryable } from '../db/client.ts';
import { leafBytes, merkleTree } from './merkle.ts';
import type { SignedHead, TrailCheckpoint } from './trail-format.ts';

/**
 * A version 2 checkpoint as an export or a proof carries it: its signed fields, and the
 * heads asked for with their audit paths. The tree is rebuilt from the stored leaves
 * (shipslog.audit_checkpoint_heads); if they no longer give the signed root the leaves were
 * tampered with, and the caller is told rather than handed a proof that cannot verify.
 */
export async function signedCheckpoint(db: Queryable, checkpointId: number, leafIndexes: Iterable<number>): Promise<TrailCheckpoint> {
  const [c] = await db<{ id: string; created_at: Date; snapshot: string; chain_count: string; event_count: string; digest: Buffer; key_id: string; signature: Buffer }[]>`
    select id, created_at, snapshot::text as snapshot, chain_count, event_count, digest, key_id, signature
    from shipslog.audit_checkpoints
    where id = ${checkpointId}
      and version = 2
  `;
  if (!c) throw new Error(`checkpoint #${checkpointId} is not a version 2 checkpoint`);
  const leaves = await db<{ deployment_id: string; chain_index: number; hash: string }[]>`
    select deployment_id, chain_index, encode(hash, 'hex') as hash
    from shipslog.audit_checkpoint_heads
    where checkpoint_id = ${checkpointId}
    order by leaf_index
  `;
  const tree = merkleTree(leaves.map((l) => leafBytes(l.deployment_id, l.chain_index, l.hash)));
  if (leaves.length !== Number(c.chain_count) || !tree.root.equals(c.digest)) {
    throw new Error(`the stored heads of checkpoint #${checkpointId} no longer give its signed root: shipslog.audit_checkpoint_heads was altered (run shipslog verify)`);
  }
  const heads: SignedHead[] = [...new Set(leafIndexes)].sort((a, b) => a - b).map((i) => ({
    leaf_index: i,
    deployment_id: leaves[i]!.deployment_id,
    chain_index: leaves[i]!.chain_index,
    hash: leaves[i]!.hash,
    audit_path: tree.auditPath(i).map((p) => p.toString('hex')),
  }));
  return {
    type: 'checkpoint',
    version: 2,
    id: Number(c.id),
    created_at: c.created_at.toISOString(),
    snapshot: c.snapshot,
    chain_count: Number(c.chain_count),
    event_count: Number(c.event_count),
    root: c.digest.toString('hex'),
    key_id: c.key_id,
    signature: c.signature.toString('hex'),
    heads,
  };
}
