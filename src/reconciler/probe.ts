import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Db } from '../db/client.ts';
import { ping } from '../db/ping.ts';
import type { Reconciler } from './index.ts';

/**
 * HTTP probes for `shipslog reconciler` running alone (no API in the process): /healthz,
 * /readyz (the database answers within 2 s and the reconciler runs; the body is describe(),
 * which says plainly when no cluster is configured) and /metrics (Prometheus).
 */
export function probeHandler(reconciler: Reconciler, db: Db) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method !== 'GET') return send(405, 'application/json', JSON.stringify({ status: 'method not allowed' }));
    if (path === '/healthz') return send(200, 'application/json', JSON.stringify({ status: 'ok' }));
    if (path === '/metrics') return send(200, reconciler.metrics.registry.contentType, await reconciler.metrics.registry.metrics());
    if (path === '/readyz') {
      const status = reconciler.describe();
      let database = 'ok';
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          ping(db),
          new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), 2000))),
        ]);
      } catch {
        database = 'unreachable';
      } finally {
        clearTimeout(timer);
      }
      const ready = database === 'ok' && status.running;
      return send(ready ? 200 : 503, 'application/json', JSON.stringify({ status: ready ? 'ready' : 'not ready', database, reconciler: status }));
    }
    return send(404, 'application/json', JSON.stringify({ status: 'not found' }));
  };
}
