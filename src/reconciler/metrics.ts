import { Counter, Histogram, Registry } from 'prom-client';

export interface ReconcilerMetrics {
  registry: Registry;
  runs: Counter<'outcome'>;
  runDuration: Histogram<'outcome'>;
  auditRecordErrors: Counter<'stage'>;
  leasesLost: Counter;
  /** Run-audit records this process wrote (a run's result: Completed, Failed or Skipped), as seed 004's dashboard counts them. */
  auditRecords: Counter<'phase' | 'outcome'>;
  /** How long writing a run's result (and, by trigger, its audit row) took, in its transaction. */
  auditRecordDuration: Histogram;
}

/** Where recording can fail; each series exists from the start at 0, so a dashboard's rate() has data before the first error. */
export const auditRecordStages = ['start', 'result', 'skip'] as const;

/**
 * Names: today's shipslog_reconcile_* series, plus the three a dashboard written for the run
 * audit of seeds 003/004 expects (audit records by phase and outcome, audit record duration,
 * audit record errors), under the same prefix. docs/reconciler.md maps them to the seed's.
 */
const names = {
  runs: 'shipslog_reconcile_runs_total',
  runDuration: 'shipslog_reconcile_run_duration_seconds',
  auditRecordErrors: 'shipslog_reconcile_audit_record_errors_total',
  leasesLost: 'shipslog_reconcile_leases_lost_total',
  auditRecords: 'shipslog_reconcile_audit_records_total',
  auditRecordDuration: 'shipslog_reconcile_audit_record_duration_seconds',
} as const;

/** A registry per reconciler unless one is given (tests run several reconcilers in one process). */
export function createReconcilerMetrics(registry: Registry = new Registry()): ReconcilerMetrics {
  if (registry.getSingleMetric(names.runs)) {
    // Several reconcilers sharing one registry (serve with the API) share the series.
    const get = <T>(name: string) => registry.getSingleMetric(name) as T;
    return {
      registry,
      runs: get(names.runs),
      runDuration: get(names.runDuration),
      auditRecordErrors: get(names.auditRecordErrors),
      leasesLost: get(names.leasesLost),
      auditRecords: get(names.auditRecords),
      auditRecordDuration: get(names.auditRecordDuration),
    };
  }
  const auditRecordErrors = new Counter({
    name: names.auditRecordErrors,
    help: 'Failures to record a run or its result in PostgreSQL, by stage (start, result, skip); the run is retried, its record may say WorkerLost',
    labelNames: ['stage'] as const,
    registers: [registry],
  });
  for (const stage of auditRecordStages) auditRecordErrors.inc({ stage }, 0);
  return {
    registry,
    runs: new Counter({
      name: names.runs,
      help: 'Reconcile runs by outcome (Applied, Unchanged, Planned, Removed, Removing, Failed, Skipped)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    runDuration: new Histogram({
      name: names.runDuration,
      help: 'Duration of reconcile runs from claim to recorded result',
      labelNames: ['outcome'] as const,
      // A run is 3 API calls per object (get, dry run, apply): ~10 ms locally, seconds on a busy cluster.
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    auditRecordErrors,
    leasesLost: new Counter({
      name: names.leasesLost,
      help: 'Runs that recorded no result because their lease ran out (or their replica stopped) first; the next holder applies the generation',
      registers: [registry],
    }),
    auditRecords: new Counter({
      name: names.auditRecords,
      help: 'Run-audit records written (one per run result, reconcile_run_audit), by phase (Completed, Failed, Skipped) and outcome',
      labelNames: ['phase', 'outcome'] as const,
      registers: [registry],
    }),
    auditRecordDuration: new Histogram({
      name: names.auditRecordDuration,
      help: 'Duration of the transaction that records a run result and its audit row (a Skipped run: its insert)',
      // Seed 004's buckets: 1 ms doubling to 512 ms. The result's transaction is ~1-5 ms on a
      // local server (one round trip, pipelined), more when PostgreSQL is busy.
      buckets: [0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512],
      registers: [registry],
    }),
  };
}
