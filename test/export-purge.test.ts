import { generateKeyPairSync, sign } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSigningKey, takeCheckpoint, type CheckpointKeys } from '../src/audit/checkpoints.ts';
import { purgeAuditEvents } from '../src/audit/retention.ts';
import { anchorMessage, type InclusionProof, type TrailAnchor } from '../src/audit/trail-format.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { insertDeployment } from './support/fixtures.ts';
import { joinLines, outcome, parseLines, shipslogEnv, verifyBoth, type Line } from './support/trail.ts';

// Issue 12: retention and offline verification joined. After a real purge, a complete export
// carries each purged chain's signed anchor; `shipslog verify-export` and tools/verify-trail.mjs
// (child processes, no DATABASE_URL) accept a chain that starts right after its anchor, and still
// catch a tampered retained event, an altered or forged anchor, and a chain left without one.

let t: TestDatabase;
let keys: CheckpointKeys;
let dir: string;
let publicKey: string;
let env: NodeJS.ProcessEnv;
let old: string; // 8 years old, then one change now: #1-#4 purged, #5 retained
let gone: string; // removed 8 years ago: purged whole
let dormant: string; // 8 years old, untouched since: every event purged, the row stays
let fresh: string; // young: untouched by the purge
let clean: string;

/** Moves a chain's events `age` into the past and re-hashes it (as test/retention.test.ts does). */
async function backdate(id: string, age: string) {
  await t.db.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    await tx`update shipslog.deployment_events set occurred_at = occurred_at - ${age}::interval where deployment_id = ${id}`;
    const events = await tx<{ chain_index: number }[]>`
      select chain_index from shipslog.deployment_events where deployment_id = ${id} order by chain_index`;
    let prev: Buffer | null = null;
    for (const e of events) {
      const [h]: { hash: Buffer }[] = await tx<{ hash: Buffer }[]>`
        update shipslog.deployment_events as e set hash = shipslog.event_hash(${prev}::bytea, e)
        where deployment_id = ${id} and chain_index = ${e.chain_index}
        returning hash`;
      prev = h!.hash;
    }
    await tx`update shipslog.deployments set chain_head = ${prev} where id = ${id}`;
  });
}

async function chain(name: string, changes: number): Promise<string> {
  const d = await insertDeployment(t.db, { tenant: 'keep', name });
  for (let i = 0; i < changes; i++) {
    await t.db`update shipslog.deployments set config = config || ${t.db.json({ storage: `${10 + i}Gi` })} where id = ${d.id}`;
  }
  return d.id;
}

beforeAll(async () => {
  t = await createTestDatabase();
  dir = await mkdtemp(path.join(tmpdir(), 'shipslog-export-purge-'));
  await chmod(dir, 0o755);
  keys = await loadSigningKey(undefined, dir);
  publicKey = path.join(dir, 'checkpoint-key.pub.pem');
  env = shipslogEnv(t.url, dir);
  old = await chain('old', 3);
  await backdate(old, '8 years');
  // A checkpoint before the purge signs #4 of old: the last event the purge removes, which its anchor also signs.
  await takeCheckpoint(t.db, keys);
  await t.db`update shipslog.deployments set app_version = '17' where id = ${old}`;
  gone = await chain('gone', 2);
  await t.db`delete from shipslog.deployments where id = ${gone}`;
  await backdate(gone, '8 years');
  dormant = await chain('dormant', 1);
  await backdate(dormant, '8 years');
  fresh = await chain('fresh', 2);
  const purge = await purgeAuditEvents(t.db, keys, 'manual');
  expect(purge).toMatchObject({ chains: 3, events: 4 + 4 + 2 });
  const r = await outcome(process.execPath, ['bin/shipslog.js', 'export'], env);
  expect(r.code, r.stderr).toBe(0);
  clean = r.stdout;
}, 120_000);
afterAll(async () => {
  await t?.drop();
  await rm(dir, { recursive: true, force: true });
});

type Both = Awaited<ReturnType<typeof verifyBoth>>;
const expectBothOk = (r: Both) => {
  expect(r.cli.stdout).not.toMatch(/BROKEN/);
  expect(r.tool.stdout).not.toMatch(/BROKEN/);
  expect(r.cli, r.cli.stdout).toMatchObject({ code: 0 });
  expect(r.tool, r.tool.stdout).toMatchObject({ code: 0 });
};
const expectBothBroken = (r: Both, why: RegExp) => {
  expect(r.cli.code, r.cli.stdout).toBe(1);
  expect(r.tool.code, r.tool.stdout).toBe(1);
  expect(r.cli.stdout).toMatch(why);
  expect(r.tool.stdout).toMatch(why);
};
const anchorOf = (lines: Line[], deploymentId: string) => lines.findIndex((l) => l.type === 'anchor' && l.deployment_id === deploymentId);
const eventAt = (lines: Line[], deploymentId: string, chainIndex: number) =>
  lines.findIndex((l) => l.type === 'event' && l.deployment_id === deploymentId && l.chain_index === chainIndex);

describe('export after a purge', () => {
  it('carries each purged chain\'s signed anchor, with the fields anchor_message signs, before the events', async () => {
    const lines = parseLines(clean);
    const anchors = lines.filter((l) => l.type === 'anchor') as unknown as TrailAnchor[];
    expect(anchors.map((a) => [a.deployment_id, a.chain_index, a.removed]).sort()).toEqual(
      [[old, 4, false], [gone, 4, true], [dormant, 2, false]].sort(),
    );
    const stored = await t.db<{ message: string; id: string }[]>`
      select id, shipslog.anchor_message(deployment_id, chain_index, hash, state, removed, judged_at) as message
      from shipslog.audit_chain_anchors order by id`;
    expect(anchors.map((a) => anchorMessage(a)).sort()).toEqual(stored.map((s) => s.message).sort());
    const firstEvent = lines.findIndex((l) => l.type === 'event');
    expect(Math.max(...anchors.map((a) => lines.indexOf(a as unknown as Line)))).toBeLessThan(firstEvent);
    const oldEvents = lines.filter((l) => l.type === 'event' && l.deployment_id === old);
    expect(oldEvents.map((e) => e.chain_index)).toEqual([5]);
    expect(oldEvents[0]!.prev_hash).toBe(anchors.find((a) => a.deployment_id === old)!.hash);
    // The pre-purge checkpoint's head #4 of old comes along too, and holds the anchor's hash.
    const heads = lines.filter((l) => l.type === 'checkpoint').flatMap((c) => c.heads as { deployment_id: string; chain_index: number; hash: string }[]);
    expect(heads.find((h) => h.deployment_id === old && h.chain_index === 4)?.hash).toBe(oldEvents[0]!.prev_hash);
  });

  it('a complete export verifies with both verifiers, with no database', async () => {
    const r = await verifyBoth(dir, 'purged.jsonl', clean, publicKey);
    expectBothOk(r);
    expect(r.cli.stdout).toMatch(/checked 3 signed anchor\(s\)/);
    expect(r.tool.stdout).toMatch(/checked 3 signed anchor\(s\)/);
    expect(r.cli.stdout).toMatch(/1 segment\(s\) start mid-chain: 1 from a signed head or anchor \(1 after a purge\), 0 from/);
  }, 120_000);

  it('a tampered retained event is still caught by both', async () => {
    const lines = parseLines(clean);
    const i = eventAt(lines, old, 5);
    lines[i] = { ...lines[i]!, payload: (lines[i]!.payload as string).replace('"17"', '"18"') };
    expect(lines[i]!.payload).toContain('"18"');
    expectBothBroken(await verifyBoth(dir, 'tampered.jsonl', joinLines(lines), publicKey), /#5 of .* does not match its hash/);
  }, 120_000);

  it('an altered anchor (its hash, its judged_at) fails its signature, and its chain then starts mid-way with no signed start', async () => {
    const lines = parseLines(clean);
    const i = anchorOf(lines, old);
    const altered = [...lines];
    altered[i] = { ...lines[i]!, judged_at: '2030-01-01T00:00:00.000000Z' };
    const r = await verifyBoth(dir, 'altered.jsonl', joinLines(altered), publicKey);
    expectBothBroken(r, /anchor #\d+.*signature does not verify with the given public key: forged or altered/);
    expectBothBroken(r, /starts at #5 with no signed anchor before it: its first events are missing/);
    // A rewritten retained event with the anchor's hash moved to match: the signature still fails.
    const moved = [...lines];
    const e = eventAt(lines, old, 5);
    moved[i] = { ...lines[i]!, hash: 'ab'.repeat(32) };
    moved[e] = { ...lines[e]!, prev_hash: 'ab'.repeat(32) };
    expectBothBroken(await verifyBoth(dir, 'moved.jsonl', joinLines(moved), publicKey), /signature does not verify/);
  }, 120_000);

  it('a forged anchor (signed by another key under this key id), or none at all, is caught by both', async () => {
    const lines = parseLines(clean);
    const i = anchorOf(lines, old);
    const other = generateKeyPairSync('ed25519');
    const a = lines[i] as unknown as TrailAnchor;
    const forged = [...lines];
    forged[i] = { ...lines[i]!, signature: sign(null, Buffer.from(anchorMessage(a), 'utf8'), other.privateKey).toString('hex') };
    expectBothBroken(await verifyBoth(dir, 'forged.jsonl', joinLines(forged), publicKey), /signature does not verify/);
    const without = lines.filter((_, j) => j !== i);
    expectBothBroken(await verifyBoth(dir, 'without.jsonl', joinLines(without), publicKey), /starts at #5 with no signed anchor before it/);
  }, 120_000);

  it('a one-deployment export of a purged chain starts from its anchor too', async () => {
    const r = await outcome(process.execPath, ['bin/shipslog.js', 'export', '--deployment', old], env);
    expect(r.code, r.stderr).toBe(0);
    const lines = parseLines(r.stdout);
    expect(lines.filter((l) => l.type === 'anchor').map((l) => l.chain_index)).toEqual([4]);
    expectBothOk(await verifyBoth(dir, 'one.jsonl', r.stdout, publicKey));
  }, 120_000);
});

describe('prove after a purge', () => {
  it('proves a retained event, and says a purged one is gone', async () => {
    const r = await outcome(process.execPath, ['bin/shipslog.js', 'prove', `${old}:5`], env);
    expect(r.code, r.stderr).toBe(0);
    const p = JSON.parse(r.stdout) as InclusionProof;
    expect(p.events.map((e) => e.chain_index)).toEqual([5]);
    expectBothOk(await verifyBoth(dir, 'proof.json', r.stdout, publicKey, { proof: true, args: ['--event', `${old}:5`] }));
    const purged = await outcome(process.execPath, ['bin/shipslog.js', 'prove', `${old}:2`], env);
    expect(purged).toMatchObject({ code: 1, stdout: '' });
    expect(purged.stderr).toMatch(/no audit event/);
    expect(fresh).toBeTruthy();
  }, 120_000);
});
