// npm run bench:agent — agent message reads at scale, both measured in one run.
//
// 1,000,000 agent messages over 100 projects (10 tenants x 10 projects, ~10,000 messages per
// project spread over the last 30 days, 3 models, 1% still placeholders) are generated inside
// PostgreSQL with generate_series. Then, interleaved so machine noise hits both alike:
//   (a) lookup by message id: a random existing id, as the API reads it
//   (b) 30-day analytics for one random project: shipslog.agent_analytics (totals, cost by
//       zero-filled day, cost by model, 10 most recent), i.e. every row of that project
// Analytics reads the daily sums (0307/0308) for whole days and the messages for the partial
// first and last day (~2 x 333 here); agent_analytics_scan, which reads all 10,000, is
// measured alongside as (c) for comparison.
// (d) and (e) write a new message through every rule (start, then finalise), for the cost
// of the guard, attribution and daily-sum triggers.
// Each sample is what one API request does: a transaction as role shipslog_app with the
// tenant and actor context set (row-level security on), the read, commit. Target p95 < 100 ms,
// goal 20 ms.
import postgres from 'postgres';
import { agentAnalytics, finaliseAgentMessage, getAgentMessage, startAgentMessage } from '../src/db/agent-messages.ts';
import type { Tx } from '../src/db/client.ts';
import { benchDatabase, percentile } from './support/database.ts';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 1_000_000);
const PROJECTS = 100;
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 1_000);

async function load(sql: postgres.Sql): Promise<void> {
  // Loaded as the superuser with triggers off (session_replication_role = replica): the guard
  // trigger would attribute each row and register its project one by one. CHECK constraints
  // still hold, so the rows are ones the guarded path could have written.
  await sql.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    await tx`
      insert into shipslog.projects (id, tenant, created_by)
      select 'project-' || p, 'tenant-' || (p / 10), '{"actor": "bench"}'
      from generate_series(0, ${PROJECTS - 1}) as p
    `;
    await tx`
      insert into shipslog.agent_messages (
        message_id, tenant, project_id, model, context_layers, created_at, recorded_at, created_by,
        reasoning, prompt_tokens, completion_tokens, total_tokens,
        prompt_cost, completion_cost, total_cost, finalised_at, finalised_by)
      select
        m.id, m.tenant, m.project, m.model, m.i % 8, m.created_at, m.created_at, '{"actor": "bench"}',
        f.reasoning, f.pt, f.ct, f.pt + f.ct,
        f.pt * 0.000003, f.ct * 0.000015, f.pt * 0.000003 + f.ct * 0.000015,
        case when f.final then m.created_at + interval '3 seconds' end,
        case when f.final then '{"actor": "bench"}'::jsonb end
      from (
        select
          i,
          md5(i::text) as id,
          'tenant-' || ((i % ${PROJECTS}) / 10) as tenant,
          'project-' || (i % ${PROJECTS}) as project,
          (array['claude-opus-4', 'claude-sonnet-4', 'claude-haiku-4'])[1 + (i / ${PROJECTS}) % 3] as model,
          now() - interval '30 days' * (i::float8 / ${MESSAGES}) - interval '1 minute' as created_at
        from generate_series(1, ${MESSAGES}) as i
      ) as m
      cross join lateral (
        select
          m.i % 100 <> 0 as final,
          case when m.i % 100 <> 0 then array['read the request', 'chose a recipe: postgresql', 'planned 2 changes'] end as reasoning,
          case when m.i % 100 <> 0 then 500 + (m.i::bigint * 7919) % 4000 end as pt,
          case when m.i % 100 <> 0 then 50 + (m.i::bigint * 104729) % 1000 end as ct
      ) as f
    `;
    // The daily sums the triggers would have kept (as a backfill would).
    await tx`
      insert into shipslog.agent_message_daily
        (tenant, project_id, day_start, model, message_count, finalised_count,
         prompt_tokens, completion_tokens, prompt_cost, completion_cost)
      select m.tenant, m.project_id, shipslog.utc_day(m.created_at), m.model, count(*), count(m.finalised_at),
             coalesce(sum(m.prompt_tokens), 0), coalesce(sum(m.completion_tokens), 0),
             coalesce(sum(m.prompt_cost), 0), coalesce(sum(m.completion_cost), 0)
      from shipslog.agent_messages as m
      group by 1, 2, 3, 4
    `;
  });
  await sql`vacuum (analyze) shipslog.agent_message_daily`;
  await sql`vacuum (analyze) shipslog.agent_messages`;
  await sql`vacuum (analyze) shipslog.projects`;
}

async function asApp<T>(sql: postgres.Sql, tenant: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return (await sql.begin(async (tx) => {
    await tx`
      select set_config(s.name, s.value, true)
      from unnest(${['role', 'shipslog.tenant', 'shipslog.actor', 'shipslog.actor_type']}::text[],
                  ${['shipslog_app', tenant, 'bench', 'service']}::text[]) as s(name, value)
    `;
    return fn(tx);
  })) as T;
}

function summary(label: string, ms: number[]): string {
  const f = (v: number) => v.toFixed(2).padStart(7);
  return `${label.padEnd(34)} p50 ${f(percentile(ms, 50))} ms   p95 ${f(percentile(ms, 95))} ms   p99 ${f(percentile(ms, 99))} ms   max ${f(Math.max(...ms))} ms`;
}

async function main(): Promise<void> {
  const database = await benchDatabase('agent');
  const sql = postgres(database.url, { max: 1, onnotice: () => {} });
  try {
    const started = performance.now();
    await load(sql);
    const loadSeconds = (performance.now() - started) / 1000;
    const [size] = await sql<{ rows: string; table: string; indexes: string }[]>`
      select (select count(*) from shipslog.agent_messages)::text as rows,
             pg_size_pretty(pg_table_size('shipslog.agent_messages')) as table,
             pg_size_pretty(pg_indexes_size('shipslog.agent_messages')) as indexes
    `;
    const [version] = await sql<{ v: string }[]>`select current_setting('server_version') as v`;

    const lookups: number[] = [];
    const analytics: number[] = [];
    const scans: number[] = [];
    const starts: number[] = [];
    const finalises: number[] = [];
    const to = new Date();
    const from = new Date(to.getTime() - 30 * 86_400_000);
    let rowsSeen = 0;
    // Warm-up: first touches of each index page are not what a running service sees.
    for (let i = 0; i < 50; i++) {
      await asApp(sql, 'tenant-0', (tx) => getAgentMessage(tx, 'x'));
      await asApp(sql, `tenant-${i % 10}`, (tx) => agentAnalytics(tx, `project-${(i % 10) * 10}`, from, to));
    }
    for (let s = 0; s < SAMPLES; s++) {
      const i = 1 + Math.floor(Math.random() * MESSAGES);
      const tenant = `tenant-${Math.floor((i % PROJECTS) / 10)}`;
      const [{ id }] = (await sql<{ id: string }[]>`select md5(${i}::text) as id`) as unknown as [{ id: string }];
      let t0 = performance.now();
      const message = await asApp(sql, tenant, (tx) => getAgentMessage(tx, id));
      lookups.push(performance.now() - t0);
      if (!message) throw new Error(`message ${id} not found`);

      const p = Math.floor(Math.random() * PROJECTS);
      t0 = performance.now();
      const a = await asApp(sql, `tenant-${Math.floor(p / 10)}`, (tx) => agentAnalytics(tx, `project-${p}`, from, to));
      analytics.push(performance.now() - t0);
      rowsSeen += a.message_count;

      t0 = performance.now();
      await asApp(sql, `tenant-${Math.floor(p / 10)}`, (tx) => tx`select shipslog.agent_analytics_scan(${`project-${p}`}, ${from}, ${to}, 10)`);
      scans.push(performance.now() - t0);

      // Writes through every rule: guard trigger, attribution, project check, RLS, daily sums.
      const tenantP = `tenant-${Math.floor(p / 10)}`;
      t0 = performance.now();
      await asApp(sql, tenantP, (tx) => startAgentMessage(tx, { messageId: `bench-w-${s}`, projectId: `project-${p}`, model: 'claude-sonnet-4' }));
      starts.push(performance.now() - t0);
      t0 = performance.now();
      await asApp(sql, tenantP, (tx) =>
        finaliseAgentMessage(tx, `bench-w-${s}`, {
          reasoning: ['bench'], tokens: { prompt: 900, completion: 100, total: 1000 }, cost: { prompt: '0.0027', completion: '0.0015', total: '0.0042' },
        }),
      );
      finalises.push(performance.now() - t0);
    }

    const lines = [
      `agent messages: ${Number(size!.rows).toLocaleString('en')} rows over ${PROJECTS} projects (table ${size!.table}, indexes ${size!.indexes}), PostgreSQL ${version!.v}, loaded in ${loadSeconds.toFixed(1)} s`,
      `${SAMPLES} samples each, interleaved; each = one transaction as shipslog_app with RLS (BEGIN, set context, read, COMMIT)`,
      summary('(a) lookup by message id', lookups),
      summary('(b) 30-day analytics, one project', analytics),
      summary('(c) same, scanning every message', scans),
      summary('(d) start a message (placeholder)', starts),
      summary('(e) finalise it', finalises),
      `    analytics covered ${Math.round(rowsSeen / SAMPLES).toLocaleString('en')} messages per call on average`,
      `target p95 < 100 ms: ${percentile(lookups, 95) < 100 && percentile(analytics, 95) < 100 ? 'met' : 'MISSED'}; goal 20 ms: ${percentile(lookups, 95) < 20 && percentile(analytics, 95) < 20 ? 'met' : 'missed'}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await sql.end();
    await database.close();
  }
}

await main();
