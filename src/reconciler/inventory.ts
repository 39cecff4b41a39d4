import type { InventoryItem } from '../db/deployments.ts';
import type { KubeObject } from '../recipes/index.ts';
import { DEPLOYMENT_ID, MANAGED_BY } from '../recipes/index.ts';

export const keyOf = (r: { kind: string; name: string; namespace?: string | null | undefined }) => `${r.kind}/${r.namespace ?? ''}/${r.name}`;

export function itemOf(o: KubeObject | { apiVersion: string; kind: string; name: string; namespace?: string | null | undefined }): InventoryItem {
  if ('metadata' in o) return { apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, namespace: o.metadata.namespace ?? null };
  return { apiVersion: o.apiVersion, kind: o.kind, name: o.name, namespace: o.namespace ?? null };
}

/** Union by key; later entries win (newer apiVersion). Sorted so the stored JSON is stable. */
export function union(...lists: InventoryItem[][]): InventoryItem[] {
  const map = new Map<string, InventoryItem>();
  for (const list of lists) for (const item of list) map.set(keyOf(item), item);
  return sortInventory([...map.values()]);
}

export function minus(a: InventoryItem[], b: InventoryItem[]): InventoryItem[] {
  const keys = new Set(b.map(keyOf));
  return a.filter((i) => !keys.has(keyOf(i)));
}

export function sortInventory(items: InventoryItem[]): InventoryItem[] {
  return [...items].sort((x, y) => keyOf(x).localeCompare(keyOf(y)));
}

/** Delete order: workloads first (their pods release claims), then services, claims, secrets. */
const deleteRank: Record<string, number> = { StatefulSet: 0, Deployment: 0, Service: 1, ConfigMap: 2, PersistentVolumeClaim: 3, Secret: 4 };
export function deleteOrder(items: InventoryItem[]): InventoryItem[] {
  return [...items].sort((x, y) => (deleteRank[x.kind] ?? 2) - (deleteRank[y.kind] ?? 2) || keyOf(x).localeCompare(keyOf(y)));
}

/** Ours only if both ownership labels say so: never delete what shipslog did not create for this deployment. */
export function isOwned(live: KubeObject, deploymentId: string): boolean {
  const labels = live.metadata.labels ?? {};
  return labels[MANAGED_BY] === 'shipslog' && labels[DEPLOYMENT_ID] === deploymentId;
}

/**
 * Claims of a StatefulSet that is still desired stay in the inventory when it scales down:
 * Kubernetes retains them (whenScaled: Retain) and they hold data; they go with the
 * StatefulSet or the deployment.
 */
export function retainedClaims(stale: InventoryItem[], desired: InventoryItem[]): InventoryItem[] {
  const sets = desired.filter((d) => d.kind === 'StatefulSet');
  return stale.filter((s) => s.kind === 'PersistentVolumeClaim' && sets.some((set) => s.namespace === set.namespace && new RegExp(`^[a-z0-9-]+-${set.name}-[0-9]+$`).test(s.name)));
}
