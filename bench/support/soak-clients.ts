// Worker thread of bench/soak.ts: the API clients run here, off the soak's event loop, so the
// latencies measured are the server's and not the soak's own timers and SQL writers.
// Each client owns one deployment (created first), then loops: PATCH its config (60 %),
// create another deployment (10 %), read its history or the list (30 %).
import { randomBytes } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';

export interface SoakJob {
  base: string;
  key: string;
  clients: number;
  /** Int32Array over a SharedArrayBuffer: [0] = 1 to stop; [1] = requests started (all clients). */
  control: SharedArrayBuffer;
  maxRequests: number;
  requestTimeoutMs: number;
}

/** One answer: kind, status (0 refused, -1 timeout), client-side latency, end time. */
export interface SoakAnswer {
  kind: 'create' | 'patch' | 'read';
  status: number;
  ms: number;
  at: number;
  requestId: string;
}

const job = workerData as SoakJob;
const control = new Int32Array(job.control);
const answers: SoakAnswer[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const more = () => Atomics.load(control, 0) === 0 && Atomics.add(control, 1, 1) < job.maxRequests;

async function call(kind: SoakAnswer['kind'], method: string, url: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const requestId = `soak-api-${randomBytes(8).toString('hex')}`;
  const started = performance.now();
  let status: number;
  let json: unknown = null;
  try {
    const res = await fetch(job.base + url, {
      method,
      headers: { authorization: `Bearer ${job.key}`, 'x-request-id': requestId, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(job.requestTimeoutMs),
    });
    const text = await res.text();
    status = res.status;
    if (status < 300 && text) json = JSON.parse(text);
  } catch (err) {
    status = (err as Error).name === 'TimeoutError' ? -1 : 0;
  }
  answers.push({ kind, status, ms: performance.now() - started, at: Date.now(), requestId });
  return { status, json };
}

async function client(c: number): Promise<void> {
  let own: string | undefined;
  let n = 0;
  while (more()) {
    n++;
    if (!own || Math.random() < 0.1) {
      const created = await call('create', 'POST', '/v1/deployments', {
        tenant: `soak-${c % 8}`, name: `c${c}-${n}-${randomBytes(3).toString('hex')}`, recipe: 'web', app_version: '1',
        config: { image: 'nginx', replicas: 1 },
      });
      if (created.status === 201) own ??= (created.json as { id: string }).id;
      else await sleep(created.status === 0 ? 250 : 50); // server away (refused) or database away (503)
      continue;
    }
    const r = Math.random();
    const res = r < 0.67
      ? await call('patch', 'PATCH', `/v1/deployments/${own}`, { config: { env: { SOAK: `${c}-${n}` } } })
      : await call('read', 'GET', r < 0.85 ? `/v1/deployments/${own}/history?limit=20` : `/v1/deployments?limit=20`);
    if (res.status !== 200) await sleep(res.status === 0 ? 250 : 50);
  }
}

await Promise.all(Array.from({ length: job.clients }, (_, c) => client(c)));
parentPort?.postMessage(answers);
