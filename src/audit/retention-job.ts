import type { Db } from '../db/client.ts';
import type { Log } from '../log.ts';
import type { CheckpointKeys } from './checkpoints.ts';
import { ensureEventPartitions, purgeAuditEvents } from './retention.ts';

export interface AuditRetentionJobOptions {
  db: Db;
  log: Log;
  /** The checkpoint key that signs the anchors; without it the job only keeps partitions ahead. */
  keys: CheckpointKeys | undefined;
  /** Default daily. */
  intervalMs?: number;
  /** Delay before the first run after start (default 60 s: let the service settle). */
  firstRunMs?: number;
}

export interface AuditRetentionJob {
  start: () => void;
  /** Stops the timer and waits for a run in progress. */
  stop: () => Promise<void>;
  /** One run now (what the timer calls); never throws, logs failures. */
  run: () => Promise<void>;
}

/**
 * `serve`'s daily audit job: monthly partitions of the events kept 3 months ahead, then, when
 * the checkpoint key is at hand, a purge of what is past its retention (src/audit/retention.ts).
 * Replicas may all run it: partition creation tolerates a race and purges take turns on an
 * advisory lock, the second finding nothing left to cut.
 */
export function createAuditRetentionJob(options: AuditRetentionJobOptions): AuditRetentionJob {
  const { db, log, keys } = options;
  const intervalMs = options.intervalMs ?? 86_400_000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  const once = async () => {
    const created = await ensureEventPartitions(db, 3);
    if (created > 0) log.info({ created }, 'audit event partitions created ahead');
    if (keys) await purgeAuditEvents(db, keys, 'scheduled', log);
  };
  const run = (): Promise<void> => {
    if (stopped) return Promise.resolve();
    running ??= once()
      .catch((err: unknown) => log.error({ err }, 'audit retention job failed; will retry at the next run'))
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  const schedule = (ms: number) => {
    timer = setTimeout(() => {
      void run().finally(() => {
        if (!stopped) schedule(intervalMs);
      });
    }, ms);
    timer.unref();
  };

  return {
    start: () => {
      if (!keys) log.info('audit retention: no checkpoint key (SHIPSLOG_CHECKPOINT_KEY), so events are not purged; partitions are still kept ahead');
      schedule(options.firstRunMs ?? 60_000);
    },
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
    run,
  };
}
