import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { migrationChecksumsFile, migrationsDir } from '../../src/db/migrate.ts';

// node-pg-migrate records only a migration's name, so an edit of a migration that a database
// has already run would go unnoticed there. migrations/CHECKSUMS (sha256sum format: check it
// by hand with `cd migrations && sha256sum -c CHECKSUMS`) pins every released migration.
const checksumsFile = path.join(migrationsDir, migrationChecksumsFile);

function recorded(): Map<string, string> {
  const entries = new Map<string, string>();
  for (const line of readFileSync(checksumsFile, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const match = /^([0-9a-f]{64}) {2}(\S+)$/.exec(line);
    if (!match) throw new Error(`migrations/CHECKSUMS: not "<sha256>  <file>": ${line}`);
    entries.set(match[2] as string, match[1] as string);
  }
  return entries;
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(path.join(migrationsDir, file))).digest('hex');

describe('migration checksums', () => {
  const files = readdirSync(migrationsDir).filter((f) => f.endsWith('.sql')).sort();

  it('no released migration has been edited', () => {
    const edited = [...recorded()]
      .filter(([file]) => files.includes(file))
      .filter(([file, hash]) => sha256(file) !== hash)
      .map(([file]) => `migrations/${file} differs from its released checksum: write a new migration instead`);
    expect(edited).toEqual([]);
  });

  it('no released migration has been removed', () => {
    const removed = [...recorded().keys()].filter((file) => !files.includes(file));
    expect(removed).toEqual([]);
  });

  it('every migration is listed', () => {
    const entries = recorded();
    const missing = files
      .filter((f) => !entries.has(f))
      .map((f) => `migrations/${f} is not in migrations/CHECKSUMS; add the line: ${sha256(f)}  ${f}`);
    expect(missing).toEqual([]);
  });
});
