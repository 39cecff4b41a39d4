import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChainWalker, OutOfOrder, type ChainStart } from '../src/audit/chain-walk.ts';
import { EVENT_COPY_COLUMNS, EVENT_COPY_FORMAT, EVENT_COPY_SETTINGS, EventRowReader, Field, PayloadHasher, type EventRow } from '../src/audit/event-stream.ts';
import { verifyAll } from '../src/audit/verify.ts';
import { applyEvent, type Json } from '../src/audit/replay.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { insertDeployment } from './support/fixtures.ts';

// `shipslog verify` reads the events' columns with COPY, rebuilds each payload's bytes in Node
// (src/audit/event-stream.ts), walks the chains in seq order (src/audit/chain-walk.ts) and
// replays in Node (src/audit/replay.ts). Each must equal its reference: event_payload(e)::text,
// the hashed bytes; shipslog.verify_chains(), the checks; shipslog.apply_event(), the replay.
// shipslog.event_payload_text(e), the same text by concatenation, is what auditors can use in SQL.

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

// Every kind of value a payload can hold: nulls, quotes, backslashes, control characters,
// non-ASCII, IPv4 and IPv6, nested objects, numbers, arrays, a removal.
const awkward = ['plain', 'quote " and \\ backslash', 'tab\tnew\nline\rcr\bbs\fff', 'ctl \u0001\u001f del \u007f', 'ünï €😀 \u2028', ''];

describe('event_payload_text()', () => {
  it('is event_payload()::text exactly, whatever the values', async () => {
    for (const [i, text] of awkward.entries()) {
      const d = await insertDeployment(t.db, { tenant: 'fast', name: `awkward-${i}`, config: { storage: '8Gi', note: text, nested: { n: 1.5, list: [1, 'a', null] } } });
      await t.db.begin(async (tx) => {
        await tx`select set_config('shipslog.actor', ${text || 'someone'}, true), set_config('shipslog.reason', ${text}, true),
                        set_config('shipslog.user_agent', ${text}, true), set_config('shipslog.request_id', ${text}, true),
                        set_config('shipslog.correlation_id', ${text}, true),
                        set_config('shipslog.source_ip', ${i % 2 ? '2001:db8::1' : '10.1.2.3'}, true),
                        set_config('application_name', ${text}, true)`;
        await tx`update shipslog.deployments set config = config || ${tx.json({ note: `${text}!`, extra: { deep: text } })} where id = ${d.id}`;
      });
      await t.db`delete from shipslog.deployments where id = ${d.id}`;
    }
    const rows = await t.db<{ same: boolean; n: number }[]>`
      select bool_and(shipslog.event_payload_text(e) = shipslog.event_payload(e)::text) as same, count(*)::int as n
      from shipslog.deployment_events as e
      where e.tenant = 'fast'`;
    expect(rows[0]).toEqual({ same: true, n: awkward.length * 3 });
    expect((await verifyAll(t.db)).findings).toEqual([]);
  });

  it('is also what Node rebuilds from the copied columns, byte for byte, so no event needs a second look', async () => {
    const rows = await copyRows(`e.tenant = 'fast'`);
    expect(rows.length).toBe(awkward.length * 3);
    const expected = await t.db<{ seq: string; payload: string }[]>`
      select e.seq::text, shipslog.event_payload(e)::text as payload from shipslog.deployment_events as e where e.tenant = 'fast'`;
    const bySeq = new Map(expected.map((r) => [r.seq, r.payload]));
    const hasher = new PayloadHasher();
    for (const row of rows) {
      expect(hasher.payload(row, null).toString('utf8')).toBe(bySeq.get(row.ascii(Field.Seq)!));
    }
    const result = await verifyAll(t.db);
    expect(result.findings).toEqual([]);
    expect(result.rechecked).toBe(0);
  });
});

/** The events as `shipslog verify` reads them (COPY, seq order), kept beyond the stream. */
async function copyRows(where: string): Promise<EventRow[]> {
  return (await t.db.begin(async (tx) => {
    for (const [name, value] of Object.entries(EVENT_COPY_SETTINGS)) await tx`select set_config(${name}, ${value}, true)`;
    const stream = await tx.unsafe(`copy (select ${EVENT_COPY_COLUMNS} from shipslog.deployment_events as e where ${where} order by e.seq) to stdout ${EVENT_COPY_FORMAT}`).readable();
    const reader = new EventRowReader();
    const rows: EventRow[] = [];
    for await (const chunk of stream as AsyncIterable<Buffer>) reader.push(chunk, (row) => rows.push(row.detach()));
    reader.end();
    return rows;
  })) as EventRow[];
}

/** Walks rows in the given order; returns the findings and each chain's end. */
function walk(rows: EventRow[], pendingLimit?: number) {
  const walker = new ChainWalker(new Map<string, ChainStart>(), () => true, false, pendingLimit);
  for (const row of rows) walker.add(row);
  const ends = walker.finish();
  return { findings: [...walker.findings.values()], suspects: walker.suspects, ends };
}

describe('the chain walk in seq order', () => {
  it('gives the same result when events arrive before the events they follow', async () => {
    const d = await insertDeployment(t.db, { tenant: 'order', name: 'shuffled', config: { storage: '1Gi' } });
    for (let i = 2; i <= 12; i++) await t.db`update shipslog.deployments set config = ${t.db.json({ storage: `${i}Gi` })} where id = ${d.id}`;
    const rows = await copyRows(`e.tenant = 'order'`);
    const inOrder = walk(rows);
    expect(inOrder.findings).toEqual([]);
    expect(inOrder.suspects).toEqual([]);
    // Reversed: every event but the last waits for the one before it.
    const reversed = walk([...rows].reverse());
    expect(reversed.findings).toEqual([]);
    expect(reversed.suspects).toEqual([]);
    expect(reversed.ends).toEqual(inOrder.ends);
    expect(reversed.ends.get(d.id)?.state).toMatchObject({ config: { storage: '12Gi' } });
  });

  it('names a missing event as the reference does, and gives up past its limit of waiting events', async () => {
    const rows = (await copyRows(`e.tenant = 'order'`)).filter((r) => r.int(Field.ChainIndex) !== 5);
    expect(walk(rows).findings.map((f) => [f.chainIndex, f.problem])).toEqual([[6, 'event #6 follows #4: 1 event(s) missing']]);
    expect(() => walk(rows, 3)).toThrow(OutOfOrder);
    // A repeated index is named wherever it arrives, also while it waits.
    const all = await copyRows(`e.tenant = 'order'`);
    const seventh = all.find((r) => r.int(Field.ChainIndex) === 7)!;
    const reversed = [...all].reverse();
    const waiting = [...reversed.slice(0, reversed.indexOf(seventh) + 1), seventh, ...reversed.slice(reversed.indexOf(seventh) + 1)];
    for (const order of [[...all, seventh], waiting]) {
      expect(walk(order).findings.map((f) => [f.chainIndex, f.problem])).toEqual([[7, 'event #7 follows #7: a chain index repeated']]);
    }
  });

  it('reads a range again in chain order when too many events wait, with the same findings', async () => {
    const d = await insertDeployment(t.db, { tenant: 'order', name: 'gap', config: { storage: '1Gi' } });
    for (let i = 2; i <= 8; i++) await t.db`update shipslog.deployments set config = ${t.db.json({ storage: `${i}Gi` })} where id = ${d.id}`;
    await t.db.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`delete from shipslog.deployment_events where deployment_id = ${d.id} and chain_index = 3`;
    });
    const expected = [{ deploymentId: d.id, tenant: 'order', name: 'gap', chainIndex: 4, problem: 'event #4 follows #2: 1 event(s) missing' }];
    for (const workers of [false, true]) {
      expect((await verifyAll(t.db, { workers })).findings.filter((f) => f.tenant === 'order')).toEqual(expected);
      expect((await verifyAll(t.db, { workers, pendingLimit: 2 })).findings.filter((f) => f.tenant === 'order')).toEqual(expected);
    }
  });
});

describe('replay in Node', () => {
  it('gives what shipslog.apply_event() gives, event by event', async () => {
    const steps: [Json, Json][] = [
      [null, { config: { a: 1, b: { c: 2, d: 3 } }, status: 'pending' }],
      [{ config: { b: { c: 2 } } }, { config: { b: { c: 5, e: [1] } } }],
      [{ config: { a: 1 } }, { config: {} }],
      [{ status: 'pending' }, { status: 'applied', health: 'Healthy' }],
      [{ config: { b: { d: 3, e: [1] } } }, { config: { b: 'flat now' } }],
      [{ config: { b: 'flat now' } }, { config: { b: { again: true } } }],
    ];
    let js: Json = null;
    let sqlState: Json = null;
    for (const [before, after] of steps) {
      js = applyEvent(js, before, after);
      const [r]: { s: Json }[] = await t.db<{ s: Json }[]>`select shipslog.apply_event(${sqlState === null ? null : JSON.stringify(sqlState)}::text::jsonb, ${before === null ? null : JSON.stringify(before)}::text::jsonb, ${JSON.stringify(after)}::text::jsonb) as s`;
      sqlState = r!.s;
      expect(js).toEqual(sqlState);
    }
  });

  it('finds a row changed behind the trigger\'s back even when its state holds numbers JSON cannot hold exactly', async () => {
    const d = await insertDeployment(t.db, { tenant: 'fast', name: 'big-numbers', config: { storage: '8Gi' } });
    await t.db`update shipslog.deployments set config = config || '{"big": 123456789012345678901234567890}'::jsonb where id = ${d.id}`;
    expect((await verifyAll(t.db, { deploymentId: d.id })).findings).toEqual([]);
    await t.db.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`update shipslog.deployments set config = config || '{"big": 123456789012345678901234567891}'::jsonb where id = ${d.id}`;
    });
    const [f] = (await verifyAll(t.db, { deploymentId: d.id })).findings;
    expect(f?.problem).toBe('deployment row differs from the state its events replay to: changed while audit triggers were bypassed');
  });

  it('reports progress and counts every event and chain', async () => {
    const seen: number[] = [];
    const r = await verifyAll(t.db, { onProgress: (n) => seen.push(n) });
    const [c] = await t.db<{ events: number; chains: number }[]>`
      select count(*)::int as events, count(distinct deployment_id)::int as chains from shipslog.deployment_events`;
    expect(r.events).toBe(c!.events);
    expect(r.chains).toBe(c!.chains);
    expect(seen.at(-1)).toBe(c!.events);
  });
});
