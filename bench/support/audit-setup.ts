// The tables, triggers and pgbench scripts of bench/audit-overhead.ts.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type postgres from 'postgres';

export const DEPLOYMENTS = Number(process.env.BENCH_DEPLOYMENTS ?? 10_000);

export const variants = ['plain', 'shipped', 'everyWake', 'generic', 'floor', 'eventRow'] as const;
export type Variant = (typeof variants)[number];
export const shapes = ['nested', 'flat'] as const;
export type Shape = (typeof shapes)[number];

export const labels: Record<Variant, string> = {
  plain: '(a) plain: no trigger',
  shipped: '(b) shipslog as shipped',
  everyWake: '(d) as shipped, every write wakes',
  generic: '(c) generic whole-row trigger',
  floor: '(f) one-INSERT floor',
  eventRow: '(g) the event row alone',
};

export const tableOf: Record<Variant, string> = {
  plain: 'bench.plain_deployments',
  shipped: 'shipslog.deployments',
  everyWake: 'shipslog.deployments',
  generic: 'bench.generic_deployments',
  floor: 'bench.floor_deployments',
  eventRow: 'bench.event_row_deployments',
};

// Each copy has shipslog.deployments' columns, indexes and CHECKs (LIKE ... INCLUDING ALL);
// (c) stores old and new row as jsonb, as supa_audit and audit-trigger 91plus do; (f) only
// inserts one 256-byte row into another table: the floor of any synchronous trigger audit.
// (g) is (f) with shipslog's event as the row: one INSERT of an event-sized row (a one-field
// change's states, a 32-byte hash) into a copy of deployment_events with its monthly
// partitioning and every index (the per-partition chain key included), and nothing else: no
// diff, payload, hash, guard or bookkeeping. What any synchronous design that keeps this table
// and its reads would pay, whatever language its trigger is written in.
// (d) is shipslog.deployments with the reconciler wake-up as it was before issue 10: a NOTIFY
// on every desired-state change (the shipped one wakes only on settled -> pending).
const ddl = `
  create schema bench;
  create table bench.plain_deployments (like shipslog.deployments including all);
  create table bench.generic_deployments (like shipslog.deployments including all);
  create table bench.floor_deployments (like shipslog.deployments including all);
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
  create table bench.floor_log (id bigserial primary key, payload text not null);
  create function bench.floor_audit() returns trigger language plpgsql as $$
  begin
    insert into bench.floor_log (payload) values (repeat('x', 256));
    return null;
  end $$;
  create trigger floor_audit after insert or update or delete on bench.floor_deployments
    for each row execute function bench.floor_audit();
  create table bench.event_row_deployments (like shipslog.deployments including all);
  create table bench.events (like shipslog.deployment_events including all) partition by range (occurred_at);
  do $$
  declare
    m date := date_trunc('month', now() at time zone 'UTC')::date;
  begin
    for i in 0..3 loop
      execute format('create table bench.events_%s partition of bench.events for values from (%L) to (%L)', i,
        (m + make_interval(months => i))::timestamp at time zone 'UTC', (m + make_interval(months => i + 1))::timestamp at time zone 'UTC');
      execute format('create unique index on bench.events_%s (deployment_id, chain_index)', i);
    end loop;
  end
  $$;
  create table bench.events_default partition of bench.events default;
  create unique index on bench.events_default (deployment_id, chain_index);
  create sequence bench.event_chain;
  create function bench.event_row_audit() returns trigger language plpgsql as $$
  begin
    insert into bench.events (deployment_id, chain_index, tenant, name, action, occurred_at, txid, actor, actor_type,
                              db_role, db_user, previous_state, new_state, hash)
    values (new.id, nextval('bench.event_chain'), new.tenant, new.name, 'config_changed', clock_timestamp(),
            pg_current_xact_id(), 'bench', 'user', current_user, session_user,
            '{"config": {"storage": "8Gi"}}', '{"config": {"storage": "9Gi"}}',
            '\\x0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef');
    return null;
  end $$;
  create trigger event_row_audit after insert or update or delete on bench.event_row_deployments
    for each row execute function bench.event_row_audit();
  create function bench.notify_every_write() returns trigger language plpgsql as $$
  begin
    if new.generation <> old.generation then
      perform pg_notify('shipslog_reconcile', new.id::text);
    end if;
    return null;
  end $$;
  create trigger bench_notify_every_write after update on shipslog.deployments
    for each row execute function bench.notify_every_write();
  alter table shipslog.deployments disable trigger bench_notify_every_write;
`;

// Two config shapes, both with config.storage (the field every statement changes):
// nested: 20 keys, {"storage", "replicas", "resources": {"requests": {...}, "limits": {...}},
// "env": {"VAR_1" ... "VAR_10"}} (~700 bytes); flat: 24 settings (~1.3 KB).
const fill = (table: string) => `
  insert into ${table} (tenant, name, recipe, app_version, config)
  select 'nested', 'app-' || g, 'postgresql', '16',
    jsonb_build_object('storage', '8Gi', 'replicas', 1,
      'resources', jsonb_build_object('requests', jsonb_build_object('cpu', '500m', 'memory', '1Gi'),
                                      'limits', jsonb_build_object('cpu', '2', 'memory', '4Gi')),
      'env', (select jsonb_object_agg('VAR_' || k, 'value-' || md5(k::text || g::text)) from generate_series(1, 10) as k))
  from generate_series(1, ${DEPLOYMENTS}) as g;
  insert into ${table} (tenant, name, recipe, app_version, config)
  select 'flat', 'app-' || g, 'postgresql', '16',
    jsonb_build_object('storage', '8Gi')
      || (select jsonb_object_agg('setting_' || k, 'value-' || md5(k::text || g::text)) from generate_series(1, 23) as k)
  from generate_series(1, ${DEPLOYMENTS}) as g;
`;

export async function setUp(sql: postgres.Sql): Promise<void> {
  await sql.unsafe(ddl); // fixed DDL of the benchmark, no input
  for (const table of new Set(Object.values(tableOf))) await sql.unsafe(fill(table)); // table names from the fixed map
  // BENCH_FLEET=settled: a reconciled fleet, every deployment settled at its generation, so the
  // first write to each goes from settled to pending and wakes the reconciler (a NOTIFY, which
  // serialises commits), later ones do not: the share that wakes then depends on how many
  // writes a round makes, i.e. on the machine's load. The default leaves the fleet pending
  // (work queued, as under a steady stream of writes): (b) then never notifies, and (d), a
  // NOTIFY on every write, is what each settled deployment's first write costs.
  if (process.env.BENCH_FLEET === 'settled') {
    await sql`update shipslog.deployments set observed_generation = generation, status = 'applied'`;
  }
  await sql`vacuum analyze`;
}

/**
 * (d) adds the former wake-up (a NOTIFY on every desired-state change) to shipslog.deployments
 * as shipped. The recipe check and the shipped wake-up are statements of the audit trigger
 * (issue 10), so there is no trigger to disable for an "audit only" variant any more.
 */
export async function configure(sql: postgres.Sql, v: Variant): Promise<void> {
  if (v !== 'shipped' && v !== 'everyWake') return;
  await sql.unsafe(`alter table shipslog.deployments ${v === 'everyWake' ? 'enable' : 'disable'} trigger bench_notify_every_write`); // fixed names
}

/** The statement every variant runs: config.storage of a random row set to a new value. */
export function statement(table: string, shape: Shape, n: string, value: string): string {
  return `update ${table} set config = jsonb_set(config, '{storage}', to_jsonb(${value})) where tenant = '${shape}' and name = 'app-' || ${n}`;
}

export interface Pgbench {
  bin: string;
  version: string;
  dir: string;
  run: (url: string, v: Variant, shape: Shape, seconds: number) => Promise<{ tps: number; transactions: number }>;
  close: () => Promise<void>;
}

/** Finds pgbench: BENCH_PGBENCH, else the newest /usr/lib/postgresql/N/bin/pgbench, else PATH. */
export async function findPgbench(): Promise<string | null> {
  if (process.env.BENCH_PGBENCH) return process.env.BENCH_PGBENCH;
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = (await readdir(root)).filter((d) => /^\d+$/.test(d)).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) if (existsSync(path.join(root, v, 'bin', 'pgbench'))) return path.join(root, v, 'bin', 'pgbench');
  }
  return (await run('sh', ['-c', 'command -v pgbench']).catch(() => '')).trim() || null;
}

function run(bin: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { maxBuffer: 1 << 20 }, (err, stdout, stderr) => (err ? reject(new Error(`${bin}: ${stderr || err.message}`)) : resolve(stdout)));
  });
}

/** pgbench with one custom script per variant and shape: 4 clients, 2 threads, -n (no vacuum of pgbench's tables). */
export async function createPgbench(bin: string): Promise<Pgbench> {
  const dir = await mkdtemp(path.join(tmpdir(), 'shipslog-pgbench-'));
  for (const v of new Set(Object.values(tableOf))) {
    for (const shape of shapes) {
      const script = `\\set n random(1, ${DEPLOYMENTS})\n\\set v random(1, 1000000000)\n${statement(v, shape, ':n', "(:v || 'Gi')")};\n`;
      await writeFile(path.join(dir, `${v}-${shape}.sql`), script);
    }
  }
  const version = (await run(bin, ['--version'])).trim();
  return {
    bin,
    version,
    dir,
    async run(url, v, shape, seconds) {
      const out = await run(bin, ['-n', '-c', '4', '-j', '2', '-T', String(seconds), '-f', path.join(dir, `${tableOf[v]}-${shape}.sql`), url]);
      const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(out);
      const tx = /number of transactions actually processed: (\d+)/.exec(out);
      const failed = /number of failed transactions: (\d+)/.exec(out);
      if (!tps || !tx) throw new Error(`unexpected pgbench output:\n${out}`);
      if (failed && Number(failed[1]) > 0) throw new Error(`pgbench: ${failed[1]} failed transactions (${v}, ${shape})`);
      return { tps: Number(tps[1]), transactions: Number(tx[1]) };
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
}
