// npm run bench:reconcile — time to converge N deployments with 1 and with 3 reconciler
// replicas, side by side in one run, against the Kubernetes API test server (real client,
// real REST) with a fixed latency added to every API request, as a real API server has.
//
// Each phase inserts N fresh deployments (half redis, half web: 2 objects each) in one
// statement, starts the replicas (each its own process and pool, like a separate pod), and
// waits until every deployment's generation is observed as applied. Health polling is off
// (it is not part of convergence). Afterwards it checks that no object was applied twice and
// no deployment has two completed runs for one generation. BENCH_ROUNDS rounds (default 2)
// alternate the order of the two phases; the median speed-up is reported.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { withActor } from '../src/db/actor.ts';
import { createDb } from '../src/db/client.ts';
import { startKubeApiTestServer } from '../test/support/kube-api-server.ts';
import { benchDatabase, median } from './support/database.ts';

const N = Number(process.env.BENCH_DEPLOYMENTS ?? 1000);
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 20);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);

interface Phase {
  round: number;
  replicas: number;
  seconds: number;
  runs: number;
  requests: number;
  doubleApplies: number;
  doubleRuns: number;
  maxConcurrentWrites: number;
  connections: number;
}

async function phase(url: string, replicas: number, round: number): Promise<Phase> {
  const server = await startKubeApiTestServer();
  server.latencyMs = LATENCY_MS;
  const tenant = `bench-r${round}-x${replicas}`;
  const admin = createDb(url, { max: 2 });
  await withActor(admin, { actor: 'bench', actorType: 'service' }, (tx) => tx`
    insert into shipslog.deployments (tenant, name, recipe, app_version, config)
    select ${tenant}, 'app-' || i, case when i % 2 = 0 then 'redis' else 'web' end, '1',
           case when i % 2 = 0 then '{}'::jsonb else '{"image": "ghcr.io/acme/app"}'::jsonb end
    from generate_series(1, ${N}) as i`);
  const script = fileURLToPath(new URL('./reconcile-replica.ts', import.meta.url));
  const children: ChildProcess[] = Array.from({ length: replicas }, (_, i) =>
    fork(script, [url, server.url, `replica-${i + 1}`, String(CONCURRENCY)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: process.env.BENCH_CPU_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROFILE}`] : [] }),
  );
  // Start the clock when every replica has loaded and connected.
  await Promise.all(children.map((c) => once(c, 'message')));
  const t0 = performance.now();
  for (const c of children) c.send('go');
  for (;;) {
    const [row] = await admin<{ n: number }[]>`
      select count(*)::int as n
      from shipslog.deployments
      where tenant = ${tenant}
        and status = 'applied'
        and observed_generation = generation`;
    if (row!.n === N) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const seconds = (performance.now() - t0) / 1000;
  await Promise.all(children.map((c) => {
    c.send('stop');
    return once(c, 'exit');
  }));
  const perObject = new Map<string, number>();
  // Objects of deployments (the shared tenant namespace is ensured by whichever run comes first).
  for (const a of server.applies().filter((q) => q.kind !== 'Namespace')) perObject.set(a.path, (perObject.get(a.path) ?? 0) + 1);
  const [runs] = await admin<{ completed: number; doubled: number }[]>`
    select count(*)::int as completed,
           (select count(*)::int from (
              select 1 from shipslog.reconcile_runs where tenant = ${tenant} and phase = 'Completed'
              group by deployment_id, generation having count(*) > 1) as d) as doubled
    from shipslog.reconcile_runs
    where tenant = ${tenant}
      and phase = 'Completed'`;
  const result: Phase = {
    round,
    replicas, seconds, runs: runs!.completed, requests: server.requests.length,
    doubleApplies: [...perObject.values()].filter((n) => n > 1).length, doubleRuns: runs!.doubled,
    maxConcurrentWrites: server.maxConcurrentWritesPerDeployment,
    connections: server.connections,
  };
  await admin.end({ timeout: 5 });
  await server.stop();
  return result;
}

const db = await benchDatabase('reconcile');
try {
  console.log(`converging ${N} deployments; API latency ${LATENCY_MS} ms per request; ${CONCURRENCY} concurrent runs per replica; ${ROUNDS} round(s)`);
  const phases: Phase[] = [];
  const speedups: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    // Alternate the order so a drift in machine load hits both sides alike.
    const order = round % 2 === 1 ? [1, 3] : [3, 1];
    const results: Record<number, Phase> = {};
    for (const replicas of order) {
      const p = await phase(db.url, replicas, round);
      results[replicas] = p;
      phases.push(p);
    }
    speedups.push(results[1]!.seconds / results[3]!.seconds);
  }
  console.table(phases.map((p) => ({
    round: p.round,
    replicas: p.replicas,
    seconds: p.seconds.toFixed(1),
    'deployments/s': (N / p.seconds).toFixed(1),
    runs: p.runs,
    'API requests': p.requests,
    'TCP connections': p.connections,
    'objects applied twice': p.doubleApplies,
    'generations run twice': p.doubleRuns,
    'max concurrent writes/deployment': p.maxConcurrentWrites,
  })));
  const speedup = median(speedups);
  const clean = phases.every((p) => p.doubleApplies === 0 && p.doubleRuns === 0 && p.maxConcurrentWrites <= 1 && p.runs === N);
  console.log(`speed-up 3 vs 1 replica per round: ${speedups.map((x) => `${x.toFixed(2)}x`).join(', ')}`);
  console.log(`speed-up 3 vs 1 replica (median): ${speedup.toFixed(2)}x (target >= 2.4x) ${speedup >= 2.4 ? 'OK' : 'BELOW TARGET'}`);
  console.log(`double applies: ${clean ? 'none' : 'FOUND'}`);
  if (!clean) process.exitCode = 1;
} finally {
  await db.close();
}
