import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKube, createKubeSecretWriter } from '../../src/reconciler/index.ts';
import { asUser, converged, createDeployment, eventsOf, harness, runsOf, stateOf, waitFor, type Harness } from './helpers.ts';

let h: Harness;
beforeAll(async () => {
  h = await harness();
});
afterAll(async () => h?.close());

const healthOf = async (id: string) => (await stateOf(h.t.db, id))!;

describe('reconciler: health, secrets, no cluster, restart mid-run', () => {
  it('health follows the workload: Progressing -> Healthy -> Degraded (CrashLoopBackOff) -> Healthy, one event per transition', async () => {
    const { r } = h.reconciler();
    await r.start();
    h.server.sim.set('acme', 'pg-health', 'pvc-pending');
    const id = await createDeployment(h.t.db, { name: 'pg-health' });
    const first = await converged(h.t.db, id);
    expect(first).toMatchObject({ health: 'Progressing', health_message: 'PersistentVolumeClaim data-pg-health-0 is Pending' });
    h.server.sim.set('acme', 'pg-health', 'ready');
    await waitFor('Healthy', async () => (await healthOf(id)).health === 'Healthy');
    h.server.sim.set('acme', 'pg-health', 'crashloop');
    await waitFor('Degraded', async () => (await healthOf(id)).health === 'Degraded');
    expect((await healthOf(id)).health_message).toBe('pod pg-health-0: CrashLoopBackOff');
    // The pod keeps crashing (restart count grows) over several polls: no new events.
    for (let i = 0; i < 3; i++) {
      h.server.sim.set('acme', 'pg-health', 'crashloop');
      await new Promise((res) => setTimeout(res, 150));
    }
    h.server.sim.set('acme', 'pg-health', 'ready');
    await waitFor('Healthy again', async () => (await healthOf(id)).health === 'Healthy');
    const health = (await eventsOf(h.t.db, id)).filter((e) => e.action === 'health_changed');
    expect(health.map((e) => (e.new_state as { health: string }).health)).toEqual(['Healthy', 'Degraded', 'Healthy']);
    expect(health.every((e) => e.actor_type === 'system' && e.actor.startsWith('reconciler/'))).toBe(true);
    await r.stop();
  });

  it('a Secret written by the secret writer is referenced, adopted into the inventory and removed with the deployment; its data is untouched', async () => {
    const { r } = h.reconciler();
    await r.start();
    await createKubeSecretWriter(h.kube).write('beta', 'db-creds', { POSTGRES_PASSWORD: 's3cret' });
    const id = await createDeployment(h.t.db, { tenant: 'beta', name: 'with-secret', secrets_ref: 'db-creds' });
    const s = await converged(h.t.db, id);
    expect(s.managed_resources.map((m) => m.kind)).toContain('Secret');
    const secret = await h.kube.get({ apiVersion: 'v1', kind: 'Secret', name: 'db-creds', namespace: 'beta' });
    expect(Buffer.from((secret!.data as Record<string, string>).POSTGRES_PASSWORD!, 'base64').toString()).toBe('s3cret');
    expect(secret!.metadata.labels!['shipslog.io/deployment-id']).toBe(id);
    const sts = await h.kube.get({ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'with-secret', namespace: 'beta' });
    expect(JSON.stringify(sts)).toContain('"secretRef":{"name":"db-creds"}');
    // The value never reached PostgreSQL.
    const [found] = await h.t.db`select count(*)::int as n from shipslog.deployment_events where new_state::text like '%s3cret%'`;
    expect(found!.n).toBe(0);
    // Rotation: new values (written by the API through the writer) and a new fingerprint
    // roll the pods, because env from a Secret is only read when a container starts.
    await createKubeSecretWriter(h.kube).write('beta', 'db-creds', { POSTGRES_PASSWORD: 'rotated' });
    await asUser(h.t.db, (tx) => tx`update shipslog.deployments set secrets_fingerprint = ${`hmac-sha256:${'b'.repeat(64)}`} where id = ${id}`);
    await converged(h.t.db, id);
    const [rotation] = await h.t.db<{ change_set: { kind: string; action: string }[] }[]>`
      select change_set from shipslog.reconcile_runs where deployment_id = ${id} and phase = 'Completed' order by started_at desc limit 1`;
    expect(rotation!.change_set.map((c) => `${c.kind}:${c.action}`)).toEqual(['Secret:unchanged', 'Service:unchanged', 'StatefulSet:configured']);
    await asUser(h.t.db, (tx) => tx`update shipslog.deployments set deletion_requested_at = now() where id = ${id}`);
    await waitFor('removal', async () => !(await stateOf(h.t.db, id)));
    expect(h.server.objects(['shipslog.io/deployment-id', id])).toEqual([]);
    expect(await h.kube.get({ apiVersion: 'v1', kind: 'Secret', name: 'db-creds', namespace: 'beta' })).toBeNull();
    await r.stop();
  });

  it('removal also takes the Secret shipslog wrote for a deployment that no run adopted yet', async () => {
    const { r } = h.reconciler({ kube: null }); // plans only: nothing applied, nothing adopted
    await r.start();
    await createKubeSecretWriter(h.kube).write('delta', 'late-creds', { TOKEN: 'x' });
    const id = await createDeployment(h.t.db, { tenant: 'delta', name: 'late', recipe: 'redis', app_version: '7', config: {}, secrets_ref: 'late-creds' });
    await waitFor('plan', async () => (await stateOf(h.t.db, id))?.observed_generation === 1);
    await r.stop();
    const applier = h.reconciler();
    await asUser(h.t.db, (tx) => tx`update shipslog.deployments set deletion_requested_at = now() where id = ${id}`);
    await applier.r.start();
    await waitFor('removal', async () => !(await stateOf(h.t.db, id)));
    expect(await h.kube.get({ apiVersion: 'v1', kind: 'Secret', name: 'late-creds', namespace: 'delta' })).toBeNull();
    await applier.r.stop();
  });

  it('with no cluster configured it renders and records the plan, applies nothing, and says so', async () => {
    const { r } = h.reconciler({ kube: null });
    await r.start();
    const before = h.server.requests.length;
    const id = await createDeployment(h.t.db, { tenant: 'gamma', name: 'planned', recipe: 'web', app_version: '2', config: { image: 'nginx' } });
    const s = await waitFor('plan', async () => {
      const x = await stateOf(h.t.db, id);
      return x && x.observed_generation === x.generation ? x : undefined;
    });
    expect(s.status).toBe('pending');
    expect(s.status_message).toMatch(/no cluster configured: rendered 2 objects for generation 1 and applied nothing/);
    expect(s.managed_resources).toEqual([]);
    const [run] = await runsOf(h.t.db, id);
    expect(run).toMatchObject({ phase: 'Completed', outcome: 'Planned', dry_run: true });
    expect(run!.change_set.map((c) => `${c.kind}:${c.action}`)).toEqual(['Service:planned', 'Deployment:planned']);
    expect(h.server.requests.length).toBe(before);
    expect(r.describe()).toMatchObject({ mode: 'plan-only', message: expect.stringMatching(/no cluster configured/) });
    // Removal with nothing applied deletes the row at once.
    await asUser(h.t.db, (tx) => tx`update shipslog.deployments set deletion_requested_at = now() where id = ${id}`);
    await waitFor('removal', async () => !(await stateOf(h.t.db, id)));
    await r.stop();
  });

  it('a reconciler that dies mid-run leaves a lease that runs out; the next one takes over and records the lost run', async () => {
    const slow = h.server.inject({ match: { method: 'PATCH', kind: 'StatefulSet', name: 'crashy', dryRun: false }, delayMs: 1500, times: 1 });
    // A short lease (1 s) so the takeover comes quickly; requests must fit in it (500 ms).
    const a = h.reconciler({ workerId: 'doomed', leaseTtlMs: 1000, leaseRenewMs: 200, kube: createKube(h.server.kubeConfig(), { requestTimeoutMs: 500 }) });
    await a.r.start();
    const id = await createDeployment(h.t.db, { name: 'crashy' });
    await waitFor('the run to start', async () => (await runsOf(h.t.db, id)).some((x) => x.phase === 'Running'));
    const [lease] = await h.t.db<{ lease_holder: string; left: number; expires: Date }[]>`
      select lease_holder, extract(epoch from lease_expires_at - clock_timestamp())::float8 as left, lease_expires_at as expires
      from shipslog.reconcile_queue
      where deployment_id = ${id}`;
    expect(lease!.lease_holder).toBe('doomed');
    expect(lease!.left).toBeGreaterThan(0);
    expect(lease!.left).toBeLessThanOrEqual(1);
    // The process dies: its connections go away; no transaction was open, its lease stays.
    await a.pool.end({ timeout: 0 });
    await a.r.stop().catch(() => {});
    expect((await stateOf(h.t.db, id))!.observed_generation).toBe(0);
    const b = h.reconciler({ workerId: 'survivor' });
    await b.r.start();
    const s = await converged(h.t.db, id);
    expect(slow.hits).toBe(1);
    expect(s.managed_resources).toHaveLength(3);
    const runs = await runsOf(h.t.db, id);
    expect(runs.map((x) => [x.worker_id, x.phase, x.failure_reason])).toEqual([['doomed', 'Failed', 'WorkerLost'], ['survivor', 'Completed', null]]);
    // Taken over once the lease ran out, not before (it was never extended after the crash).
    expect(runs[1]!.started_at.getTime()).toBeGreaterThanOrEqual(lease!.expires.getTime());
    await b.r.stop();
  });
});
