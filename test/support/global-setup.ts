import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { startEmbedded, type EmbeddedServer } from '../../src/db/embedded.ts';
import { migrate } from '../../src/db/migrate.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    adminUrl: string;
    templateDatabase: string;
  }
}

let embedded: EmbeddedServer | undefined;
let dataDir: string | undefined;

/**
 * Real PostgreSQL for every test: DATABASE_URL (a superuser's) when set, else an embedded
 * server in a temporary directory. Migrations run once, into a template database that each
 * test file clones (CREATE DATABASE ... TEMPLATE), so files never see each other's rows.
 */
export async function setup(project: TestProject): Promise<void> {
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    dataDir = await mkdtemp(path.join(tmpdir(), 'shipslog-test-'));
    const { chmod } = await import('node:fs/promises');
    await chmod(dataDir, 0o755);
    embedded = await startEmbedded({ dataDir, persistent: false });
    adminUrl = embedded.url('postgres');
  }
  const templateDatabase = `shipslog_template_${process.pid}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin`drop database if exists ${admin(templateDatabase)}`;
    await admin`create database ${admin(templateDatabase)}`;
  } finally {
    await admin.end();
  }
  await migrate(withDatabase(adminUrl, templateDatabase));
  project.provide('adminUrl', adminUrl);
  project.provide('templateDatabase', templateDatabase);
  process.env.SHIPSLOG_TEST_ADMIN_URL = adminUrl;
  process.env.SHIPSLOG_TEST_TEMPLATE = templateDatabase;
}

export async function teardown(): Promise<void> {
  const adminUrl = process.env.SHIPSLOG_TEST_ADMIN_URL;
  const template = process.env.SHIPSLOG_TEST_TEMPLATE;
  if (adminUrl && template && !embedded) {
    // On a shared server, leave no databases behind.
    const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
    try {
      const dbs = await admin<{ datname: string }[]>`
        select datname from pg_database where datname like ${`shipslog_test_${process.pid}_%`} or datname = ${template}
      `;
      for (const { datname } of dbs) await admin`drop database if exists ${admin(datname)} with (force)`;
    } finally {
      await admin.end();
    }
  }
  await embedded?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}
