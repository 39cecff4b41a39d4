import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clockStepBackMs, deploymentHistory, queryEvents, type HistoryFilter, type RawEvent } from '../src/db/events.ts';
import type { Queryable } from '../src/db/client.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { insertDeployment } from './support/fixtures.ts';
import { addPastEventPartitions } from './support/partitions.ts';

// A history page is looked for in the newest months of deployment_events first (src/db/events.ts),
// window by window, each window a piece of its own: the answer must be the page the whole table
// gives, whatever the month, the cursor, the filter and the size, and also when the clock stepped
// back (less than clockStepBackMs) between two events across the window's edge; and a filter
// that matches nothing reads each event once.

const day = 86_400_000;
let t: TestDatabase;
let forged: string;
// Event chain_index -> occurred_at of the forged chain: one event every 9 days back from today,
// and one step back of 12 hours over the start of a month (index `stepAt`).
const times = new Map<number, number>();
const total = 100;
let stepMonth: Date;
const stepAt = 60;

beforeAll(async () => {
  t = await createTestDatabase();
  const source = await insertDeployment(t.db, { tenant: 'win', name: 'source' });
  await t.db`update shipslog.deployments set config = config || '{"storage": "9Gi"}' where id = ${source.id}`;
  const now = Date.now();
  for (let i = 1; i <= total; i++) times.set(i, now - (total - i) * 9 * day);
  // Event stepAt at 6 hours into a month, the next one 6 hours before that month began.
  const at = new Date(times.get(stepAt)!);
  stepMonth = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1));
  times.set(stepAt, stepMonth.getTime() + 6 * 3600_000);
  times.set(stepAt + 1, stepMonth.getTime() - 6 * 3600_000);
  forged = randomUUID();
  // A monthly partition for each month of the chain, as years of retained history leave them.
  await addPastEventPartitions(t.db, 32);
  await t.db.begin(async (tx) => {
    // The owner, triggers bypassed: a removed deployment's chain written over two and a half years.
    await tx`set local session_replication_role = replica`;
    for (const [i, ms] of times) {
      await tx`
        insert into shipslog.deployment_events overriding system value
        select nextval('shipslog.deployment_events_seq'), ${forged}::uuid, ${i}::int, e.tenant, 'forged', e.action,
               ${new Date(ms)}::timestamptz, e.txid, case when ${i}::int % 3 = 0 then 'carol' else e.actor end, e.actor_type,
               e.reason, e.correlation_id, e.request_id, e.source_ip, e.user_agent, e.db_role, e.db_user, e.application_name,
               e.client_addr, e.previous_state, e.new_state, e.hash
        from shipslog.deployment_events as e
        where e.deployment_id = ${source.id} and e.chain_index = 2`;
    }
  });
});

afterAll(async () => {
  await t?.drop();
});

const indexes = (page: unknown[]) => (page as RawEvent[]).map((e) => e.chain_index);
// The reference: the whole table in one query, by chain order or by time.
async function whole(f: HistoryFilter, order: 'chain' | 'time' = 'chain'): Promise<number[]> {
  const rows = await t.db<{ chain_index: number }[]>`
    select e.chain_index
    from shipslog.deployment_events as e
    where e.deployment_id = ${f.deploymentId}
      and (${f.before ?? null}::int is null or e.chain_index < ${f.before ?? null}::int)
      and (${f.actor ?? null}::text is null or e.actor = ${f.actor ?? null}::text)
      and (${f.since ?? null}::timestamptz is null or e.occurred_at >= ${f.since ?? null}::timestamptz)
      and (${f.until ?? null}::timestamptz is null or e.occurred_at < ${f.until ?? null}::timestamptz)
    order by ${order === 'chain' ? t.db`e.chain_index desc` : t.db`e.occurred_at desc, e.seq desc`}
    limit ${f.limit}`;
  return rows.map((r) => r.chain_index);
}

describe('history pages found month by month', () => {
  it('are the whole table\'s pages, for every month, cursor, filter and size', async () => {
    const checked: string[] = [];
    for (let daysBack = 0; daysBack <= 900; daysBack += 45) {
      const now = new Date(Date.now() - daysBack * day);
      for (const limit of [1, 7, 50]) {
        for (const before of [undefined, 95, stepAt + 2, 30]) {
          for (const actor of [undefined, 'carol']) {
            const f: HistoryFilter = { deploymentId: forged, limit, before, actor };
            const got = indexes(await deploymentHistory(t.db, f, 'raw', {}, now));
            expect([daysBack, limit, before, actor, got]).toEqual([daysBack, limit, before, actor, await whole(f)]);
            checked.push(`${daysBack}/${limit}`);
          }
        }
      }
    }
    expect(checked.length).toBeGreaterThan(100);
  });

  it('are the whole table\'s pages for the event listing too, whichever month it is asked in', async () => {
    // The listing takes the windows apart (this month, the two before, the nine before those,
    // the rest) and joins the pieces: a page may come from several of them.
    const checked: string[] = [];
    for (let daysBack = 0; daysBack <= 900; daysBack += 45) {
      const now = new Date(Date.now() - daysBack * day);
      for (const limit of [1, 7, 50, 1000]) {
        for (const actor of [undefined, 'carol']) {
          const got = await queryEvents(t.db, { deploymentId: forged, limit, actor }, now);
          const label = [daysBack, limit, actor];
          expect([label, got.map((e) => e.chain_index)]).toEqual([label, await whole({ deploymentId: forged, limit, actor }, 'time')]);
          checked.push(label.join('/'));
        }
      }
    }
    expect(checked.length).toBeGreaterThan(100);
  });

  it('read each event once for a filter that matches none, not once per window reaching back to it', async () => {
    const fetched = async (read: (tx: Queryable) => Promise<unknown[]>) =>
      t.db.begin(async (tx) => {
        const count = async () => {
          const [row] = await tx<{ n: number }[]>`
            select coalesce(sum(s.seq_tup_read + coalesce(s.idx_tup_fetch, 0)), 0)::int as n
            from pg_stat_xact_user_tables as s
            where s.relid in (select relid from pg_partition_tree('shipslog.deployment_events'::regclass))`;
          return row!.n;
        };
        const before = await count();
        expect(await read(tx)).toEqual([]);
        return (await count()) - before;
      });
    // A category no event of the chain has, which no index serves.
    const none = { deploymentId: forged, limit: 50, categories: ['approval_workflow'] };
    expect(await fetched((tx) => deploymentHistory(tx, none, 'raw'))).toBe(total);
    expect(await fetched((tx) => queryEvents(tx, none))).toBe(total);
  });

  it('are the whole table\'s pages with since and until too, for the history and the event listing', async () => {
    const at = (ms: number) => new Date(ms);
    const first = times.get(1)!;
    const last = times.get(total)!;
    const spans: [Date | undefined, Date | undefined][] = [
      [at(last - 40 * day), undefined], [undefined, at(last - 100 * day)], [at(first + 20 * day), at(first + 300 * day)],
      [at(stepMonth.getTime() - 3 * day), at(stepMonth.getTime() + 3 * day)], [undefined, at(first - day)],
    ];
    for (const [since, until] of spans) {
      for (const limit of [1, 5, 50]) {
        const f: HistoryFilter = { deploymentId: forged, limit, since, until };
        const label = [since?.toISOString(), until?.toISOString(), limit];
        expect([label, indexes(await deploymentHistory(t.db, f, 'raw'))]).toEqual([label, await whole(f)]);
        const events = await queryEvents(t.db, { deploymentId: forged, limit, since, until });
        expect([label, events.map((e) => e.chain_index)]).toEqual([label, await whole(f, 'time')]);
      }
    }
    // Bounds at the start of the calendar (the API takes years from 0001): no window before year 1.
    const ancient = new Date('0001-02-01T00:00:00Z');
    expect(await deploymentHistory(t.db, { deploymentId: forged, limit: 5, until: ancient }, 'raw')).toEqual([]);
    expect(await queryEvents(t.db, { deploymentId: forged, limit: 5, until: ancient })).toEqual([]);
    expect(await queryEvents(t.db, { deploymentId: forged, limit: 5, before: ['0050-06-01T00:00:00Z', 1] })).toEqual([]);
    // The event listing's pages one after another, by its cursor, are the whole table's.
    const listed: number[] = [];
    let before: [string, number] | undefined;
    for (;;) {
      const page = await queryEvents(t.db, { deploymentId: forged, limit: 7, before });
      listed.push(...page.map((e) => e.chain_index));
      const oldest = page.at(-1);
      if (page.length < 7 || !oldest) break;
      before = [oldest.at, oldest.seq];
    }
    expect(listed).toEqual(await whole({ deploymentId: forged, limit: 1000 }, 'time'));
  });

  it('look past a window whose oldest event may hide a later one behind the clock', async () => {
    // The window from stepMonth holds event stepAt but not stepAt + 1, six hours older though
    // later in the chain. A page of one before stepAt + 2 is stepAt + 1.
    expect(times.get(stepAt + 1)! - times.get(stepAt)!).toBeGreaterThan(-clockStepBackMs);
    const now = new Date(stepMonth.getTime() + 10 * day);
    const f: HistoryFilter = { deploymentId: forged, limit: 1, before: stepAt + 2 };
    expect(indexes(await deploymentHistory(t.db, f, 'raw', {}, now))).toEqual([stepAt + 1]);
    const readable = await deploymentHistory(t.db, f, 'readable', {}, now);
    expect(readable.map((e) => e.chain_index)).toEqual([stepAt + 1]);
  });

  it('give a young deployment its few events from the newest month', async () => {
    const d = await insertDeployment(t.db, { tenant: 'win', name: 'young' });
    await t.db`update shipslog.deployments set health = 'Healthy' where id = ${d.id}`;
    const page = await deploymentHistory(t.db, { deploymentId: d.id, limit: 50 }, 'readable');
    expect(page.map((e) => e.chain_index)).toEqual([2, 1]);
  });
});
