import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface ApiMetrics {
  registry: Registry;
  requestDuration: Histogram<'method' | 'route' | 'status'>;
  auditEvents: Counter<'action'>;
}

/** One registry per app (tests build many apps in one process; the global one would clash). */
export function createMetrics(): ApiMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'shipslog_' });
  const requestDuration = new Histogram({
    name: 'shipslog_http_request_duration_seconds',
    help: 'HTTP request duration by route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    // Loopback requests take 1-20 ms; history p95 target is 10 ms.
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const auditEvents = new Counter({
    name: 'shipslog_audit_events_written_total',
    help: 'Audit events written by API transactions, by action',
    labelNames: ['action'] as const,
    registers: [registry],
  });
  return { registry, requestDuration, auditEvents };
}
