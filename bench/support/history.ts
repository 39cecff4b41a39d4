import type postgres from 'postgres';

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
