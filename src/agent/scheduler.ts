import type { Db } from '../db/client.ts';
import type { Log } from '../log.ts';
import { formatDuration } from './duration.ts';
import { purgeAgentMessages, type PurgeResult } from './retention.ts';

export interface RetentionSchedulerOptions {
  db: Db;
  log: Log;
  /** 0 keeps messages forever: the scheduler then never purges. */
  retentionSeconds: number;
  /**
   * How often to ask PostgreSQL whether today's run is due (default hourly). The database
   * allows one scheduled run per UTC day, so an hourly check means a restart or a replica
   * that was down at midnight still purges that day, and N replicas purge once.
   */
  checkIntervalMs?: number;
  /** Delay before the first check after start (default 30 s: let the service settle). */
  firstCheckMs?: number;
}

export interface RetentionScheduler {
  start: () => void;
  /** Stops the timer and waits for a run in progress. */
  stop: () => Promise<void>;
  /** One check now (what the timer calls); never throws, logs failures. */
  tick: () => Promise<PurgeResult | null>;
}

/** The daily agent message retention job that `shipslog serve` runs. */
export function createRetentionScheduler(options: RetentionSchedulerOptions): RetentionScheduler {
  const { db, log, retentionSeconds } = options;
  const checkIntervalMs = options.checkIntervalMs ?? 3_600_000;
  const firstCheckMs = options.firstCheckMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<PurgeResult | null> | undefined;
  let stopped = false;

  const tick = (): Promise<PurgeResult | null> => {
    if (retentionSeconds === 0 || stopped) return Promise.resolve(null);
    // One check at a time per process; a slow purge is not started twice.
    running ??= purgeAgentMessages(db, retentionSeconds, 'scheduled', log)
      .catch((err: unknown) => {
        log.error({ err }, 'agent message retention failed; will retry at the next check');
        return null;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };

  const schedule = (ms: number) => {
    timer = setTimeout(() => {
      void tick().finally(() => {
        if (!stopped) schedule(checkIntervalMs);
      });
    }, ms);
    timer.unref();
  };

  return {
    start: () => {
      if (retentionSeconds === 0) {
        log.info('agent message retention disabled (SHIPSLOG_AGENT_MESSAGE_RETENTION=0): messages are kept forever');
        return;
      }
      log.info({ retention: formatDuration(retentionSeconds) }, 'agent message retention scheduled daily');
      schedule(firstCheckMs);
    },
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
    tick,
  };
}
