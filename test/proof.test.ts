import { generateKeyPairSync } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSigningKey, takeCheckpoint, type CheckpointKeys } from '../src/audit/checkpoints.ts';
import type { InclusionProof } from '../src/audit/trail-format.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { insertDeployment } from './support/fixtures.ts';
import { outcome, shipslogEnv, verifyBoth } from './support/trail.ts';

// Issue 12, item 3: `shipslog prove EVENT` prints a proof that an event is covered by a signed
// checkpoint; `shipslog verify-proof` and tools/verify-trail.mjs --proof check it offline.

let t: TestDatabase;
let keys: CheckpointKeys;
let dir: string;
let publicKey: string;
let otherKey: string;
let env: NodeJS.ProcessEnv;
let id: string;
let seqOf2: string;

beforeAll(async () => {
  t = await createTestDatabase();
  dir = await mkdtemp(path.join(tmpdir(), 'shipslog-proof-'));
  await chmod(dir, 0o755);
  keys = await loadSigningKey(undefined, dir);
  publicKey = path.join(dir, 'checkpoint-key.pub.pem');
  otherKey = path.join(dir, 'other.pub.pem');
  await writeFile(otherKey, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));
  env = shipslogEnv(t.url, dir);
  id = (await insertDeployment(t.db, { name: 'proved' })).id;
  // Other chains, so that the tree has several leaves and the head's audit path is not empty.
  for (const name of ['a', 'b', 'c', 'd', 'e']) await insertDeployment(t.db, { name });
  for (const v of ['16.1', '16.2', '16.3']) await t.db`update shipslog.deployments set app_version = ${v} where id = ${id}`;
  await takeCheckpoint(t.db, keys);
  await t.db`update shipslog.deployments set app_version = '17' where id = ${id}`;
  await takeCheckpoint(t.db, keys);
  await t.db`update shipslog.deployments set app_version = '18' where id = ${id}`;
  const [row] = await t.db<{ seq: string }[]>`select seq from shipslog.deployment_events where deployment_id = ${id} and chain_index = 2`;
  seqOf2 = row!.seq;
}, 120_000);
afterAll(async () => {
  await t?.drop();
  await rm(dir, { recursive: true, force: true });
});

async function prove(event: string): Promise<InclusionProof> {
  const r = await outcome(process.execPath, ['bin/shipslog.js', 'prove', event], env);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as InclusionProof;
}

const expectBothOk = (r: Awaited<ReturnType<typeof verifyBoth>>) => {
  expect(r.cli, r.cli.stdout).toMatchObject({ code: 0 });
  expect(r.tool, r.tool.stdout).toMatchObject({ code: 0 });
  expect(r.cli.stdout).toMatch(/^ok: event #/);
  expect(r.tool.stdout).toMatch(/^ok: event #/);
};
const expectBothBroken = (r: Awaited<ReturnType<typeof verifyBoth>>, why: RegExp) => {
  expect(r.cli.code, r.cli.stdout).toBe(1);
  expect(r.tool.code, r.tool.stdout).toBe(1);
  expect(r.cli.stdout).toMatch(why);
  expect(r.tool.stdout).toMatch(why);
};
const proofText = (p: InclusionProof) => JSON.stringify(p, null, 2);

describe('shipslog prove', () => {
  it('proves an event by seq with the oldest checkpoint whose head follows it: the chain from it to that head, the audit path, the signature', async () => {
    const p = await prove(seqOf2);
    expect(p).toMatchObject({ type: 'shipslog-inclusion-proof', format_version: 1, checkpoint: { id: 1, version: 2, chain_count: 6, key_id: keys.keyId } });
    expect(p.events.map((e) => e.chain_index)).toEqual([2, 3, 4]);
    expect(p.checkpoint.heads).toHaveLength(1);
    expect(p.checkpoint.heads[0]).toMatchObject({ deployment_id: id, chain_index: 4, hash: p.events.at(-1)!.hash });
    expect(p.checkpoint.heads[0]!.audit_path.length).toBeGreaterThan(0);
    expectBothOk(await verifyBoth(dir, 'proof.json', proofText(p), publicKey, { proof: true, args: ['--event', `${id}:2`] }));
  }, 120_000);

  it('an event that is itself the signed head needs no chain: one event', async () => {
    const p = await prove(`${id}:5`);
    expect(p.checkpoint.id).toBe(2);
    expect(p.events.map((e) => e.chain_index)).toEqual([5]);
    expectBothOk(await verifyBoth(dir, 'head.json', proofText(p), publicKey, { proof: true }));
  }, 120_000);

  it('an event newer than every checkpoint has no proof yet: exit 1 and what to do', async () => {
    const r = await outcome(process.execPath, ['bin/shipslog.js', 'prove', `${id}:6`], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is not covered by a signed checkpoint yet: take one with `shipslog checkpoint`/);
    const bad = await outcome(process.execPath, ['bin/shipslog.js', 'prove', 'not-an-event'], env);
    expect(bad.code).toBe(2);
    const none = await outcome(process.execPath, ['bin/shipslog.js', 'prove', '999999'], env);
    expect(none).toMatchObject({ code: 1, stdout: '' });
    expect(none.stderr).toMatch(/no audit event 999999/);
  }, 120_000);

  it('a proof for a different event: asked about another, or with another event put in', async () => {
    const p = await prove(seqOf2);
    expectBothBroken(await verifyBoth(dir, 'other.json', proofText(p), publicKey, { proof: true, args: ['--event', `${id}:3`] }), /the proof is for event #2 of/);
    // Event #1 put in place of #2: its hash does not lead to #3.
    const q = await prove(`${id}:1`);
    const swapped = { ...p, events: [q.events[0]!, ...p.events.slice(1)] };
    expectBothBroken(await verifyBoth(dir, 'swapped.json', proofText(swapped), publicKey, { proof: true }), /follows #1: 1 event\(s\) missing|previous hash/);
    // Or relabelled as #2 with its payload: the payload names #1.
    const relabelled = { ...p, events: [{ ...q.events[0]!, chain_index: 2, prev_hash: p.events[0]!.prev_hash }, ...p.events.slice(1)] };
    expectBothBroken(await verifyBoth(dir, 'relabelled.json', proofText(relabelled), publicKey, { proof: true }), /does not match its hash|moved/);
  }, 120_000);

  it('a tampered payload, a tampered audit path, a forged signature, the wrong key', async () => {
    const p = await prove(seqOf2);
    const payload = p.events[0]!.payload;
    const tampered = { ...p, events: [{ ...p.events[0]!, payload: payload.replace('"16.1"', '"16.9"') }, ...p.events.slice(1)] };
    expect(tampered.events[0]!.payload).not.toBe(payload);
    expectBothBroken(await verifyBoth(dir, 'payload.json', proofText(tampered), publicKey, { proof: true }), /does not match its hash/);

    const head = p.checkpoint.heads[0]!;
    const path0 = head.audit_path[0]!;
    const badPath = { ...p, checkpoint: { ...p.checkpoint, heads: [{ ...head, audit_path: [`${path0[0] === '0' ? '1' : '0'}${path0.slice(1)}`, ...head.audit_path.slice(1)] }] } };
    expectBothBroken(await verifyBoth(dir, 'path.json', proofText(badPath), publicKey, { proof: true }), /audit path fails/);

    const sig = p.checkpoint.signature;
    const forged = { ...p, checkpoint: { ...p.checkpoint, signature: `${sig[0] === '0' ? '1' : '0'}${sig.slice(1)}` } };
    expectBothBroken(await verifyBoth(dir, 'sig.json', proofText(forged), publicKey, { proof: true }), /signature does not verify/);

    expectBothBroken(await verifyBoth(dir, 'key.json', proofText(p), otherKey, { proof: true }), /wrong key or forged/);

    // Cut short of the signed head: the event is then not shown to be covered.
    const short = { ...p, events: p.events.slice(0, -1) };
    expectBothBroken(await verifyBoth(dir, 'short.json', proofText(short), publicKey, { proof: true }), /not covered|not in the export/);
  }, 120_000);
});
