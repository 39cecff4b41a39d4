// node bench/plan-modes.ts — the API's read pages on PostgreSQL's custom plans against their
// generic plans, side by side in one run on one connection: what planning costs each page, and
// which pages a generic plan would make slower (src/db/events.ts, genericPlanFits).
//
// Data as bench:history's: one deployment with BENCH_PLANS_EVENTS/10 events of its own among
// BENCH_PLANS_EVENTS (100,000); BENCH_PLANS_PAST_MONTHS (0) empty monthly partitions before this
// month, as years of retained history leave them. Each read runs through the API's own code as
// shipslog_app with a key's tenant context, on one connection whose prepared statements persist,
// in blocks of BENCH_PLANS_CALLS (50) alternating between plan_cache_mode auto (PostgreSQL
// plans each execution for its values whenever that looks cheaper) and force_generic_plan,
// BENCH_PLANS_BLOCKS (4) blocks each. Prints the server's CPU per call (/proc/<pid>/schedstat:
// a server on this machine; else the wall clock) and the ratio generic / custom (below 1: the
// generic plan is cheaper). BENCH_PG_BIN as in bench:audit runs it on each server given; else
// DATABASE_URL's server, else the embedded one.
import { existsSync, readFileSync } from 'node:fs';
import type { Tx } from '../src/db/client.ts';
import { feed } from '../src/db/event-feed.ts';
import { deploymentHistory, queryEvents } from '../src/db/events.ts';
import { historyOfMany } from '../src/db/history-of-many.ts';
import { addPastEventPartitions } from '../test/support/partitions.ts';
import { median } from './support/database.ts';
import { onEachServerWithHistory } from './support/history.ts';

const EVENTS = Number(process.env.BENCH_PLANS_EVENTS ?? 100_000);
const PAST_MONTHS = Number(process.env.BENCH_PLANS_PAST_MONTHS ?? 0);
const CALLS = Number(process.env.BENCH_PLANS_CALLS ?? 50);
const BLOCKS = Number(process.env.BENCH_PLANS_BLOCKS ?? 4);

type Mode = 'auto' | 'force_generic_plan';
type Read = (tx: Tx) => Promise<unknown>;

await onEachServerWithHistory('plans', EVENTS, async ({ owner, reader: app, target }) => {
  if (PAST_MONTHS > 0) await addPastEventPartitions(owner, PAST_MONTHS);
  const [parts] = await owner<{ n: number }[]>`select count(*)::int as n from pg_partition_tree('shipslog.deployment_events') where parentrelid is not null`;
  const [cursor] = await owner<{ txid: string }[]>`select (max(txid)::text::bigint - 200)::text as txid from shipslog.deployment_events`;
  const reads: [string, string, Read][] = [
    ['history page (the API: with agent messages)', 'bench', (tx) => deploymentHistory(tx, { deploymentId: target, limit: 50 }, 'readable', { agentMessages: true })],
    ['history page, format=raw', 'bench', (tx) => deploymentHistory(tx, { deploymentId: target, limit: 50 }, 'raw')],
    ["events: a tenant key's newest 50", 'bench', (tx) => queryEvents(tx, { tenant: 'bench', limit: 50 })],
    ['events: a global key\'s newest 50', '*', (tx) => queryEvents(tx, { limit: 50 })],
    ["feed: a tenant key's first poll (100)", 'hist', (tx) => feed(tx, ['0', 0], 100, 'hist')],
    ['feed: a global key, a recent cursor (100)', '*', (tx) => feed(tx, [cursor!.txid, 0], 100)],
    ['get-app-history: a name\'s newest 50', 'bench', (tx) => historyOfMany(tx, [target], 50)],
    // Filters whose value the plan depends on: these keep custom plans.
    ['history, actor no event has', 'bench', (tx) => deploymentHistory(tx, { deploymentId: target, limit: 50, actor: 'nobody' }, 'readable')],
    ['history, action=created', 'bench', (tx) => deploymentHistory(tx, { deploymentId: target, limit: 50, actions: ['created'] }, 'readable')],
    ['events, actor no event has', '*', (tx) => queryEvents(tx, { actor: 'nobody', limit: 50 })],
    ['events, action=created', '*', (tx) => queryEvents(tx, { actions: ['created'], limit: 50 })],
  ];
  const [backend] = await app<{ pid: number }[]>`select pg_backend_pid() as pid`;
  const stat = `/proc/${backend!.pid}/schedstat`;
  const local = existsSync(stat);
  const clock = local ? () => Number(readFileSync(stat, 'utf8').split(' ')[0]) / 1e6 : () => performance.now();
  const times = new Map<string, Record<Mode, number[]>>(reads.map(([label]) => [label, { auto: [], force_generic_plan: [] }]));
  for (let block = 0; block < BLOCKS * 2; block++) {
    // auto, generic, generic, auto, ...: neither always goes first.
    const mode: Mode = block % 4 === 0 || block % 4 === 3 ? 'auto' : 'force_generic_plan';
    for (const [label, tenant, read] of reads) {
      const perCall = await app.begin(async (tx) => {
        await tx`select set_config('role', 'shipslog_app', true), set_config('shipslog.tenant', ${tenant}, true),
                        set_config('plan_cache_mode', ${mode}, true)`;
        for (let i = 0; i < 5; i++) await read(tx); // warm-up: past PostgreSQL's first five custom plans
        const start = clock();
        for (let i = 0; i < CALLS; i++) await read(tx);
        return (clock() - start) / CALLS;
      });
      times.get(label)![mode].push(perCall as number);
    }
  }
  console.log(
    `${parts!.n} partitions; ${BLOCKS} blocks of ${CALLS} calls per mode, alternating; ${local ? "the server's CPU" : 'wall clock'} per call, ms (median of blocks):`,
  );
  console.log(`  ${'read'.padEnd(46)} custom -> generic (ratio)`);
  for (const [label] of reads) {
    const t = times.get(label)!;
    const [custom, generic] = [median(t.auto), median(t.force_generic_plan)];
    console.log(`  ${label.padEnd(46)} ${custom.toFixed(3)} -> ${generic.toFixed(3)} (${(generic / custom).toFixed(2)})`);
  }
});
