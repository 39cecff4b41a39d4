import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// The layering of DESIGN.md, checked on the source text: db/ is the bottom layer (audit/,
// api/ and the reconciler build on it, never the reverse), and the reconciler reaches the
// database only through db/ functions (issue 8, item 4).

const src = path.resolve(import.meta.dirname, '../src');
const filesOf = (dir: string) =>
  readdirSync(path.join(src, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => ({ name: `${dir}/${f}`, text: readFileSync(path.join(src, dir, f), 'utf8') }));

describe('layering', () => {
  it('src/db imports nothing from the layers above it', () => {
    const upward = filesOf('db').flatMap(({ name, text }) =>
      [...text.matchAll(/from '\.\.\/(audit|api|reconciler|cli|agent|recipes)\//g)].map((m) => `${name} imports ${m[1]}/`),
    );
    expect(upward).toEqual([]);
  });

  it('src/reconciler runs no SQL of its own: its queries are functions in src/db', () => {
    // A postgres.js query is a tagged template on a connection: db`...`, tx`...`, sql`...`.
    const queries = filesOf('reconciler').flatMap(({ name, text }) =>
      [...text.matchAll(/\b(db|tx|sql)(<[^>\n]*>)?`/g)].map((m) => `${name}: ${m[0].slice(0, 40)}`),
    );
    expect(queries).toEqual([]);
  });

  it('src holds no copy of the readable history text: sql/audit/60_history.sql is its one implementation', () => {
    // Pieces of the rules (relative time, value and change lines, the change walk) that a
    // TypeScript or inline-SQL copy would have to spell out again.
    const markers = [/ minutes ago/, /' items'/, /'upgraded '/, /'secrets rotated'/, /jsonb_object_keys/, /pg_column_size/];
    const copies = ['db', 'audit', 'api', 'agent', 'cli'].flatMap(filesOf).flatMap(({ name, text }) =>
      markers.filter((m) => m.test(text)).map((m) => `${name} matches ${m}`),
    );
    expect(copies).toEqual([]);
  });
});
