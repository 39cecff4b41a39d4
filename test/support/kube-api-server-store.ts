import { randomUUID } from 'node:crypto';

/**
 * Object storage and the server-side apply rules of the Kubernetes API test server.
 * Apply semantics follow the API server's, simplified: each field manager's last applied
 * configuration is kept; the object is those configurations merged over what controllers
 * wrote; a field that a manager stops sending disappears (it no longer owns it); another
 * manager's differing value for a field is a 409 conflict unless force=true.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Obj = { [key: string]: Json };

export interface ResourceType {
  group: string; // '' for core
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

export const resourceTypes: ResourceType[] = [
  { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false },
  { group: '', version: 'v1', plural: 'services', kind: 'Service', namespaced: true },
  { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true },
  { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true },
  { group: '', version: 'v1', plural: 'persistentvolumeclaims', kind: 'PersistentVolumeClaim', namespaced: true },
  { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true },
  { group: 'apps', version: 'v1', plural: 'statefulsets', kind: 'StatefulSet', namespaced: true },
  { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment', namespaced: true },
];

export const apiVersionOf = (t: ResourceType) => (t.group ? `${t.group}/${t.version}` : t.version);

export class ApiError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly details: Obj | undefined;
  constructor(code: number, reason: string, message: string, details?: Obj) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.details = details;
  }
}

interface Entry {
  type: ResourceType;
  /** What controllers (the simulator) wrote: not owned by any field manager. */
  base: Obj;
  managers: Map<string, Obj>;
  system: { uid: string; creationTimestamp: string; resourceVersion: string; generation: number };
  status: Json | undefined;
  object: Obj;
}

export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const clone = <T>(v: T): T => structuredClone(v);

export function deepMerge(a: Json | undefined, b: Json): Json {
  if (isObj(a) && isObj(b)) {
    const out: Obj = { ...a };
    for (const [k, v] of Object.entries(b)) out[k] = deepMerge(a[k], v);
    return out;
  }
  return clone(b);
}

/** Leaf paths of an applied configuration (lists are atomic, as for most list fields). */
function leaves(v: Json, prefix = ''): [string, Json][] {
  if (!isObj(v) || Object.keys(v).length === 0) return [[prefix, v]];
  return Object.entries(v).flatMap(([k, child]) => leaves(child, `${prefix}.${k}`));
}

function at(v: Json | undefined, path: string): Json | undefined {
  let cur: Json | undefined = v;
  for (const part of path.split('.').slice(1)) cur = isObj(cur) ? cur[part] : undefined;
  return cur;
}

const stripForSpec = (o: Obj): Obj => {
  const { metadata: _m, status: _s, ...rest } = o;
  return rest;
};

export class Store {
  private entries = new Map<string, Entry>();
  private rv = 1000;

  key(t: ResourceType, namespace: string | undefined, name: string): string {
    return `${apiVersionOf(t)}|${t.plural}|${t.namespaced ? namespace ?? '' : ''}|${name}`;
  }

  get(t: ResourceType, namespace: string | undefined, name: string): Obj | undefined {
    const e = this.entries.get(this.key(t, namespace, name));
    return e ? clone(e.object) : undefined;
  }

  list(t: ResourceType, namespace: string | undefined, selector: (labels: Record<string, string>) => boolean): Obj[] {
    return [...this.entries.values()]
      .filter((e) => e.type === t)
      .filter((e) => !t.namespaced || !namespace || (e.object.metadata as Obj).namespace === namespace)
      .filter((e) => selector(((e.object.metadata as Obj).labels ?? {}) as Record<string, string>))
      .map((e) => clone(e.object));
  }

  resourceVersion(): string {
    return String(this.rv);
  }

  /** Server-side apply. Returns the resulting object; with dryRun nothing is stored. */
  apply(t: ResourceType, namespace: string | undefined, name: string, config: Obj, manager: string, force: boolean, dryRun: boolean): { object: Obj; created: boolean } {
    const key = this.key(t, namespace, name);
    const existing = this.entries.get(key);
    const metadata = { ...(config.metadata as Obj), name, ...(t.namespaced ? { namespace: namespace ?? 'default' } : {}) };
    const applied: Obj = { ...clone(config), metadata };
    delete applied.status;
    if (existing && !force) {
      const conflicts: string[] = [];
      for (const [other, otherConfig] of existing.managers) {
        if (other === manager) continue;
        for (const [path, value] of leaves(applied)) {
          const theirs = at(otherConfig, path);
          if (theirs !== undefined && JSON.stringify(theirs) !== JSON.stringify(value)) conflicts.push(`conflict with "${other}": ${path}`);
        }
      }
      if (conflicts.length > 0) {
        throw new ApiError(409, 'Conflict', `Apply failed with ${conflicts.length} conflict${conflicts.length > 1 ? 's' : ''}: ${conflicts.join('; ')}`, { name, kind: t.kind });
      }
    }
    const managers = new Map(existing?.managers ?? []);
    managers.set(manager, applied);
    const entry: Entry = existing
      ? { ...existing, managers, system: { ...existing.system } }
      : {
          type: t,
          base: {},
          managers,
          system: { uid: randomUUID(), creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), resourceVersion: '', generation: 1 },
          status: undefined,
          object: {},
        };
    const object = this.compose(entry);
    validate(t, object, existing?.object);
    if (existing) {
      if (JSON.stringify(stripForSpec(object)) !== JSON.stringify(stripForSpec(existing.object))) entry.system.generation += 1;
    }
    const changed = !existing || JSON.stringify(this.compose(entry)) !== JSON.stringify(existing.object);
    if (dryRun) {
      if (changed) entry.system.resourceVersion = String(this.rv + 1);
      return { object: this.compose(entry), created: !existing };
    }
    if (changed) entry.system.resourceVersion = String(++this.rv);
    entry.object = this.compose(entry);
    this.entries.set(key, entry);
    return { object: clone(entry.object), created: !existing };
  }

  /** A controller's write (the simulator): content no field manager owns, and status. */
  put(t: ResourceType, namespace: string | undefined, name: string, base: Obj, status?: Json): Obj {
    const key = this.key(t, namespace, name);
    const existing = this.entries.get(key);
    const entry: Entry = existing ?? {
      type: t,
      base: {},
      managers: new Map(),
      system: { uid: randomUUID(), creationTimestamp: new Date().toISOString(), resourceVersion: '', generation: 1 },
      status: undefined,
      object: {},
    };
    entry.base = { ...clone(base), metadata: { ...(base.metadata as Obj), name, ...(t.namespaced ? { namespace: namespace ?? 'default' } : {}) } };
    if (status !== undefined) entry.status = clone(status);
    const before = existing ? JSON.stringify(existing.object) : '';
    const composed = this.compose(entry);
    if (JSON.stringify(composed) !== before) {
      entry.system.resourceVersion = String(++this.rv);
      entry.object = this.compose(entry);
      this.entries.set(key, entry);
    }
    return clone(entry.object);
  }

  setStatus(t: ResourceType, namespace: string | undefined, name: string, status: Json): void {
    const e = this.entries.get(this.key(t, namespace, name));
    if (!e || JSON.stringify(e.status) === JSON.stringify(status)) return;
    e.status = clone(status);
    e.system.resourceVersion = String(++this.rv);
    e.object = this.compose(e);
  }

  delete(t: ResourceType, namespace: string | undefined, name: string): Obj | undefined {
    const key = this.key(t, namespace, name);
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.entries.delete(key);
    this.rv++;
    return e.object;
  }

  all(): Obj[] {
    return [...this.entries.values()].map((e) => clone(e.object));
  }

  private compose(e: Entry): Obj {
    let merged: Json = clone(e.base);
    for (const cfg of e.managers.values()) merged = deepMerge(merged, cfg);
    const obj = merged as Obj;
    const metadata: Obj = {
      ...(obj.metadata as Obj),
      uid: e.system.uid,
      creationTimestamp: e.system.creationTimestamp,
      resourceVersion: e.system.resourceVersion,
      managedFields: [...e.managers.keys()].map((m) => ({ manager: m, operation: 'Apply', apiVersion: apiVersionOf(e.type), fieldsType: 'FieldsV1' })),
    };
    if (e.type.group === 'apps') metadata.generation = e.system.generation;
    const out: Obj = { apiVersion: apiVersionOf(e.type), kind: e.type.kind, ...obj, metadata };
    applyDefaults(e.type, out, e.system.uid);
    if (e.status !== undefined) out.status = clone(e.status);
    return out;
  }
}

/** A few of the API server's defaults, so a diff that ignores defaulting would be caught. */
function applyDefaults(t: ResourceType, o: Obj, uid: string): void {
  if (t.kind === 'Service' && isObj(o.spec)) {
    o.spec.type ??= 'ClusterIP';
    o.spec.clusterIP ??= `10.96.${parseInt(uid.slice(0, 2), 16)}.${parseInt(uid.slice(2, 4), 16)}`;
  }
  if ((t.kind === 'Deployment' || t.kind === 'StatefulSet') && isObj(o.spec)) o.spec.revisionHistoryLimit ??= 10;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** The API server's validation that the reconciler can meet: names, selectors, immutable fields. */
function validate(t: ResourceType, o: Obj, old: Obj | undefined): void {
  const name = String((o.metadata as Obj).name);
  const invalid = (field: string, message: string) =>
    new ApiError(422, 'Invalid', `${t.kind} "${name}" is invalid: ${field}: ${message}`, { name, kind: t.kind, causes: [{ reason: 'FieldValueInvalid', field, message }] });
  if (!DNS_SUBDOMAIN.test(name)) throw invalid('metadata.name', 'Invalid value: must be a lowercase RFC 1123 subdomain');
  if (t.kind === 'StatefulSet' || t.kind === 'Deployment') {
    const spec = (o.spec ?? {}) as Obj;
    const selector = ((spec.selector as Obj | undefined)?.matchLabels ?? {}) as Record<string, string>;
    const labels = ((((spec.template as Obj | undefined)?.metadata as Obj | undefined)?.labels) ?? {}) as Record<string, string>;
    if (Object.keys(selector).length === 0) throw invalid('spec.selector', 'Required value');
    if (!Object.entries(selector).every(([k, v]) => labels[k] === v)) throw invalid('spec.template.metadata.labels', 'Invalid value: `selector` does not match template `labels`');
    if (old && JSON.stringify((old.spec as Obj).selector) !== JSON.stringify(spec.selector)) throw invalid('spec.selector', 'Invalid value: field is immutable');
    if (t.kind === 'StatefulSet' && old && JSON.stringify((old.spec as Obj).volumeClaimTemplates) !== JSON.stringify(spec.volumeClaimTemplates)) {
      throw new ApiError(422, 'Invalid', `StatefulSet.apps "${name}" is invalid: spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden`, { name, kind: t.kind });
    }
  }
}

/** Equality- and set-based label selectors: a=b, a==b, a!=b, a, !a, a in (x,y), a notin (x,y). */
export function parseSelector(text: string | null): (labels: Record<string, string>) => boolean {
  if (!text) return () => true;
  const terms = text.match(/[^,(]+(\([^)]*\))?/g) ?? [];
  const tests = terms.map((raw) => {
    const term = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = /^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term))) {
      const [, key, op, values] = m as unknown as [string, string, string, string];
      const set = new Set(values.split(',').map((v) => v.trim()));
      return (l: Record<string, string>) => (op === 'in' ? key in l && set.has(l[key]!) : !(key in l) || !set.has(l[key]!));
    }
    if ((m = /^([^\s!=]+)\s*!=\s*(\S*)$/.exec(term))) {
      const [, key, value] = m as unknown as [string, string, string];
      return (l: Record<string, string>) => l[key] !== value;
    }
    if ((m = /^([^\s!=]+)\s*==?\s*(\S*)$/.exec(term))) {
      const [, key, value] = m as unknown as [string, string, string];
      return (l: Record<string, string>) => l[key] === value;
    }
    if ((m = /^!([^\s!=]+)$/.exec(term))) {
      const key = m[1]!;
      return (l: Record<string, string>) => !(key in l);
    }
    if (/^[^\s!=]+$/.test(term)) return (l: Record<string, string>) => term in l;
    throw new ApiError(400, 'BadRequest', `unable to parse requirement: "${term}"`);
  });
  return (labels) => tests.every((test) => test(labels));
}
