import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyChains } from '../src/audit/verify.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { eventsOf, insertDeployment } from './support/fixtures.ts';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

describe('concurrent writers on one deployment', () => {
  it('8 connections x 25 updates give a gap-free chain ordered exactly as the updates committed', async () => {
    const d = await insertDeployment(t.db, { name: 'hot', config: { counter: 0 } });
    const writers = Array.from({ length: 8 }, (_, w) => t.connect(1, `writer-${w}`));
    // Each update increments config.counter under the row lock, so the counter's value in an
    // event is that update's commit position: chain order must equal counter order.
    await Promise.all(
      writers.map(async (db, w) => {
        for (let i = 0; i < 25; i++) {
          await db.begin(async (tx) => {
            await tx`
              update shipslog.deployments
              set config = jsonb_set(config, '{counter}', to_jsonb((config ->> 'counter')::int + 1)) || ${tx.json({ [`w${w}`]: i })}
              where id = ${d.id}`;
            // Hold the lock a little so writers really queue behind each other.
            if (i % 5 === 0) await tx`select pg_sleep(0.002)`;
          });
        }
      }),
    );
    const events = await eventsOf(t.db, d.id);
    expect(events).toHaveLength(1 + 8 * 25);
    expect(events.map((e) => e.chain_index)).toEqual(events.map((_, i) => i + 1));
    const counters = events.slice(1).map((e) => (e.new_state as { config: { counter: number } }).config.counter);
    expect(counters).toEqual(counters.map((_, i) => i + 1));
    // The global seq follows the same order for one deployment.
    const seqs = events.map((e) => BigInt(e.seq));
    expect([...seqs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(seqs);
    expect(await verifyChains(t.db, d.id)).toEqual([]);
  });
});
