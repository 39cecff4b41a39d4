import type { KubeObject } from './types.ts';

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string | undefined;
}

/**
 * The PVCs a StatefulSet's controller creates from its volumeClaimTemplates:
 * <template>-<statefulset>-<ordinal>, one per replica. We never apply them, but they are
 * ours (they carry the template's ownership labels) and outlive the StatefulSet, so they
 * belong in the inventory or a removal would leave the data volume behind.
 */
export function claimsOf(obj: KubeObject): ObjectRef[] {
  if (obj.kind !== 'StatefulSet') return [];
  const spec = obj.spec as { replicas?: number; volumeClaimTemplates?: { metadata?: { name?: string } }[] } | undefined;
  const replicas = spec?.replicas ?? 1;
  const refs: ObjectRef[] = [];
  for (const t of spec?.volumeClaimTemplates ?? []) {
    if (!t.metadata?.name) continue;
    for (let i = 0; i < replicas; i++) {
      refs.push({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', name: `${t.metadata.name}-${obj.metadata.name}-${i}`, namespace: obj.metadata.namespace });
    }
  }
  return refs;
}
