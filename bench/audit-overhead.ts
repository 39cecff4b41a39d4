// npm run bench:audit — the cost of shipslog's audit trigger, measured side by side.
//
// The same UPDATE workload (one config field changed per statement, autocommit, 4 concurrent
// connections, random rows of 10,000 deployments with ~1 KB of config) runs against:
//   (a) plain    : a copy of shipslog.deployments with no trigger at all
//   (b) shipslog : shipslog.deployments with its touch + hash-chained audit triggers
//   (c) generic  : a copy with a whole-row jsonb audit trigger (old and new row, as
//                  supa_audit and audit-trigger 91plus store them)
// Rounds rotate the order of the variants; the ratio reported is total statements per
// second of a variant over that of (a), summed across rounds, with the median of the
// per-round ratios beside it as a check on noise. Bytes per event = growth of the audit table (heap + TOAST, and
// with indexes) during the updates / events written.
import postgres from 'postgres';
import { benchDatabase, median } from './support/database.ts';

const DEPLOYMENTS = Number(process.env.BENCH_DEPLOYMENTS ?? 10_000);
const CONNECTIONS = 4;
// Many short rounds in rotating order: on a shared, noisy machine a burst of load then
// lands on every variant alike instead of on whichever ran during it.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 24);
const STATEMENTS_PER_ROUND = Number(process.env.BENCH_STATEMENTS ?? 500);

const variants = ['plain', 'shipslog', 'generic', 'withNotify'] as const;
type Variant = (typeof variants)[number];
const tableOf: Record<Variant, string> = {
  plain: 'bench.plain_deployments',
  shipslog: 'shipslog.deployments',
  generic: 'bench.generic_deployments',
  withNotify: 'shipslog.deployments',
};

async function setUp(sql: postgres.Sql): Promise<void> {
  await sql.unsafe(`
    create schema bench;
    create table bench.plain_deployments (like shipslog.deployments including all);
    create table bench.generic_deployments (like shipslog.deployments including all);
    create table bench.audit_log (
      id bigserial primary key,
      table_name text not null,
      op text not null,
      actor text not null default current_user,
      changed_at timestamptz not null default clock_timestamp(),
      txid bigint not null default txid_current(),
      old_record jsonb,
      record jsonb
    );
    create index on bench.audit_log (changed_at);
    create function bench.generic_audit() returns trigger language plpgsql as $$
    begin
      insert into bench.audit_log (table_name, op, old_record, record)
      values (tg_table_name, tg_op,
              case when tg_op <> 'INSERT' then to_jsonb(old) end,
              case when tg_op <> 'DELETE' then to_jsonb(new) end);
      return null;
    end $$;
    create trigger generic_audit after insert or update or delete on bench.generic_deployments
      for each row execute function bench.generic_audit();
  `); // fixed DDL of the benchmark, no input
  // ~1 KB of config: 24 settings of ~40 bytes each.
  const config = `(select jsonb_object_agg('setting_' || k, 'value-' || md5(k::text || g::text)) from generate_series(1, 24) as k)`;
  for (const variant of ['plain', 'shipslog', 'generic'] as const) {
    await sql.unsafe(`
      insert into ${tableOf[variant]} (tenant, name, recipe, app_version, config)
      select 'bench', 'app-' || g, 'postgresql', '16', ${config}
      from generate_series(1, ${DEPLOYMENTS}) as g
    `); // table names from the fixed map above
  }
  await sql`vacuum analyze`;
}

// The reconciler's wake-up NOTIFY is not part of the audit trail, and PostgreSQL serialises
// the commits of notifying transactions (one global lock held through the commit's flush),
// so it is measured as its own variant: (b) without it, (d) with it.
async function setNotify(sql: postgres.Sql, on: boolean): Promise<void> {
  const [t] = await sql`select 1 from pg_trigger where tgname = 'deployments_notify_reconciler'`;
  if (!t) return;
  if (on) await sql`alter table shipslog.deployments enable trigger deployments_notify_reconciler`;
  else await sql`alter table shipslog.deployments disable trigger deployments_notify_reconciler`;
}

async function ids(sql: postgres.Sql, variant: Variant): Promise<string[]> {
  const rows = await sql.unsafe<{ id: string }[]>(`select id from ${tableOf[variant]}`); // fixed table name
  return rows.map((r) => r.id);
}

async function round(pools: postgres.Sql[], variant: Variant, rowIds: string[], roundNo: number): Promise<number> {
  const table = tableOf[variant];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    pools.map(async (db) => {
      while (next < STATEMENTS_PER_ROUND) {
        const i = next++;
        const id = rowIds[(i * 7919 + (roundNo + 2) * 104729) % rowIds.length]!;
        const field = `setting_${(i % 24) + 1}`;
        await db.unsafe(`update ${table} set config = jsonb_set(config, array[$1], to_jsonb($2::text)) where id = $3`, [
          field,
          `value-r${roundNo}-${i}`,
          id,
        ]); // table name from the fixed map; values are parameters
      }
    }),
  );
  return STATEMENTS_PER_ROUND / ((performance.now() - started) / 1000);
}

async function auditSize(sql: postgres.Sql): Promise<Record<'shipslog' | 'generic', { table: number; total: number; rows: number }>> {
  const [r] = await sql<{ st: string; stt: string; sn: string; gt: string; gtt: string; gn: string }[]>`
    select pg_table_size('shipslog.deployment_events') as st,
           pg_total_relation_size('shipslog.deployment_events') as stt,
           (select count(*) from shipslog.deployment_events) as sn,
           pg_table_size('bench.audit_log') as gt,
           pg_total_relation_size('bench.audit_log') as gtt,
           (select count(*) from bench.audit_log) as gn`;
  return {
    shipslog: { table: Number(r!.st), total: Number(r!.stt), rows: Number(r!.sn) },
    generic: { table: Number(r!.gt), total: Number(r!.gtt), rows: Number(r!.gn) },
  };
}

async function main(): Promise<void> {
  const database = await benchDatabase('audit');
  const sql = postgres(database.url, { max: 1, onnotice: () => {} });
  const pools = Array.from({ length: CONNECTIONS }, () => postgres(database.url, { max: 1, onnotice: () => {} }));
  try {
    console.log(`setting up ${DEPLOYMENTS} deployments x 3 tables ...`);
    await setUp(sql);
    const shipslogIds = await ids(sql, 'shipslog');
    const rowIds = { plain: await ids(sql, 'plain'), shipslog: shipslogIds, generic: await ids(sql, 'generic'), withNotify: shipslogIds };
    const run = async (v: Variant, r: number) => {
      if (v === 'shipslog' || v === 'withNotify') await setNotify(sql, v === 'withNotify');
      return round(pools, v, rowIds[v], r);
    };
    // Warm-up: one short round each, not counted.
    for (const v of variants) await run(v, -1);
    const tps: Record<Variant, number[]> = { plain: [], shipslog: [], generic: [], withNotify: [] };
    let before = await auditSize(sql);
    const genericBefore = before.generic;
    let shipslogGrowth = { table: 0, total: 0, rows: 0 };
    const seconds: Record<Variant, number> = { plain: 0, shipslog: 0, generic: 0, withNotify: 0 };
    for (let r = 0; r < ROUNDS; r++) {
      const order = variants.map((_, i) => variants[(i + r) % variants.length]!);
      for (const v of order) {
        const rate = await run(v, r);
        tps[v].push(rate);
        seconds[v] += STATEMENTS_PER_ROUND / rate;
        // Bytes per event counts only the audit-only rounds' growth of the events table.
        const now = await auditSize(sql);
        if (v === 'shipslog') {
          shipslogGrowth = {
            table: shipslogGrowth.table + now.shipslog.table - before.shipslog.table,
            total: shipslogGrowth.total + now.shipslog.total - before.shipslog.total,
            rows: shipslogGrowth.rows + now.shipslog.rows - before.shipslog.rows,
          };
        }
        before = { ...now, generic: before.generic };
      }
      if ((r + 1) % 4 === 0 || r === ROUNDS - 1) {
        const rate = (v: Variant) => ((STATEMENTS_PER_ROUND * (r + 1)) / seconds[v]).toFixed(0);
        console.log(
          `after ${r + 1}/${ROUNDS} rounds: plain ${rate('plain')}/s, shipslog ${rate('shipslog')}/s, generic ${rate('generic')}/s, shipslog+notify ${rate('withNotify')}/s`,
        );
      }
    }
    await setNotify(sql, true);
    const after = await auditSize(sql);
    const ratio = (v: Variant) =>
      `${(seconds.plain / seconds[v]).toFixed(2)} (median of rounds ${median(tps[v].map((t, i) => t / tps.plain[i]!)).toFixed(2)})`;
    const perEvent = (k: 'shipslog' | 'generic', f: 'table' | 'total') =>
      k === 'shipslog' ? shipslogGrowth[f] / shipslogGrowth.rows : (after[k][f] - genericBefore[f]) / (after[k].rows - genericBefore.rows);
    const [sample] = await sql<{ bytes: number }[]>`
      select avg(pg_column_size(e.*))::int as bytes from shipslog.deployment_events as e where action = 'config_changed'`;

    console.log('');
    console.log(`workload: ${ROUNDS} rounds x ${STATEMENTS_PER_ROUND} one-field UPDATEs per table, ${CONNECTIONS} connections, ${DEPLOYMENTS} rows, ~1 KB config`);
    console.log(`throughput ratio b/a (shipslog / no trigger): ${ratio('shipslog')}   (target >= 0.80)`);
    console.log(`throughput ratio c/a (generic whole-row / no trigger): ${ratio('generic')}`);
    console.log(`throughput ratio d/a (shipslog + reconciler wake-up NOTIFY / no trigger): ${ratio('withNotify')}`);
    console.log(
      `bytes per one-field event, shipslog: ${perEvent('shipslog', 'table').toFixed(0)} table (row itself ${sample?.bytes}), ${perEvent('shipslog', 'total').toFixed(0)} with indexes   (target <= 400)`,
    );
    console.log(
      `bytes per one-field event, generic:  ${perEvent('generic', 'table').toFixed(0)} table, ${perEvent('generic', 'total').toFixed(0)} with indexes`,
    );
  } finally {
    await Promise.all([sql, ...pools].map((p) => p.end()));
    await database.close();
  }
}

await main();
