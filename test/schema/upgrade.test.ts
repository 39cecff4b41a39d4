import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { runner } from 'node-pg-migrate';
import postgres from 'postgres';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createDb, type Db } from '../../src/db/client.ts';
import { migrate } from '../../src/db/migrate.ts';
import { baselineMigration, releasedMigrations } from '../../src/db/released-history.ts';
import { dumpSchema } from '../../src/db/schema-dump.ts';
import { withDatabase } from '../support/global-setup.ts';

// A database migrated by shipslog 0.1.0 (its 30 migrations, kept verbatim in
// test/fixtures/migrations-0.1.0) and holding history must upgrade with today's
// `shipslog migrate` to exactly the schema of a fresh database, every chain still verifying.
const releasedDir = fileURLToPath(new URL('../fixtures/migrations-0.1.0', import.meta.url));
const adminUrl = inject('adminUrl');
const template = inject('templateDatabase');
const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
const pools: Db[] = [];
const databases: string[] = [];

afterAll(async () => {
  await Promise.all(pools.map((p) => p.end({ timeout: 5 })));
  for (const name of databases) await admin`drop database if exists ${admin(name)} with (force)`;
  await admin.end();
});

async function emptyDatabase(label: string): Promise<string> {
  const name = `shipslog_test_${template.split('_').pop()}_${label}`;
  await admin`drop database if exists ${admin(name)} with (force)`;
  await admin`create database ${admin(name)}`;
  databases.push(name);
  return withDatabase(adminUrl, name);
}

function connect(url: string): Db {
  const db = createDb(url, { max: 2 });
  pools.push(db);
  return db;
}

async function migrateAsReleased(url: string): Promise<void> {
  await runner({
    databaseUrl: url,
    dir: releasedDir,
    ignorePattern: '\\..*|README\\.md',
    direction: 'up',
    migrationsTable: 'pgmigrations',
    migrationsSchema: 'public',
    checkOrder: true,
    singleTransaction: true,
    log: () => {},
  });
}

// History of every kind 0.1.0 could write: creates, config and version changes, a restart,
// a rotation, a removal request, a removal, and a bulk update typed into psql.
async function writeHistory(db: Db): Promise<void> {
  await db.begin(async (tx) => {
    await tx`select set_config('shipslog.actor', 'alice@example.com', true), set_config('shipslog.actor_type', 'user', true)`;
    for (let i = 0; i < 5; i++) {
      await tx`
        insert into shipslog.deployments (tenant, name, recipe, app_version, config)
        values ('acme', ${`db-${i}`}, 'postgresql', '16', ${tx.json({ storage: '8Gi' })})
      `;
    }
  });
  await db`update shipslog.deployments set config = config || '{"storage": "16Gi"}' where name = 'db-1'`;
  await db`update shipslog.deployments set app_version = '17' where name in ('db-1', 'db-2')`;
  await db`update shipslog.deployments set restarted_at = now() where name = 'db-3'`;
  await db`update shipslog.deployments set deletion_requested_at = now() where name = 'db-4'`;
  await db`delete from shipslog.deployments where name = 'db-4'`;
  await db`update shipslog.deployments set health = 'Healthy'`;
}

async function pgDumpFor(url: string, major: number): Promise<string | null> {
  const bin = `/usr/lib/postgresql/${major}/bin/pg_dump`;
  if (!existsSync(bin)) return null;
  const { stdout } = await promisify(execFile)(bin, ['--schema-only', '--no-owner', '--schema=shipslog', url], {
    maxBuffer: 64 * 1024 * 1024,
  });
  // Drop what differs between two equal schemas: comments, blank lines, pg_dump's per-run
  // \restrict token, and the monthly partitions' names (the month they were created in).
  return stdout
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('--') && !/^\\(un)?restrict /.test(l))
    .join('\n');
}

describe('upgrade from shipslog 0.1.0', () => {
  it('gives the schema of a fresh database, keeps every event and every chain verifying', async () => {
    const oldUrl = await emptyDatabase('upgrade_old');
    await migrateAsReleased(oldUrl);
    const old = connect(oldUrl);
    await writeHistory(old);
    const [before] = await old<{ events: number; last: Buffer }[]>`
      select count(*)::int as events, (array_agg(hash order by seq desc))[1] as last from shipslog.deployment_events
    `;
    expect(before?.events).toBe(15); // 5 created, 1 config, 2 upgrades, 1 restart, 1 removal requested, 1 removed, 4 health

    const result = await migrate(oldUrl);
    expect(result.definitionsApplied).toBe(true);
    const recorded = await old<{ name: string }[]>`select name from public.pgmigrations order by run_on, id`;
    expect(recorded.map((r) => r.name)[0]).toBe(baselineMigration);
    expect(recorded.map((r) => r.name)).not.toContain(releasedMigrations[0]);

    const freshUrl = withDatabase(adminUrl, template);
    const fresh = connect(freshUrl);
    expect(await dumpSchema(old)).toBe(await dumpSchema(fresh));

    const [row] = await old<{ major: number }[]>`select current_setting('server_version_num')::int / 10000 as major`;
    const major = row?.major ?? 0;
    const oldDump = await pgDumpFor(oldUrl, major);
    if (oldDump !== null) expect(oldDump).toBe(await pgDumpFor(freshUrl, major));

    const [after] = await old<{ events: number; last: Buffer }[]>`
      select count(*)::int as events, (array_agg(hash order by seq desc))[1] as last from shipslog.deployment_events
    `;
    expect(after).toEqual(before);
    expect(await old`select * from shipslog.verify_chains()`).toEqual([]);

    // And the upgraded database works: the audit trigger of today extends the old chains.
    await old`update shipslog.deployments set config = config || '{"storage": "32Gi"}' where name = 'db-1'`;
    expect(await old`select * from shipslog.verify_chains()`).toEqual([]);
    // A second migrate finds nothing left to do.
    expect((await migrate(oldUrl)).applied).toEqual([]);
  }, 120_000);

  it('refuses a database that holds only part of 0.1.0 history, and changes nothing', async () => {
    const url = await emptyDatabase('upgrade_partial');
    const db = connect(url);
    await db`create table public.pgmigrations (id serial primary key, name varchar(255) not null, run_on timestamp not null)`;
    await db`insert into public.pgmigrations (name, run_on) values ('0001_schema-and-roles', now()), ('0002_deployments', now())`;
    await expect(migrate(url)).rejects.toThrow(/holds 2 of shipslog 0\.1\.0's 30 migrations .* Migrate it with shipslog 0\.1\.0 first/);
    expect(await db`select name from public.pgmigrations order by id`).toEqual([
      { name: '0001_schema-and-roles' },
      { name: '0002_deployments' },
    ]);
  });
});
