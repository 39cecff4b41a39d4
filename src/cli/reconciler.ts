import type { Registry } from 'prom-client';
import type { Config } from '../config.ts';
import { createDb, throughTransactionPooler } from '../db/client.ts';
import { createLog, type Log } from '../log.ts';
import { createKube, createKubeSecretWriter, createReconciler, loadKubeConfig, type Kube, type Reconciler } from '../reconciler/index.ts';
import { probeHandler } from '../reconciler/probe.ts';
import { noClusterSecretWriter, type SecretWriter } from '../secrets.ts';
import { checkReachable, openRuntimeDatabase } from './database.ts';
import { holdPort } from './listen.ts';
import { stopSignal } from './signals.ts';

/** The cluster from KUBECONFIG or the pod's service account; null when neither (plan-only mode). */
export function kubeFromConfig(config: Config, log: Log): Kube | null {
  const kc = loadKubeConfig({ kubeconfig: config.kubeconfig, inCluster: config.inCluster ?? false });
  if (!kc) return null;
  const kube = createKube(kc);
  log.info({ target: kube.target, from: config.kubeconfig ? 'KUBECONFIG' : 'in-cluster service account' }, 'Kubernetes cluster configured');
  return kube;
}

/** Secrets go to Kubernetes when a cluster is configured; otherwise they are dropped (and the API says so). */
export function secretWriterFor(kube: Kube | null): SecretWriter {
  return kube ? createKubeSecretWriter(kube) : noClusterSecretWriter;
}

export interface ReconcilerHandle {
  reconciler: Reconciler;
  db: ReturnType<typeof createDb>;
  stop: () => Promise<void>;
}

/** Starts a reconciler with its own pool (a run holds a connection; the API's pool stays free). */
export async function startReconciler(config: Config, databaseUrl: string, kube: Kube | null, log: Log, registry?: Registry): Promise<ReconcilerHandle> {
  const concurrency = config.reconciler?.concurrency ?? 2;
  // Through a transaction pooler LISTEN would hear nothing: it goes to a direct URL when one is
  // set; else the reconciler still works, woken by its 5 s poll instead of at once.
  const listenUrl = config.reconcilerListenDatabaseUrl;
  if (listenUrl) await checkReachable(listenUrl, 'SHIPSLOG_RECONCILER_LISTEN_DATABASE_URL');
  else if (throughTransactionPooler(databaseUrl)) {
    log.warn(
      'the reconciler\'s URL goes through a transaction pooler (prepare=false) and SHIPSLOG_RECONCILER_LISTEN_DATABASE_URL is not set: ' +
        'its LISTEN hears no NOTIFY there, so changes are picked up by the 5 s poll; set it to a direct URL to PostgreSQL (README "Behind PgBouncer")',
    );
  }
  const db = createDb(databaseUrl, { max: concurrency + 2, applicationName: 'shipslog reconciler' });
  // The driver's listen() opens one connection of its own beside the pool's (max 1 is moot).
  const listenDb = listenUrl ? createDb(listenUrl, { max: 1, applicationName: 'shipslog reconciler listen' }) : undefined;
  const closePools = async () => {
    await db.end({ timeout: 5 });
    await listenDb?.end({ timeout: 5 });
  };
  const reconciler = createReconciler({ db, ...(listenDb ? { listenDb } : {}), kube, log, config: { concurrency, ...(registry ? { registry } : {}) } });
  try {
    await reconciler.start();
  } catch (err) {
    await closePools();
    throw err;
  }
  return {
    reconciler,
    db,
    stop: async () => {
      await reconciler.stop();
      await closePools();
    },
  };
}

/** `shipslog reconciler`: the reconciler alone (any number of replicas may run against one database). */
export async function reconcilerCommand(config: Config): Promise<void> {
  const log = createLog(config.logLevel);
  const stopRequested = stopSignal();
  // Probes and metrics on PORT (no API runs in this process), bound before the database starts.
  const probes = await holdPort(config.port, config.host);
  let database: Awaited<ReturnType<typeof openRuntimeDatabase>> | undefined;
  let handle: ReconcilerHandle | undefined;
  try {
    database = await openRuntimeDatabase(config, log, { app: false, reconciler: true });
    handle = await startReconciler(config, database.reconcilerUrl as string, kubeFromConfig(config, log), log);
    log.info(handle.reconciler.describe(), 'shipslog reconciler running');
  } catch (err) {
    await handle?.stop().catch(() => {});
    await database?.stop();
    await probes.close();
    throw err;
  }
  const running = handle;
  const onRequest = probeHandler(running.reconciler, running.db);
  probes.handle((req, res) => void onRequest(req, res));
  log.info({ port: config.port, host: config.host }, 'probes listening: /healthz /readyz /metrics');
  const signal = await stopRequested;
  log.info({ signal }, 'shutting down: finishing runs in progress');
  await probes.close();
  await running.stop().catch((err: unknown) => log.error({ err }, 'error stopping the reconciler'));
  await database.stop();
  log.info('stopped');
}
