// Worker thread of bench/history-compare.ts: `clients` concurrent HTTP clients, each looping
// GET history?limit=50 of one deployment for `seconds`, in a thread of their own so that they
// do not share the event loop with the server under test. Posts every request's latency (ms).
import { parentPort, workerData } from 'node:worker_threads';

interface Job {
  url: string;
  key: string;
  clients: number;
  seconds: number;
}

const job = workerData as Job;
const latencies: number[] = [];
let failed = 0;
const deadline = performance.now() + job.seconds * 1000;

async function client(): Promise<void> {
  while (performance.now() < deadline) {
    const t0 = performance.now();
    const res = await fetch(job.url, { headers: { authorization: `Bearer ${job.key}` } });
    const body = (await res.json()) as { items?: unknown[] };
    if (res.status === 200 && body.items?.length === 50) latencies.push(performance.now() - t0);
    else failed++;
  }
}

await Promise.all(Array.from({ length: job.clients }, () => client()));
parentPort?.postMessage({ latencies, failed });
