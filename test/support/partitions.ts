import type { Db } from '../../src/db/client.ts';

/**
 * A monthly partition of deployment_events for each of the `months` months before this one, as
 * years of retained history leave behind (an event older than the oldest partition would land
 * in the default partition, which no time window leaves out). Tests and benchmarks only: the
 * service creates partitions ahead (shipslog.ensure_deployment_event_partitions).
 */
export async function addPastEventPartitions(db: Db, months: number): Promise<void> {
  if (!Number.isInteger(months) || months < 0) throw new Error(`months must be a whole number, got ${months}`);
  await db.unsafe(`
    do $$
    declare m date;
    begin
      for i in 1..${months} loop
        m := (date_trunc('month', now() at time zone 'UTC') - make_interval(months => i))::date;
        execute format('create table if not exists shipslog.%I partition of shipslog.deployment_events for values from (%L) to (%L)',
          format('deployment_events_y%sm%s', to_char(m, 'YYYY'), to_char(m, 'MM')),
          m::timestamp at time zone 'UTC', (m + interval '1 month')::timestamp at time zone 'UTC');
      end loop;
    end
    $$`); // fixed SQL; months is a whole number
}
