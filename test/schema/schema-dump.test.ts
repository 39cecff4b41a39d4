import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dumpSchema } from '../../src/db/schema-dump.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

// schema.sql is the whole schema of a freshly migrated database, one object per line or
// block, so that every schema change shows in review as its diff. After a deliberate change:
// `npm run schema:update` (vitest -u on this file) rewrites it; CI never does (it fails).
let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

describe('schema.sql', () => {
  it('is the schema of a freshly migrated database', async () => {
    const [row] = await t.db<{ major: number }[]>`select current_setting('server_version_num')::int / 10000 as major`;
    const major = row?.major;
    const dump = await dumpSchema(t.db);
    if (major === 18) {
      await expect(dump).toMatchFileSnapshot('../../schema.sql');
    } else {
      // schema.sql is made on PostgreSQL 18, the embedded server. Older servers print view
      // bodies with every column qualified by its table; all else must be the same.
      const committed = await readFile(new URL('../../schema.sql', import.meta.url), 'utf8');
      expect(withoutViewBodies(dump)).toBe(withoutViewBodies(committed));
    }
  });
});

function withoutViewBodies(dump: string): string {
  return dump.replace(/^view (\S+) as\n[\s\S]*?;$/gm, 'view $1 as (body)');
}
