import { createHash } from 'node:crypto';
import type { Db, Queryable } from '../db/client.ts';
import { rowChangeActions } from '../db/events.ts';
import { applyEvent, type Json } from './replay.ts';

export interface ChainFinding {
  deploymentId: string;
  tenant: string;
  name: string;
  chainIndex: number;
  problem: string;
}

export interface VerifyResult {
  findings: ChainFinding[];
  chains: number;
  events: number;
}

export interface VerifyOptions {
  /** One deployment's chain only. */
  deploymentId?: string | undefined;
  /** Streams run side by side, each over a range of deployment ids (default 2: the work is mostly PostgreSQL's). */
  parallel?: number;
  /** Called every few thousand events with the events verified so far and the table's estimated size. */
  onProgress?: (events: number, estimate: number) => void;
}

// shipslog.system_chain_id(): shipslog's own chain (purge events), whose end the newest purge records.
const systemChainId = '00000000-0000-0000-0000-000000000000';

interface Start { chainIndex: number; hash: Buffer; state: Json; removed: boolean }
interface Row { tenant: string; name: string; chainLength: number; chainHead: Buffer | null }
/** What a stream learnt about one chain: its last event and (if a row exists) its replayed state. */
interface ChainEnd { tenant: string; name: string; chainIndex: number; hash: Buffer; action: string; state: Json; broken: boolean }

/**
 * The checks of shipslog.verify_chains() (sql/audit/50_verify.sql, the reference), with the
 * events streamed to Node in chain order: PostgreSQL builds each event's payload text (the
 * exact bytes that were hashed), Node hashes it and replays the partial states, and the
 * replayed states go back to PostgreSQL to be compared with the rows as jsonb. The SQL
 * function does the same in one statement at ~30,000 events/s (its replay is a plpgsql call
 * per event); this runs at several times that (BENCHMARKS.md, `npm run bench:verify`).
 * A row whose state differs is confirmed with the SQL function before it is reported, so a
 * number JSON cannot hold exactly never turns into a finding.
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

const isPool = (db: Queryable): db is Db => typeof (db as Db).begin === 'function';

async function verifyInSnapshot(db: Queryable, pool: Db | undefined, options: VerifyOptions): Promise<VerifyResult> {
  const only = options.deploymentId ?? null;
  const starts = new Map<string, Start>();
  for (const s of await db<{ deployment_id: string; chain_index: number; hash: Buffer; state: Json; removed: boolean }[]>`
    select deployment_id, chain_index, hash, state, removed
    from shipslog.audit_chain_starts
    where ${only}::uuid is null
      or deployment_id = ${only}::uuid
  `) {
    starts.set(s.deployment_id, { chainIndex: s.chain_index, hash: s.hash, state: s.state, removed: s.removed });
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
  const [snapshot] = parallel > 1 ? await db<{ id: string }[]>`select pg_export_snapshot() as id` : [];
  await Promise.all(
    idRanges(parallel).map(([from, to], i) => {
      const context = { only, from, to, starts, rows, findings, ends, progress, hashSuspects };
      if (i === 0 || !pool || !snapshot) return streamRange(db, context);
      return pool.begin('isolation level repeatable read read only', async (tx) => {
        await tx`set transaction snapshot ${tx.unsafe(`'${snapshot.id.replace(/'/g, '')}'`)}`; // the exported snapshot's id: a literal, not a parameter
        await streamRange(tx, context);
      });
    }),
  );
  options.onProgress?.(events, estimate);

  await judgeHashSuspects(db, hashSuspects, findings);
  checkHeads(rows, starts, ends, findings);
  await checkStates(db, rows, ends, findings);
  const list = [...findings.values()].sort(
    (a, b) => a.tenant.localeCompare(b.tenant) || a.name.localeCompare(b.name) || a.deploymentId.localeCompare(b.deploymentId),
  );
  return { findings: list, chains: new Set([...ends.keys(), ...starts.keys()]).size, events };
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

interface HashSuspect { deploymentId: string; tenant: string; name: string; chainIndex: number; action: string; prevHash: Buffer | null }

interface StreamContext {
  hashSuspects: HashSuspect[];
  only: string | null;
  from: string | null;
  to: string | null;
  starts: Map<string, Start>;
  rows: Map<string, Row>;
  findings: Map<string, ChainFinding>;
  ends: Map<string, ChainEnd>;
  progress: (n: number) => void;
}

type EventRow = [
  deploymentId: string, chainIndex: number, hash: Buffer, action: string, tenant: string, name: string,
  // The link checked by PostgreSQL (null for a chain's first event here), else the payload text
  // for Node to check against the chain's start (its anchor's hash, or none).
  hashOk: boolean | null, firstPayload: string | null, newState: string | null, previousState: string | null,
];

async function streamRange(db: Queryable, c: StreamContext): Promise<void> {
  let current: string | undefined;
  let prevIndex = 0;
  let prevHash: Buffer | null = null;
  let prevAction: string | null = null;
  let anchorIndex = 0;
  let state: Json = null;
  let replays = false;
  let broken = false;

  const finish = (last: ChainEnd | undefined) => {
    if (current !== undefined && last) c.ends.set(current, last);
  };
  let last: ChainEnd | undefined;
  const report = (id: string, tenant: string, name: string, chainIndex: number, problem: string) => {
    broken = true;
    if (!c.findings.has(id)) c.findings.set(id, { deploymentId: id, tenant, name, chainIndex, problem });
  };

  // Rows in chain order from the partitions' unique (deployment_id, chain_index) indexes (sorts
  // are off for this transaction: the order is the index's, and a sort of a million payloads
  // spilled to disk). PostgreSQL checks each link against the stored hash before it, lag() in
  // that order: SHA-256 over event_payload_text() (event_payload()'s text by concatenation, half
  // the work); the two cores share that work, and only the partial states come over, for the
  // replay. A chain's first event here has no link to check in SQL: its payload comes over and
  // Node checks it against the chain's anchor.
  await db`set local enable_sort = off`;
  const query = db`
    select
      e.deployment_id, e.chain_index, e.hash, e.action, e.tenant, e.name,
      e.hash = sha256(lag(e.hash) over w || convert_to(shipslog.event_payload_text(e), 'UTF8')),
      case when lag(e.hash) over w is null then shipslog.event_payload_text(e) end,
      e.new_state::text, e.previous_state::text
    from shipslog.deployment_events as e
    where (${c.only}::uuid is null or e.deployment_id = ${c.only}::uuid)
      and (${c.from}::uuid is null or e.deployment_id >= ${c.from}::uuid)
      and (${c.to}::uuid is null or e.deployment_id < ${c.to}::uuid)
    window w as (partition by e.deployment_id order by e.chain_index)
    order by e.deployment_id, e.chain_index
  `.values();
  for await (const batch of query.cursor(2000)) {
    for (const [id, index, hash, action, tenant, name, linkOk, firstPayload, after, before] of batch as unknown as EventRow[]) {
      if (id !== current) {
        finish(last);
        current = id;
        const start = c.starts.get(id);
        anchorIndex = start?.chainIndex ?? 0;
        prevIndex = anchorIndex;
        prevHash = start?.hash ?? null;
        prevAction = start?.removed ? 'removed' : null;
        state = start ? structuredClone(start.state) : null;
        replays = c.rows.has(id) && id !== systemChainId;
        broken = false;
        last = undefined;
      }
      if (!broken) {
        let hashOk = linkOk === true;
        if (firstPayload !== null) {
          const expected = createHash('sha256');
          if (prevHash) expected.update(prevHash);
          hashOk = expected.update(firstPayload, 'utf8').digest().equals(hash);
        }
        if (index <= anchorIndex) {
          report(id, tenant, name, index, `event #${index} lies in the purged prefix its signed anchor ends at #${anchorIndex}`);
        } else if (index <= prevIndex) {
          report(id, tenant, name, index, `event #${index} follows #${prevIndex}: a chain index repeated`);
        } else if (index !== prevIndex + 1) {
          report(id, tenant, name, index, `event #${index} follows #${prevIndex}: ${index - prevIndex - 1} event(s) missing`);
        } else if (prevAction === 'removed') {
          report(id, tenant, name, index, `event #${index} (${action}) follows the removed event`);
        } else if (index === 1 && action !== 'created' && id !== systemChainId) {
          report(id, tenant, name, index, `event #1 is ${action}, not created: the chain's start is missing`);
        }
        if (!hashOk) {
          // Judged after the stream, with event_hash() itself (the connection is busy
          // with the cursor until then); the chain's checks go on meanwhile.
          c.hashSuspects.push({ deploymentId: id, tenant, name, chainIndex: index, action, prevHash });
        }
        // Events that are not row changes (rollouts, approvals, ...) change no state.
        if (!broken && replays && rowChanges.has(action)) {
          state = applyEvent(state, before == null ? null : (JSON.parse(before) as Json), after == null ? null : (JSON.parse(after) as Json));
        }
      }
      prevIndex = Math.max(prevIndex, index);
      prevHash = hash;
      prevAction = action;
      last = { tenant, name, chainIndex: index, hash, action, state, broken };
    }
    c.progress(batch.length);
  }
  await db`set local enable_sort = on`;
  finish(last);
}

/**
 * The links whose hash did not match event_payload_text(), judged with event_payload() itself
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
          ${batch.map((s) => s.prevHash?.toString('hex') ?? '')}::text[]
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
function checkHeads(rows: Map<string, Row>, starts: Map<string, Start>, ends: Map<string, ChainEnd>, findings: Map<string, ChainFinding>): void {
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
    } else if (row && (row.chainLength !== end.chainIndex || !row.chainHead || !row.chainHead.equals(end.hash))) {
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

const rowChanges: ReadonlySet<string> = new Set(rowChangeActions);

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
