/**
 * One range of `shipslog verify`'s events (src/audit/verify.ts): a COPY of the events of a
 * range of deployment ids, walked chain by chain (src/audit/chain-walk.ts) on this thread or in
 * a worker thread (src/audit/verify-worker.ts).
 */
import { Worker } from 'node:worker_threads';
import type { Queryable } from '../db/client.ts';
import { uuidPattern } from '../db/ids.ts';
import { ChainWalker, OutOfOrder, type ChainEnd, type ChainFinding, type ChainStart, type HashSuspect } from './chain-walk.ts';
import { EVENT_COPY_COLUMNS, EVENT_COPY_FORMAT, EVENT_COPY_SETTINGS, EventRowReader } from './event-stream.ts';
import type { VerifyWorkerData } from './verify-worker.ts';

export interface StreamContext {
  /** One deployment's chain, else null. */
  only: string | null;
  /** The range's deployment ids: [from, to), null for open. */
  from: string | null;
  to: string | null;
  starts: Map<string, ChainStart>;
  /** The chains that have a deployment row (their states are replayed). */
  rowIds: ReadonlySet<string>;
  /** Events read: a count to add (negative when a range is read again). */
  progress: (n: number) => void;
  inWorker: boolean;
  pendingLimit: number | undefined;
}

export interface RangeResult { findings: Map<string, ChainFinding>; suspects: HashSuspect[]; ends: Map<string, ChainEnd> }

/**
 * One range of deployment ids, read with COPY in seq order (the order PostgreSQL wrote the
 * events, so its reads are nearly sequential) and walked chain by chain here
 * (src/audit/chain-walk.ts). When too many events arrive before the ones they follow, the
 * range is read again in chain order, from the partitions' unique (deployment_id, chain_index)
 * indexes, where nothing waits.
 */
export async function streamRange(db: Queryable, c: StreamContext): Promise<RangeResult> {
  // For the COPY: the timestamp's text form event-stream.ts reads, and no sorts (either order
  // is an index's; a sort of a million events' columns spills to disk). Put back afterwards:
  // the transaction may be the caller's (the compliance report's).
  const settings: Record<string, string> = { ...EVENT_COPY_SETTINGS, enable_sort: 'off' };
  const names = Object.keys(settings);
  const [before] = await db<{ values: string[] }[]>`
    select array_agg(current_setting(n) order by o) as values from unnest(${names}::text[]) with ordinality as s(n, o)`;
  await db`select set_config(n, v, true) from unnest(${names}::text[], ${Object.values(settings)}::text[]) as s(n, v)`;
  const conditions = [
    c.only && `e.deployment_id = ${uuidLiteral(c.only)}`,
    c.from && `e.deployment_id >= ${uuidLiteral(c.from)}`,
    c.to && `e.deployment_id < ${uuidLiteral(c.to)}`,
  ].filter(Boolean);
  const where = conditions.length ? `where ${conditions.join(' and ')}` : '';
  const walk = c.inWorker ? walkInWorker : walkHere;
  let result: RangeResult;
  if (c.only) {
    // One chain: its index range in chain order, rather than every event in seq order.
    result = await walk(db, c, where, true);
  } else {
    try {
      result = await walk(db, c, where, false);
    } catch (error) {
      if (!(error instanceof OutOfOrder)) throw error;
      result = await walk(db, c, where, true);
    }
  }
  await db`select set_config(n, v, true) from unnest(${names}::text[], ${before!.values}::text[]) as s(n, v)`;
  return result;
}

/** The range's events as COPY sends them: in seq order, or in chain order. */
async function copyEvents(db: Queryable, where: string, inChainOrder: boolean): Promise<NodeJS.ReadableStream> {
  const order = inChainOrder ? 'e.deployment_id, e.chain_index' : 'e.seq';
  // COPY takes no parameters: the only values in this text are uuids checked by uuidLiteral().
  return (await db.unsafe(`
    copy (select ${EVENT_COPY_COLUMNS} from shipslog.deployment_events as e ${where} order by ${order})
    to stdout ${EVENT_COPY_FORMAT}`).readable()) as unknown as NodeJS.ReadableStream;
}

/** Reads a stream to its end, handing each chunk to `onChunk`. */
function readAll(stream: NodeJS.ReadableStream, onChunk: (chunk: Buffer) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    stream.on('data', (chunk: Buffer) => {
      try {
        onChunk(chunk);
      } catch (error) {
        reject(error);
      }
    });
    stream.on('end', resolve);
    stream.on('error', reject);
  });
}

/** Walks the range on this thread. */
async function walkHere(db: Queryable, c: StreamContext, where: string, inChainOrder: boolean): Promise<RangeResult> {
  const walker = new ChainWalker(c.starts, (id) => c.rowIds.has(id), inChainOrder, c.pendingLimit);
  const reader = new EventRowReader();
  const add = walker.add.bind(walker);
  let outOfOrder: OutOfOrder | undefined;
  let counted = 0;
  await readAll(await copyEvents(db, where, inChainOrder), (chunk) => {
    // After an overflow the rest of the COPY is read and dropped, which leaves the
    // connection ready for the second reading.
    if (outOfOrder) return;
    try {
      reader.push(chunk, add);
    } catch (error) {
      if (!(error instanceof OutOfOrder)) throw error;
      outOfOrder = error;
    }
    if (walker.events - counted >= 5000) {
      c.progress(walker.events - counted);
      counted = walker.events;
    }
  });
  if (outOfOrder) {
    c.progress(-counted);
    throw outOfOrder;
  }
  reader.end();
  c.progress(walker.events - counted);
  const ends = walker.finish();
  return { findings: walker.findings, suspects: walker.suspects, ends };
}

/** Bytes per message to a worker, and how many may wait for it before COPY is paused. */
const BATCH_BYTES = 256 * 1024;
const BATCHES_IN_FLIGHT = 8;

/**
 * Walks the range in a worker thread (src/audit/verify-worker.ts): this thread only moves
 * COPY's bytes on, in batches, pausing COPY while the worker is behind.
 */
async function walkInWorker(db: Queryable, c: StreamContext, where: string, inChainOrder: boolean): Promise<RangeResult> {
  const data: VerifyWorkerData = { starts: c.starts, rowIds: c.rowIds, inChainOrder, pendingLimit: c.pendingLimit };
  const worker = new Worker(new URL('./verify-worker.ts', import.meta.url), { workerData: data });
  let counted = 0;
  let inFlight = 0;
  let stream: NodeJS.ReadableStream | undefined;
  let outOfOrder: OutOfOrder | undefined;
  // The worker's result, or OutOfOrder as soon as it gives up (the rest of COPY is then read and dropped).
  const outcome = new Promise<RangeResult | OutOfOrder>((resolve, reject) => {
    worker.on('message', (m: { events?: number; outOfOrder?: string; done?: RangeResult & { events: number } }) => {
      if (m.outOfOrder !== undefined) {
        outOfOrder = new OutOfOrder(m.outOfOrder);
        resolve(outOfOrder);
        stream?.resume();
        return;
      }
      const events = m.done ? m.done.events : m.events!;
      c.progress(events - counted);
      counted = events;
      if (m.done) {
        resolve(m.done);
        return;
      }
      inFlight--;
      if (inFlight < BATCHES_IN_FLIGHT / 2) stream?.resume();
    });
    worker.on('error', reject);
    worker.on('exit', (code) => reject(new Error(`the verify worker stopped (exit code ${code})`)));
  });
  outcome.catch(() => {}); // awaited below; a failure while COPY still runs is not unhandled meanwhile
  const failure = outcome.then(() => new Promise<never>(() => {})); // settles only if the worker fails
  try {
    let batch = Buffer.allocUnsafeSlow(BATCH_BYTES);
    let used = 0;
    const send = () => {
      if (used === 0) return;
      const buffer = batch.buffer.slice(0, used) as ArrayBuffer;
      worker.postMessage({ chunk: buffer }, [buffer]);
      inFlight++;
      batch = Buffer.allocUnsafeSlow(BATCH_BYTES);
      used = 0;
    };
    stream = await copyEvents(db, where, inChainOrder);
    const copying = stream;
    await Promise.race([
      failure,
      readAll(copying, (chunk) => {
        if (outOfOrder) return; // read and dropped: the range is read again
        if (used + chunk.length > BATCH_BYTES) send();
        if (chunk.length > BATCH_BYTES) {
          const own = new Uint8Array(chunk).buffer;
          worker.postMessage({ chunk: own }, [own]);
          inFlight++;
        } else {
          chunk.copy(batch, used);
          used += chunk.length;
        }
        if (inFlight >= BATCHES_IN_FLIGHT) copying.pause();
      }),
    ]);
    if (!outOfOrder) {
      send();
      worker.postMessage({ end: true });
    }
    const result = await outcome;
    if (result instanceof OutOfOrder) {
      c.progress(-counted);
      throw result;
    }
    return result;
  } finally {
    await worker.terminate();
  }
}

function uuidLiteral(id: string): string {
  if (!uuidPattern.test(id)) throw new Error(`not a deployment id: ${JSON.stringify(id)}`);
  return `'${id}'::uuid`;
}

