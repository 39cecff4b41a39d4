import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKube, type Reconciler } from '../../src/reconciler/index.ts';
import { asUser, converged, createDeployment, eventsOf, harness, runsOf, stateOf, waitFor, type Harness } from './helpers.ts';

let h: Harness;
let r: Reconciler;
beforeAll(async () => {
  h = await harness();
  r = h.reconciler().r;
  await r.start();
});
afterAll(async () => h?.close());

const labelled = (id: string) => h.server.objects(['shipslog.io/deployment-id', id]);

describe('reconciler: partial failure, removal, prune', () => {
  it('a partial apply records only what succeeded, says why, and is retried after back-off', async () => {
    const fault = h.server.inject({ match: { method: 'PATCH', kind: 'StatefulSet', name: 'ledger', dryRun: false }, status: 500, message: 'etcdserver: request timed out', times: 2 });
    const id = await createDeployment(h.t.db, { name: 'ledger' });
    const failed = await waitFor('a failed run', async () => {
      const s = await stateOf(h.t.db, id);
      return s?.status === 'failed' ? s : undefined;
    });
    expect(failed.managed_resources.map((m) => m.kind)).toEqual(['Service']);
    expect(failed.status_message).toMatch(/ApplyFailed: StatefulSet acme\/ledger: 500 InternalError: etcdserver: request timed out/);
    const ev = (await eventsOf(h.t.db, id)).find((e) => e.actor_type === 'system')!;
    expect(ev.action).toBe('resources_changed');
    expect(ev.reason).toMatch(/ApplyFailed/);
    const s = await converged(h.t.db, id);
    expect(fault.hits).toBe(2);
    expect(s.managed_resources.map((m) => m.kind).sort()).toEqual(['PersistentVolumeClaim', 'Service', 'StatefulSet']);
    const all = await runsOf(h.t.db, id);
    // While it waited, the back-off was recorded as a skip naming the failed run.
    const skips = all.filter((x) => x.phase === 'Skipped');
    expect(skips.every((x) => x.skip_reason === 'RecentlyRemediated')).toBe(true);
    const runs = all.filter((x) => x.phase !== 'Skipped');
    expect(runs.map((x) => x.phase)).toEqual(['Failed', 'Failed', 'Completed']);
    expect(runs[0]!.change_set.map((c) => `${c.kind}:${c.action}`)).toEqual(['Namespace:created', 'Service:created', 'StatefulSet:failed']);
    // After the first failure the Service was unchanged; the retry applied only the StatefulSet.
    expect(runs[2]!.change_set.map((c) => `${c.kind}:${c.action}`)).toEqual(['Service:unchanged', 'StatefulSet:created']);
    const events = (await eventsOf(h.t.db, id)).filter((e) => e.actor_type === 'system');
    // The second, identical failure changed nothing on the row: no duplicate event.
    expect(events.map((e) => e.action)).toEqual(['resources_changed', 'resources_changed']);
  });

  it('a 422 (immutable field) fails with the API server message, nothing else changes', async () => {
    const id = await createDeployment(h.t.db, { name: 'grow-db', config: { storage: '1Gi' } });
    await converged(h.t.db, id);
    await asUser(h.t.db, (tx) => tx`update shipslog.deployments set config = ${tx.json({ storage: '5Gi' })} where id = ${id}`);
    const s = await waitFor('failure', async () => ((await stateOf(h.t.db, id))?.status === 'failed' ? stateOf(h.t.db, id) : undefined));
    expect(s!.status_message).toMatch(/422 Invalid: StatefulSet.apps "grow-db" is invalid: spec: Forbidden/);
    expect(s!.managed_resources).toHaveLength(3);
    // Put it back: converges again.
    await asUser(h.t.db, (tx) => tx`update shipslog.deployments set config = ${tx.json({ storage: '1Gi' })} where id = ${id}`);
    await converged(h.t.db, id);
  });

  it('removal deletes exactly the inventory, keeps a failed delete and retries it, then deletes the row', async () => {
    const id = await createDeployment(h.t.db, { name: 'to-remove' });
    await converged(h.t.db, id);
    expect(labelled(id).map((o) => o.kind).sort()).toEqual(['PersistentVolumeClaim', 'Pod', 'Service', 'StatefulSet']);
    // Not ours although it carries our deployment label: a foreign manager's object is never touched.
    const bystander = await createDeployment(h.t.db, { name: 'bystander', recipe: 'redis', app_version: '7', config: {} });
    await converged(h.t.db, bystander);
    const fault = h.server.inject({ match: { method: 'DELETE', kind: 'StatefulSet', name: 'to-remove' }, status: 500, times: 1 });
    await asUser(h.t.db, (tx) => tx`update shipslog.deployments set deletion_requested_at = now() where id = ${id}`);
    const partial = await waitFor('a partial removal', async () => {
      const s = await stateOf(h.t.db, id);
      return s?.status === 'removing' ? s : undefined;
    });
    expect(partial.managed_resources).toEqual([{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'to-remove', namespace: 'acme' }]);
    expect(partial.status_message).toMatch(/1 of 3 objects could not be deleted/);
    await waitFor('the row to be deleted', async () => !(await stateOf(h.t.db, id)));
    expect(fault.hits).toBe(1);
    expect(labelled(id)).toEqual([]);
    expect(labelled(bystander).length).toBeGreaterThan(0);
    const events = await eventsOf(h.t.db, id);
    expect(events.at(-1)).toMatchObject({ action: 'removed', actor_type: 'system' });
    const runs = (await runsOf(h.t.db, id)).filter((x) => x.phase !== 'Skipped');
    expect(runs.slice(-2).map((x) => [x.phase, x.outcome])).toEqual([['Failed', 'Removing'], ['Completed', 'Removed']]);
    // The Service was checked for ownership, then deleted; the StatefulSet was retried.
    const deletes = h.server.requests.filter((q) => q.method === 'DELETE' && q.name?.includes('to-remove'));
    expect(deletes.map((q) => `${q.kind}:${q.status}`)).toEqual(['StatefulSet:500', 'Service:200', 'PersistentVolumeClaim:200', 'StatefulSet:200']);
  });

  it('never deletes an inventory object whose ownership labels name someone else', async () => {
    const id = await createDeployment(h.t.db, { name: 'relabelled', recipe: 'redis', app_version: '7', config: {} });
    await converged(h.t.db, id);
    // Someone took the Service over (another tool applied it with its own labels).
    await h.kube.apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'relabelled', namespace: 'acme', labels: { 'app.kubernetes.io/managed-by': 'helm', 'shipslog.io/deployment-id': 'someone-else' } }, spec: { ports: [{ port: 1 }] } }, { dryRun: false, fieldManager: 'helm' });
    await asUser(h.t.db, (tx) => tx`update shipslog.deployments set deletion_requested_at = now() where id = ${id}`);
    await waitFor('the row to be deleted', async () => !(await stateOf(h.t.db, id)));
    expect(await h.kube.get({ apiVersion: 'v1', kind: 'Service', name: 'relabelled', namespace: 'acme' })).not.toBeNull();
    expect(await h.kube.get({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'relabelled', namespace: 'acme' })).toBeNull();
    const runs = await runsOf(h.t.db, id);
    expect(runs.at(-1)!.change_set.find((c) => c.kind === 'Service')!.action).toBe('skipped-not-owned');
  });

  it('an upgrade whose render drops an object deletes it (inventory diff)', async () => {
    const id = await createDeployment(h.t.db, { name: 'pruned', recipe: 'redis', app_version: '7', config: {} });
    await converged(h.t.db, id);
    // An earlier recipe version also rendered a ConfigMap: it is live and in the inventory.
    const labels = { 'app.kubernetes.io/managed-by': 'shipslog', 'shipslog.io/deployment-id': id };
    await h.kube.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'pruned-conf', namespace: 'acme', labels }, data: { a: 'b' } }, { dryRun: false });
    await h.t.db`
      update shipslog.deployments
      set managed_resources = managed_resources || '[{"apiVersion":"v1","kind":"ConfigMap","name":"pruned-conf","namespace":"acme"}]'
      where id = ${id}`;
    await asUser(h.t.db, (tx) => tx`update shipslog.deployments set app_version = '7.2' where id = ${id}`);
    const s = await converged(h.t.db, id);
    expect(s.managed_resources.map((m) => m.kind).sort()).toEqual(['Deployment', 'Service']);
    expect(await h.kube.get({ apiVersion: 'v1', kind: 'ConfigMap', name: 'pruned-conf', namespace: 'acme' })).toBeNull();
    const runs = await runsOf(h.t.db, id);
    expect(runs.at(-1)!.change_set.find((c) => c.kind === 'ConfigMap')!.action).toBe('deleted');
  });

  it('records ResourceBusy when a change arrives while another replica holds the deployment, and RecentlyRemediated during back-off', async () => {
    const other = h.reconciler({ workerId: 'other-replica', backoffBaseMs: 1500, backoffMaxMs: 1500 }).r;
    await other.start();
    const slow = h.server.inject({ match: { method: 'PATCH', kind: 'StatefulSet', name: 'busy-db', dryRun: false }, delayMs: 800, times: 1 });
    const id = await createDeployment(h.t.db, { name: 'busy-db' });
    const running = await waitFor('a running run', async () => (await runsOf(h.t.db, id)).find((x) => x.phase === 'Running'));
    await asUser(h.t.db, (tx) => tx`update shipslog.deployments set config = ${tx.json({ storage: '1Gi', resources: { memory: '1Gi' } })} where id = ${id}`);
    // That write sends no wake-up (the deployment was already pending: the audit trigger
    // notifies only settled->pending), so wake both replicas as a catch-up or another
    // writer's NOTIFY would: the one not holding the lease must record the conflict.
    await h.t.db`select pg_notify('shipslog_reconcile', ${id})`;
    const busy = await waitFor('a ResourceBusy skip', async () => (await runsOf(h.t.db, id)).find((x) => x.skip_reason === 'ResourceBusy'));
    expect(busy.worker_id).not.toBe(running.worker_id);
    const [row] = await h.t.db`select conflicting_run_id from shipslog.reconcile_runs where id = ${busy.id}`;
    expect(row!.conflicting_run_id).toBe(running.id);
    await converged(h.t.db, id);
    expect(slow.hits).toBe(1);
    const completed = (await runsOf(h.t.db, id)).filter((x) => x.phase === 'Completed');
    expect(completed.map((x) => x.generation)).toEqual([1, 2]);
    await other.stop();
    const [view] = await h.t.db`select runs from shipslog.reconcile_lock_effectiveness where skip_reason = 'ResourceBusy'`;
    expect(Number(view!.runs)).toBeGreaterThanOrEqual(1);
  });

  it('a conflict (409) or an API server that hangs fails the run with the reason; the retry converges', async () => {
    const impatient = h.reconciler({ workerId: 'impatient', backoffBaseMs: 1500, backoffMaxMs: 1500, kube: createKube(h.server.kubeConfig(), { requestTimeoutMs: 300 }) });
    await r.stop();
    await impatient.r.start();
    h.server.inject({ match: { method: 'PATCH', kind: 'Service', name: 'conflicted', dryRun: false }, status: 409, message: 'Operation cannot be fulfilled: the object has been modified', times: 1 });
    const c = await createDeployment(h.t.db, { name: 'conflicted', recipe: 'redis', app_version: '7', config: {} });
    await converged(h.t.db, c);
    const cRuns = (await runsOf(h.t.db, c)).filter((x) => x.phase !== 'Skipped');
    expect(cRuns[0]!.failure_message).toMatch(/409 Conflict: Operation cannot be fulfilled/);
    // The API server takes 1 s for one apply (and still performs it): the client gives up at 300 ms.
    h.server.inject({ match: { method: 'PATCH', kind: 'Deployment', name: 'hung', dryRun: false }, delayMs: 1000, times: 1 });
    const id = await createDeployment(h.t.db, { name: 'hung', recipe: 'redis', app_version: '7', config: {} });
    await converged(h.t.db, id);
    const runs = (await runsOf(h.t.db, id)).filter((x) => x.phase !== 'Skipped');
    expect(runs[0]).toMatchObject({ phase: 'Failed', failure_reason: 'ApplyFailed' });
    expect(runs[0]!.failure_message).toMatch(/504 Timeout/);
    // The late apply did land; the retry found it as wanted and only recorded it.
    expect(runs.at(-1)!.change_set.find((x) => x.kind === 'Deployment')!.action).toBe('unchanged');
    await impatient.r.stop();
    await r.start();
  });
});
