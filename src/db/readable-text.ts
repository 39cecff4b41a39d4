/**
 * Per-event text that is cheap in TypeScript and costly per row in SQL (each call of a
 * function with `set search_path` is a full function call, ~20 us under load; a history
 * page of 50 events made ~10 per row). Both are exact ports of the SQL functions, which
 * psql users call: test/api/readable.test.ts compares them on every kind of event.
 * It lives in db/, beside the query whose rows it finishes (readable-events.ts): the db
 * layer imports nothing from audit/, which builds on db/.
 */

const thresholds: [number, (s: number) => string][] = [
  [0, () => 'in the future'],
  [45, () => 'just now'],
  [90, () => '1 minute ago'],
  [2700, (s) => `${roundHalfUp(s / 60)} minutes ago`],
  [5400, () => '1 hour ago'],
  [79200, (s) => `${roundHalfUp(s / 3600)} hours ago`],
  [129600, () => '1 day ago'],
  [2592000, (s) => `${roundHalfUp(s / 86400)} days ago`],
  [3888000, () => '1 month ago'],
  [31536000, (s) => `${roundHalfUp(s / 2592000)} months ago`],
  [47304000, () => '1 year ago'],
];

/** shipslog.relative_time(ts, now): "3 hours ago". `seconds` = now - ts. */
export function relativeTime(seconds: number): string {
  for (const [limit, text] of thresholds) if (seconds < limit) return text(seconds);
  return `${roundHalfUp(seconds / 31536000)} years ago`;
}

// PostgreSQL's round(numeric) rounds halves away from zero; the values here are positive.
function roundHalfUp(x: number): number {
  return Math.floor(x + 0.5);
}

/** shipslog.describe_event for an update: its change lines joined, or the action when none. */
export function summaryOf(action: string, lines: string[], createdOrRemoved: string | null): string {
  if (createdOrRemoved !== null) return createdOrRemoved;
  return lines.length > 0 ? lines.join('; ') : action;
}
