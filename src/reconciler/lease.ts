import { randomUUID } from 'node:crypto';
import type { Kube } from './kube.ts';

/**
 * How long a claim lasts unextended, and how often its holder extends it. Defaults: 60 s and
 * 10 s. A crashed replica's deployments are taken over at most ttlMs after its last extension;
 * a replica that cannot reach the database stops writing to Kubernetes once the lease may have
 * run out (see Lease.assertValidFor), so ttlMs must leave room for a whole Kubernetes request
 * (30 s by default) plus a missed extension: ttlMs >= request timeout + 2 * renewMs.
 */
export interface LeaseTimes {
  ttlMs: number;
  renewMs: number;
}

export const defaultLeaseTimes: LeaseTimes = { ttlMs: 60_000, renewMs: 10_000 };

/** The lease may have run out, or another replica holds the deployment now. */
export class LeaseLostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LeaseLostError';
  }
}

export function checkLeaseTimes(times: LeaseTimes, requestTimeoutMs: number | null): void {
  if (!(times.renewMs > 0) || !(times.ttlMs > times.renewMs)) {
    throw new Error(`reconciler lease: renew every ${times.renewMs} ms must be > 0 and shorter than the lease (${times.ttlMs} ms)`);
  }
  if (requestTimeoutMs !== null && times.ttlMs < requestTimeoutMs + 2 * times.renewMs) {
    throw new Error(
      `reconciler lease of ${times.ttlMs} ms is too short: a Kubernetes request may take ${requestTimeoutMs} ms, so the lease must last at least ` +
        `that plus two extension periods (${requestTimeoutMs + 2 * times.renewMs} ms), or a replica that cannot extend it would stop every write`,
    );
  }
}

/**
 * The holder's side of one lease on shipslog.reconcile_queue. The database's expiry decides
 * who may record (shipslog.hold_reconcile_lease); this side keeps a conservative local view
 * of it: the time a claim or extension was sent plus ttlMs (monotonic clock), which is never
 * later than the expiry the database computed when the statement ran. While working, the
 * holder extends every renewMs; an extension that finds the lease gone marks it lost for good.
 */
export class Lease {
  readonly id = randomUUID();
  private validUntil = 0;
  private lostReason: string | null = null;
  private timer: NodeJS.Timeout | undefined;
  private extending: Promise<void> | undefined;
  private sentAt = 0;
  private running = false;

  readonly times: LeaseTimes;
  private readonly extend: () => Promise<boolean>;
  private readonly onLost: (reason: string) => void;

  /** extend: the database's extension (extendLease): true while the lease still held its rows. */
  constructor(times: LeaseTimes, extend: () => Promise<boolean>, onLost: (reason: string) => void = () => {}) {
    this.times = times;
    this.extend = extend;
    this.onLost = onLost;
  }

  /** Call right before sending the claim; then claimed() once it committed. */
  claiming(): void {
    this.sentAt = performance.now();
  }

  claimed(): void {
    this.validUntil = this.sentAt + this.times.ttlMs;
  }

  /** Extends every renewMs until stop(). */
  start(): void {
    this.running = true;
    this.schedule();
  }

  /** No more extensions (the run is over, or its replica is stopping). Waits for one in flight. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.extending;
  }

  /** Why the lease is known lost, or null while it may still hold. */
  get lost(): string | null {
    return this.lostReason;
  }

  /** Milliseconds the lease is known to last from now (<= 0: it may have run out). */
  remainingMs(): number {
    return this.lostReason === null ? this.validUntil - performance.now() : 0;
  }

  /** Marks it lost: no extension, no Kubernetes write after this; the database refuses the result anyway. */
  markLost(reason: string): void {
    if (this.lostReason !== null) return;
    this.lostReason = reason;
    this.running = false;
    clearTimeout(this.timer);
    this.onLost(reason);
  }

  /** Throws unless the lease is known to last at least ms more: a request started now ends while it holds. */
  assertValidFor(ms: number): void {
    if (this.lostReason !== null) throw new LeaseLostError(`the reconcile lease is lost: ${this.lostReason}`);
    const left = Math.round(this.remainingMs());
    if (left < ms) {
      throw new LeaseLostError(`the reconcile lease is confirmed for ${Math.max(0, left)} ms more, less than a Kubernetes request may take (${ms} ms): not sending it`);
    }
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.extending = this.extendOnce().finally(() => {
        this.extending = undefined;
        this.schedule();
      });
    }, this.times.renewMs);
    this.timer.unref();
  }

  private async extendOnce(): Promise<void> {
    const sent = performance.now();
    try {
      if (await this.extend()) {
        if (this.lostReason === null) this.validUntil = sent + this.times.ttlMs;
      } else {
        this.markLost('it expired or another replica took the deployment over');
      }
    } catch {
      // The database is unreachable: keep trying; the known validity shrinks meanwhile, and
      // Kubernetes writes stop once it is shorter than a request (assertValidFor).
    }
  }
}

/**
 * The Kubernetes client as a lease holder may use it: writes (apply for real, delete) only
 * while the lease is known to outlast the request (so a replica that lost its lease, or cannot
 * confirm it, stops changing the cluster before another replica may take the deployment
 * over); reads and dry runs change nothing and go on until the lease is known lost.
 */
export function fencedKube(kube: Kube, lease: Lease): Kube {
  const requestMs = kube.requestTimeoutMs ?? 30_000;
  const write = () => lease.assertValidFor(requestMs);
  const read = () => lease.assertValidFor(0);
  const fenced: Kube = {
    target: kube.target,
    requestTimeoutMs: kube.requestTimeoutMs,
    apply: async (obj, options) => {
      if (options.dryRun) read();
      else write();
      return kube.apply(obj, options);
    },
    get: async (ref) => {
      read();
      return kube.get(ref);
    },
    list: async (apiVersion, kind, namespace, labelSelector) => {
      read();
      return kube.list(apiVersion, kind, namespace, labelSelector);
    },
    delete: async (ref) => {
      write();
      return kube.delete(ref);
    },
  };
  clients.set(fenced, clientOf(kube));
  return fenced;
}

const clients = new WeakMap<Kube, Kube>();

/** The client a fenced one wraps (itself if none): what per-cluster caches are kept by. */
export function clientOf(kube: Kube): Kube {
  return clients.get(kube) ?? kube;
}
