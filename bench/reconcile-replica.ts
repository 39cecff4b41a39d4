// One reconciler replica for bench/reconcile.ts, in its own process (as a replica is its own
// pod): connects, reports 'ready', starts on 'go', stops and exits on 'stop'.
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { createDb } from '../src/db/client.ts';
import { createKube, createReconciler } from '../src/reconciler/index.ts';

const [url, server, workerId, concurrency] = process.argv.slice(2) as [string, string, string, string];
const kc = new KubeConfig();
kc.loadFromOptions({
  clusters: [{ name: 'bench', server, skipTLSVerify: true }],
  users: [{ name: 'bench', token: 'bench' }],
  contexts: [{ name: 'bench', cluster: 'bench', user: 'bench' }],
  currentContext: 'bench',
});
const db = createDb(url, { max: Number(concurrency) + 2, applicationName: `shipslog bench ${workerId}` });
const reconciler = createReconciler({
  db, kube: createKube(kc), log: pino({ level: 'warn' }),
  // Health polling is not part of convergence; the catch-up poll is the only wake-up here.
  config: { workerId, concurrency: Number(concurrency), healthIntervalMs: 3_600_000, pollIntervalMs: 1000 },
});
await db`select 1`;
process.on('message', (m) => {
  if (m === 'go') void reconciler.start();
  if (m === 'stop') void reconciler.stop().then(() => db.end({ timeout: 5 })).then(() => process.exit(0));
});
process.send?.('ready');
