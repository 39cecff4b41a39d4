import { inExportedSnapshot, isPool, type Db, type Queryable } from '../db/client.ts';
import { systemChainId, type ChainEnd, type ChainFinding, type ChainStart, type HashSuspect } from './chain-walk.ts';
import type { Json } from './replay.ts';
import { streamRange, type StreamContext } from './verify-range.ts';

export type { ChainFinding } from './chain-walk.ts';

export interface VerifyResult {
  findings: ChainFinding[];
  chains: number;
  events: number;
  /**
   * Events whose payload rebuilt in Node did not give their stored hash, judged again with
   * shipslog.event_hash() in SQL (0 unless an event was tampered with, or holds a value
   * src/audit/event-stream.ts writes differently from PostgreSQL).
   */
  rechecked: number;
}

export interface VerifyOptions {
  /** One deployment's chain only. */
  deploymentId?: string | undefined;
  /** Streams run side by side, each over a range of deployment ids (default 2: the work is mostly PostgreSQL's). */
  parallel?: number;
  /**
   * Walk the chains in worker threads, one per stream, so that rebuilding and hashing the
   * payloads uses every core (default: when the trail holds WORKER_THRESHOLD events or more).
   */
  workers?: boolean;
  /**
   * Events that may wait for the events they follow (they arrive in seq order) before a range
   * is read again in chain order (default 100,000, a few tens of MB).
   */
  pendingLimit?: number;
  /** Called every few thousand events with the events verified so far and the table's estimated size. */
  onProgress?: (events: number, estimate: number) => void;
}

interface Row { tenant: string; name: string; chainLength: number; chainHead: Buffer | null }

/**
 * The checks of shipslog.verify_chains() (sql/audit/50_verify.sql, the reference), with the
 * events' columns streamed to Node by COPY: Node rebuilds each event's hashed bytes and hashes
 * them (src/audit/event-stream.ts), walks the chains (src/audit/chain-walk.ts: links, indexes,
 * the replay of the partial states), and the replayed states go back to PostgreSQL to be
 * compared with the rows as jsonb. Two streams over halves of the deployment ids share one
 * snapshot; on a large trail each one's walk runs in a worker thread. The SQL function does the
 * same in one statement at ~30,000 events/s (its replay is a plpgsql call per event); this runs
 * at ~200,000 on two cores (BENCHMARKS.md, `npm run bench:verify`). A link whose rebuilt bytes
 * do not give its hash is judged again with shipslog.event_hash(), and a row whose state
 * differs is confirmed with the SQL function, before either is reported: a difference between
 * Node and PostgreSQL (a number JSON cannot hold exactly, say) costs time, never a finding.
 */
export async function verifyAll(db: Queryable, options: VerifyOptions = {}): Promise<VerifyResult> {
  // One snapshot for everything (rows, anchors, every stream): writes that go on meanwhile
  // must not look like a row ahead of its chain. The streams on other connections join it
  // with SET TRANSACTION SNAPSHOT.
  if (isPool(db)) {
    return (await db.begin('isolation level repeatable read read only', (tx) => verifyInSnapshot(tx, db, options))) as VerifyResult;
  }
  return verifyInSnapshot(db, undefined, options);
}

/** Events (PostgreSQL's estimate) from which verification walks the chains in worker threads. */
const WORKER_THRESHOLD = 100_000;

async function verifyInSnapshot(db: Queryable, pool: Db | undefined, options: VerifyOptions): Promise<VerifyResult> {
  const only = options.deploymentId ?? null;
  const starts = new Map<string, ChainStart>();
  for (const s of await db<{ deployment_id: string; chain_index: number; hash: Buffer; state: Json; removed: boolean }[]>`
    select deployment_id, chain_index, hash, state, removed
    from shipslog.audit_chain_starts
    where ${only}::uuid is null
      or deployment_id = ${only}::uuid
  `) {
    starts.set(s.deployment_id, { chainIndex: s.chain_index, hash: s.hash.toString('hex'), state: s.state, removed: s.removed });
  }
  const rows = new Map<string, Row>();
  for (const r of await db<{ id: string; tenant: string; name: string; chain_length: number; chain_head: Buffer | null }[]>`
    select d.id, d.tenant, d.name, d.chain_length, d.chain_head
    from shipslog.deployments as d
    where ${only}::uuid is null
      or d.id = ${only}::uuid
    union all
    select * from (
      select shipslog.system_chain_id(), '_system', 'audit-retention', p.event_chain_index, p.event_hash
      from shipslog.audit_purges as p
      where ${only}::uuid is null
        or ${only}::uuid = shipslog.system_chain_id()
      order by p.id desc
      limit 1
    ) as newest_purge
  `) {
    rows.set(r.id, { tenant: r.tenant, name: r.name, chainLength: r.chain_length, chainHead: r.chain_head });
  }

  const [size] = await db<{ estimate: number }[]>`
    select coalesce(sum(greatest(c.reltuples, 0)), 0)::float8 as estimate
    from pg_catalog.pg_partition_tree('shipslog.deployment_events') as t
      join pg_catalog.pg_class as c on c.oid = t.relid
  `;
  const estimate = only ? 0 : Number(size?.estimate ?? 0);
  const findings = new Map<string, ChainFinding>();
  const ends = new Map<string, ChainEnd>();
  const hashSuspects: HashSuspect[] = [];
  let events = 0;
  let reported = 0;
  const progress = (n: number) => {
    events += n;
    if (options.onProgress && events - reported >= 20_000) {
      reported = events;
      options.onProgress(events, estimate);
    }
  };

  const parallel = only || !pool ? 1 : Math.max(1, Math.min(options.parallel ?? 2, 16));
  // Worker threads cost a fraction of a second to start: worth it for a large trail only.
  const inWorker = options.workers ?? estimate >= WORKER_THRESHOLD;
  const [snapshot] = parallel > 1 ? await db<{ id: string }[]>`select pg_export_snapshot() as id` : [];
  const rowIds: ReadonlySet<string> = new Set(rows.keys());
  const results = await Promise.all(
    idRanges(parallel).map(([from, to], i) => {
      const context: StreamContext = { only, from, to, starts, rowIds, progress, inWorker, pendingLimit: options.pendingLimit };
      if (i === 0 || !pool || !snapshot) return streamRange(db, context);
      return inExportedSnapshot(pool, snapshot.id, (tx) => streamRange(tx, context));
    }),
  );
  // The ranges hold disjoint chains.
  for (const r of results) {
    for (const [id, f] of r.findings) findings.set(id, f);
    for (const [id, e] of r.ends) ends.set(id, e);
    hashSuspects.push(...r.suspects);
  }
  options.onProgress?.(events, estimate);

  await judgeHashSuspects(db, hashSuspects, findings);
  checkHeads(rows, starts, ends, findings);
  await checkStates(db, rows, ends, findings);
  const list = [...findings.values()].sort(
    (a, b) => a.tenant.localeCompare(b.tenant) || a.name.localeCompare(b.name) || a.deploymentId.localeCompare(b.deploymentId),
  );
  return { findings: list, chains: new Set([...ends.keys(), ...starts.keys()]).size, events, rechecked: hashSuspects.length };
}

/** The first broken link of each deployment's audit chain (empty when every chain holds). */
export async function verifyChains(db: Queryable, deploymentId?: string): Promise<ChainFinding[]> {
  return (await verifyAll(db, { deploymentId })).findings;
}

/** [from, to) ranges of uuids (byte order, as PostgreSQL compares them) splitting the space evenly. */
function idRanges(n: number): [string | null, string | null][] {
  const bound = (i: number) => `${Math.floor((i * 0x100000000) / n).toString(16).padStart(8, '0')}-0000-0000-0000-000000000000`;
  return Array.from({ length: n }, (_, i) => [i === 0 ? null : bound(i), i === n - 1 ? null : bound(i + 1)]);
}

/**
 * The links whose hash did not match the payload rebuilt in Node, judged with event_payload() itself
 * (shipslog.event_hash over event_payload): a link that fails there too is a finding, the first
 * of its chain (replacing a later one found while the stream went on).
 */
async function judgeHashSuspects(db: Queryable, suspects: HashSuspect[], findings: Map<string, ChainFinding>): Promise<void> {
  for (let i = 0; i < suspects.length; i += 1000) {
    const batch = suspects.slice(i, i + 1000);
    const failing = await db<{ n: number }[]>`
      select x.n
      from unnest(
          ${batch.map((s) => s.deploymentId)}::uuid[],
          ${batch.map((s) => s.chainIndex)}::int[],
          ${batch.map((s) => s.prevHash ?? '')}::text[]
        ) with ordinality as x(deployment_id, chain_index, prev_hex, n)
        join shipslog.deployment_events as e
          on e.deployment_id = x.deployment_id
          and e.chain_index = x.chain_index
      where e.hash <> shipslog.event_hash(decode(x.prev_hex, 'hex'), e)
    `;
    for (const { n } of failing) {
      const s = batch[Number(n) - 1]!;
      const known = findings.get(s.deploymentId);
      // At the same link the reference names a gap before the hash, the hash before the rest.
      const outranks = known?.chainIndex === s.chainIndex && /follows the removed event|not created/.test(known.problem);
      if (known && known.chainIndex <= s.chainIndex && !outranks) continue;
      findings.set(s.deploymentId, {
        deploymentId: s.deploymentId, tenant: s.tenant, name: s.name, chainIndex: s.chainIndex,
        problem: `event #${s.chainIndex} (${s.action}) does not match its hash: altered, swapped or forged`,
      });
    }
  }
}

/** The chain's end against its row: both there or both gone, and the row's head is the chain's last event. */
function checkHeads(rows: Map<string, Row>, starts: Map<string, ChainStart>, ends: Map<string, ChainEnd>, findings: Map<string, ChainFinding>): void {
  const ids = new Set([...rows.keys(), ...ends.keys(), ...starts.keys()]);
  for (const id of ids) {
    if (findings.has(id)) continue;
    const row = rows.get(id);
    const start = starts.get(id);
    const end: Pick<ChainEnd, 'chainIndex' | 'hash' | 'action'> | undefined =
      ends.get(id) ?? (start ? { chainIndex: start.chainIndex, hash: start.hash, action: start.removed ? 'removed' : '(purged)' } : undefined);
    const tenant = row?.tenant ?? ends.get(id)?.tenant ?? '';
    const name = row?.name ?? ends.get(id)?.name ?? '';
    const at = (end?.chainIndex ?? 0) + 1;
    const add = (problem: string) => findings.set(id, { deploymentId: id, tenant, name, chainIndex: at, problem });
    if (!end) {
      add('deployment row has no audit events: inserted while audit triggers were bypassed');
    } else if (!row && id === systemChainId) {
      add(`the system chain ends at #${end.chainIndex} but no purge recorded it: forged`);
    } else if (!row && end.action !== 'removed') {
      add(`chain ends at #${end.chainIndex} (${end.action}) but the deployment row is gone: deleted while triggers were bypassed, or the chain's tail was removed`);
    } else if (row && end.action === 'removed') {
      add('deployment row exists after its removed event');
    } else if (row && (row.chainLength !== end.chainIndex || !row.chainHead || row.chainHead.toString('hex') !== end.hash)) {
      add(`deployment row's chain head is #${row.chainLength} but the chain ends at #${end.chainIndex}: events removed, truncated or forged`);
    }
  }
}

/**
 * Each row against the state its events replay to, compared by PostgreSQL as jsonb. A chain
 * all purged replays to its anchor's state. What differs here is confirmed by
 * shipslog.verify_chains() before it is reported.
 */
async function checkStates(db: Queryable, rows: Map<string, Row>, ends: Map<string, ChainEnd>, findings: Map<string, ChainFinding>): Promise<void> {
  const pending: { id: string; state: Json }[] = [];
  for (const [id, end] of ends) if (rows.has(id) && id !== systemChainId && !findings.has(id)) pending.push({ id, state: end.state });
  const suspects: string[] = [];
  for (let i = 0; i < pending.length; i += 500) {
    const batch = pending.slice(i, i + 500);
    const differing = await db<{ id: string }[]>`
      select x.id
      from jsonb_to_recordset(${JSON.stringify(batch)}::text::jsonb) as x(id uuid, state jsonb)
        join shipslog.deployments as d on d.id = x.id
      where shipslog.audited_state(d) is distinct from x.state
    `;
    suspects.push(...differing.map((r) => r.id));
  }
  // Rows whose chain is all purged: the anchor's state, compared in SQL by the reference.
  for (const id of rows.keys()) if (!ends.has(id) && id !== systemChainId && !findings.has(id)) suspects.push(id);
  for (const id of suspects) {
    const [f] = await db<ChainFinding[]>`
      select deployment_id as "deploymentId", tenant, name, chain_index as "chainIndex", problem
      from shipslog.verify_chains(${id}::uuid)
    `;
    if (f) findings.set(id, f);
  }
}

/**
 * Records each finding as a security_violation event on the chain it concerns (as the owner:
 * `shipslog verify --record`), so the trail itself says when verification found what. A chain
 * whose deployment row is gone cannot take events: those findings are returned as not recorded.
 */
export async function recordFindings(db: Db, findings: ChainFinding[]): Promise<{ recorded: number; notRecorded: ChainFinding[] }> {
  let recorded = 0;
  const notRecorded: ChainFinding[] = [];
  for (const f of findings) {
    const [row] = await db<{ exists: boolean }[]>`select exists (select from shipslog.deployments where id = ${f.deploymentId}) as exists`;
    if (!row?.exists) {
      notRecorded.push(f);
      continue;
    }
    await db.begin(async (tx) => {
      await tx`select set_config('shipslog.actor', 'shipslog verify', true), set_config('shipslog.actor_type', 'system', true)`;
      await tx`select shipslog.record_security_violation(${f.deploymentId}, ${tx.json({ finding: f.problem, chain_index: f.chainIndex, source: 'verify' })})`;
    });
    recorded++;
  }
  return { recorded, notRecorded };
}
