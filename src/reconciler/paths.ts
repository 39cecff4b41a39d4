import type { Deployment, InventoryItem } from '../db/deployments.ts';
import type { ChangeSetEntry } from '../db/runs.ts';
import { claimsOf, DEPLOYMENT_ID, MANAGED_BY, type KubeObject, type Rendered } from '../recipes/index.ts';
import { applyAll, deleteItems, describeError } from './apply.ts';
import { observeHealth, type HealthStatus } from './health.ts';
import { isOwned, itemOf, keyOf, minus, retainedClaims, union } from './inventory.ts';
import type { Kube } from './kube.ts';
import { clientOf } from './lease.ts';
import type { Decision } from './run.ts';

const schemes: Record<string, string> = { postgresql: 'postgresql', redis: 'redis', web: 'http' };

function serviceOf(d: Deployment, r: Rendered) {
  return { ...r.service, url: `${schemes[d.recipe] ?? 'tcp'}://${r.service.name}.${r.namespace}.svc:${r.service.port}` };
}

function summary(changeSet: ChangeSetEntry[]): string {
  const counts = new Map<string, number>();
  for (const c of changeSet) counts.set(c.action, (counts.get(c.action) ?? 0) + 1);
  return [...counts].map(([action, n]) => `${n} ${action}`).join(', ') || 'nothing to do';
}

/** No cluster configured: what would be applied goes into the run record; nothing else happens. */
export function planPath(d: Deployment, r: Rendered): Decision {
  const changeSet: ChangeSetEntry[] = r.objects.map((o) => ({ kind: o.kind, name: o.metadata.name, namespace: o.metadata.namespace ?? null, action: 'planned' }));
  return {
    phase: 'Completed', outcome: 'Planned', changeSet,
    deployment: {
      status: 'pending', observed: true, managedResources: d.managed_resources,
      statusMessage: `no cluster configured: rendered ${changeSet.length} objects for generation ${d.generation} and applied nothing (set KUBECONFIG to apply)`,
      service: serviceOf(d, r),
    },
  };
}

/**
 * The Secret named by secrets_ref, when shipslog wrote it (managed-by label), is adopted: a
 * labels-only apply marks it as this deployment's, so removal deletes it too. Its data stays
 * owned by the writer's field manager, so this apply never touches the values.
 */
async function secretToAdopt(kube: Kube, d: Deployment, namespace: string): Promise<KubeObject | null> {
  if (!d.secrets_ref) return null;
  const live = await kube.get({ apiVersion: 'v1', kind: 'Secret', name: d.secrets_ref, namespace });
  if (!live || live.metadata.labels?.[MANAGED_BY] !== 'shipslog') return null;
  const owner = live.metadata.labels?.[DEPLOYMENT_ID];
  if (owner && owner !== d.id) return null; // another deployment's Secret: referenced, never adopted
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name: d.secrets_ref, namespace, labels: { [MANAGED_BY]: 'shipslog', [DEPLOYMENT_ID]: d.id } } };
}

// Namespaces seen to exist, per Kube client: saves one request per run (about 10% of a run's
// API calls). A namespace deleted behind our back shows up as a failed apply (404), which
// forgets it here so the retry creates it again.
const knownNamespaces = new WeakMap<Kube, Set<string>>();

/** The tenant's namespace: created when missing, never in an inventory (other deployments live there). */
async function ensureNamespace(kube: Kube, namespace: string): Promise<ChangeSetEntry | null> {
  const known = knownNamespaces.get(clientOf(kube)) ?? new Set<string>();
  knownNamespaces.set(clientOf(kube), known);
  if (known.has(namespace)) return null;
  if (await kube.get({ apiVersion: 'v1', kind: 'Namespace', name: namespace })) {
    known.add(namespace);
    return null;
  }
  await kube.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels: { [MANAGED_BY]: 'shipslog' } } }, { dryRun: false });
  known.add(namespace);
  return { kind: 'Namespace', name: namespace, namespace: null, action: 'created' };
}

export async function applyPath(kube: Kube, d: Deployment, r: Rendered): Promise<Decision> {
  const old = d.managed_resources;
  const service = serviceOf(d, r);
  const changeSet: ChangeSetEntry[] = [];
  let objects = r.objects;
  try {
    const ns = await ensureNamespace(kube, r.namespace);
    if (ns) changeSet.push(ns);
    const secret = await secretToAdopt(kube, d, r.namespace);
    if (secret) objects = [secret, ...objects];
  } catch (err) {
    return failed('ApplyFailed', `preparing namespace ${r.namespace} (namespace, Secret): ${describeError(err)}`, changeSet, old);
  }
  const result = await applyAll(kube, objects);
  changeSet.push(...result.changeSet);
  if (result.failure && (result.failure.error as { status?: number }).status === 404) knownNamespaces.get(clientOf(kube))?.delete(r.namespace);
  const appliedObjects = objects.filter((o) => result.applied.some((a) => keyOf(a) === keyOf(itemOf(o))));
  const applied = union(result.applied, ...appliedObjects.map((o) => claimsOf(o).map(itemOf)));
  if (result.failure) {
    const o = result.failure.object;
    // Old objects still exist and what did apply exists now: the inventory keeps both.
    return failed('ApplyFailed', `${o.kind} ${o.metadata.namespace}/${o.metadata.name}: ${describeError(result.failure.error)}`, changeSet, union(old, applied));
  }
  // Inventory diff: what the previous generation had and this one no longer renders is deleted.
  const stale = minus(old, applied);
  const retained = retainedClaims(stale, applied);
  const pruned = await deleteItems(kube, minus(stale, retained), d.id);
  changeSet.push(...pruned.changeSet);
  const inventory = union(applied, retained, pruned.failed);
  if (pruned.failed.length > 0) {
    return failed('PruneFailed', `could not delete objects no longer rendered: ${pruned.errors.join('; ')}`, changeSet, inventory);
  }
  let health: HealthStatus;
  try {
    health = await observeHealth(kube, d.id, r.namespace, r.workload);
  } catch (err) {
    health = { health: 'Unknown', message: `health not observed: ${describeError(err)}` };
  }
  const changed = changeSet.some((c) => c.action !== 'unchanged');
  return {
    phase: 'Completed', outcome: changed ? 'Applied' : 'Unchanged', changeSet,
    deployment: {
      status: 'applied', observed: true, managedResources: inventory, health, service,
      statusMessage: `generation ${d.generation}: ${summary(changeSet)}`,
    },
  };
}

function failed(reason: string, message: string, changeSet: ChangeSetEntry[], inventory: InventoryItem[]): Decision {
  return {
    phase: 'Failed', outcome: 'Failed', failureReason: reason, failureMessage: message, changeSet,
    deployment: { status: 'failed', statusMessage: `${reason}: ${message}`, managedResources: inventory, observed: false },
  };
}

/** Kinds a recipe creates; searched by label on removal to catch objects a crashed run applied but never recorded. */
const discoverable = [
  ['apps/v1', 'StatefulSet'], ['apps/v1', 'Deployment'], ['v1', 'Service'], ['v1', 'PersistentVolumeClaim'], ['v1', 'Secret'], ['v1', 'ConfigMap'],
] as const;

export async function removalPath(kube: Kube | null, d: Deployment): Promise<Decision> {
  let inventory = d.managed_resources;
  if (!kube) {
    if (inventory.length === 0) return { phase: 'Completed', outcome: 'Removed', changeSet: [], deployment: 'delete' };
    return failed('NoCluster', `${inventory.length} objects are in the inventory but no cluster is configured to delete them`, [], inventory);
  }
  try {
    const found = await Promise.all(discoverable.map(([apiVersion, kind]) => kube.list(apiVersion, kind, d.tenant, `${DEPLOYMENT_ID}=${d.id}`)));
    inventory = union(inventory, found.flat().filter((o) => isOwned(o, d.id)).map(itemOf));
    // The Secret shipslog wrote for it but no run adopted yet (no apply since it was written):
    // adopt it now, so that the ownership check before its delete can pass.
    const secret = await secretToAdopt(kube, d, d.tenant);
    if (secret) {
      await kube.apply(secret, { dryRun: false });
      inventory = union(inventory, [itemOf(secret)]);
    }
  } catch (err) {
    return { ...failed('DeleteFailed', `listing objects to remove: ${describeError(err)}`, [], inventory), outcome: 'Removing', deployment: { status: 'removing', statusMessage: `removal: ${describeError(err)}`, managedResources: inventory, observed: false } };
  }
  const result = await deleteItems(kube, inventory, d.id);
  if (result.failed.length === 0) return { phase: 'Completed', outcome: 'Removed', changeSet: result.changeSet, deployment: 'delete' };
  const message = `${result.failed.length} of ${inventory.length} objects could not be deleted and will be retried: ${result.errors.join('; ')}`;
  return {
    phase: 'Failed', outcome: 'Removing', failureReason: 'DeleteFailed', failureMessage: message, changeSet: result.changeSet,
    deployment: { status: 'removing', statusMessage: message, managedResources: result.failed, observed: false },
  };
}
