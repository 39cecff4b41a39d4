import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAll } from '../src/audit/verify.ts';
import { applyEvent, type Json } from '../src/audit/replay.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { insertDeployment } from './support/fixtures.ts';

// `shipslog verify` streams shipslog.event_payload_text(e) (the payload written by
// concatenation) and replays in Node (src/audit/replay.ts). Both must equal their reference:
// event_payload(e)::text, the hashed bytes, and shipslog.apply_event().

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
