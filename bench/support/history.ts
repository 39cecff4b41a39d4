import postgres from 'postgres';
import { benchPgBins } from './cluster.ts';
import { benchDatabase } from './database.ts';

/**
 * The history benchmarks' data: one deployment ('bench', 'history-target') with a tenth of
 * `events` as its own (one UPDATE each, so the trigger writes every event), the rest spread
 * over 90 others. Returns the target's id.
 */
export async function seedHistory(db: postgres.Sql, events: number): Promise<string> {
  const own = Math.floor(events / 10);
  const [target] = await db<{ id: string }[]>`
    insert into shipslog.deployments (tenant, name, recipe, app_version, config)
    values ('bench', 'history-target', 'postgresql', '16', '{"storage": "8Gi"}')
    returning id`;
  await db`
    insert into shipslog.deployments (tenant, name, recipe, app_version, config)
    select 'hist', 'other-' || g, 'redis', '7', '{}'
    from generate_series(1, 90) as g`;
  // Fixed benchmark SQL: one UPDATE per event, so the trigger writes each one.
  await db.unsafe(`
    do $$
    begin
      for i in 1..${own - 1} loop
        update shipslog.deployments set config = jsonb_build_object('storage', (i % 500 + 1) || 'Gi') where name = 'history-target';
      end loop;
      for i in 1..${Math.ceil((events - own) / 90) - 1} loop
        update shipslog.deployments set config = jsonb_build_object('n', i) where tenant = 'hist';
      end loop;
    end
    $$`);
  await db`vacuum analyze shipslog.deployment_events`;
  return target!.id;
}

/**
 * For benchmarks that compare two ways of reading that data: on each server of BENCH_PG_BIN
 * (else DATABASE_URL's, else the embedded one), a fresh database (benchDatabase(label)) seeded
 * with `events`, and two connections to it: `owner`, for the set-up, and `reader`, one
 * connection for the measured reads. Prints which server before seeding; drops all afterwards.
 */
export async function onEachServerWithHistory(
  label: string,
  events: number,
  body: (c: { owner: postgres.Sql; reader: postgres.Sql; target: string }) => Promise<void>,
): Promise<void> {
  const bins = benchPgBins();
  for (const bin of bins.length ? bins : [undefined]) {
    const bench = await benchDatabase(label, bin);
    const owner = postgres(bench.url, { max: 1, onnotice: () => {} });
    const reader = postgres(bench.url, { max: 1, onnotice: () => {} });
    try {
      const [version] = await owner<{ v: string }[]>`select current_setting('server_version') as v`;
      console.log(`\nPostgreSQL ${version!.v}${bin ? ` (${bin})` : ''}: seeding ${events} events ...`);
      await body({ owner, reader, target: await seedHistory(owner, events) });
    } finally {
      await owner.end();
      await reader.end();
      await bench.close();
    }
  }
}
