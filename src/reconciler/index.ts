import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Registry } from 'prom-client';
import type { Db } from '../db/client.ts';
import { claimNext, claimOne, extendLease, listenForWork, loadClaimed, releaseLease, type QueuedDeployment } from '../db/reconcile-queue.ts';
import { ensureRunPartitions } from '../db/runs.ts';
import type { Log } from '../log.ts';
import { describeError } from './apply.ts';
import { checkHealthBatch } from './health-loop.ts';
import type { Kube } from './kube.ts';
import { createReconcilerMetrics, type ReconcilerMetrics } from './metrics.ts';
import { checkLeaseTimes, defaultLeaseTimes, Lease, type LeaseTimes } from './lease.ts';
import { holdUnreleased } from './holds.ts';
import { startRun, workUnderLease, type RunDeps, type StartedRun } from './run.ts';
import { noteBackoffs, noteSkip } from './skips.ts';
import { Wake } from './wake.ts';

export { createKube, loadKubeConfig, KubeError, type Kube } from './kube.ts';
export { createKubeSecretWriter } from './secret-writer.ts';

export interface ReconcilerConfig {
  /** Parallel runs per instance (pool max >= concurrency + 2: a run uses a connection only to claim, extend and record). */
  concurrency?: number;
  /**
   * A claim is a lease for this long (default 60 s), extended every leaseRenewMs (10 s) while
   * the run works. A crashed replica's deployments are taken over when it runs out. Must be at
   * least the Kubernetes request timeout plus two extension periods (checked at creation).
   */
  leaseTtlMs?: number;
  leaseRenewMs?: number;
  /** Catch-up poll when no NOTIFY arrives (a lost notification, a back-off ending). */
  pollIntervalMs?: number;
  healthIntervalMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  workerId?: string;
  registry?: Registry;
  /** How long stop() waits for runs in flight (default 5 s); a run cut off writes nothing more, and the next holder takes its deployment over when its lease runs out. */
  stopGraceMs?: number;
}

export interface ReconcilerStatus {
  workerId: string;
  running: boolean;
  /** 'apply' with a cluster; 'plan-only' when no cluster is configured (nothing is applied). */
  mode: 'apply' | 'plan-only';
  target: string | null;
  message: string;
  listening: boolean;
  /** LISTEN (re)connections; each one ran a catch-up for notifications missed meanwhile. */
  listenConnects: number;
  runs: number;
  lastError: string | null;
}

export interface Reconciler {
  start(): Promise<void>;
  stop(): Promise<void>;
  describe(): ReconcilerStatus;
  readonly metrics: ReconcilerMetrics;
}

export interface ReconcilerDeps {
  db: Db;
  /**
   * Where to LISTEN, when not on db: a pool on PostgreSQL itself while db goes through a
   * transaction pooler, which would run LISTEN on whichever server connection it lent and
   * deliver no notification (SHIPSLOG_RECONCILER_LISTEN_DATABASE_URL).
   */
  listenDb?: Db;
  /** null: no cluster configured; runs render and record what they would apply. */
  kube: Kube | null;
  log: Log;
  config?: ReconcilerConfig;
}

export function createReconciler(deps: ReconcilerDeps): Reconciler {
  const config = deps.config ?? {};
  const concurrency = config.concurrency ?? 2;
  const pollIntervalMs = config.pollIntervalMs ?? 5000;
  const healthIntervalMs = config.healthIntervalMs ?? 10_000;
  const workerId = config.workerId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const log = deps.log.child({ component: 'reconciler', workerId });
  const metrics = createReconcilerMetrics(config.registry);
  const runDeps: RunDeps = {
    db: deps.db, kube: deps.kube, log, workerId, metrics,
    backoff: { baseMs: config.backoffBaseMs ?? 1000, maxMs: config.backoffMaxMs ?? 300_000 },
  };
  const leaseTimes: LeaseTimes = { ttlMs: config.leaseTtlMs ?? defaultLeaseTimes.ttlMs, renewMs: config.leaseRenewMs ?? defaultLeaseTimes.renewMs };
  checkLeaseTimes(leaseTimes, deps.kube ? (deps.kube.requestTimeoutMs ?? 30_000) : null);
  const poolMax = (deps.db as unknown as { options?: { max?: number } }).options?.max;
  if (poolMax !== undefined && poolMax < concurrency + 2) {
    throw new Error(`the reconciler's database pool has max ${poolMax}; it needs at least concurrency + 2 = ${concurrency + 2}`);
  }

  const wake = new Wake();
  /** Woken only by stop(): back-off waits that a NOTIFY must not shorten. */
  const stopSignal = new Wake();
  // Health polls on its own timer: a burst of NOTIFYs must not turn into a burst of polls.
  const healthWake = new Wake();
  const hints = new Set<string>();
  /** Deployments this instance is running now, with their leases: a wake-up for one of them is not another replica's conflict. */
  const active = new Map<string, Lease>();
  let stopping = false;
  let running = false;
  let listening = false;
  let listenConnects = 0;
  let runs = 0;
  let lastError: string | null = null;
  let loops: Promise<void>[] = [];
  let unlisten: (() => Promise<void>) | undefined;

  function newLease(): Lease {
    const lease: Lease = new Lease(
      leaseTimes,
      async () => (await extendLease(deps.db, lease.id, leaseTimes.ttlMs)) > 0,
      (reason) => log.warn({ leaseId: lease.id, reason }, 'reconcile lease lost'),
    );
    return lease;
  }

  /**
   * One unit of work: a hinted deployment first, else the oldest pending one. False when idle.
   * The claim is a short transaction (lease, re-read, run row); the work runs with none open.
   */
  async function step(): Promise<boolean> {
    let hinted = hints.values().next().value as string | undefined;
    if (hinted) hints.delete(hinted);
    if (hinted && active.has(hinted)) hinted = undefined;
    const lease = newLease();
    const request = { id: lease.id, holder: workerId, ttlMs: leaseTimes.ttlMs };
    const claim = await (deps.db.begin(async (tx) => {
      let id: string | null;
      lease.claiming();
      if (hinted) {
        const outcome = await claimOne(tx, hinted, request);
        if (outcome === 'busy' || outcome === 'backoff') return outcome;
        id = outcome === 'claimed' ? hinted : null;
        if (!id) return 'worked';
      } else {
        id = await claimNext(tx, request);
        if (!id) return 'idle';
      }
      const d = await loadClaimed(tx, id);
      if (!d) {
        await releaseLease(tx, lease.id); // another replica finished it while we waited
        return 'worked';
      }
      // A generation awaiting approval or gates is recorded as a Skipped run and held back.
      if (await holdUnreleased(runDeps, tx, d)) {
        await releaseLease(tx, lease.id);
        return 'worked';
      }
      return { d, run: await startRun(runDeps, tx, d) };
    }) as Promise<'idle' | 'worked' | 'busy' | 'backoff' | { d: QueuedDeployment; run: StartedRun }>);
    if (claim === 'idle') return false;
    if (claim === 'worked') return true;
    if (claim === 'busy' || claim === 'backoff') {
      await noteSkip(runDeps, hinted!, claim);
      return true;
    }
    const { d, run } = claim;
    lease.claimed();
    lease.start();
    active.set(d.id, lease);
    try {
      await workUnderLease(runDeps, d, run, lease, () => lease.stop());
    } finally {
      await lease.stop();
      active.delete(d.id);
    }
    runs++;
    return true;
  }

  async function workLoop(): Promise<void> {
    let failures = 0;
    while (!stopping) {
      let worked = false;
      try {
        worked = await step();
        failures = 0;
      } catch (err) {
        failures++;
        lastError = describeError(err);
        log.error({ err: lastError }, 'reconcile step failed');
        // Database trouble: back off 0.5 s, 1 s, 2 s ... 30 s rather than spin; stop() cuts it short.
        await stopSignal.wait(Math.min(30_000, 500 * 2 ** Math.min(failures - 1, 6)));
      }
      if (!worked && !stopping) {
        await noteBackoffs(runDeps).catch((err: unknown) => log.warn({ err: describeError(err) }, 'could not record back-off skips'));
        await wake.wait(pollIntervalMs);
      }
    }
  }

  /** Monthly run partitions, 3 months ahead: at start and daily (a replica may run for months). */
  async function partitionLoop(): Promise<void> {
    while (!stopping) {
      await healthWake.wait(24 * 3600 * 1000);
      if (stopping) break;
      await ensureRunPartitions(deps.db, 3).catch((err: unknown) => log.warn({ err: describeError(err) }, 'could not create run partitions'));
    }
  }

  async function healthLoop(kube: Kube): Promise<void> {
    while (!stopping) {
      try {
        await checkHealthBatch(deps.db, kube, log, workerId, healthIntervalMs, 20, leaseTimes);
      } catch (err) {
        lastError = describeError(err);
        log.error({ err: lastError }, 'health check batch failed');
      }
      if (!stopping) await healthWake.wait(Math.max(50, healthIntervalMs / 2));
    }
  }

  return {
    metrics,
    async start() {
      if (running) return;
      stopping = false;
      running = true;
      await ensureRunPartitions(deps.db, 3);
      // onlisten runs after every (re)connect of the LISTEN connection: notifications sent
      // while it was down are lost, so wake every loop for a catch-up query.
      const sub = await listenForWork(
        deps.listenDb ?? deps.db,
        (id) => {
          hints.add(id);
          wake.all();
        },
        () => {
          listening = true;
          listenConnects++;
          if (listenConnects > 1) log.info({ listenConnects }, 'LISTEN reconnected: catching up on missed notifications');
          wake.all();
        },
      );
      unlisten = sub.unlisten;
      if (deps.kube) log.info({ target: deps.kube.target, concurrency }, 'reconciler started');
      else log.warn('no cluster configured (set KUBECONFIG): the reconciler renders and records what it would apply, and applies nothing');
      loops = Array.from({ length: concurrency }, () => workLoop());
      loops.push(partitionLoop());
      if (deps.kube) loops.push(healthLoop(deps.kube));
    },
    async stop() {
      if (!running) return;
      stopping = true;
      wake.all();
      healthWake.all();
      stopSignal.all();
      // A run in flight may be waiting on the Kubernetes API (30 s request timeout): wait for
      // it a little, not for ever.
      const grace = config.stopGraceMs ?? 5000;
      let timer: NodeJS.Timeout | undefined;
      const finished = await Promise.race([
        Promise.all(loops).then(() => true),
        new Promise<false>((r) => (timer = setTimeout(() => r(false), grace))),
      ]);
      clearTimeout(timer);
      if (!finished) {
        // Runs still in flight write nothing more to Kubernetes and record nothing; their
        // leases are no longer extended and run out, and another replica takes them over.
        for (const lease of active.values()) lease.markLost('the reconciler stopped before the run finished');
        log.warn({ graceMs: grace, inFlight: active.size }, 'reconciler stopped with runs still in flight; another replica takes them over when their leases run out');
      }
      // UNLISTEN waits for the LISTEN connection, which may be reconnecting after a drop;
      // closing the pool ends it anyway, so stop does not wait for it beyond 2 s.
      await Promise.race([unlisten?.().catch(() => {}), new Promise((r) => setTimeout(r, 2000).unref())]);
      listening = false;
      running = false;
      log.info({ runs }, 'reconciler stopped');
    },
    describe() {
      return {
        workerId, running, listening, listenConnects, runs, lastError,
        mode: deps.kube ? 'apply' : 'plan-only',
        target: deps.kube?.target ?? null,
        message: deps.kube
          ? `applying to ${deps.kube.target}`
          : 'no cluster configured: rendering and recording plans, applying nothing (set KUBECONFIG)',
      };
    },
  };
}
