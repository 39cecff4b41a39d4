/**
 * A worker thread of `shipslog verify` (src/audit/verify-range.ts starts it): walks one range of chains from
 * the COPY bytes the main thread forwards, so the rebuilding and hashing of payloads and the
 * replay run on every core instead of one. Messages in: `{ chunk }` (an ArrayBuffer, moved), then
 * `{ end: true }`. Out: `{ events }` after each chunk (the main thread's flow control and
 * progress), then `{ done }` with the walk's results, or `{ outOfOrder }` when the range must be
 * read again in chain order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ChainWalker, OutOfOrder, type ChainStart } from './chain-walk.ts';
import { EventRowReader } from './event-stream.ts';

export interface VerifyWorkerData {
  starts: Map<string, ChainStart>;
  rowIds: ReadonlySet<string>;
  inChainOrder: boolean;
  pendingLimit: number | undefined;
}

const data = workerData as VerifyWorkerData;
const walker = new ChainWalker(data.starts, (id) => data.rowIds.has(id), data.inChainOrder, data.pendingLimit);
const reader = new EventRowReader();
const add = walker.add.bind(walker);
let stopped = false;

parentPort!.on('message', (message: { chunk?: ArrayBuffer; end?: true }) => {
  if (stopped) return;
  if (message.chunk) {
    try {
      reader.push(Buffer.from(message.chunk), add);
    } catch (error) {
      if (!(error instanceof OutOfOrder)) throw error;
      stopped = true;
      parentPort!.postMessage({ outOfOrder: error.message });
      return;
    }
    parentPort!.postMessage({ events: walker.events });
  } else if (message.end) {
    reader.end();
    const ends = walker.finish();
    parentPort!.postMessage({ done: { findings: walker.findings, suspects: walker.suspects, ends, events: walker.events } });
  }
});
