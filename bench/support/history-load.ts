// Worker thread of bench/history-compare.ts: `clients` concurrent HTTP clients, each sending
// GET history?limit=50 of one deployment for `seconds`, in a thread of their own so that they
// do not share the event loop with the server under test. Posts every request's latency (ms).
//
// Without `rate` the clients are a closed loop: each sends its next request as soon as the
// last is answered, so `clients` requests are always in flight. With `rate` (requests per
// second, all clients together) the requests follow a fixed schedule, client i taking every
// clients-th slot; a request whose client is still waiting for its previous one goes out late,
// and its latency counts from its slot, not from when it went out (otherwise a slow server
// would hide its queue: coordinated omission).
import { parentPort, workerData } from 'node:worker_threads';

interface Job {
  url: string;
  key: string;
  clients: number;
  seconds: number;
  rate?: number;
}

const job = workerData as Job;
const latencies: number[] = [];
let failed = 0;
const start = performance.now();
const deadline = start + job.seconds * 1000;

async function client(i: number): Promise<void> {
  for (let k = 0; ; k++) {
    const slot = job.rate ? start + ((i + k * job.clients) * 1000) / job.rate : performance.now();
    if (slot >= deadline) return;
    const wait = slot - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const res = await fetch(job.url, { headers: { authorization: `Bearer ${job.key}` } });
    const body = (await res.json()) as { items?: unknown[] };
    if (res.status === 200 && body.items?.length === 50) latencies.push(performance.now() - slot);
    else failed++;
  }
}

await Promise.all(Array.from({ length: job.clients }, (_, i) => client(i)));
parentPort?.postMessage({ latencies, failed });
