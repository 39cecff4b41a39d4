import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asUser, harness, waitFor, type Harness } from './helpers.ts';

let h: Harness;
beforeAll(async () => {
  h = await harness();
});
afterAll(async () => h?.close());

const N = 200;

async function allConverged(generation: number): Promise<boolean> {
  const [row] = await h.t.db<{ n: number }[]>`
    select count(*)::int as n
    from shipslog.deployments
    where tenant = 'coord'
      and status = 'applied'
      and generation = ${generation}
      and observed_generation = generation
  `;
  return row!.n === N;
}

describe('coordination: 3 reconciler replicas, 200 deployments', () => {
  it('applies every generation exactly once and never one deployment by two replicas at a time', { timeout: 120_000 }, async () => {
    h.server.latencyMs = 2; // every API call takes a little while, so runs overlap in time
    const replicas = ['r1', 'r2', 'r3'].map((workerId) => h.reconciler({ workerId, concurrency: 2, pollIntervalMs: 500, healthIntervalMs: 60_000 }).r);
    await Promise.all(replicas.map((r) => r.start()));
    await asUser(h.t.db, (tx) => tx`
      insert into shipslog.deployments (tenant, name, recipe, app_version, config)
      select 'coord', 'app-' || i, case when i % 2 = 0 then 'redis' else 'web' end, '1',
             case when i % 2 = 0 then '{}'::jsonb else '{"image": "ghcr.io/acme/app"}'::jsonb end
      from generate_series(1, ${N}) as i`);
    await waitFor('generation 1 everywhere', () => allConverged(1), 90_000);
    // A second generation for all of them in one bulk statement (as psql could).
    await asUser(h.t.db, (tx) => tx`update shipslog.deployments set app_version = '2' where tenant = 'coord'`);
    await waitFor('generation 2 everywhere', () => allConverged(2), 90_000);
    await Promise.all(replicas.map((r) => r.stop()));

    // Exactly one completed run per deployment and generation.
    const perGeneration = await h.t.db<{ generation: number; runs: number }[]>`
      select generation::int, count(*)::int as runs
      from shipslog.reconcile_runs
      where tenant = 'coord'
        and phase = 'Completed'
      group by deployment_id, generation
      having count(*) <> 1`;
    expect([...perGeneration]).toEqual([]);
    const [completed] = await h.t.db<{ n: number }[]>`select count(*)::int as n from shipslog.reconcile_runs where tenant = 'coord' and phase = 'Completed'`;
    expect(completed!.n).toBe(2 * N);
    // No two runs of one deployment overlap in time.
    const overlaps = await h.t.db`
      select a.id
      from shipslog.reconcile_runs as a
      join shipslog.reconcile_runs as b
        on b.deployment_id = a.deployment_id
       and b.id <> a.id
       and b.phase <> 'Skipped' and a.phase <> 'Skipped'
       and tstzrange(a.started_at, a.completed_at) && tstzrange(b.started_at, b.completed_at)
      where a.tenant = 'coord'`;
    expect(overlaps.length).toBe(0);
    // The API server agrees: each workload object was written once per generation, never concurrently.
    const writes = new Map<string, number>();
    for (const a of h.server.applies().filter((q) => q.path.includes('/namespaces/coord/'))) {
      const key = `${a.kind}/${a.name}`;
      writes.set(key, (writes.get(key) ?? 0) + 1);
    }
    const workloads = [...writes].filter(([k]) => !k.startsWith('Service/'));
    expect(workloads).toHaveLength(N);
    expect(workloads.every(([, n]) => n === 2)).toBe(true);
    expect([...writes].filter(([k]) => k.startsWith('Service/')).every(([, n]) => n === 1)).toBe(true);
    expect(h.server.maxConcurrentWritesPerDeployment).toBe(1);
    // And the work was shared.
    const byWorker = await h.t.db<{ worker_id: string; n: number }[]>`
      select worker_id, count(*)::int as n from shipslog.reconcile_runs where tenant = 'coord' and phase = 'Completed' group by 1 order by 1`;
    expect(byWorker.map((w) => w.worker_id)).toEqual(['r1', 'r2', 'r3']);
    expect(byWorker.every((w) => w.n > 20)).toBe(true);
  });
});
