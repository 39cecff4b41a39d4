import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { Db, Queryable, Tx } from '../db/client.ts';
import { signedCheckpoint } from './signed-heads.ts';
import { anchorMessage, TRAIL_FORMAT, type TrailAnchor, type TrailCheckpoint, type TrailEnd, type TrailFilter, type TrailHeader } from './trail-format.ts';

/**
 * `shipslog export`: the trail as JSON lines (docs/offline-verification.md). One repeatable-read
 * transaction, so the chains, the checkpoints and the events are one moment. Events go out in
 * `seq` order (the order they were written; per chain that is chain_index order, since a
 * chain's writers queue on its row lock); each chain's exported events are one contiguous
 * segment, the first of them carrying the hash of the event before it.
 *
 * The events stream out of PostgreSQL through COPY, raw columns with shipslog.event_payload(e)::text
 * (the very text that was hashed): the server's only work per event is that payload, and this
 * process turns rows into JSON lines (V8's JSON.stringify escapes far faster than the server's
 * json_build_object did: 2.3 s of 5.6 s per 100,000 events) while the server produces the next
 * rows. Memory stays bounded by the chains, not the events (measured in BENCHMARKS.md).
 */

export interface ExportSummary {
  chains: number;
  events: number;
  checkpoints: number;
}

export interface ExportOptions {
  filter: TrailFilter;
  /** Fingerprint of the public key the checkpoints should verify with, when this side knows it. */
  publicKeyFingerprint: string | null;
  onProgress?: (events: number, total: number) => void;
  /** Events per COPY (default 20,000); tests make it small so both readers take turns. */
  chunkEvents?: number;
}

async function write(out: Writable, data: string | Buffer): Promise<void> {
  if (!out.write(data)) await once(out, 'drain');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * The filter as SQL with its values written in: COPY takes no bind parameters. Each value is
 * checked against its exact shape first (a uuid, a DNS label, an ISO instant from
 * Date.toISOString()), none of which can hold a quote.
 */
export function filterSql(f: TrailFilter): string {
  const conditions: string[] = [];
  const literal = (value: string, shape: RegExp, name: string) => {
    if (!shape.test(value)) throw new Error(`export filter ${name} has an unexpected shape: ${JSON.stringify(value)}`);
    return `'${value}'`;
  };
  if (f.deployment) conditions.push(`e.deployment_id = ${literal(f.deployment, UUID, 'deployment')}::uuid`);
  if (f.tenant) conditions.push(`e.tenant = ${literal(f.tenant, DNS_LABEL, 'tenant')}`);
  if (f.from) conditions.push(`e.occurred_at >= ${literal(f.from, ISO_UTC, 'from')}::timestamptz`);
  if (f.to) conditions.push(`e.occurred_at < ${literal(f.to, ISO_UTC, 'to')}::timestamptz`);
  return conditions.length > 0 ? conditions.join(' and ') : 'true';
}

interface Segments {
  ids: string[];
  firsts: number[];
  lasts: number[];
  /** The hash before each segment that starts after #1. */
  prevHash: Map<string, string>;
  events: number;
  /** The seq range the events lie in, cut into chunks for the two readers. */
  minSeq: number;
  maxSeq: number;
}

async function segments(tx: Tx, where: string): Promise<Segments> {
  // The filter as in the COPY below, inlined the same way (see filterSql).
  const rows = await tx.unsafe<{ deployment_id: string; first: number; last: number; count: string; min_seq: string; max_seq: string; prev_hash: string | null }[]>(`
    select r.deployment_id, r.first, r.last, r.count, r.min_seq, r.max_seq, encode(coalesce(p.hash, a.hash), 'hex') as prev_hash
    from (
        select e.deployment_id, min(e.chain_index) as first, max(e.chain_index) as last, count(*) as count,
          min(e.seq) as min_seq, max(e.seq) as max_seq
        from shipslog.deployment_events as e
        where ${where}
        group by e.deployment_id
      ) as r
    left join shipslog.deployment_events as p
      on p.deployment_id = r.deployment_id
      and p.chain_index = r.first - 1
    -- A purged prefix: the event before the segment is gone, its signed anchor holds its hash.
    left join shipslog.audit_chain_anchors as a
      on a.deployment_id = r.deployment_id
      and a.chain_index = r.first - 1
    order by r.deployment_id`);
  const s: Segments = { ids: [], firsts: [], lasts: [], prevHash: new Map(), events: 0, minSeq: Infinity, maxSeq: 0 };
  for (const r of rows) {
    s.minSeq = Math.min(s.minSeq, Number(r.min_seq));
    s.maxSeq = Math.max(s.maxSeq, Number(r.max_seq));
    s.ids.push(r.deployment_id);
    s.firsts.push(r.first);
    s.lasts.push(r.last);
    if (r.prev_hash) s.prevHash.set(r.deployment_id, r.prev_hash);
    s.events += Number(r.count);
  }
  return s;
}

/**
 * The checkpoints to carry: per segment, the newest one whose signed head lies in it (the
 * heads of a chain only grow, so that head covers the most) and the newest whose head is
 * the event just before it (the segment then starts from a signed hash). A complete export
 * also carries every head of the newest checkpoint, so a verifier sees that no chain is left out.
 */
async function checkpoints(tx: Tx, s: Segments, complete: boolean): Promise<TrailCheckpoint[]> {
  const picked = await tx<{ checkpoint_id: string; leaf_index: number }[]>`
    with segments as (
      select *
      from unnest(${s.ids}::uuid[], ${s.firsts}::int[], ${s.lasts}::int[]) as s(deployment_id, first, last)
    )
    select c.checkpoint_id, c.leaf_index
    from segments as s
    cross join lateral (
      select h.checkpoint_id, h.leaf_index
      from shipslog.audit_checkpoint_heads as h
      where h.deployment_id = s.deployment_id
        and h.chain_index between s.first and s.last
      order by h.checkpoint_id desc
      limit 1
    ) as c
    union all
    select c.checkpoint_id, c.leaf_index
    from segments as s
    cross join lateral (
      select h.checkpoint_id, h.leaf_index
      from shipslog.audit_checkpoint_heads as h
      where h.deployment_id = s.deployment_id
        and h.chain_index = s.first - 1
      order by h.checkpoint_id desc
      limit 1
    ) as c
  `;
  const leaves = new Map<number, number[]>();
  for (const r of picked) {
    const id = Number(r.checkpoint_id);
    leaves.set(id, [...(leaves.get(id) ?? []), r.leaf_index]);
  }
  if (complete) {
    const [newest] = await tx<{ id: string; chain_count: string }[]>`
      select id, chain_count
      from shipslog.audit_checkpoints
      where version = 2
      order by id desc
      limit 1`;
    if (newest) leaves.set(Number(newest.id), Array.from({ length: Number(newest.chain_count) }, (_, i) => i));
  }
  const result: TrailCheckpoint[] = [];
  for (const id of [...leaves.keys()].sort((a, b) => a - b)) result.push(await signedCheckpoint(tx, id, leaves.get(id)!));
  return result;
}

/**
 * The signed anchors to carry (sql/audit/85_retention.sql): per segment, the anchor right before
 * its first event (a purged chain's retained part starts there); a complete export carries the
 * newest anchor of every chain, so the verifier can tell a purged prefix (and signed heads inside
 * it) from a missing one. Each line holds the fields shipslog.anchor_message signs; the rebuilt
 * message is compared with the database's own before it is written.
 */
async function anchors(tx: Tx, s: Segments, complete: boolean): Promise<TrailAnchor[]> {
  const rows = await tx<{ id: string; deployment_id: string; chain_index: number; hash: string; state_sha256: string; removed: boolean; judged_at: string; key_id: string; signature: string; message: string }[]>`
    with picked as (
      select a.id
      from unnest(${s.ids}::uuid[], ${s.firsts}::int[]) as s(deployment_id, first)
      join shipslog.audit_chain_anchors as a on a.deployment_id = s.deployment_id and a.chain_index = s.first - 1
      union
      select n.id
      from (
          select distinct on (a.deployment_id) a.id
          from shipslog.audit_chain_anchors as a
          where ${complete}
          order by a.deployment_id, a.chain_index desc
        ) as n
    )
    select a.id, a.deployment_id, a.chain_index, encode(a.hash, 'hex') as hash,
      coalesce(encode(sha256(convert_to(a.state::text, 'UTF8')), 'hex'), 'null') as state_sha256,
      a.removed, shipslog.iso_utc(a.judged_at) as judged_at, a.key_id, encode(a.signature, 'hex') as signature,
      shipslog.anchor_message(a.deployment_id, a.chain_index, a.hash, a.state, a.removed, a.judged_at) as message
    from shipslog.audit_chain_anchors as a
    where a.id in (select id from picked)
    order by a.id`;
  return rows.map(({ message, ...r }) => {
    const a: TrailAnchor = { type: 'anchor', ...r, id: Number(r.id) };
    if (anchorMessage(a) !== message) throw new Error(`anchor #${a.id}: the exported fields do not rebuild its signed message`);
    return a;
  });
}

/** Turns COPY's rows (fields split by 0x01) into event lines, linking each to the previous hash of its chain. */
function eventLines(rows: string, prevHash: Map<string, string>): string {
  let out = '';
  let start = 0;
  for (let end = rows.indexOf('\n'); end !== -1; start = end + 1, end = rows.indexOf('\n', start)) {
    const a = rows.indexOf('\x01', start);
    const b = rows.indexOf('\x01', a + 1);
    const c = rows.indexOf('\x01', b + 1);
    const deploymentId = rows.slice(start, a);
    const hash = rows.slice(b + 1, c);
    const prev = prevHash.get(deploymentId) ?? '';
    prevHash.set(deploymentId, hash);
    out += `{"type":"event","deployment_id":"${deploymentId}","chain_index":${rows.slice(a + 1, b)},"prev_hash":"${prev}","hash":"${hash}","payload":${JSON.stringify(rows.slice(c + 1, end))}}\n`;
  }
  return out;
}

/** Events per COPY: two are read at once and at most a third waits, so memory stays near 3 x 20,000 rows. */
const CHUNK_EVENTS = 20_000;

/** One chunk of events (a seq range, in seq order) as COPY sends it: fields split by 0x01, one row a line. */
async function copyChunk(sql: Queryable, where: string, fromSeq: number, toSeq: number): Promise<Buffer[]> {
  // CSV with a delimiter (0x01) and a quote character (0x02) that jsonb text, uuids and hex
  // never hold raw (JSON escapes every control character), and no field is empty or null: so
  // COPY writes each field exactly as it is. Text format would double every backslash.
  // Numbers and the checked filter only (see filterSql): COPY takes no bind parameters.
  const copy = await sql.unsafe(`
    copy (
      select e.deployment_id, e.chain_index, encode(e.hash, 'hex'), shipslog.event_payload(e)::text
      from shipslog.deployment_events as e
      where e.seq between ${Math.trunc(fromSeq)} and ${Math.trunc(toSeq)}
        and ${where}
      order by e.seq
    ) to stdout with (format csv, delimiter e'\\x01', quote e'\\x02')`).readable();
  const chunks: Buffer[] = [];
  for await (const chunk of copy as AsyncIterable<Buffer>) chunks.push(chunk);
  return chunks;
}

/**
 * The events, read by two connections that share the export's snapshot (pg_export_snapshot),
 * each taking every other seq range, and written here in seq order. The server's work per
 * event (the payload) is most of an export's cost, so two backends nearly halve it on two
 * cores (101,000 events under load: 8.0-8.9 s with one COPY, 3.7-5.6 s with two).
 */
async function streamEvents(tx: Tx, other: Queryable, where: string, out: Writable, s: Segments, opts: ExportOptions): Promise<number> {
  if (s.events === 0) return 0;
  const count = Math.ceil(s.events / (opts.chunkEvents ?? CHUNK_EVENTS));
  const span = Math.ceil((s.maxSeq - s.minSeq + 1) / count);
  const written: Promise<void>[] = [];
  const release: (() => void)[] = [];
  for (let i = 0; i < count; i++) written.push(new Promise<void>((r) => (release[i] = r)));
  const read = (i: number): Promise<Buffer[]> => copyChunk(i % 2 === 0 ? tx : other, where, s.minSeq + i * span, Math.min(s.maxSeq, s.minSeq + (i + 1) * span - 1));
  // Each connection reads its chunks in turn, and starts chunk i only once chunk i - 2 is written.
  // A chunk's rows are dropped from this map once written: memory holds at most three chunks.
  const results = new Map<number, Promise<Buffer[]>>();
  for (let i = 0; i < count; i++) {
    const result = i < 2 ? read(i) : results.get(i - 2)!.then(() => written[i - 2]!).then(() => read(i));
    result.catch(() => {}); // awaited in order below; a failure read ahead is not unhandled meanwhile
    results.set(i, result);
  }
  const prevHash = new Map(s.prevHash);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let lines = 0;
  try {
    for (let i = 0; i < count; i++) {
      const chunks = await results.get(i)!;
      let carry = '';
      for (const chunk of chunks) {
        const text = carry + decoder.decode(chunk, { stream: true });
        const cut = text.lastIndexOf('\n') + 1;
        carry = text.slice(cut);
        const batch = eventLines(text.slice(0, cut), prevHash);
        for (let j = batch.indexOf('\n'); j !== -1; j = batch.indexOf('\n', j + 1)) lines++;
        await write(out, batch);
      }
      if (carry + decoder.decode() !== '') throw new Error('the event stream ended in the middle of a row');
      results.delete(i);
      release[i]!();
      opts.onProgress?.(lines, s.events);
    }
  } finally {
    // A failure must not leave a reader waiting for a chunk that will never be written.
    release.forEach((r) => r());
    await Promise.allSettled(results.values());
  }
  return lines;
}

/** The second reader: a connection of its own in the export's snapshot. */
async function joinSnapshot(db: Db, tx: Tx): Promise<{ sql: Queryable; done: () => Promise<void> }> {
  const [{ snapshot } = { snapshot: '' }] = await tx<{ snapshot: string }[]>`select pg_export_snapshot() as snapshot`;
  // SET TRANSACTION SNAPSHOT takes a literal; an exported snapshot id is hex digits and dashes.
  if (!/^[0-9A-F-]+$/i.test(snapshot)) throw new Error(`unexpected snapshot id ${JSON.stringify(snapshot)}`);
  const reserved = await db.reserve();
  try {
    await reserved`begin isolation level repeatable read read only`;
    await reserved.unsafe(`set transaction snapshot '${snapshot}'`);
  } catch (err) {
    reserved.release();
    throw err;
  }
  return {
    sql: reserved,
    done: async () => {
      try {
        await reserved`rollback`;
      } finally {
        reserved.release();
      }
    },
  };
}

/** Needs a pool of at least two connections: the export's transaction and a second reader. */
export async function exportTrail(db: Db, out: Writable, opts: ExportOptions): Promise<ExportSummary> {
  const f = opts.filter;
  const complete = !f.deployment && !f.tenant && !f.from && !f.to;
  const where = filterSql(f);
  return db.begin('isolation level repeatable read read only', async (tx) => {
    const segs = await segments(tx, where);
    const signed = await checkpoints(tx, segs, complete);
    const anchored = await anchors(tx, segs, complete);
    const [now] = await tx<{ now: Date }[]>`select statement_timestamp() as now`;
    const header: TrailHeader = {
      type: 'header',
      format: TRAIL_FORMAT,
      format_version: 1,
      exported_at: now!.now.toISOString(),
      filter: f,
      complete,
      public_key_fingerprint: opts.publicKeyFingerprint ?? signed.at(-1)?.key_id ?? null,
      chains: segs.ids.length,
      events: segs.events,
    };
    await write(out, `${JSON.stringify(header)}\n`);
    for (const c of signed) await write(out, `${JSON.stringify(c)}\n`);
    for (const a of anchored) await write(out, `${JSON.stringify(a)}\n`);
    const other = await joinSnapshot(db, tx);
    let events: number;
    try {
      events = await streamEvents(tx, other.sql, where, out, segs, opts);
    } finally {
      await other.done();
    }
    const end: TrailEnd = { type: 'end', chains: segs.ids.length, events };
    await write(out, `${JSON.stringify(end)}\n`);
    return { chains: segs.ids.length, events, checkpoints: signed.length };
  });
}
