import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertDeployment } from '../support/fixtures.ts';
import { createTestApi, type TestApi } from './harness.ts';

let api: TestApi;
let key: string;
beforeAll(async () => {
  api = await createTestApi();
  key = await api.key(null, ['audit'], 'tailer');
});
afterAll(async () => {
  await api?.drop();
});

/** A consumer: reads pages from the cursor until caught up; returns what it saw and the cursor. */
async function tail(cursor: string, seen: number[]): Promise<string> {
  for (;;) {
    const res = await api.call(key, 'GET', `/v1/events/feed?after=${cursor}&limit=3`);
    expect(res.status).toBe(200);
    const page = (await res.json()) as { events: { seq: number }[]; next_cursor: string };
    seen.push(...page.events.map((e) => e.seq));
    if (page.events.length === 0) return page.next_cursor;
    cursor = page.next_cursor;
  }
}

/**
 * Tails until `seen` holds n events. xmin is cluster-wide: an open transaction in another
 * database on the same server (a parallel test file) holds every feed back until it ends,
 * which is correct (withholding is always safe) but takes a moment.
 */
async function tailUntil(cursor: string, seen: number[], n: number, ms = 20_000): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    cursor = await tail(cursor, seen);
    if (seen.length >= n || Date.now() > deadline) return cursor;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('GET /v1/events/feed', () => {
  it('never skips an event whose transaction took an earlier txid but a later seq, and committed late or early', async () => {
    const d = await insertDeployment(api.t.db, { name: 'tail-me' });
    const seen: number[] = [];
    let cursor = await tailUntil('0:0', seen, 1);
    expect(seen).toHaveLength(1);

    const a = await api.t.connect(1).reserve();
    const b = await api.t.connect(1).reserve();
    const c = await api.t.connect(1).reserve();
    try {
      // A takes its transaction id first but writes last: lower txid, higher seq.
      await a`begin`;
      await a`select pg_current_xact_id()`;
      // B writes first (lower seq, higher txid) and stays open.
      await b`begin`;
      await b`update shipslog.deployments set config = config || '{"storage": "9Gi"}' where id = ${d.id}`;
      // C: a different deployment, commits at once.
      await c`begin`;
      await insertDeployment(c, { name: 'other' });
      await c`commit`;
      cursor = await tail(cursor, seen);
      // C's txid is above B's (still open): nothing may be handed out past B yet.
      expect(seen).toHaveLength(1);

      await a`insert into shipslog.deployments (tenant, name, recipe, app_version) values ('acme', 'late', 'redis', '7')`;
      await a`commit`;
      cursor = await tailUntil(cursor, seen, 2);
      // A (lowest txid) is done; B still blocks everything after it.
      expect(seen).toHaveLength(2);

      await b`commit`;
      cursor = await tailUntil(cursor, seen, 4);
    } finally {
      a.release();
      b.release();
      c.release();
    }
    const all = await api.t.db<{ seq: string }[]>`select seq from shipslog.deployment_events order by txid, seq`;
    expect(seen).toEqual(all.map((r) => Number(r.seq)));
    // Order by seq alone would differ: A's event has a higher seq than B's but came first.
    expect([...seen].sort((x, y) => x - y)).not.toEqual(seen);
  });

  it('stays complete while writers commit out of order under a concurrent tailer', async () => {
    const writers = api.t.connect(8);
    const ds = await Promise.all(Array.from({ length: 8 }, (_, i) => insertDeployment(writers, { name: `w${i}` })));
    const seen: number[] = [];
    // Start from everything already in the table (the 8 created events and the first test's).
    const [existing] = await api.t.db<{ n: number }[]>`select count(*)::int as n from shipslog.deployment_events`;
    const initial: number[] = [];
    let cursor = await tailUntil('0:0', initial, existing?.n ?? 0);
    const before = new Set(initial);
    let done = false;
    const tailer = (async () => {
      while (!done) {
        cursor = await tail(cursor, seen);
        await new Promise((r) => setTimeout(r, 5));
      }
      cursor = await tail(cursor, seen);
    })();
    // Each writer holds its transaction open for a random time, so commits interleave.
    await Promise.all(
      ds.flatMap((d) =>
        Array.from({ length: 5 }, (_, j) =>
          writers.begin(async (tx) => {
            await tx`select pg_current_xact_id()`;
            await new Promise((r) => setTimeout(r, Math.random() * 30));
            await tx`update shipslog.deployments set config = config || ${tx.json({ n: j, r: Math.random() })} where id = ${d.id}`;
            await new Promise((r) => setTimeout(r, Math.random() * 30));
          }),
        ),
      ),
    );
    done = true;
    await tailer;
    cursor = await tailUntil(cursor, seen, 40);
    const expected = (await api.t.db<{ seq: string }[]>`select seq from shipslog.deployment_events order by txid, seq`)
      .map((r) => Number(r.seq))
      .filter((s) => !before.has(s));
    expect(expected).toHaveLength(40);
    expect(seen).toEqual(expected);
  });

  it("a tenant key's caught-up cursor moves past other tenants' newer events, so its next poll does not read them again", async () => {
    const tenantKey = await api.key('quiet', ['audit'], 'quiet-tailer');
    const own = await insertDeployment(api.t.db, { tenant: 'quiet', name: 'own' });
    const seen: number[] = [];
    const poll = async (cursor: string) => {
      const res = await api.call(tenantKey, 'GET', `/v1/events/feed?after=${cursor}&limit=3`);
      expect(res.status).toBe(200);
      const page = (await res.json()) as { events: { seq: number; tenant: string }[]; next_cursor: string };
      expect(page.events.every((e) => e.tenant === 'quiet')).toBe(true);
      seen.push(...page.events.map((e) => e.seq));
      return page;
    };
    const [mine] = await api.t.db<{ seq: string }[]>`select seq from shipslog.deployment_events where deployment_id = ${own.id}`;
    let cursor = '0:0';
    for (const deadline = Date.now() + 20_000; !seen.includes(Number(mine!.seq)) && Date.now() < deadline; ) {
      cursor = (await poll(cursor)).next_cursor;
    }
    expect(seen).toEqual([Number(mine!.seq)]);
    // Another tenant writes after it; the quiet tenant's feed hands out nothing, but its cursor
    // moves past those events once no older transaction holds them back.
    const busy = await insertDeployment(api.t.db, { tenant: 'busy', name: 'noisy' });
    for (let i = 0; i < 5; i++) await api.t.db`update shipslog.deployments set config = config || ${api.t.db.json({ i })} where id = ${busy.id}`;
    const [newest] = await api.t.db<{ txid: string }[]>`select max(txid)::text as txid from shipslog.deployment_events`;
    const past = (c: string) => BigInt(c.split(':')[0]!) > BigInt(newest!.txid);
    for (const deadline = Date.now() + 20_000; !past(cursor) && Date.now() < deadline; ) {
      const page = await poll(cursor);
      expect(page.events).toEqual([]);
      cursor = page.next_cursor;
      if (!past(cursor)) await new Promise((r) => setTimeout(r, 50));
    }
    expect(past(cursor), cursor).toBe(true);
    // And its own next event still arrives.
    await api.t.db`update shipslog.deployments set config = config || '{"storage": "9Gi"}' where id = ${own.id}`;
    for (const deadline = Date.now() + 20_000; seen.length < 2 && Date.now() < deadline; ) cursor = (await poll(cursor)).next_cursor;
    const mineNow = await api.t.db<{ seq: string }[]>`select seq from shipslog.deployment_events where deployment_id = ${own.id} order by seq`;
    expect(seen).toEqual(mineNow.map((r) => Number(r.seq)));
  });

  it('a cursor never moves back: one ahead of the snapshot is kept', async () => {
    const res = await api.call(key, 'GET', '/v1/events/feed?after=18446744073709551615:7');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ events: [], next_cursor: '18446744073709551615:7' });
  });

  it('needs the audit scope and a well-formed cursor', async () => {
    const reader = await api.key('acme', ['read']);
    expect((await api.call(reader, 'GET', '/v1/events/feed')).status).toBe(403);
    expect((await api.call(key, 'GET', '/v1/events/feed?after=12')).status).toBe(400);
    expect((await api.call(key, 'GET', '/v1/events/feed?after=99999999999999999999:1')).status).toBeLessThan(500);
  });
});
