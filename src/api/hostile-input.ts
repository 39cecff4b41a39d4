import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './context.ts';
import { ProblemError } from './problem.ts';

/*
 * The first look at what a client sent, before any route, schema or JSON.parse sees it
 * (issue 9). What no field anywhere may hold is refused here with 400, naming where it is:
 *
 * - nesting deeper than 32 levels, found by a linear scan of the raw text: nothing that
 *   recurses (JSON.stringify, zod, a reviver, our own walks) ever sees more than 32 levels.
 *   A config body needs 18 (config itself is capped at 16, schemas.ts); 10,000 levels of
 *   config used to overflow the stack in JSON.stringify (500).
 * - bytes that are not UTF-8 (RFC 8259 requires it): they used to be read as U+FFFD and
 *   stored so.
 * - NUL and lone surrogates in any string or key: PostgreSQL refuses both in text and jsonb
 *   (its message used to reach the client as a 422), or a surrogate was stored as U+FFFD.
 * - the keys __proto__, constructor and prototype: JSON.parse makes __proto__ an own key,
 *   and zod's record then assigns it to a fresh object, which sets the prototype instead:
 *   {"secrets": {"__proto__": "pw"}} answered 201 with the secret silently dropped.
 * - integers beyond ±(2^53 − 1): JSON.parse rounds them (9007199254740993 becomes ...992),
 *   so they cannot be kept exactly; a client that needs one sends a string.
 * - in the path and query: percent-encoding that is not UTF-8, and NUL.
 *
 * A body that is merely not JSON passes on: the route's validator answers it as before.
 */

/** Deepest nesting of arrays and objects a JSON body may have. */
export const maxBodyDepth = 32;

// The media types Hono's JSON validator reads (hono/validator: application/json, */*+json).
const jsonMediaType = /^application\/([\w.-]+\+)?json$/i;
const refusedKeys = new Set(['__proto__', 'constructor', 'prototype']);
const utf8 = new TextDecoder('utf-8', { fatal: true });

interface Found {
  path: string;
  message: string;
}

export function hostileInput(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const url = checkUrl(c.req.url);
    if (url) throw new ProblemError('invalid-request', `the ${url.path.startsWith('query') ? 'query' : 'path'} ${url.message}`, [url]);
    const mediaType = (c.req.header('content-type') ?? '').split(';')[0]!.trim();
    if (c.req.raw.body && jsonMediaType.test(mediaType)) {
      const bytes = new Uint8Array(await c.req.arrayBuffer());
      let text: string;
      try {
        text = utf8.decode(bytes);
      } catch {
        throw new ProblemError('invalid-request', 'the body is not UTF-8 text (JSON must be, RFC 8259)', [{ path: '(body)', message: 'not UTF-8' }]);
      }
      const found = checkJsonText(text);
      if (found) throw new ProblemError('invalid-request', `the JSON body ${found.message}`, [found]);
      // The route's validator parses this same text: Hono's c.req.json() is JSON.parse of the
      // cached text, and caches hold promises (its BodyCache type says plain values).
      (c.req.bodyCache as { text?: Promise<string> }).text = Promise.resolve(text);
    }
    await next();
  };
}

/** The first thing in a JSON text that no field may hold; null when there is none, or when it is not JSON at all. */
export function checkJsonText(text: string): Found | null {
  const depth = deepestNesting(text);
  if (depth > maxBodyDepth) return { path: '(body)', message: `is nested deeper than ${maxBodyDepth} levels` };
  let value: unknown;
  try {
    value = JSON.parse(text, keepUnsafeIntegers);
  } catch {
    return null;
  }
  return walk(value, []);
}

/**
 * Nesting depth of a JSON text in one pass without recursion: brackets inside strings do
 * not count. Stops counting once past the limit, so the cost is linear in the text.
 */
function deepestNesting(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c) i++; // backslash: skip the escaped character
      else if (ch === 0x22) inString = false;
    } else if (ch === 0x22) {
      inString = true;
    } else if (ch === 0x7b || ch === 0x5b) {
      if (++depth > deepest) deepest = depth;
      if (deepest > maxBodyDepth) return deepest;
    } else if (ch === 0x7d || ch === 0x5d) {
      depth--;
    }
  }
  return deepest;
}

class UnsafeInteger {
  readonly source: string;
  constructor(source: string) {
    this.source = source;
  }
}

/** JSON.parse reviver: an integer literal JavaScript cannot hold exactly is marked with its source text. */
function keepUnsafeIntegers(_key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value === 'number' && !Number.isSafeInteger(value) && context?.source && /^-?\d+$/.test(context.source)) {
    return new UnsafeInteger(context.source);
  }
  return value;
}

// Depth is at most maxBodyDepth here (checked on the text first), so recursion is bounded.
function walk(v: unknown, path: string[]): Found | null {
  const at = () => path.join('.') || '(root)';
  if (typeof v === 'string') {
    const problem = textProblem(v);
    return problem ? { path: at(), message: problem } : null;
  }
  if (v instanceof UnsafeInteger) {
    return { path: at(), message: `holds the integer ${v.source.slice(0, 40)}, beyond ±(2^53 − 1): it cannot be kept exactly; send it as a string` };
  }
  if (Array.isArray(v)) {
    for (const [i, item] of v.entries()) {
      const found = walk(item, [...path, String(i)]);
      if (found) return found;
    }
    return null;
  }
  if (v !== null && typeof v === 'object') {
    for (const [key, item] of Object.entries(v)) {
      const keyPath = [...path, printable(key)];
      if (refusedKeys.has(key)) {
        return { path: keyPath.join('.'), message: `has the key "${key}", which is refused: JavaScript objects treat it as their prototype, so it would be dropped or misread` };
      }
      const problem = textProblem(key);
      if (problem) return { path: keyPath.join('.'), message: `has a key that ${problem}` };
      const found = walk(item, keyPath);
      if (found) return found;
    }
  }
  return null;
}

function textProblem(s: string): string | null {
  if (s.includes('\u0000')) return 'contains a NUL character (\\u0000), which no text field may hold';
  if (!s.isWellFormed()) return 'contains a lone surrogate (half of a UTF-16 pair, e.g. \\ud800), which is not Unicode text';
  return null;
}

/** A key as it can appear in a problem's path: clipped, NUL and lone surrogates made visible. */
function printable(key: string): string {
  return key.slice(0, 40).replaceAll('\u0000', '\\u0000').toWellFormed();
}

/** Percent-encoding that is not UTF-8, or NUL, in the path or in a query parameter's name or value. */
export function checkUrl(url: string): Found | null {
  const start = url.indexOf('/', url.indexOf('://') + 3);
  const end = url.indexOf('#', start);
  const target = start < 0 ? '' : url.slice(start, end < 0 ? undefined : end);
  const q = target.indexOf('?');
  const pathPart = q < 0 ? target : target.slice(0, q);
  const path = decode(pathPart);
  if (path === null) return { path: 'path', message: 'is not percent-encoded UTF-8' };
  if (path.includes('\u0000')) return { path: 'path', message: 'contains a NUL character (%00)' };
  if (q < 0) return null;
  for (const pair of target.slice(q + 1).split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const rawName = eq < 0 ? pair : pair.slice(0, eq);
    const name = decode(rawName.replaceAll('+', ' '));
    const value = eq < 0 ? '' : decode(pair.slice(eq + 1).replaceAll('+', ' '));
    const shown = `query.${(name ?? rawName).slice(0, 40).replaceAll('\u0000', '%00')}`;
    if (name === null || value === null) return { path: shown, message: 'is not percent-encoded UTF-8' };
    if (name.includes('\u0000') || value.includes('\u0000')) return { path: shown, message: 'contains a NUL character (%00)' };
  }
  return null;
}

function decode(s: string): string | null {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}
