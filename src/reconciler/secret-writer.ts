import { MANAGED_BY } from '../recipes/index.ts';
import type { SecretWriter } from '../secrets.ts';
import type { Kube } from './kube.ts';

/** The Secret's data belongs to this field manager; the reconciler's labels-only apply ("shipslog") never touches it. */
export const SECRET_FIELD_MANAGER = 'shipslog-secrets';

/**
 * Writes secret values straight to a Kubernetes Secret (server-side apply): the values never
 * pass through PostgreSQL. A key left out of `values` is removed (this manager no longer
 * sends it), so a write replaces the whole Secret's data.
 */
export function createKubeSecretWriter(kube: Kube): SecretWriter {
  return {
    stores: true,
    async write(namespace, name, values) {
      if (!(await kube.get({ apiVersion: 'v1', kind: 'Namespace', name: namespace }))) {
        await kube.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels: { [MANAGED_BY]: 'shipslog' } } }, { dryRun: false });
      }
      const data = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]));
      await kube.apply(
        { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name, namespace, labels: { [MANAGED_BY]: 'shipslog' } }, data },
        { dryRun: false, fieldManager: SECRET_FIELD_MANAGER },
      );
    },
  };
}
