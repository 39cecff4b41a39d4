import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * The real psql client, as auditors run sql/reports/. CI (.ci/run) runs on Debian machines
 * with postgresql-client installed, so /usr/bin/psql is expected there; elsewhere the first
 * psql on PATH. Missing psql is an error with the way to fix it, never a silent skip.
 */
export function findPsql(): string {
  const candidates = ['/usr/bin/psql', ...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean).map((d) => path.join(d, 'psql'))];
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      'psql not found at /usr/bin/psql nor on PATH: the auditors\' reports are tested with the real client. ' +
        'Install it (Debian: apt-get install postgresql-client); CI machines have it.',
    );
  }
  return found;
}

export interface PsqlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs psql against `url` with `args` (after -X -v ON_ERROR_STOP=1). Connection settings go
 * through PG* variables of a minimal environment, so the caller's PGOPTIONS, ~/.psqlrc or
 * service files cannot change what a report sees; times print in UTC.
 */
export function runPsql(psql: string, url: string, args: string[]): Promise<PsqlResult> {
  const u = new URL(url);
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    PGHOST: u.hostname,
    PGPORT: u.port || '5432',
    PGDATABASE: decodeURIComponent(u.pathname.slice(1)),
    PGUSER: decodeURIComponent(u.username),
    PGPASSWORD: decodeURIComponent(u.password),
    PGAPPNAME: 'shipslog reports test',
    PGCLIENTENCODING: 'UTF8',
    PGCONNECT_TIMEOUT: '10',
    PGTZ: 'UTC',
  };
  return new Promise((resolve) => {
    execFile(psql, ['-X', '-v', 'ON_ERROR_STOP=1', ...args], { env, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** psql --csv output (RFC 4180): an unquoted empty field is NULL, a quoted one the empty string. */
export function parseCsv(text: string): (string | null)[][] {
  const rows: (string | null)[][] = [];
  let row: (string | null)[] = [];
  let field = '';
  let inQuotes = false;
  let wasQuoted = false;
  const endField = () => {
    row.push(field === '' && !wasQuoted ? null : field);
    field = '';
    wasQuoted = false;
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (inQuotes) {
      if (ch !== '"') field += ch;
      else if (text[i + 1] === '"') {
        field += '"';
        i++;
      } else inQuotes = false;
    } else if (ch === '"') {
      inQuotes = true;
      wasQuoted = true;
    } else if (ch === ',') {
      endField();
    } else if (ch === '\n') {
      endField();
      rows.push(row);
      row = [];
    } else if (ch !== '\r') {
      field += ch;
    }
  }
  if (field !== '' || wasQuoted || row.length > 0) {
    endField();
    rows.push(row);
  }
  return rows;
}

/** One result set of psql --csv as objects keyed by column name. */
export function csvRecords(text: string): Record<string, string | null>[] {
  const [header, ...rows] = parseCsv(text);
  if (!header) return [];
  return rows.map((r) => Object.fromEntries(header.map((name, i) => [name ?? '', r[i] ?? null])));
}
