import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ZodError } from 'zod';
import postgres from 'postgres';
import { DomainError, clientFacing, toDomainError } from '../db/errors.ts';
import type { Log } from '../log.ts';
import type { AppEnv } from './context.ts';

/**
 * RFC 9457 problem details. `type` is stable (clients switch on it); `errors` names the
 * offending fields; nothing internal (SQL, stack, constraint text of other tables) leaks.
 */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string | undefined;
  errors?: { path: string; message: string }[] | undefined;
  hint?: string | undefined;
  requestId?: string | undefined;
}

const base = 'https://shipslog.dev/problems/';

const titles: Record<string, [number, string]> = {
  'invalid-request': [400, 'The request is malformed or has invalid fields'],
  unauthorized: [401, 'Missing or invalid API key'],
  forbidden: [403, 'The API key may not do this'],
  'not-found': [404, 'No such resource'],
  'method-not-allowed': [405, 'Method not allowed'],
  conflict: [409, 'The request conflicts with the current state'],
  'precondition-failed': [412, 'The resource changed since you read it'],
  'payload-too-large': [413, 'The request body is too large'],
  'unsupported-media-type': [415, 'Unsupported content type'],
  'idempotency-key-reused': [422, 'The Idempotency-Key was used with a different request'],
  'rule-violated': [422, 'The change breaks a rule of the database'],
  'precondition-required': [428, 'This request needs an If-Match header'],
  unavailable: [503, 'The database is unavailable'],
  internal: [500, 'Internal error'],
};

export class ProblemError extends Error {
  readonly problemType: keyof typeof titles;
  readonly detail: string | undefined;
  readonly errors: Problem['errors'];
  constructor(type: keyof typeof titles, detail?: string, errors?: Problem['errors']) {
    super(detail ?? type);
    this.problemType = type;
    this.detail = detail;
    this.errors = errors;
  }
}

export function problemBody(type: string, detail?: string, extra: Partial<Problem> = {}): Problem {
  const [status, title] = titles[type] ?? [500, 'Internal error'];
  return { type: base + type, title, status, ...(detail ? { detail } : {}), ...extra };
}

/**
 * Seconds a client should wait before retrying a 503 (the database is away). The pool tries
 * again at most 1 s apart (db/client.ts), and a PostgreSQL restart or crash recovery takes a
 * few seconds: 2 s spreads the retries of many clients without making them wait long.
 */
export const retryAfterSeconds = 2;

export function problemResponse(c: Context<AppEnv>, type: string, detail?: string, extra: Partial<Problem> = {}): Response {
  const body = problemBody(type, detail, { ...extra, requestId: c.get('requestId') });
  const headers: Record<string, string> = { 'content-type': 'application/problem+json', 'x-request-id': c.get('requestId') ?? '' };
  if (body.status === 503) headers['retry-after'] = String(retryAfterSeconds);
  return new Response(JSON.stringify(body), { status: body.status, headers });
}

export function zodErrors(error: ZodError): { path: string; message: string }[] {
  return error.issues.slice(0, 20).map((i) => ({ path: i.path.map(String).join('.') || '(root)', message: i.message }));
}

/** The OpenAPIHono defaultHook: a failed zod validation becomes a 400 naming every bad field. */
export function validationHook(result: { success: boolean; error?: ZodError; target: string }, c: Context<AppEnv>): Response | undefined {
  if (result.success || !result.error) return undefined;
  return problemResponse(c, 'invalid-request', `invalid ${result.target}`, { errors: zodErrors(result.error) });
}

const kindToType: Record<DomainError['kind'], string> = {
  not_found: 'not-found',
  conflict: 'conflict',
  invalid: 'rule-violated',
  forbidden: 'forbidden',
  precondition_failed: 'precondition-failed',
  unavailable: 'unavailable',
};

/** app.onError: known errors become their problem; anything else is logged and answered 500. */
export function errorHandler(log: Log) {
  return (err: Error, c: Context<AppEnv>): Response => {
    if (err instanceof ProblemError) return problemResponse(c, err.problemType, err.detail, { errors: err.errors });
    if (err instanceof HTTPException) {
      const status = err.status;
      const type =
        status === 413 ? 'payload-too-large'
        : status === 415 ? 'unsupported-media-type'
        : status === 401 ? 'unauthorized'
        : status === 404 ? 'not-found'
        : status < 500 ? 'invalid-request'
        : 'internal';
      return problemResponse(c, type, status < 500 ? err.message : undefined);
    }
    const own = shipslogRuleError(err);
    if (own) return problemResponse(c, own.type, own.detail, own.extra);
    const mapped = toDomainError(err);
    if (mapped instanceof DomainError) {
      const type = kindToType[mapped.kind];
      if (mapped.kind === 'unavailable') log.warn({ err, requestId: c.get('requestId') }, 'database unavailable');
      // Never PostgreSQL's own text (issue 9): clientFacing passes shipslog's words only.
      const { detail, hint } = clientFacing(mapped);
      return problemResponse(c, type, type === 'unavailable' ? undefined : detail, hint ? { hint } : {});
    }
    log.error({ err, requestId: c.get('requestId') }, 'unhandled error');
    return problemResponse(c, 'internal');
  };
}

/**
 * shipslog's own SQLSTATEs (class SL) are raised on purpose, with a message and hint meant
 * for the caller. SL210 (a deployment's config breaks its recipe; sql/reconciler/40_recipe_config.sql) is bad
 * input, so 400 naming the fields, as zod would; any other SL code not in db/errors.ts is a
 * rule of the database: 422 with its message and hint.
 */
function shipslogRuleError(err: unknown): { type: string; detail: string; extra: Partial<Problem> } | null {
  if (!(err instanceof postgres.PostgresError) || !err.code.startsWith('SL')) return null;
  if (err.code === 'SL210') {
    const list = err.message.replace(/^.*? config: /, '');
    const errors = list.split('; ').map((item) => {
      const at = item.indexOf(': ');
      return at > 0 ? { path: item.slice(0, at), message: item.slice(at + 2) } : { path: 'config', message: item };
    });
    return { type: 'invalid-request', detail: err.message, extra: { errors } };
  }
  if (toDomainError(err) instanceof DomainError) return null; // mapped in db/errors.ts
  return { type: 'rule-violated', detail: err.message, extra: err.hint ? { hint: err.hint } : {} };
}
