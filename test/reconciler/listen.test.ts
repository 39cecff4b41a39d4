import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { converged, createDeployment, harness, waitFor, type Harness } from './helpers.ts';

let h: Harness;
beforeAll(async () => {
  h = await harness();
});
afterAll(async () => h?.close());

describe('wake-ups', () => {
  it('a NOTIFY wakes an idle reconciler at once; after its LISTEN connection drops, the reconnect catches up', async () => {
    // Changed while no reconciler ran: found by the catch-up at start.
    const before = await createDeployment(h.t.db, { name: 'before-start', recipe: 'redis', app_version: '7', config: {} });
    // Polling every 10 minutes: only NOTIFY and the catch-up after a (re)connect can wake it.
    const { r } = h.reconciler({ pollIntervalMs: 600_000 });
    await r.start();
    await converged(h.t.db, before, 'applied', 5000);
    await new Promise((res) => setTimeout(res, 300)); // let the loops go idle
    const t0 = Date.now();
    const first = await createDeployment(h.t.db, { name: 'woken', recipe: 'redis', app_version: '7', config: {} });
    await converged(h.t.db, first);
    expect(Date.now() - t0).toBeLessThan(5000);

    // The LISTEN connection dies (failover, idle timeout of a proxy) and a change is made
    // while nobody listens: its notification is lost.
    const killed = await h.t.db`
      select pg_terminate_backend(pid) as ok
      from pg_stat_activity
      where datname = current_database()
        and query ilike 'listen%'`;
    expect(killed.length).toBe(1);
    const missed = await createDeployment(h.t.db, { name: 'missed', recipe: 'redis', app_version: '7', config: {} });
    await waitFor('the listener to reconnect', async () => {
      const rows = await h.t.db`select 1 from pg_stat_activity where datname = current_database() and query ilike 'listen%'`;
      return rows.length === 1;
    });
    await converged(h.t.db, missed, 'applied', 10_000);
    // The reconnect ran the catch-up (the insert may or may not have raced ahead of it).
    expect(r.describe()).toMatchObject({ listening: true, listenConnects: 2 });
    await r.stop();
  }, 60_000); // its waits add up to 45 s at most under load; normally it takes ~1 s
});
