/**
 * Ages as people type them for retention: `7d`, `36h`, `90m`, `2w`, `3600s`, or `0`
 * (keep forever). Returns whole seconds; null when the text is not such an age.
 */
const unitSeconds: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

export function parseDuration(text: string): number | null {
  const trimmed = text.trim();
  if (trimmed === '0') return 0;
  const match = /^(\d{1,6})\s*([smhdw])$/.exec(trimmed);
  if (!match) return null;
  return Number(match[1]) * unitSeconds[match[2]!]!;
}

/** The shortest age the database's purge path accepts (shipslog.purge_agent_messages, SL308). */
export const minimumRetentionSeconds = 86_400;

export function formatDuration(seconds: number): string {
  if (seconds === 0) return 'forever';
  for (const [unit, size] of [['d', 86_400], ['h', 3600], ['m', 60]] as const) {
    if (seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}
