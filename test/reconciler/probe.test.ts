import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeHandler } from '../../src/reconciler/probe.ts';
import { harness, type Harness } from './helpers.ts';

let h: Harness;
let server: Server | undefined;
beforeAll(async () => {
  h = await harness();
});
afterAll(async () => {
  server?.close();
  await h?.close();
});

describe('probes of `shipslog reconciler`', () => {
  it('/readyz says what the reconciler does (plan-only without a cluster), /metrics has its series', async () => {
    const { r, pool } = h.reconciler({ kube: null });
    await r.start();
    const handler = probeHandler(r, pool);
    server = createServer((req, res) => void handler(req, res));
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', database: 'ok', reconciler: { mode: 'plan-only', message: expect.stringMatching(/no cluster configured/) } });
    expect(await (await fetch(`${base}/metrics`)).text()).toContain('shipslog_reconcile_run_duration_seconds');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    await r.stop();
    const stopped = await fetch(`${base}/readyz`);
    expect(stopped.status).toBe(503);
  });
});
