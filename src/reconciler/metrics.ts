import { Counter, Histogram, Registry } from 'prom-client';

export interface ReconcilerMetrics {
  registry: Registry;
  runs: Counter<'outcome'>;
  runDuration: Histogram<'outcome'>;
  auditRecordErrors: Counter<'stage'>;
  leasesLost: Counter;
}

/** A registry per reconciler unless one is given (tests run several reconcilers in one process). */
export function createReconcilerMetrics(registry: Registry = new Registry()): ReconcilerMetrics {
  const existing = registry.getSingleMetric('shipslog_reconcile_runs_total');
  if (existing) {
    // Several reconcilers sharing one registry (serve with the API) share the series.
    return {
      registry,
      runs: existing as Counter<'outcome'>,
      runDuration: registry.getSingleMetric('shipslog_reconcile_run_duration_seconds') as Histogram<'outcome'>,
      auditRecordErrors: registry.getSingleMetric('shipslog_reconcile_audit_record_errors_total') as Counter<'stage'>,
      leasesLost: registry.getSingleMetric('shipslog_reconcile_leases_lost_total') as Counter,
    };
  }
  return {
    registry,
    runs: new Counter({
      name: 'shipslog_reconcile_runs_total',
      help: 'Reconcile runs by outcome (Applied, Unchanged, Planned, Removed, Removing, Failed, Skipped)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    runDuration: new Histogram({
      name: 'shipslog_reconcile_run_duration_seconds',
      help: 'Duration of reconcile runs from claim to recorded result',
      labelNames: ['outcome'] as const,
      // A run is 3 API calls per object (get, dry run, apply): ~10 ms locally, seconds on a busy cluster.
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    auditRecordErrors: new Counter({
      name: 'shipslog_reconcile_audit_record_errors_total',
      help: 'Failures to record a run or its result in PostgreSQL (the run is retried; its record may say WorkerLost)',
      labelNames: ['stage'] as const,
      registers: [registry],
    }),
    leasesLost: new Counter({
      name: 'shipslog_reconcile_leases_lost_total',
      help: 'Runs that recorded no result because their lease ran out (or their replica stopped) first; the next holder applies the generation',
      registers: [registry],
    }),
  };
}
