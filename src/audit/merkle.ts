import { createHash } from 'node:crypto';

/**
 * RFC 9162 section 2.1 Merkle trees over the chain heads a version 2 checkpoint signs
 * (sql/audit/70_checkpoints.sql builds the same root in PostgreSQL). tools/verify-trail.mjs
 * has its own copy on purpose: an auditor need not trust this one.
 */

const sha256 = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};
const LEAF = Buffer.from([0x00]);
const NODE = Buffer.from([0x01]);

/** The leaf bytes of one chain head: UTF-8 of "<deployment id> <chain_index> <hash hex>". */
export function leafBytes(deploymentId: string, chainIndex: number, hashHex: string): Buffer {
  return Buffer.from(`${deploymentId} ${chainIndex} ${hashHex}`, 'utf8');
}

export const leafHash = (leaf: Uint8Array): Buffer => sha256(LEAF, leaf);
export const nodeHash = (left: Uint8Array, right: Uint8Array): Buffer => sha256(NODE, left, right);

/**
 * Every level of the tree, leaf hashes first, root last. Pairing neighbours and carrying an
 * odd last node up unchanged builds the RFC's tree (left subtree: the largest power of two
 * below n).
 */
function levels(leaves: Uint8Array[]): Buffer[][] {
  const all: Buffer[][] = [leaves.map(leafHash)];
  while (all.at(-1)!.length > 1) {
    const level = all.at(-1)!;
    const next: Buffer[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(nodeHash(level[i]!, level[i + 1]!));
    if (level.length % 2 === 1) next.push(level.at(-1)!);
    all.push(next);
  }
  return all;
}

/** MTH(D[n]); the empty tree's root is SHA-256 of nothing. */
export function merkleRoot(leaves: Uint8Array[]): Buffer {
  return leaves.length === 0 ? sha256() : levels(leaves).at(-1)![0]!;
}

/** A tree built once, for the audit paths of many of its leaves. */
export function merkleTree(leaves: Uint8Array[]): { root: Buffer; auditPath: (index: number) => Buffer[] } {
  const all = leaves.length === 0 ? [[sha256()]] : levels(leaves);
  return {
    root: all.at(-1)![0]!,
    // RFC 9162 2.1.3.1 PATH(m, D[n]): the siblings from the leaf up, none where a node is carried up.
    auditPath(index: number): Buffer[] {
      if (!Number.isInteger(index) || index < 0 || index >= leaves.length) throw new RangeError(`leaf ${index} is not in a tree of ${leaves.length}`);
      const path: Buffer[] = [];
      let i = index;
      for (const level of all.slice(0, -1)) {
        const sibling = i ^ 1;
        if (sibling < level.length) path.push(level[sibling]!);
        i >>= 1;
      }
      return path;
    },
  };
}

/** RFC 9162 2.1.3.2: does this audit path lead from the leaf at index in a tree of size to root? */
export function verifyAuditPath(leaf: Uint8Array, index: number, size: number, path: Uint8Array[], root: Uint8Array): boolean {
  if (!Number.isInteger(index) || !Number.isInteger(size) || index < 0 || index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r: Buffer = leafHash(leaf);
  for (const p of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && r.equals(root);
}
