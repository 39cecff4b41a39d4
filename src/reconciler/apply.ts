import type { InventoryItem } from '../db/deployments.ts';
import type { ChangeSetEntry } from '../db/runs.ts';
import type { KubeObject } from '../recipes/index.ts';
import { KubeError, type Kube } from './kube.ts';
import { deleteOrder, isOwned, itemOf } from './inventory.ts';

/** Fields the API server owns: they differ between a dry run and the live object without any change of ours. */
function normalize(o: KubeObject): string {
  const { managedFields: _f, resourceVersion: _r, generation: _g, creationTimestamp: _c, uid: _u, ...metadata } = o.metadata;
  const { status: _s, ...rest } = o;
  return stable({ ...rest, metadata });
}

function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${stable((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

const entry = (o: KubeObject, action: ChangeSetEntry['action'], message?: string): ChangeSetEntry => ({
  kind: o.kind,
  name: o.metadata.name,
  namespace: o.metadata.namespace ?? null,
  action,
  ...(message ? { message } : {}),
});

export interface ApplyResult {
  changeSet: ChangeSetEntry[];
  /** Objects that exist as we want them now (applied or already unchanged). */
  applied: InventoryItem[];
  failure?: { object: KubeObject; error: unknown };
}

/**
 * Flux's apply: a server-side dry run of each object, compared with the live one, and a real
 * apply only of what differs. Stops at the first failure (later objects may depend on it);
 * what succeeded so far is reported so the inventory records exactly that.
 */
export async function applyAll(kube: Kube, objects: KubeObject[]): Promise<ApplyResult> {
  const result: ApplyResult = { changeSet: [], applied: [] };
  for (const object of objects) {
    try {
      const live = await kube.get(itemOf(object));
      const dry = await kube.apply(object, { dryRun: true });
      if (live && normalize(live) === normalize(dry)) {
        result.changeSet.push(entry(object, 'unchanged'));
      } else {
        await kube.apply(object, { dryRun: false });
        result.changeSet.push(entry(object, live ? 'configured' : 'created'));
      }
      result.applied.push(itemOf(object));
    } catch (error) {
      result.changeSet.push(entry(object, 'failed', describeError(error)));
      result.failure = { object, error };
      break;
    }
  }
  return result;
}

export interface DeleteResult {
  changeSet: ChangeSetEntry[];
  /** Still ours and still there: they stay in the inventory and are retried. */
  failed: InventoryItem[];
  errors: string[];
}

/** Deletes inventory items, checking ownership labels on the live object before each delete. */
export async function deleteItems(kube: Kube, items: InventoryItem[], deploymentId: string): Promise<DeleteResult> {
  const result: DeleteResult = { changeSet: [], failed: [], errors: [] };
  for (const item of deleteOrder(items)) {
    const as = { apiVersion: item.apiVersion, kind: item.kind, metadata: { name: item.name, ...(item.namespace ? { namespace: item.namespace } : {}) } };
    try {
      const live = await kube.get(item);
      if (!live) {
        result.changeSet.push(entry(as, 'deleted', 'already gone'));
        continue;
      }
      if (!isOwned(live, deploymentId)) {
        // Someone else's object now (replaced or relabelled): not ours to delete; forget it.
        result.changeSet.push(entry(as, 'skipped-not-owned', 'ownership labels do not name this deployment'));
        continue;
      }
      await kube.delete(item);
      result.changeSet.push(entry(as, 'deleted'));
    } catch (error) {
      const message = describeError(error);
      result.changeSet.push(entry(as, 'delete-failed', message));
      result.failed.push(item);
      result.errors.push(`${item.kind} ${item.name}: ${message}`);
    }
  }
  return result;
}

export function describeError(error: unknown): string {
  if (error instanceof KubeError) return `${error.status} ${error.reason}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}
