import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reconciler } from '../../src/reconciler/index.ts';
import { asUser, converged, createDeployment, eventsOf, harness, runsOf, type Harness } from './helpers.ts';

let h: Harness;
let r: Reconciler;
beforeAll(async () => {
  h = await harness();
  r = h.reconciler().r;
  await r.start();
});
afterAll(async () => h?.close());

const realApplies = (name: string, kind?: string) => h.server.applies().filter((a) => a.name === name && (!kind || a.kind === kind));

describe('reconciler: apply through the real client', () => {
  it('creates a postgresql deployment: StatefulSet, Service, inventory with the claim template PVC', async () => {
    const id = await createDeployment(h.t.db, { name: 'orders-db', config: { storage: '2Gi' } });
    const s = await converged(h.t.db, id);
    expect(s.managed_resources).toEqual([
      { apiVersion: 'v1', kind: 'PersistentVolumeClaim', name: 'data-orders-db-0', namespace: 'acme' },
      { apiVersion: 'v1', kind: 'Service', name: 'orders-db', namespace: 'acme' },
      { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'orders-db', namespace: 'acme' },
    ]);
    expect(s.service_name).toBe('orders-db');
    expect(s.url).toBe('postgresql://orders-db.acme.svc:5432');
    const sts = h.server.store.all().find((o) => (o.kind === 'StatefulSet' && (o.metadata as { name: string }).name === 'orders-db'))!;
    const labels = (sts.metadata as { labels: Record<string, string> }).labels;
    expect(labels['app.kubernetes.io/managed-by']).toBe('shipslog');
    expect(labels['shipslog.io/deployment-id']).toBe(id);
    // Every real apply came after a dry run of the same object, with field manager shipslog.
    for (const a of realApplies('orders-db')) expect(a.query.fieldManager).toBe('shipslog');
    const i = h.server.requests.indexOf(realApplies('orders-db', 'StatefulSet')[0]!);
    expect(h.server.requests.slice(0, i).some((q) => q.name === 'orders-db' && q.kind === 'StatefulSet' && q.query.dryRun === 'All')).toBe(true);

    const [run] = await runsOf(h.t.db, id);
    expect(run).toMatchObject({ phase: 'Completed', outcome: 'Applied', generation: 1, dry_run: false });
    expect(run!.change_set.map((c) => `${c.kind}/${c.name}:${c.action}`)).toEqual(['Namespace/acme:created', 'Service/orders-db:created', 'StatefulSet/orders-db:created']);
    const events = await eventsOf(h.t.db, id);
    const mine = events.filter((e) => e.actor_type === 'system');
    expect(mine).toHaveLength(1);
    // The run's events carry its id as request id, and the correlation id of what made the generation.
    expect(mine[0]).toMatchObject({ action: 'resources_changed', actor: expect.stringMatching(/^reconciler\//), request_id: run!.id, correlation_id: events[0]!.correlation_id ?? run!.id });
  });

  it('a config change applies only what differs and records the change set', async () => {
    const id = await createDeployment(h.t.db, { name: 'cache', recipe: 'redis', app_version: '7.2', config: {} });
    await converged(h.t.db, id);
    const before = realApplies('cache').length;
    await asUser(h.t.db, (tx) => tx`update shipslog.deployments set config = ${tx.json({ maxmemory: '256Mi' })} where id = ${id}`);
    const s = await converged(h.t.db, id);
    expect(s.generation).toBe(2);
    const after = realApplies('cache').slice(before);
    expect(after.map((a) => a.kind)).toEqual(['Deployment']); // the Service did not change: dry run only
    const runs = await runsOf(h.t.db, id);
    expect(runs.at(-1)!.change_set.map((c) => `${c.kind}:${c.action}`)).toEqual(['Service:unchanged', 'Deployment:configured']);
    const live = h.server.store.all().find((o) => o.kind === 'Deployment' && (o.metadata as { name: string }).name === 'cache')!;
    expect(JSON.stringify(live)).toContain('"--maxmemory","256mb"');
  });

  it('an upgrade changes the image; a restart changes the pod template; both are one run each', async () => {
    const id = await createDeployment(h.t.db, { name: 'shop', recipe: 'web', app_version: '1.0.0', config: { image: 'ghcr.io/acme/shop', replicas: 2 } });
    await converged(h.t.db, id);
    await asUser(h.t.db, (tx) => tx`update shipslog.deployments set app_version = '1.1.0' where id = ${id}`);
    await converged(h.t.db, id);
    const image = () => JSON.stringify(h.server.store.all().find((o) => o.kind === 'Deployment' && (o.metadata as { name: string }).name === 'shop'));
    expect(image()).toContain('ghcr.io/acme/shop:1.1.0');
    await asUser(h.t.db, (tx) => tx`update shipslog.deployments set restarted_at = now() where id = ${id}`);
    const s = await converged(h.t.db, id);
    expect(s.generation).toBe(3);
    // The annotation is restarted_at as a JavaScript Date prints it (milliseconds), as it was
    // when the reconciler read timestamps as Dates: a different text would roll every
    // restarted deployment's pods once after an upgrade.
    const [row] = await h.t.db<{ restarted_at: Date }[]>`select restarted_at from shipslog.deployments where id = ${id}`;
    expect(image()).toContain(`"shipslog.io/restarted-at":"${row!.restarted_at.toISOString()}"`);
    const runs = await runsOf(h.t.db, id);
    expect(runs.map((x) => [x.generation, x.outcome])).toEqual([[1, 'Applied'], [2, 'Applied'], [3, 'Applied']]);
    const runs2 = await runsOf(h.t.db, id);
    expect(runs2.at(-1)!.change_set.find((c) => c.kind === 'Deployment')!.action).toBe('configured');
  });

  it('an invalid config written by raw SQL fails the run with InvalidConfig and an audited reason', async () => {
    // The SQL check refuses what a render depends on; the zod schema is stricter still (unknown keys).
    const id = await createDeployment(h.t.db, { name: 'bad-web', recipe: 'web', app_version: '1', config: { image: 'nginx', unknown_knob: true } });
    const s = await converged(h.t.db, id, 'failed');
    expect(s.status_message).toMatch(/unknown_knob/);
    const [run] = await runsOf(h.t.db, id);
    expect(run).toMatchObject({ phase: 'Failed', failure_reason: 'InvalidConfig' });
    const ev = (await eventsOf(h.t.db, id)).at(-1)!;
    expect(ev).toMatchObject({ action: 'status_changed', actor_type: 'system' });
    expect(ev.reason).toMatch(/^InvalidConfig: /);
  });

  it('describes itself for /readyz and counts runs in its metrics', async () => {
    expect(r.describe()).toMatchObject({ running: true, mode: 'apply', listening: true });
    const text = await r.metrics.registry.metrics();
    expect(text).toMatch(/shipslog_reconcile_runs_total\{outcome="Applied"\} [1-9]/);
    expect(text).toMatch(/shipslog_reconcile_runs_total\{outcome="Failed"\} [1-9]/);
    expect(text).toContain('shipslog_reconcile_run_duration_seconds_bucket');
    expect(text).toContain('shipslog_reconcile_audit_record_errors_total');
  });
});
