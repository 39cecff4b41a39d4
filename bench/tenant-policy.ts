// node bench/tenant-policy.ts — what the tenant policies' rule costs the API's reads, called
// per row against inlined into the plan, side by side in one run on one database.
//
// Every tenant policy (shipslog_app's) calls shipslog.tenant_visible(). The two variants are the
// same function with one difference: (called) `set search_path = ''` on it, which keeps the
// planner from inlining it, so each row the policy filters is a function call, as it was until
// the set was dropped; (inlined) as shipped, its body is a filter expression of the plan.
// `alter function` switches between them (transactional, and it invalidates cached plans).
//
// Data as bench:history's: one deployment with BENCH_POLICY_EVENTS/10 events of its own among
// BENCH_POLICY_EVENTS (100,000), tenants `bench` (the one) and `hist` (90 others). Reads, each
// through the API's own code on one connection as shipslog_app with the tenant context of a
// key, in blocks of BENCH_POLICY_CALLS (20) alternating between the variants, BENCH_POLICY_BLOCKS
// (10) blocks each:
//   history: the newest 50 events of that deployment (deploymentHistory, a global key);
//   events: the newest 50 events across deployments (queryEvents, a global key);
//   feed: 1,000 events of the feed from the start (feed, a global key);
//   status: the newest 50 events whose new status is `failed` (queryEvents with status: none
//     are, so the query reads every event through the policy);
//   count: count(*) of all events (a tenant key: what any scan under the policy pays per row).
// Prints p50 per variant and the ratio inlined / called (below 1: faster). BENCH_PG_BIN as in
// bench:audit runs it on each server given; else DATABASE_URL's server, else the embedded one.
import postgres from 'postgres';
import type { Tx } from '../src/db/client.ts';
import { feed } from '../src/db/event-feed.ts';
import { deploymentHistory, queryEvents } from '../src/db/events.ts';
import { median } from './support/database.ts';
import { onEachServerWithHistory } from './support/history.ts';

const EVENTS = Number(process.env.BENCH_POLICY_EVENTS ?? 100_000);
const CALLS = Number(process.env.BENCH_POLICY_CALLS ?? 20);
const BLOCKS = Number(process.env.BENCH_POLICY_BLOCKS ?? 10);

type Variant = 'called' | 'inlined';
type Read = (tx: Tx) => Promise<unknown>;

async function setVariant(db: postgres.Sql, v: Variant): Promise<void> {
  await (v === 'called'
    ? db`alter function shipslog.tenant_visible(text) set search_path = ''`
    : db`alter function shipslog.tenant_visible(text) reset search_path`);
}

/** Milliseconds of one read, in its own transaction as shipslog_app with the key's tenant context. */
async function timed(app: postgres.Sql, tenant: string, read: Read): Promise<number> {
  return app.begin(async (tx) => {
    await tx`select set_config('role', 'shipslog_app', true), set_config('shipslog.tenant', ${tenant}, true)`;
    const start = process.hrtime.bigint();
    await read(tx);
    return Number(process.hrtime.bigint() - start) / 1e6;
  }) as Promise<number>;
}

await onEachServerWithHistory('policy', EVENTS, async ({ owner, reader: app, target }) => {
  const reads: [string, string, Read][] = [
    ['history: newest 50 of one deployment', '*', (tx) => deploymentHistory(tx, { deploymentId: target, limit: 50 }, 'readable', { agentMessages: true })],
    ['events: newest 50 across deployments', '*', (tx) => queryEvents(tx, { limit: 50 })],
    ['feed: 1,000 from the start', '*', (tx) => feed(tx, ['0', 0], 1000)],
    ['status=failed: reads every event', '*', (tx) => queryEvents(tx, { status: 'failed', limit: 50 })],
    ['count(*) of all events, a tenant key', 'bench', (tx) => tx`select count(*) from shipslog.deployment_events`],
  ];
  const times = new Map<string, Record<Variant, number[]>>(reads.map(([label]) => [label, { called: [], inlined: [] }]));
  for (let block = 0; block < BLOCKS * 2; block++) {
    // called, inlined, inlined, called, ...: neither always goes first after the switch.
    const v: Variant = block % 4 === 0 || block % 4 === 3 ? 'called' : 'inlined';
    await setVariant(owner, v);
    for (const [label, tenant, read] of reads) {
      await timed(app, tenant, read); // the plan, made again after the switch
      for (let i = 0; i < CALLS; i++) times.get(label)![v].push(await timed(app, tenant, read));
    }
  }
  await setVariant(owner, 'inlined');
  console.log(`${BLOCKS} blocks of ${CALLS} calls per variant, alternating; p50 ms, called per row -> inlined (ratio)`);
  for (const [label] of reads) {
    const t = times.get(label)!;
    const [c, i] = [median(t.called), median(t.inlined)];
    console.log(`  ${label.padEnd(40)} ${c.toFixed(2)} -> ${i.toFixed(2)} ms (${(i / c).toFixed(2)})`);
  }
});
