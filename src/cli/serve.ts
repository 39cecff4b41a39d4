import { getRequestListener } from '@hono/node-server';
import { createRetentionScheduler } from '../agent/scheduler.ts';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createApp } from '../api/app.ts';
import { loadSigningKey } from '../audit/checkpoints.ts';
import { createAuditRetentionJob } from '../audit/retention-job.ts';
import type { Config } from '../config.ts';
import { createDb, type Db } from '../db/client.ts';
import { createLog } from '../log.ts';
import { openRuntimeDatabase } from './database.ts';
import { ensureFirstAdminKey } from './keys.ts';
import { holdPort } from './listen.ts';
import { stopSignal } from './signals.ts';
import { kubeFromConfig, secretWriterFor, startReconciler, type ReconcilerHandle } from './reconciler.ts';

/**
 * `shipslog serve`: database (embedded by default), migrations as the schema owner, then the
 * API on the app's login and the reconciler on its own; clean shutdown on SIGINT/SIGTERM.
 */
export async function serveCommand(config: Config): Promise<void> {
  const log = createLog(config.logLevel);
  const reconcilerEnabled = config.reconciler?.enabled ?? true;
  const stopRequested = stopSignal();
  // PORT first: a busy port is found before a database starts, and stays ours (503 until ready).
  const http = await holdPort(config.port, config.host);
  // The retention job runs on the reconciler's login too (system work), so it is always needed.
  const database = await openRuntimeDatabase(config, log, { app: true, reconciler: true }).catch(async (err: unknown) => {
    await http.close();
    throw err;
  });
  const stops: (() => Promise<void>)[] = [database.stop];
  const shutdown = async (signal: string) => {
    log.info({ signal }, 'shutting down');
    for (const stop of stops.reverse()) {
      await stop().catch((err: unknown) => log.error({ err }, 'error during shutdown'));
    }
    log.info('stopped');
  };
  try {
    const appUrl = database.appUrl as string;
    const reconcilerUrl = database.reconcilerUrl as string;
    const db = createDb(appUrl, { applicationName: 'shipslog api' });
    stops.push(() => db.end({ timeout: 5 }));

    // The first admin key (SHIPSLOG_BOOTSTRAP_ADMIN_KEY, or the embedded default's generated
    // one). Keys are the owner's business: the API's login cannot create them.
    await ensureFirstAdminKey(config, database.owner, log);

    // The reconciler (own pool; SHIPSLOG_RECONCILER=off leaves it to `shipslog reconciler`),
    // stopped before the API's pool closes. Secrets go to the same cluster it applies to.
    const kube = kubeFromConfig(config, log);
    let reconciler: ReconcilerHandle | undefined;
    if (reconcilerEnabled) {
      reconciler = await startReconciler(config, reconcilerUrl, kube, log);
      stops.push(reconciler.stop);
      if (!kube) log.warn(reconciler.reconciler.describe().message);
    }

    // Daily agent message retention, on the reconciler's login; stopped (and awaited) before
    // the pool closes.
    let systemDb: Db | undefined = reconciler?.db;
    if (!systemDb) {
      const own = createDb(reconcilerUrl, { max: 1, applicationName: 'shipslog retention' });
      stops.push(() => own.end({ timeout: 5 }));
      systemDb = own;
    }
    const retention = createRetentionScheduler({ db: systemDb, log, retentionSeconds: config.agentMessageRetentionSeconds });
    retention.start();
    stops.push(retention.stop);

    // Daily audit job on the same login: event partitions ahead, and the purge of what is past
    // its retention when the checkpoint key (which signs each purged prefix's anchor) is here.
    // The key is never created here: a service that has none does not purge.
    const keyAtHand = config.checkpointKey ?? (existsSync(path.join(path.resolve(config.dataDir), 'checkpoint-key.pem')) ? 'file' : undefined);
    const auditJob = createAuditRetentionJob({
      db: systemDb,
      log,
      keys: keyAtHand ? await loadSigningKey(config.checkpointKey, config.dataDir) : undefined,
    });
    auditJob.start();
    stops.push(auditJob.stop);

    const app = createApp({
      db,
      config,
      log,
      secretWriter: secretWriterFor(kube),
      ...(reconciler ? { reconciler: reconciler.reconciler } : {}),
    });
    http.handle(getRequestListener(app.fetch, { hostname: config.host }));
    stops.push(http.close);
    log.info({ port: config.port, host: config.host, embeddedDatabase: database.owner?.embedded ?? false }, 'shipslog listening');
  } catch (err) {
    await http.close();
    await shutdown('startup failure');
    throw err;
  }

  await shutdown(await stopRequested);
}
