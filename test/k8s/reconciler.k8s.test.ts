import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createKube, createKubeSecretWriter, createReconciler, loadKubeConfig, type Kube, type Reconciler } from '../../src/reconciler/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { asUser, converged, createDeployment, quietLog, stateOf, waitFor } from '../reconciler/helpers.ts';

const kubeconfig = inject('k8sKubeconfig');
const skipReason = inject('k8sSkipReason');

// Against a real API server: the same scenarios as the test server's, in a throwaway namespace.
describe.skipIf(!kubeconfig)(`real cluster${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  const tenant = `shipslog-k8s-${randomBytes(3).toString('hex')}`;
  let t: TestDatabase;
  let kube: Kube;
  let reconciler: Reconciler;

  beforeAll(async () => {
    t = await createTestDatabase();
    kube = createKube(loadKubeConfig({ kubeconfig })!);
    reconciler = createReconciler({ db: t.connect(5), kube, log: quietLog, config: { pollIntervalMs: 500, healthIntervalMs: 2000, backoffBaseMs: 500, backoffMaxMs: 5000 } });
    await reconciler.start();
  });

  afterAll(async () => {
    await reconciler?.stop();
    await kube?.delete({ apiVersion: 'v1', kind: 'Namespace', name: tenant }).catch(() => {});
    await t?.drop();
  });

  it('applies a postgresql deployment with server-side apply and records its inventory', async () => {
    await createKubeSecretWriter(kube).write(tenant, 'pg-creds', { POSTGRES_PASSWORD: randomBytes(12).toString('hex') });
    const id = await createDeployment(t.db, { tenant, name: 'pg', secrets_ref: 'pg-creds', config: { storage: '64Mi' } });
    const s = await converged(t.db, id, 'applied', 120_000);
    expect(s.managed_resources.map((m) => `${m.kind}/${m.name}`).sort()).toEqual(['PersistentVolumeClaim/data-pg-0', 'Secret/pg-creds', 'Service/pg', 'StatefulSet/pg']);
    const sts = await kube.get({ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'pg', namespace: tenant });
    expect((sts!.metadata.managedFields as { manager: string }[]).map((f) => f.manager)).toContain('shipslog');
    // A second generation with nothing new for the Service applies only the StatefulSet.
    await asUser(t.db, (tx) => tx`update shipslog.deployments set app_version = '17' where id = ${id}`);
    await converged(t.db, id, 'applied', 120_000);
    const [run] = await t.db<{ change_set: { kind: string; action: string }[] }[]>`
      select change_set from shipslog.reconcile_runs where deployment_id = ${id} and phase = 'Completed' order by started_at desc limit 1`;
    expect(run!.change_set.find((c) => c.kind === 'Service')!.action).toBe('unchanged');

    await asUser(t.db, (tx) => tx`update shipslog.deployments set deletion_requested_at = now() where id = ${id}`);
    await waitFor('removal', async () => !(await stateOf(t.db, id)), 180_000);
    for (const [apiVersion, kind] of [['apps/v1', 'StatefulSet'], ['v1', 'Service'], ['v1', 'PersistentVolumeClaim'], ['v1', 'Secret']] as const) {
      const left = (await kube.list(apiVersion, kind, tenant, `shipslog.io/deployment-id=${id}`)).filter((o) => !o.metadata.deletionTimestamp);
      expect(left.map((o) => o.metadata.name), kind).toEqual([]);
    }
  });
});
