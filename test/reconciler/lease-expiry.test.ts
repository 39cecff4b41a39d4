import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimOne, extendLease, loadClaimed } from '../../src/db/reconcile-queue.ts';
import { createKube } from '../../src/reconciler/index.ts';
import { Lease } from '../../src/reconciler/lease.ts';
import { createReconcilerMetrics } from '../../src/reconciler/metrics.ts';
import { startRun, workUnderLease, type RunDeps } from '../../src/reconciler/run.ts';
import { startReplicaProcess, type ReplicaProcess } from '../support/reconciler-replica.ts';
import { converged, createDeployment, eventsOf, harness, quietLog, runsOf, stateOf, waitFor, type Harness } from './helpers.ts';

let h: Harness;
let stalled: ReplicaProcess | undefined;
beforeAll(async () => {
  h = await harness();
});
afterAll(async () => {
  await stalled?.stop();
  await h?.close();
});
// (B polls health rarely here: a health check leases the row too, and the tests read the lease.)

describe('a replica that outlives its lease', () => {
  it('cannot record its result nor write to Kubernetes again; the next holder applies the generation', { timeout: 60_000 }, async () => {
    // Replica A runs in a process of its own, so the test can stall all of it (SIGSTOP: a long
    // GC pause, a frozen VM), its lease extender included. Its lease lasts 3.5 s unextended,
    // extended every 250 ms; its requests may take 3 s.
    stalled = await startReplicaProcess({
      databaseUrl: h.t.url, kubeUrl: h.server.url, requestTimeoutMs: 3_000,
      config: { workerId: 'stalled', leaseTtlMs: 3_500, leaseRenewMs: 250, pollIntervalMs: 200, healthIntervalMs: 60_000 },
    });
    // A's first real write (the Service) hangs at the API server until released.
    const hung = h.server.inject({ match: { method: 'PATCH', kind: 'Service', name: 'stall-db', dryRun: false }, hold: true, times: 1 });
    const id = await createDeployment(h.t.db, { name: 'stall-db' });
    await waitFor('A to be inside its first write', async () => hung.held === 1);
    stalled.pause();
    const [lease] = await h.t.db<{ holder: string; expires: Date }[]>`
      select lease_holder as holder, lease_expires_at as expires from shipslog.reconcile_queue where deployment_id = ${id}`;
    expect(lease!.holder).toBe('stalled');
    const [runA] = await runsOf(h.t.db, id);
    expect(runA).toMatchObject({ worker_id: 'stalled', phase: 'Running' });

    // B takes the deployment over once A's lease has run out, and applies the generation.
    const b = h.reconciler({ workerId: 'next-holder', healthIntervalMs: 60_000 }).r;
    await b.start();
    await converged(h.t.db, id);
    const stsWrites = () => h.server.applies().filter((q) => q.kind === 'StatefulSet' && q.name === 'stall-db').length;
    expect(stsWrites()).toBe(1);

    // A's hung request is answered, and A wakes up: it finds its lease gone.
    hung.release();
    stalled.resume();
    await waitFor('A to give up its run', async () => (await stalled!.describe()).leasesLost === 1, 15_000);
    await new Promise((r) => setTimeout(r, 500));
    // A sent no further write (its request timed out or its next write met the fence) and recorded nothing.
    expect(stsWrites()).toBe(1);
    const runs = await runsOf(h.t.db, id);
    expect(runs.map((x) => [x.worker_id, x.phase, x.failure_reason])).toEqual([['stalled', 'Failed', 'WorkerLost'], ['next-holder', 'Completed', null]]);
    expect(runs[1]!.started_at.getTime()).toBeGreaterThanOrEqual(lease!.expires.getTime());
    expect(runs[1]!.change_set.map((c) => `${c.kind}:${c.action}`)).toEqual(['Service:created', 'StatefulSet:created']);
    const reconcilerEvents = (await eventsOf(h.t.db, id)).filter((e) => e.actor_type === 'system');
    expect(reconcilerEvents.map((e) => e.actor)).toEqual(['reconciler/next-holder']);
    expect(reconcilerEvents[0]!.request_id).toBe(runs[1]!.id);
    const [q] = await h.t.db`select lease_id, failures from shipslog.reconcile_queue where deployment_id = ${id}`;
    expect(q).toMatchObject({ lease_id: null, failures: 0 });
    await b.stop();
    await stalled.stop();
    stalled = undefined;
  });

  it('a run that outlives its lease without extending it: the database refuses its result (SL220); the next holder applies the generation', async () => {
    const id = await createDeployment(h.t.db, { name: 'paused-extender', recipe: 'redis', app_version: '7', config: {} });
    const pool = h.t.connect(3, 'paused extender');
    const metrics = createReconcilerMetrics();
    // Requests may take 300 ms: the fence lets writes through under a 1.5 s lease.
    const deps: RunDeps = { db: pool, kube: createKube(h.server.kubeConfig(), { requestTimeoutMs: 300 }), log: quietLog, workerId: 'paused', metrics, backoff: { baseMs: 100, maxMs: 400 } };
    const times = { ttlMs: 1_500, renewMs: 500 };
    const lease: Lease = new Lease(times, async () => (await extendLease(pool, lease.id, times.ttlMs)) > 0);
    // The claim, as step() makes it.
    lease.claiming();
    const { d, run } = await pool.begin(async (tx) => {
      expect(await claimOne(tx, id, { id: lease.id, holder: 'paused', ttlMs: times.ttlMs })).toBe('claimed');
      const claimed = (await loadClaimed(tx, id))!;
      return { d: claimed, run: await startRun(deps, tx, claimed) };
    });
    lease.claimed();
    // The extender never runs (lease.start() is not called), and the run stalls after its
    // work until the database's clock has passed the lease's expiry: then it records.
    const outlived = async () => {
      await lease.stop();
      await waitFor('the lease to run out', async () => {
        const [q] = await h.t.db<{ over: boolean }[]>`select lease_expires_at < clock_timestamp() as over from shipslog.reconcile_queue where deployment_id = ${id}`;
        return q!.over;
      });
    };
    const result = await workUnderLease(deps, d, run, lease, outlived);
    expect(result).toEqual({ runId: run.runId, outcome: 'LeaseLost' });
    expect(lease.lost).toBeNull(); // the holder did not know: the database refused
    expect((await metrics.leasesLost.get()).values[0]!.value).toBe(1);
    // Nothing of its result was recorded: the deployment is as it was, its own run says why.
    expect(await stateOf(h.t.db, id)).toMatchObject({ status: 'pending', observed_generation: 0 });
    expect((await eventsOf(h.t.db, id)).filter((e) => e.actor_type === 'system')).toEqual([]);
    const [lost] = await runsOf(h.t.db, id);
    expect(lost).toMatchObject({ worker_id: 'paused', phase: 'Failed', failure_reason: 'LeaseLost' });
    expect(lost!.failure_message).toMatch(/ran out before the run could record its result \(reconcile lease .* is no longer held: it expired at .*\); the next holder applies generation 1/);

    // The next holder takes the deployment over and applies the generation (the objects the
    // late run wrote are there and as wanted: it finds them unchanged and records them).
    const b = h.reconciler({ workerId: 'next-holder-2', healthIntervalMs: 60_000 }).r;
    await b.start();
    const s = await converged(h.t.db, id);
    expect(s.managed_resources.map((m) => m.kind).sort()).toEqual(['Deployment', 'Service']);
    const runs = await runsOf(h.t.db, id);
    expect(runs.map((x) => [x.worker_id, x.phase, x.outcome])).toEqual([['paused', 'Failed', 'Failed'], ['next-holder-2', 'Completed', 'Unchanged']]);
    expect((await eventsOf(h.t.db, id)).filter((e) => e.actor_type === 'system').map((e) => e.actor)).toEqual(['reconciler/next-holder-2']);
    await b.stop();
  });
});
