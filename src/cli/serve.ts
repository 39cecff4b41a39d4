import { serve } from '@hono/node-server';
import { createRetentionScheduler } from '../agent/scheduler.ts';
import { createApp } from '../api/app.ts';
import type { Config } from '../config.ts';
import { createDb } from '../db/client.ts';
import { migrate } from '../db/migrate.ts';
import { createLog } from '../log.ts';
import { openDatabase } from './database.ts';
import { ensureAdminKey } from './keys.ts';
import { kubeFromConfig, secretWriterFor, startReconciler, type ReconcilerHandle } from './reconciler.ts';

/** `shipslog serve`: database (embedded by default), migrations, HTTP; clean shutdown on SIGINT/SIGTERM. */
export async function serveCommand(config: Config): Promise<void> {
  const log = createLog(config.logLevel);
  const database = await openDatabase(config, log);
  const stops: (() => Promise<void>)[] = [database.stop];
  const shutdown = async (signal: string) => {
    log.info({ signal }, 'shutting down');
    for (const stop of stops.reverse()) {
      await stop().catch((err: unknown) => log.error({ err }, 'error during shutdown'));
    }
    log.info('stopped');
  };
  try {
    const { applied, definitionsApplied } = await migrate(database.url, {
      log: (m) => log.warn(m),
      definitions: 'when-changed',
    });
    if (applied.length > 0) log.info({ applied }, 'migrations applied');
    if (definitionsApplied) log.info('sql/ definitions applied');

    const db = createDb(database.url, { applicationName: 'shipslog api' });
    stops.push(() => db.end({ timeout: 5 }));

    // Daily agent message retention; stopped (and awaited) before the pool closes.
    const retention = createRetentionScheduler({ db, log, retentionSeconds: config.agentMessageRetentionSeconds });
    retention.start();
    stops.push(retention.stop);

    // Embedded default, first start: make the admin key so the API is usable at all.
    if (database.embedded) await ensureAdminKey(db, config.dataDir, log);

    // The reconciler (own pool; SHIPSLOG_RECONCILER=off leaves it to `shipslog reconciler`),
    // stopped before the API's pool closes. Secrets go to the same cluster it applies to.
    const kube = kubeFromConfig(config, log);
    let reconciler: ReconcilerHandle | undefined;
    if (config.reconciler?.enabled ?? true) {
      reconciler = await startReconciler(config, database.url, kube, log);
      stops.push(reconciler.stop);
      if (!kube) log.warn(reconciler.reconciler.describe().message);
    }

    const app = createApp({
      db,
      config,
      log,
      secretWriter: secretWriterFor(kube),
      ...(reconciler ? { reconciler: reconciler.reconciler } : {}),
    });
    const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    stops.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    log.info({ port: config.port, host: config.host, embeddedDatabase: database.embedded }, 'shipslog listening');
  } catch (err) {
    await shutdown('startup failure');
    throw err;
  }

  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      void shutdown(signal).then(resolve);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
