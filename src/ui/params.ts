import type { Context } from 'hono';
import type { z } from 'zod';
import type { AppEnv } from '../api/context.ts';
import { ProblemError, zodErrors } from '../api/problem.ts';

/**
 * A page's query string through its zod schema. A filter form sends its empty fields as
 * `name=`: those mean "not set". A repeated parameter is joined with commas (several actions).
 * A bad value is a 400 page naming the field.
 */
export function parseQuery<S extends z.ZodType>(c: Context<AppEnv>, schema: S): z.output<S> {
  const raw: Record<string, string> = {};
  for (const [name, values] of Object.entries(c.req.queries())) {
    const set = values.map((v) => v.trim()).filter((v) => v !== '');
    if (set.length > 0) raw[name] = set.join(',');
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new ProblemError('invalid-request', 'the address has a value these pages do not accept', zodErrors(parsed.error));
  return parsed.data;
}

export function parseParams<S extends z.ZodType>(c: Context<AppEnv>, schema: S): z.output<S> {
  const parsed = schema.safeParse(c.req.param());
  if (!parsed.success) throw new ProblemError('not-found', 'no such page', zodErrors(parsed.error));
  return parsed.data;
}
