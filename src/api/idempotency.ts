import { createHash } from 'node:crypto';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Tx } from '../db/client.ts';
import type { AppEnv } from './context.ts';
import { ProblemError } from './problem.ts';

/** How long a stored answer is replayed. */
export const retentionHours = 24;

/** A route's answer: its body type and status stay known, so the response is typed against the route. */
export interface StoredAnswer<T extends object, S extends ContentfulStatusCode> {
  status: S;
  body: T;
  location?: string | undefined;
  etag?: string | undefined;
}

/**
 * Idempotency-Key for POSTs, inside the request's transaction. The key row is inserted
 * first: a concurrent retry blocks on the primary key until this transaction ends, then
 * replays the committed answer (or runs, if this one rolled back). A failed request stores
 * nothing, so its retry runs again.
 */
export async function idempotent<T extends object, S extends ContentfulStatusCode>(
  c: Context<AppEnv>,
  tx: Tx,
  key: string | undefined,
  request: unknown,
  run: () => Promise<StoredAnswer<T, S>>,
): Promise<StoredAnswer<T, S> & { replayed: boolean }> {
  if (!key) return { ...(await run()), replayed: false };
  const principal = c.get('principal');
  const hash = createHash('sha256').update(`${c.req.method} ${c.req.path}\n${JSON.stringify(request ?? null)}`).digest();
  // Answers live 24 hours: this key's expired ones go first (pipelined with the claim, and
  // in this transaction, so an expired key is claimed afresh).
  const [, claimed] = await Promise.all([
    tx`
      delete from shipslog.idempotency_keys
      where api_key_id = ${principal.keyId}
        and created_at < now() - ${`${retentionHours} hours`}::interval
    `.execute(),
    tx`
      insert into shipslog.idempotency_keys (api_key_id, idempotency_key, tenant, request_hash)
      values (${principal.keyId}, ${key}, ${principal.tenant ?? '*'}, ${hash})
      on conflict do nothing
      returning 1
    `.execute(),
  ]);
  if (claimed.length === 0) {
    const [row] = await tx<{ request_hash: Buffer; status: number | null; response: unknown; location: string | null }[]>`
      select request_hash, status, response, location
      from shipslog.idempotency_keys
      where api_key_id = ${principal.keyId}
        and idempotency_key = ${key}
    `;
    if (!row || row.status === null) throw new ProblemError('conflict', 'a request with this Idempotency-Key is still running');
    if (!hash.equals(row.request_hash)) {
      throw new ProblemError('idempotency-key-reused', 'this Idempotency-Key was first used with a different request');
    }
    // Stored by this route's run() (the key is the caller's and the hash covers method and
    // path), so the row holds a T answered with status S: the one place that is taken on trust.
    const body = row.response as { answer: T; etag?: string };
    return { status: row.status as S, body: body.answer, location: row.location ?? undefined, etag: body.etag, replayed: true };
  }
  const answer = await run();
  await tx`
    update shipslog.idempotency_keys
    set status = ${answer.status},
        response = ${JSON.stringify({ answer: answer.body, etag: answer.etag ?? null })}::text::jsonb,
        location = ${answer.location ?? null}
    where api_key_id = ${principal.keyId}
      and idempotency_key = ${key}
  `;
  return { ...answer, replayed: false };
}

/** Sends a stored or fresh answer with its Location / ETag headers, typed as the route declares it. */
export function sendAnswer<T extends object, S extends ContentfulStatusCode>(c: Context<AppEnv>, a: StoredAnswer<T, S> & { replayed: boolean }) {
  if (a.location) c.header('location', a.location);
  if (a.etag) c.header('etag', a.etag);
  if (a.replayed) c.header('idempotent-replayed', 'true');
  return c.json(a.body, a.status);
}
