import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const definitionsDir = fileURLToPath(new URL('../../sql', import.meta.url));

/**
 * The order in which sql/'s subject folders are applied; files inside a folder go in name
 * order. Later folders may use what earlier ones define (audit uses common; api's policies
 * use audit's tables and functions; privileges revokes what all of them created).
 * sql/reports/ holds auditors' queries and is never applied. See sql/README.md.
 */
export const definitionFolders = ['common', 'audit', 'api', 'reconciler', 'compliance', 'agent', 'privileges'] as const;

export interface DefinitionFile {
  /** Path relative to sql/, e.g. "audit/30_audit-trigger.sql". */
  name: string;
  text: string;
}

export function loadDefinitions(dir = definitionsDir): DefinitionFile[] {
  const files: DefinitionFile[] = [];
  for (const folder of definitionFolders) {
    const names = readdirSync(path.join(dir, folder))
      .filter((f) => f.endsWith('.sql'))
      .sort();
    for (const f of names) {
      files.push({ name: `${folder}/${f}`, text: readFileSync(path.join(dir, folder, f), 'utf8') });
    }
  }
  return files;
}

/**
 * What the database records in shipslog.schema_definitions: SHA-256 over the names of the
 * migrations and every sql/ file's name and text, in application order. Equal digests mean
 * the database holds exactly this version's schema (a login that cannot read pgmigrations
 * can still check it).
 */
export function definitionsDigest(files: DefinitionFile[], migrationNames: string[]): string {
  const hash = createHash('sha256');
  for (const m of migrationNames) hash.update(`migration ${m}\0`);
  for (const f of files) hash.update(`${f.name}\0${f.text}\0`);
  return hash.digest('hex');
}
