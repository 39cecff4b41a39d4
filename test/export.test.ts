import { generateKeyPairSync, sign } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSigningKey, takeCheckpoint, verifyCheckpoints, type CheckpointKeys } from '../src/audit/checkpoints.ts';
import { exportTrail, filterSql } from '../src/audit/export.ts';
import { TrailVerifier } from '../src/audit/trail-verify.ts';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { insertDeployment } from './support/fixtures.ts';
import { joinLines, outcome, parseLines, shipslogEnv, verifyBoth, type Line } from './support/trail.ts';

// Issue 12, item 2: `shipslog export`, and its checks with no database by `shipslog verify-export`
// and by the standalone tools/verify-trail.mjs, both run as child processes. Every tampering
// below must be caught by both.

let t: TestDatabase;
let keys: CheckpointKeys;
let dir: string;
let publicKey: string;
let otherKey: string;
let env: NodeJS.ProcessEnv;
const ids: Record<string, string> = {};
let clean: string;
let middle: string; // an instant between the first and the second round of changes

beforeAll(async () => {
  t = await createTestDatabase();
  dir = await mkdtemp(path.join(tmpdir(), 'shipslog-export-'));
  await chmod(dir, 0o755);
  keys = await loadSigningKey(undefined, dir);
  publicKey = path.join(dir, 'checkpoint-key.pub.pem');
  otherKey = path.join(dir, 'other.pub.pem');
  await writeFile(otherKey, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));
  env = shipslogEnv(t.url, dir);

  // Payload text that JSON escaping must carry exactly: quotes, a backslash, a newline, non-ASCII.
  ids.db = (await insertDeployment(t.db, { tenant: 'acme', name: 'db' })).id;
  ids.cache = (await insertDeployment(t.db, { tenant: 'acme', name: 'cache' })).id;
  ids.other = (await insertDeployment(t.db, { tenant: 'globex', name: 'web' })).id;
  for (const [i, id] of [ids.db, ids.cache, ids.other].entries()) {
    await t.db`update shipslog.deployments set config = config || ${t.db.json({ storage: `${i + 10}Gi`, note: 'say "hi" \\ back\nslash, grüße 🚢' })} where id = ${id!}`;
  }
  await takeCheckpoint(t.db, keys);
  const [m] = await t.db<{ now: string }[]>`select to_char(clock_timestamp() at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as now`;
  middle = m!.now;
  for (const id of [ids.db, ids.cache, ids.other]) {
    for (const v of ['16.1', '16.2', '17']) await t.db`update shipslog.deployments set app_version = ${v} where id = ${id!}`;
  }
  ids.gone = (await insertDeployment(t.db, { tenant: 'acme', name: 'gone' })).id;
  await t.db`delete from shipslog.deployments where id = ${ids.gone}`;
  await takeCheckpoint(t.db, keys);
  const r = await outcome(process.execPath, ['bin/shipslog.js', 'export'], env);
  expect(r.stderr).toMatch(/exported 17 event\(s\) of 4 chain\(s\) with 1 signed checkpoint\(s\)/);
  expect(r.code).toBe(0);
  clean = r.stdout;
}, 120_000);
afterAll(async () => {
  await t?.drop();
  await rm(dir, { recursive: true, force: true });
});

const expectBothOk = (r: { cli: { code: number; stdout: string }; tool: { code: number; stdout: string } }) => {
  expect(r.cli.stdout).not.toMatch(/BROKEN/);
  expect(r.tool.stdout).not.toMatch(/BROKEN/);
  expect(r.cli).toMatchObject({ code: 0 });
  expect(r.tool).toMatchObject({ code: 0 });
};
const expectBothBroken = (r: { cli: { code: number; stdout: string }; tool: { code: number; stdout: string } }, why: RegExp) => {
  expect(r.cli.code, r.cli.stdout).toBe(1);
  expect(r.tool.code, r.tool.stdout).toBe(1);
  expect(r.cli.stdout).toMatch(why);
  expect(r.tool.stdout).toMatch(why);
};

const eventAt = (lines: Line[], deploymentId: string, chainIndex: number) =>
  lines.findIndex((l) => l.type === 'event' && l.deployment_id === deploymentId && l.chain_index === chainIndex);
const withEnd = (lines: Line[]): Line[] => {
  const events = lines.filter((l) => l.type === 'event');
  return lines.map((l) => (l.type === 'end' ? { ...l, events: events.length, chains: new Set(events.map((e) => e.deployment_id)).size } : l));
};

describe('shipslog export', () => {
  it('writes a header, the signed checkpoints, every event with its exact hashed payload, and an end line', async () => {
    const lines = parseLines(clean);
    expect(lines[0]).toMatchObject({ type: 'header', format: 'shipslog-trail', format_version: 1, complete: true, public_key_fingerprint: keys.keyId, chains: 4, events: 17 });
    expect(lines.filter((l) => l.type === 'checkpoint').map((l) => l.id)).toEqual([2]);
    expect(lines.at(-1)).toEqual({ type: 'end', chains: 4, events: 17 });
    // The payload is the database's own text, byte for byte.
    const rows = await t.db<{ seq: string; payload: string }[]>`select seq, shipslog.event_payload(e)::text as payload from shipslog.deployment_events as e order by seq`;
    expect(lines.filter((l) => l.type === 'event').map((l) => l.payload)).toEqual(rows.map((r) => r.payload));
    expect(clean).toContain('grüße 🚢');
  }, 120_000);

  it('a clean export verifies with both verifiers, with no database', async () => {
    const r = await verifyBoth(dir, 'clean.jsonl', clean, publicKey);
    expectBothOk(r);
    for (const out of [r.cli.stdout, r.tool.stdout]) {
      expect(out).toMatch(/checked 1 checkpoint\(s\), 4 chain segment\(s\), 17 event\(s\)/);
      expect(out).toMatch(/17 event\(s\) covered by a signed checkpoint, 0 after/);
    }
  }, 120_000);

  it('a tampered byte in an event payload', async () => {
    const lines = parseLines(clean);
    const i = eventAt(lines, ids.db!, 2);
    const p = lines[i]!.payload as string;
    const at = p.indexOf('Gi') - 1;
    lines[i] = { ...lines[i]!, payload: `${p.slice(0, at)}${p[at] === '1' ? '2' : '1'}${p.slice(at + 1)}` };
    expectBothBroken(await verifyBoth(dir, 'byte.jsonl', joinLines(lines), publicKey), /#2 of .* does not match its hash/);
  }, 120_000);

  it('a reordered line (two events of a chain swapped)', async () => {
    const lines = parseLines(clean);
    const a = eventAt(lines, ids.cache!, 3);
    const b = eventAt(lines, ids.cache!, 4);
    [lines[a], lines[b]] = [lines[b]!, lines[a]!];
    expectBothBroken(await verifyBoth(dir, 'reorder.jsonl', joinLines(lines), publicKey), /reordered/);
  }, 120_000);

  it('a removed event, in the middle of a chain or its signed head, even with the end line adjusted', async () => {
    const lines = parseLines(clean);
    lines.splice(eventAt(lines, ids.other!, 3), 1);
    expectBothBroken(await verifyBoth(dir, 'removed.jsonl', joinLines(withEnd(lines)), publicKey), /follows #2: 1 event\(s\) missing/);
    const head = parseLines(clean);
    head.splice(eventAt(head, ids.other!, 5), 1);
    expectBothBroken(await verifyBoth(dir, 'removed-head.jsonl', joinLines(withEnd(head)), publicKey), /signed head .* which is not in the export/);
  }, 120_000);

  it('a whole chain left out of a complete export, and a file cut short', async () => {
    const lines = parseLines(clean).filter((l) => l.deployment_id !== ids.gone);
    const checkpoint = lines.find((l) => l.type === 'checkpoint')!;
    checkpoint.heads = (checkpoint.heads as { deployment_id: string }[]).filter((h) => h.deployment_id !== ids.gone);
    expectBothBroken(await verifyBoth(dir, 'chain-gone.jsonl', joinLines(withEnd(lines)), publicKey), /lists 3 of its 4 chain head/);
    expectBothBroken(await verifyBoth(dir, 'cut.jsonl', joinLines(parseLines(clean).slice(0, -1)), publicKey), /ends without its end line/);
  }, 120_000);

  it('a forged checkpoint signature, and a checkpoint re-signed with another key', async () => {
    const lines = parseLines(clean);
    const c = lines.find((l) => l.type === 'checkpoint')!;
    const sig = c.signature as string;
    c.signature = `${sig.slice(0, 10)}${sig[10] === '0' ? '1' : '0'}${sig.slice(11)}`;
    expectBothBroken(await verifyBoth(dir, 'forged.jsonl', joinLines(lines), publicKey), /signature does not verify/);

    const forger = generateKeyPairSync('ed25519');
    const message = `shipslog-checkpoint v2\n${String(c.snapshot)}\n${String(c.chain_count)}\n${String(c.event_count)}\n${String(c.root)}`;
    c.signature = sign(null, Buffer.from(message), forger.privateKey).toString('hex');
    expectBothBroken(await verifyBoth(dir, 'resigned.jsonl', joinLines(lines), publicKey), /signature does not verify/);
  }, 120_000);

  it('the wrong public key', async () => {
    expectBothBroken(await verifyBoth(dir, 'wrong-key.jsonl', clean, otherKey), /wrong key/);
  }, 120_000);

  it('a time window and one deployment: segments start from the previous hash, signed where a checkpoint has it', async () => {
    const window = await outcome(process.execPath, ['bin/shipslog.js', 'export', '--from', middle], env);
    expect(window.code).toBe(0);
    const lines = parseLines(window.stdout);
    expect(lines[0]).toMatchObject({ complete: false, filter: { from: new Date(middle).toISOString() } });
    const first = lines.find((l) => l.type === 'event' && l.deployment_id === ids.db)!;
    expect(first).toMatchObject({ chain_index: 3 });
    expect(first.prev_hash).toMatch(/^[0-9a-f]{64}$/);
    const r = await verifyBoth(dir, 'window.jsonl', window.stdout, publicKey);
    expectBothOk(r);
    // db, cache and other start at #3 from the head checkpoint #1 signed; gone starts at #1.
    for (const out of [r.cli.stdout, r.tool.stdout]) expect(out).toMatch(/3 segment\(s\) start mid-chain: 3 from a signed head/);

    // A window export can start from an unsigned hash: a forged first event must still not pass as a signed start.
    const forgedStart = parseLines(window.stdout);
    const i = forgedStart.findIndex((l) => l.type === 'event' && l.deployment_id === ids.db);
    forgedStart[i] = { ...forgedStart[i]!, prev_hash: 'ab'.repeat(32) };
    expectBothBroken(await verifyBoth(dir, 'window-forged.jsonl', joinLines(forgedStart), publicKey), /checkpoint #1 signed #2 of/);

    const one = await outcome(process.execPath, ['bin/shipslog.js', 'export', '--deployment', ids.cache!, '--tenant', 'acme'], env);
    expect(parseLines(one.stdout).filter((l) => l.type === 'event').map((l) => l.chain_index)).toEqual([1, 2, 3, 4, 5]);
    expectBothOk(await verifyBoth(dir, 'one.jsonl', one.stdout, publicKey));
  }, 120_000);

  it('events newer than every checkpoint fail unless --allow-uncovered, and say so', async () => {
    await t.db`update shipslog.deployments set app_version = '18' where id = ${ids.db!}`;
    const r = await outcome(process.execPath, ['bin/shipslog.js', 'export', '--deployment', ids.db!], env);
    const strict = await verifyBoth(dir, 'uncovered.jsonl', r.stdout, publicKey);
    expectBothBroken(strict, /NOT COVERED: 1 event/);
    expectBothOk(await verifyBoth(dir, 'uncovered.jsonl', r.stdout, publicKey, { args: ['--allow-uncovered'] }));
  }, 120_000);

  it('refuses a bad filter with exit 2 and a clear message, writing nothing', async () => {
    for (const [args, message] of [
      [['--deployment', 'nope'], /--deployment must be a deployment id/],
      [['--tenant', "x'; drop table"], /--tenant must be a tenant name/],
      [['--from', 'yesterday'], /--from must be an ISO 8601/],
      [['--from', '2026-02-01', '--to', '2026-01-01'], /must be before --to/],
    ] as const) {
      const r = await outcome(process.execPath, ['bin/shipslog.js', 'export', ...args], env);
      expect(r).toMatchObject({ code: 2, stdout: '' });
      expect(r.stderr).toMatch(message);
    }
    const missing = await outcome(process.execPath, ['bin/shipslog.js', 'verify-export', path.join(dir, 'clean.jsonl')], env);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/--public-key/);
  }, 120_000);

  it('two readers in one snapshot, small chunks: the same lines, none written meanwhile, all verified', async () => {
    let text = '';
    let writes = 0;
    let wrote!: () => void;
    const started = new Promise<void>((r) => (wrote = r));
    // A slow reader of the output: the export is still running while other transactions commit.
    const out = new Writable({
      write(chunk: Buffer, _enc, done) {
        text += chunk.toString();
        if (++writes === 2) wrote();
        setTimeout(done, 20);
      },
    });
    // A transaction takes a seq, then a later one commits: the export's snapshot sees the later
    // event and not the earlier one, which commits while the second reader is still reading.
    const holder = t.connect(1);
    let commit!: () => void;
    const held = new Promise<void>((r) => (commit = r));
    let updated!: () => void;
    const didUpdate = new Promise<void>((r) => (updated = r));
    const open = holder.begin(async (sql) => {
      await sql`update shipslog.deployments set app_version = '19' where id = ${ids.cache!}`;
      updated();
      await held;
    });
    await didUpdate;
    await t.db`update shipslog.deployments set app_version = '16.9' where id = ${ids.other!}`;
    const pool = t.connect(2);
    const running = exportTrail(pool, out, { filter: { deployment: null, tenant: null, from: null, to: null }, publicKeyFingerprint: null, chunkEvents: 2 });
    await started;
    commit();
    await open;
    await holder.end();
    await insertDeployment(t.db, { tenant: 'acme', name: 'late' });
    const summary = await running;
    await pool.end();
    out.end();
    await once(out, 'finish');
    const lines = parseLines(text);
    expect(summary.events).toBe(lines.filter((l) => l.type === 'event').length);
    expect(lines.at(-1)).toEqual({ type: 'end', chains: lines[0]!.chains, events: lines[0]!.events });
    expect(text).not.toContain('"name": "late"');
    expect(text).toContain('\\"app_version\\": \\"16.9\\"');
    expect(text).not.toContain('\\"app_version\\": \\"19\\"');
    // Event lines are those of the CLI's export of the same moment, in seq order.
    const seqs = lines.filter((l) => l.type === 'event').map((l) => (JSON.parse(l.payload as string) as { seq: number }).seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    const v = new TrailVerifier(keys.publicKey);
    text.trimEnd().split('\n').forEach((l, i) => v.line(l, i + 1));
    const report = v.finish();
    expect(report.problems).toEqual([]);
    expect(report.events).toBe(summary.events);
  }, 120_000);

  it('writes the filter into its COPY only in the exact shapes it checked (COPY takes no bind parameters)', () => {
    const none = { deployment: null, tenant: null, from: null, to: null };
    expect(filterSql(none)).toBe('true');
    expect(filterSql({ ...none, tenant: 'acme', from: '2026-01-01T00:00:00.000Z' })).toBe(
      "e.tenant = 'acme' and e.occurred_at >= '2026-01-01T00:00:00.000Z'::timestamptz",
    );
    expect(() => filterSql({ ...none, tenant: "acme' or true --" })).toThrow(/unexpected shape/);
    expect(() => filterSql({ ...none, deployment: "00000000-0000-0000-0000-000000000000'" })).toThrow(/unexpected shape/);
    expect(() => filterSql({ ...none, to: "2026-01-01'" })).toThrow(/unexpected shape/);
  }, 120_000);

  it('`shipslog public-key` prints the PEM whose fingerprint the checkpoints carry', async () => {
    const r = await outcome(process.execPath, ['bin/shipslog.js', 'public-key'], env);
    expect(r.stdout).toMatch(/^-----BEGIN PUBLIC KEY-----\n[\s\S]+-----END PUBLIC KEY-----\n$/);
    expect(r.stderr).toContain(keys.keyId);
  }, 120_000);
});

describe('checkpoint versions and stored heads', () => {
  it('a version 1 checkpoint (signed by a shipslog older than migration 0030) is still verified', async () => {
    const [state] = await t.db<{ snapshot: string; digest: Buffer; message: string }[]>`
      select s.snapshot::text as snapshot, d.digest, shipslog.checkpoint_message(s.snapshot, d.chain_count, d.event_count, d.digest) as message
      from (select pg_current_snapshot() as snapshot) as s cross join lateral shipslog.chain_digest(s.snapshot) as d`;
    const sig = sign(null, Buffer.from(state!.message), keys.privateKey);
    const [c] = await t.db<{ id: string; version: number }[]>`
      select id, version from shipslog.record_checkpoint(${state!.snapshot}::pg_snapshot, ${state!.digest}, ${keys.keyId}, ${sig})`;
    expect(c!.version).toBe(1);
    expect((await verifyCheckpoints(t.db, keys.publicKey, true)).findings).toEqual([]);
    const [heads] = await t.db<{ n: number }[]>`select count(*)::int as n from shipslog.audit_checkpoint_heads where checkpoint_id = ${c!.id}`;
    expect(heads!.n).toBe(0);
  }, 120_000);

  it('stored heads are append-only, and altering them (as a superuser past the guards) is found by verify and refused by export', async () => {
    await expect(t.db`update shipslog.audit_checkpoint_heads set chain_index = 1`).rejects.toMatchObject({ code: 'SL001' });
    await expect(t.db`delete from shipslog.audit_checkpoint_heads`).rejects.toMatchObject({ code: 'SL001' });
    const c = await takeCheckpoint(t.db, keys);
    await t.db.begin(async (sql) => {
      await sql`set local session_replication_role = replica`;
      await sql`update shipslog.audit_checkpoint_heads set hash = sha256(hash) where checkpoint_id = ${c.id} and leaf_index = 0`;
    });
    const problems = (await verifyCheckpoints(t.db, keys.publicKey)).findings.map((f) => f.problem);
    expect(problems).toContainEqual(expect.stringMatching(/stored chain heads .* no longer give its signed root/));
    const r = await outcome(process.execPath, ['bin/shipslog.js', 'export'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the stored heads of checkpoint #\d+ no longer give its signed root/);
  }, 120_000);
});
