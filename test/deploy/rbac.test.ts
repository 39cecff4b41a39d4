import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKubeSecretWriter } from '../../src/reconciler/index.ts';
import { asUser, converged, createDeployment, harness, stateOf, waitFor, type Harness } from '../reconciler/helpers.ts';
import { resourceTypes } from '../support/kube-api-server-store.ts';
import { readManifests } from '../support/manifests.ts';

/**
 * deploy/'s ClusterRole is exactly what the reconciler calls. The reconciler and the API's
 * secret writer run a whole life (secret, namespace, apply, update, health, removal of every
 * kind, a leftover found by label) through the real @kubernetes/client-node against the
 * Kubernetes API test server; every request is turned into the verb and resource the API
 * server authorises, and that set must equal the ClusterRole's rules. A static scan of the
 * sources makes sure the run covered every kind and every Kube method the code names.
 */
const repo = path.resolve(import.meta.dirname, '../..');
let h: Harness;
beforeAll(async () => {
  h = await harness();
});
afterAll(async () => h?.close());

type Rule = { apiGroups: string[]; resources: string[]; verbs: string[] };
const clusterRole = readManifests(path.join(repo, 'deploy')).flatMap((f) => f.objects).find((o) => o.kind === 'ClusterRole') as unknown as { rules: Rule[] };
const granted = new Set(clusterRole.rules.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${g}/${res}:${v}`)))));

/** The verbs the API server checks for one request (server-side apply of an absent object: patch and create). */
function verbsOf(r: { method: string; name: string | undefined; status: number }): string[] {
  if (r.method === 'GET') return [r.name ? 'get' : 'list'];
  if (r.method === 'PATCH') return r.status === 201 ? ['patch', 'create'] : ['patch'];
  if (r.method === 'DELETE') return ['delete'];
  if (r.method === 'POST') return ['create'];
  return [`${r.method} (unmapped)`];
}

/** Source files of the reconciler and of what it calls Kubernetes for. */
function sources(): string {
  const dirs = ['src/reconciler', 'src/recipes'];
  return [...dirs.flatMap((d) => readdirSync(path.join(repo, d)).map((f) => path.join(repo, d, f))), path.join(repo, 'src/secrets.ts')]
    .filter((f) => f.endsWith('.ts'))
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');
}

describe('deploy/ RBAC: the ClusterRole grants exactly what the reconciler calls', () => {
  it('a whole life through the real client needs every rule of the ClusterRole, and nothing more', async () => {
    const { r } = h.reconciler();
    await r.start();
    // The API's secret writer: the tenant's namespace does not exist yet.
    await createKubeSecretWriter(h.kube).write('rbac-a', 'pg-creds', { POSTGRES_PASSWORD: 's3cret' });
    const pg = await createDeployment(h.t.db, { tenant: 'rbac-a', name: 'orders-db', secrets_ref: 'pg-creds' });
    const cache = await createDeployment(h.t.db, { tenant: 'rbac-b', name: 'cache', recipe: 'redis', app_version: '7.2', config: {} });
    const web = await createDeployment(h.t.db, { tenant: 'rbac-b', name: 'shop', recipe: 'web', app_version: '1.0.0', config: { image: 'ghcr.io/acme/shop' } });
    for (const id of [pg, cache, web]) await converged(h.t.db, id);
    // An update of live objects (apply without create), then health observed.
    await asUser(h.t.db, (tx) => tx`update shipslog.deployments set app_version = '17' where id = ${pg}`);
    await converged(h.t.db, pg);
    // A ConfigMap a crashed run left behind, labelled as the deployment's: removal finds it by label.
    const configMaps = resourceTypes.find((t) => t.kind === 'ConfigMap')!;
    h.server.store.apply(configMaps, 'rbac-a', 'orders-db-leftover', {
      apiVersion: 'v1', kind: 'ConfigMap',
      metadata: { name: 'orders-db-leftover', namespace: 'rbac-a', labels: { 'app.kubernetes.io/managed-by': 'shipslog', 'shipslog.io/deployment-id': pg } },
    }, 'crashed-run', true, false);
    await waitFor('health observed', async () => h.server.requests.some((q) => q.kind === 'Pod'));
    for (const id of [pg, cache, web]) await asUser(h.t.db, (tx) => tx`update shipslog.deployments set deletion_requested_at = now() where id = ${id}`);
    for (const id of [pg, cache, web]) await waitFor(`removal of ${id}`, async () => !(await stateOf(h.t.db, id)));
    await r.stop();
    expect(h.server.objects(['shipslog.io/deployment-id', pg])).toEqual([]);

    // Every request the code made, as the API server authorises it (discovery is open to every
    // authenticated user through system:discovery, so it needs no rule).
    const resourceRequests = h.server.requests.filter((q) => q.kind !== undefined);
    expect(h.server.requests.filter((q) => q.kind === undefined && !/^\/(api|apis)(\/[^/]+){0,2}$/.test(q.path))).toEqual([]);
    const used = new Set(
      resourceRequests.flatMap((q) => {
        const t = resourceTypes.find((x) => x.kind === q.kind)!;
        return verbsOf(q).map((v) => `${t.group}/${t.plural}:${v}`);
      }),
    );
    const missing = [...used].filter((u) => !granted.has(u)).sort();
    const extra = [...granted].filter((g) => !used.has(g)).sort();
    expect({ missing, extra }).toEqual({ missing: [], extra: [] });

    // The run covered the code: every kind the sources name was requested, and the Kube
    // interface has only the methods mapped above (a new one needs its verbs here).
    const text = sources();
    const kinds = new Set([...text.matchAll(/kind: '([A-Z]\w+)'|\['(?:apps\/)?v1', '([A-Z]\w+)'\]|\('v1', '([A-Z]\w+)'/g)].map((m) => m[1] ?? m[2] ?? m[3]));
    const requestedKinds = new Set(resourceRequests.map((q) => q.kind));
    expect([...kinds].filter((k) => !requestedKinds.has(k)).sort()).toEqual([]);
    const kubeTs = readFileSync(path.join(repo, 'src/reconciler/kube.ts'), 'utf8');
    const iface = /export interface Kube \{([\s\S]*?)\n\}/.exec(kubeTs)?.[1] ?? '';
    expect([...iface.matchAll(/^\s{2}(\w+)\(/gm)].map((m) => m[1]).sort()).toEqual(['apply', 'delete', 'get', 'list']);
    expect([...new Set([...text.matchAll(/\bkube\.(\w+)\(/g)].map((m) => m[1]))].sort()).toEqual(['apply', 'delete', 'get', 'list']);
  }, 90_000);
});
