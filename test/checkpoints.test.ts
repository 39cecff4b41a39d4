import { execFile } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyIdOf, loadSigningKey, takeCheckpoint, verifyCheckpoints, type CheckpointKeys } from '../src/audit/checkpoints.ts';
import { verifyChains } from '../src/audit/verify.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { insertDeployment } from './support/fixtures.ts';

const run = promisify(execFile);
let t: TestDatabase;
let keys: CheckpointKeys;
let dataDir: string;
beforeAll(async () => {
  t = await createTestDatabase();
  dataDir = await mkdtemp(path.join(tmpdir(), 'shipslog-ckpt-'));
  await chmod(dataDir, 0o755);
  keys = await loadSigningKey(undefined, dataDir);
});
afterAll(async () => {
  await t?.drop();
  await rm(dataDir, { recursive: true, force: true });
});

async function someHistory(name: string): Promise<string> {
  const d = await insertDeployment(t.db, { tenant: 'ckpt', name });
  await t.db`update shipslog.deployments set config = config || '{"storage": "10Gi"}' where id = ${d.id}`;
  await t.db`update shipslog.deployments set app_version = '17' where id = ${d.id}`;
  return d.id;
}

describe('signed checkpoints', () => {
  it('a checkpoint verifies, and later changes do not disturb it', async () => {
    await someHistory('one');
    await someHistory('two');
    const c = await takeCheckpoint(t.db, keys);
    expect(c).toMatchObject({ chainCount: 2, eventCount: 6, keyId: keys.keyId });
    expect(c.digest).toMatch(/^[0-9a-f]{64}$/);
    await someHistory('three');
    const report = await verifyCheckpoints(t.db, keys.publicKey);
    expect(report).toMatchObject({ checked: 1, recomputed: 1, signaturesChecked: true, findings: [] });
  });

  it('covers exactly what had committed: a transaction open during the checkpoint that commits later changes nothing', async () => {
    const id = await someHistory('in-flight');
    const other = t.connect(1);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let updated!: () => void;
    const didUpdate = new Promise<void>((r) => (updated = r));
    const tx = other.begin(async (sql) => {
      await sql`update shipslog.deployments set app_version = '18' where id = ${id}`;
      updated();
      await held;
    });
    await didUpdate;
    await takeCheckpoint(t.db, keys);
    release();
    await tx;
    expect((await verifyCheckpoints(t.db, keys.publicKey, true)).findings).toEqual([]);
  });

  it('finds a whole chain rewritten consistently, which the chains alone cannot', async () => {
    const id = await someHistory('rewritten');
    await takeCheckpoint(t.db, keys);
    await t.db.begin(async (sql) => {
      await sql`set local session_replication_role = replica`;
      await sql`update shipslog.deployment_events set actor = 'mallory' where deployment_id = ${id} and chain_index = 2`;
      await sql`
        do $$
        declare
          target uuid := ${sql.unsafe(`'${id}'`)};
          i integer;
        begin
          for i in 2 .. (select max(chain_index) from shipslog.deployment_events where deployment_id = target) loop
            update shipslog.deployment_events as e
            set hash = shipslog.event_hash(p.hash, e)
            from shipslog.deployment_events as p
            where e.deployment_id = target and e.chain_index = i
              and p.deployment_id = target and p.chain_index = i - 1;
          end loop;
          update shipslog.deployments
          set chain_head = (select hash from shipslog.deployment_events where deployment_id = target order by chain_index desc limit 1)
          where id = target;
        end $$`; // id is a uuid read back from the database, safe to inline
    });
    expect(await verifyChains(t.db, id)).toEqual([]);
    const report = await verifyCheckpoints(t.db, keys.publicKey);
    expect(report.findings).toHaveLength(1);
    expect(report.findings[0]!.problem).toMatch(/the history it covers has changed since/);
  });

  it('finds a forged checkpoint: another key, or an altered signature', async () => {
    const forger = generateKeyPairSync('ed25519');
    const [state] = await t.db<{ snapshot: string; digest: Buffer; message: string }[]>`
      select s.snapshot::text as snapshot, d.digest, shipslog.checkpoint_message(s.snapshot, d.chain_count, d.event_count, d.digest) as message
      from (select pg_current_snapshot() as snapshot) as s cross join lateral shipslog.chain_digest(s.snapshot) as d`;
    const forgedSig = sign(null, Buffer.from(state!.message), forger.privateKey);
    await t.db`select * from shipslog.record_checkpoint(${state!.snapshot}::pg_snapshot, ${state!.digest}, ${keyIdOf(forger.publicKey)}, ${forgedSig})`;
    await t.db`select * from shipslog.record_checkpoint(${state!.snapshot}::pg_snapshot, ${state!.digest}, ${keys.keyId}, ${forgedSig})`;
    const problems = (await verifyCheckpoints(t.db, keys.publicKey)).findings.map((f) => f.problem);
    expect(problems).toContainEqual(expect.stringMatching(/signed by an unknown key/));
    expect(problems).toContainEqual('signature does not match: the checkpoint was forged or altered');
  });

  it('refuses a digest the data does not have, and any change to recorded checkpoints', async () => {
    await expect(
      t.db`select * from shipslog.record_checkpoint(pg_current_snapshot(), ${Buffer.alloc(32)}, 'k', ${Buffer.alloc(64)})`,
    ).rejects.toMatchObject({ code: 'SL004' });
    await expect(t.db`update shipslog.audit_checkpoints set key_id = 'x'`).rejects.toMatchObject({ code: 'SL001' });
    await expect(t.db`delete from shipslog.audit_checkpoints`).rejects.toMatchObject({ code: 'SL001' });
    await expect(t.db`truncate shipslog.audit_checkpoints`).rejects.toMatchObject({ code: 'SL005' });
    await expect(
      t.db.begin(async (sql) => {
        await sql`set local role shipslog_app`;
        await sql`insert into shipslog.audit_checkpoints (snapshot, chain_count, event_count, digest, key_id, signature) values (pg_current_snapshot(), 0, 0, ${Buffer.alloc(32)}, 'k', '')`;
      }),
    ).rejects.toMatchObject({ code: '42501' });
  });

  it('`shipslog checkpoint` prints the line to keep; `shipslog verify` checks it with the public key', async () => {
    const fresh = await createTestDatabase();
    try {
      const insert = await insertDeployment(fresh.db, { name: 'cli' });
      expect(insert.id).toBeTruthy();
      const env = { ...process.env, DATABASE_URL: fresh.url, SHIPSLOG_DATA_DIR: dataDir, LOG_LEVEL: 'error' };
      const cp = await run(process.execPath, ['bin/shipslog.js', 'checkpoint'], { env });
      expect(cp.stdout).toMatch(new RegExp(`^checkpoint #1 at \\S+: 1 chain\\(s\\), 1 event\\(s\\), digest [0-9a-f]{64}, key ${keys.keyId}\\n$`));
      const ok = await run(process.execPath, ['bin/shipslog.js', 'verify'], { env });
      expect(ok.stdout).toBe('ok: 1 chain(s), 1 event(s) verified\nok: 1 checkpoint(s), 1 recomputed\n');
    } finally {
      await fresh.drop();
    }
  });
});
