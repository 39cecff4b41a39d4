import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import { actorSettings } from '../db/actor.ts';
import type { Tx } from '../db/client.ts';
import type { ApiDeps, AppEnv } from './context.ts';

export interface TxOptions {
  /** Recorded as the event's reason (else the X-Reason header). */
  reason?: string | undefined;
  /** An explicit action (e.g. rolled_back) overriding the one the trigger derives. */
  action?: string | undefined;
  /**
   * A read-only transaction (PostgreSQL refuses any write in it, 25006). Its COMMIT cannot
   * change what it read, so the handler gets fn's value without waiting for the COMMIT's
   * round trip (one of ~4 in a read request); the connection returns to the pool when it ends.
   */
  readOnly?: boolean;
  /** A read-only transaction on one snapshot (repeatable read): reads that must agree with each other. Implies readOnly. */
  snapshot?: boolean;
  /**
   * Its statements run on their prepared statement's generic plan (plan_cache_mode =
   * force_generic_plan): for pages whose best plan does not depend on the values asked for
   * (src/db/events.ts, genericPlanFits). Otherwise PostgreSQL plans such a page afresh on
   * every request, a third of its server CPU (BENCHMARKS.md).
   */
  genericPlans?: boolean;
}

/**
 * Runs a handler's database work in ONE transaction as role shipslog_app, with
 * shipslog.tenant set to the caller's tenant ('*' for a global key) so row-level security
 * applies, and the actor context set for the audit trigger. One round trip sets it all.
 */
export async function inTenantTx<T>(
  c: Context<AppEnv>,
  deps: ApiDeps,
  fn: (tx: Tx) => Promise<T>,
  options: TxOptions = {},
): Promise<T> {
  const principal = c.get('principal');
  const settings: [string, string][] = [
    ['role', 'shipslog_app'],
    ...actorSettings({
      tenant: principal.tenant ?? '*',
      actor: principal.name,
      actorType: principal.actorType,
      reason: clip(options.reason ?? headerText(c, 'x-reason'), 1000),
      // Without X-Correlation-Id the request id: every change (and the reconcile runs and
      // events it causes) can be followed from the request (GET /v1/events?correlation_id=).
      correlationId: clip(headerText(c, 'x-correlation-id'), 200) || (c.get('requestId') ?? ''),
      requestId: c.get('requestId') ?? '',
      sourceIp: sourceIp(c),
      userAgent: clip(headerText(c, 'user-agent'), 500),
      action: options.action ?? '',
    }),
    // No request holds a connection and its locks for long: a runaway query is cancelled
    // (57014 -> 503) instead of queueing every request behind it.
    ['statement_timeout', '10s'],
    ...(options.genericPlans ? [['plan_cache_mode', 'force_generic_plan'] as [string, string]] : []),
  ];
  const readOnly = options.readOnly === true || options.snapshot === true;
  let answer: ((value: T) => void) | undefined;
  const answered = readOnly ? new Promise<T>((resolve) => (answer = resolve)) : undefined;
  const mode = options.snapshot ? 'isolation level repeatable read read only' : readOnly ? 'read only' : '';
  const transaction = deps.db.begin(mode, async (tx) => {
    // Sent now and not awaited before fn's first query: the two travel pipelined on the
    // transaction's one connection and run in order, saving a round trip per request. If it
    // fails, the transaction is aborted and fn's query fails too.
    const context = tx`
      select set_config(s.name, s.value, true)
      from unnest(${settings.map((s) => s[0])}::text[], ${settings.map((s) => s[1])}::text[])
        with ordinality as s(name, value, ord)
      order by s.ord
    `.execute();
    const [, value] = await Promise.all([context, fn(tx)]);
    answer?.(value as T);
    return value;
  });
  if (!answered) return (await transaction) as T;
  // A failure of fn or of the context rejects `transaction` before anything is answered; one
  // of the COMMIT alone (a connection lost at that moment) is only logged: the reads stand.
  transaction.catch((err: unknown) => deps.log.warn({ err }, 'a read-only transaction did not commit cleanly'));
  return Promise.race([answered, transaction as Promise<T>]);
}

function headerText(c: Context<AppEnv>, name: string): string {
  // Control characters (and bad UTF-8 decoded as U+FFFD) stay out of the audit trail.
  return (c.req.header(name) ?? '').replace(/[\u0000-\u001f\u007f\ufffd]/g, '').trim();
}

function clip(value: string, max: number): string {
  return value.length > max ? value.slice(0, max) : value;
}

function sourceIp(c: Context<AppEnv>): string {
  try {
    const address = getConnInfo(c).remote.address ?? '';
    // IPv4-mapped IPv6 (::ffff:127.0.0.1) is stored as the IPv4 address.
    return address.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
  } catch {
    return ''; // app.request() in tests has no socket
  }
}
