import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leafBytes, merkleRoot, merkleTree, verifyAuditPath } from '../src/audit/merkle.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';

// RFC 9162 section 2.1 tree hashing, in TypeScript (src/audit/merkle.ts) and in SQL
// (shipslog.merkle_root), held against trees computed by hand and against the RFC's own
// recursive definitions written out here.

const h = (...parts: (Buffer | number[])[]) => {
  const hash = createHash('sha256');
  for (const p of parts) hash.update(Buffer.from(p));
  return hash.digest();
};
const leaf = (d: Buffer) => h([0x00], d);
const node = (l: Buffer, r: Buffer) => h([0x01], l, r);

// The leaves of the Certificate Transparency reference tests (RFC 6962 / 9162 implementations).
const D = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((x) => Buffer.from(x, 'hex'));

/** RFC 9162 2.1.1 MTH, written as the RFC states it. */
function mth(d: Buffer[]): Buffer {
  if (d.length === 0) return h();
  if (d.length === 1) return leaf(d[0]!);
  let k = 1;
  while (k * 2 < d.length) k *= 2;
  return node(mth(d.slice(0, k)), mth(d.slice(k)));
}

/** RFC 9162 2.1.3.1 PATH(m, D[n]). */
function rfcPath(m: number, d: Buffer[]): Buffer[] {
  if (d.length <= 1) return [];
  let k = 1;
  while (k * 2 < d.length) k *= 2;
  return m < k ? [...rfcPath(m, d.slice(0, k)), mth(d.slice(k))] : [...rfcPath(m - k, d.slice(k)), mth(d.slice(0, k))];
}

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

const sqlRoot = async (leaves: Buffer[]): Promise<Buffer> => {
  const hex = leaves.map((l) => l.toString('hex'));
  const [r] = await t.db<{ root: Buffer }[]>`
    select shipslog.merkle_root(array(select decode(x, 'hex') from unnest(${hex}::text[]) with ordinality as u(x, i) order by i)) as root`;
  return r!.root;
};

describe('RFC 9162 Merkle tree hashing', () => {
  it('matches trees computed by hand: empty, one leaf, three leaves (split 2 + 1), five leaves (split 4 + 1)', async () => {
    const [d0, d1, d2, d3, d4] = D as [Buffer, Buffer, Buffer, Buffer, Buffer];
    const byHand: [Buffer[], Buffer][] = [
      [[], createHash('sha256').update(Buffer.alloc(0)).digest()],
      [[d0], leaf(d0)],
      [[d0, d1], node(leaf(d0), leaf(d1))],
      [[d0, d1, d2], node(node(leaf(d0), leaf(d1)), leaf(d2))],
      [[d0, d1, d2, d3], node(node(leaf(d0), leaf(d1)), node(leaf(d2), leaf(d3)))],
      [[d0, d1, d2, d3, d4], node(node(node(leaf(d0), leaf(d1)), node(leaf(d2), leaf(d3))), leaf(d4))],
    ];
    for (const [leaves, root] of byHand) {
      expect(merkleRoot(leaves).toString('hex'), `${leaves.length} leaves`).toBe(root.toString('hex'));
      expect((await sqlRoot(leaves)).toString('hex'), `${leaves.length} leaves in SQL`).toBe(root.toString('hex'));
    }
    // The empty tree is SHA-256 of nothing; one empty leaf is SHA-256(0x00).
    expect(merkleRoot([]).toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(merkleRoot([D[0]!]).toString('hex')).toBe('6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
  });

  it('gives the published roots of the Certificate Transparency reference leaves, sizes 1 to 8', async () => {
    // From the test vectors of the RFC 6962/9162 reference implementations (certificate-transparency-go, merkletree tests).
    const roots = [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
      'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
      '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
      '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
      'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
      '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
    ];
    for (let n = 1; n <= 8; n++) {
      expect(merkleRoot(D.slice(0, n)).toString('hex'), `n=${n}`).toBe(roots[n - 1]);
      expect((await sqlRoot(D.slice(0, n))).toString('hex'), `n=${n} in SQL`).toBe(roots[n - 1]);
    }
  });

  it('gives the RFC definition\'s root for every size up to 33, in TypeScript and in SQL', async () => {
    const many = Array.from({ length: 33 }, (_, i) => Buffer.from(`leaf ${i}`));
    for (let n = 0; n <= many.length; n++) {
      const leaves = many.slice(0, n);
      const expected = mth(leaves).toString('hex');
      expect(merkleRoot(leaves).toString('hex'), `n=${n}`).toBe(expected);
      expect((await sqlRoot(leaves)).toString('hex'), `n=${n} in SQL`).toBe(expected);
    }
  });

  it('builds the RFC\'s audit paths, which verify, and fail for another index, leaf, root, or an altered or shortened path', () => {
    for (let n = 1; n <= 17; n++) {
      const leaves = Array.from({ length: n }, (_, i) => Buffer.from(`leaf ${i}`));
      const tree = merkleTree(leaves);
      for (let m = 0; m < n; m++) {
        const path = tree.auditPath(m);
        expect(path.map((p) => p.toString('hex')), `n=${n} m=${m}`).toEqual(rfcPath(m, leaves).map((p) => p.toString('hex')));
        expect(verifyAuditPath(leaves[m]!, m, n, path, tree.root)).toBe(true);
        expect(verifyAuditPath(Buffer.from('another leaf'), m, n, path, tree.root)).toBe(false);
        if (n > 1) expect(verifyAuditPath(leaves[m]!, (m + 1) % n, n, path, tree.root)).toBe(false);
        if (path.length > 0) {
          expect(verifyAuditPath(leaves[m]!, m, n, path.slice(1), tree.root)).toBe(false);
          expect(verifyAuditPath(leaves[m]!, m, n, [h([0]), ...path.slice(1)], tree.root)).toBe(false);
        }
        // (The size is not bound by the path alone: the checkpoint signs it, as chain_count.)
        expect(verifyAuditPath(leaves[m]!, m, n, path, h([1]))).toBe(false);
      }
    }
  });

  it('a leaf is the text "<deployment id> <chain_index> <hash hex>", the same bytes in SQL', async () => {
    const id = '6f1c2d3e-0000-4000-8000-00000000abcd';
    const hash = 'ab'.repeat(32);
    expect(leafBytes(id, 42, hash).toString()).toBe(`${id} 42 ${hash}`);
    const [r] = await t.db<{ leaf: Buffer }[]>`select shipslog.merkle_leaf(${id}::uuid, 42, decode(${hash}, 'hex')) as leaf`;
    expect(r!.leaf.equals(leafBytes(id, 42, hash))).toBe(true);
  });
});
