// Worker thread of bench/api.ts: the HTTP clients run here so they do not share the event
// loop with the server under test. Each of `clients` loops: PATCH one deployment's config.
import { parentPort, workerData } from 'node:worker_threads';

interface Job {
  base: string;
  key: string;
  ids: string[];
  clients: number;
  seconds: number;
  start: number;
}

const job = workerData as Job;
let counter = job.start;
let ok = 0;
let failed = 0;
const deadline = performance.now() + job.seconds * 1000;

async function client(worker: number): Promise<void> {
  // Each client owns its own deployments, as independent callers would: no row-lock queue.
  const mine = job.ids.filter((_, i) => i % job.clients === worker);
  let n = 0;
  while (performance.now() < deadline) {
    const id = mine[n++ % mine.length]!;
    const res = await fetch(`${job.base}/v1/deployments/${id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${job.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ config: { storage: `${++counter % 1000 + 1}Gi` } }),
    });
    await res.arrayBuffer();
    if (res.status === 200) ok++;
    else failed++;
  }
}

const started = performance.now();
await Promise.all(Array.from({ length: job.clients }, (_, i) => client(i)));
parentPort?.postMessage({ ok, failed, seconds: (performance.now() - started) / 1000, counter });
