import type pg from 'pg';

/**
 * shipslog 0.1.0 shipped its schema as these 30 migrations; they were squashed into
 * migrations/0001_baseline.sql, which creates exactly the tables, indexes and roles they
 * left behind (sql/ re-creates every function, trigger, view, policy and grant).
 */
export const releasedMigrations = [
  '0001_schema-and-roles', '0002_deployments', '0003_deployment-events', '0004_audit-trigger',
  '0005_verify-and-history', '0006_grants', '0007_checkpoints', '0100_api-keys',
  '0101_row-level-security', '0102_api-support', '0103_merge-patch-plpgsql', '0104_idempotency-retention',
  '0200_reconcile-runs', '0201_reconcile-run-triggers', '0202_reconcile-queue-and-notify',
  '0203_reconcile-run-audit-backfill', '0204_reconciler-views-and-grants', '0205_recipe-config-check',
  '0206_reconcile-partitions-concurrent', '0300_agent-messages', '0301_agent-message-retention',
  '0302_agent-analytics', '0303_agent-grants', '0304_agent-analytics-speed', '0305_agent-analytics-totals',
  '0306_agent-least-privilege', '0307_agent-message-daily', '0308_agent-analytics-daily',
  '0309_agent-daily-purge-race', '0400_revoke-public-execute',
];

export const baselineMigration = '0001_baseline';

/**
 * A database migrated by shipslog 0.1.0 records those 30 names; node-pg-migrate would refuse
 * it (none of them is a file any more). When all 30 are recorded, in order, they are replaced
 * by the baseline's one row: the tables are already there. A database with only some of them
 * was migrated by an unreleased build and is refused with a message saying so.
 * Runs inside migrate()'s transaction, under its lock.
 */
export async function adoptReleasedHistory(client: pg.Client, log: (message: string) => void): Promise<void> {
  const { rows: tables } = await client.query<{ exists: boolean }>(
    "select to_regclass('public.pgmigrations') is not null as exists",
  );
  if (!tables[0]?.exists) return;
  const { rows } = await client.query<{ name: string }>('select name from public.pgmigrations order by run_on, id');
  const names = rows.map((r) => r.name);
  const released = names.filter((n) => releasedMigrations.includes(n));
  if (released.length === 0) return;
  const complete =
    names.length >= releasedMigrations.length && releasedMigrations.every((n, i) => names[i] === n);
  if (!complete) {
    throw new Error(
      `this database holds ${released.length} of shipslog 0.1.0's ${releasedMigrations.length} migrations ` +
        `(${released.join(', ')}): it was migrated by an unreleased build. Migrate it with shipslog 0.1.0 first, ` +
        'then with this version.',
    );
  }
  const { rows: first } = await client.query<{ run_on: Date }>(
    'select min(run_on) as run_on from public.pgmigrations where name = any($1)',
    [releasedMigrations],
  );
  await client.query('delete from public.pgmigrations where name = any($1)', [releasedMigrations]);
  await client.query('insert into public.pgmigrations (name, run_on) values ($1, $2)', [baselineMigration, first[0]?.run_on]);
  log(`recorded shipslog 0.1.0's ${releasedMigrations.length} migrations as ${baselineMigration}`);
}
