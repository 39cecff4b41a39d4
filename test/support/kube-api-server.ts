import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { WorkloadSimulator } from './kube-api-server-sim.ts';
import { ApiError, apiVersionOf, isObj, parseSelector, resourceTypes, Store, type Obj, type ResourceType } from './kube-api-server-store.ts';

/**
 * A Kubernetes API test server: the real REST protocol (discovery, server-side apply with
 * fieldManager/dryRun/force, get, list with label selectors, create, delete, Status errors),
 * for the real @kubernetes/client-node. Tests inject faults and steer the workload simulator.
 */

export interface FaultMatch {
  method?: string;
  /** Kind (StatefulSet) or plural (statefulsets). */
  kind?: string;
  name?: string;
  /** true: only dry-run requests; false: only real writes. */
  dryRun?: boolean;
}

export interface Fault {
  match?: FaultMatch;
  /** Answer with this status (a Status object with a fitting reason). Omit for delay only. */
  status?: 404 | 409 | 422 | 429 | 500 | 503;
  message?: string;
  delayMs?: number;
  /** Hold matching requests until release() (or the server stops), then serve them (a hung API server). */
  hold?: boolean;
  /** Only the nth matching request (1-based) is affected. */
  nth?: number;
  /** At most this many matching requests are affected (default: all). */
  times?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType: string | undefined;
  body: Obj | undefined;
  /** The raw body text as it came over the wire. */
  raw: string;
  status: number;
  kind: string | undefined;
  name: string | undefined;
}

interface FaultEntry {
  fault: Fault;
  seen: number;
  used: number;
  held: number;
  gate?: Promise<void>;
  release: () => void;
  released: boolean;
}

const reasons: Record<number, string> = { 400: 'BadRequest', 404: 'NotFound', 409: 'Conflict', 415: 'UnsupportedMediaType', 422: 'Invalid', 429: 'TooManyRequests', 500: 'InternalError', 503: 'ServiceUnavailable' };

export class KubeApiTestServer {
  readonly store = new Store();
  readonly sim = new WorkloadSimulator(this.store);
  readonly requests: RecordedRequest[] = [];
  /** Fixed latency added to every request (the benchmark's stand-in for a real API server). */
  latencyMs = 0;
  /** Highest number of concurrent writes seen for one deployment id (label shipslog.io/deployment-id). */
  maxConcurrentWritesPerDeployment = 0;
  private faults: FaultEntry[] = [];
  /** Ends injected delays when the server stops (a test that fails mid-delay must not leave one running). */
  private readonly stopping = new AbortController();
  private inflight = new Map<string, number>();
  private server: Server | undefined;
  url = '';
  /** TCP connections accepted: a client that reuses connections opens few. */
  connections = 0;

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', () => this.connections++);
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const f of this.faults) f.release();
    this.stopping.abort();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** A KubeConfig pointing at this server, as a kubeconfig file would. */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'test', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'test', token: 'test-token' }],
      contexts: [{ name: 'test', cluster: 'test', user: 'test', namespace: 'default' }],
      currentContext: 'test',
    });
    return kc;
  }

  /**
   * hits: matching requests affected so far; held: those waiting now (hold); release() lets
   * the held ones (and later ones) through.
   */
  inject(fault: Fault): { remove: () => void; release: () => void; readonly hits: number; readonly held: number } {
    const entry: FaultEntry = { fault, seen: 0, used: 0, held: 0, release: () => {}, released: false };
    entry.gate = new Promise<void>((resolve) => (entry.release = () => {
      entry.released = true;
      resolve();
    }));
    this.faults.push(entry);
    return {
      remove: () => (this.faults = this.faults.filter((f) => f !== entry)),
      release: () => entry.release(),
      get hits() { return entry.used; },
      get held() { return entry.held; },
    };
  }

  clearFaults(): void {
    for (const f of this.faults) f.release();
    this.faults = [];
  }

  /** Objects stored now, optionally only those with a label. */
  objects(label?: [string, string]): Obj[] {
    return this.store.all().filter((o) => !label || ((o.metadata as Obj).labels as Record<string, string> | undefined)?.[label[0]] === label[1]);
  }

  /** Successful, persisted server-side applies (not dry runs). */
  applies(): RecordedRequest[] {
    return this.requests.filter((r) => r.method === 'PATCH' && r.query.dryRun !== 'All' && r.status < 300);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://x');
    const record: RecordedRequest = {
      method: req.method ?? 'GET', path: url.pathname, query: Object.fromEntries(url.searchParams), contentType: req.headers['content-type'],
      body: undefined, raw, status: 0, kind: undefined, name: undefined,
    };
    const send = (status: number, body: unknown) => {
      record.status = status;
      this.requests.push(record);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const depId = { value: undefined as string | undefined };
    try {
      if (raw) record.body = JSON.parse(raw) as Obj;
      if (this.latencyMs > 0) await sleep(this.latencyMs);
      const discovery = this.discovery(url.pathname);
      if (discovery) return send(200, discovery);
      const route = this.route(url.pathname);
      record.kind = route.type.kind;
      record.name = route.name;
      const labels = ((record.body?.metadata as Obj | undefined)?.labels ?? {}) as Record<string, string>;
      depId.value = record.method !== 'GET' ? labels['shipslog.io/deployment-id'] : undefined;
      if (depId.value) {
        const n = (this.inflight.get(depId.value) ?? 0) + 1;
        this.inflight.set(depId.value, n);
        this.maxConcurrentWritesPerDeployment = Math.max(this.maxConcurrentWritesPerDeployment, n);
      }
      await this.applyFaults(record);
      return send(...this.serve(record, route, url));
    } catch (err) {
      if (err instanceof ApiError) return send(err.code, status(err.code, err.reason, err.message, err.details));
      if (err instanceof SyntaxError) return send(400, status(400, 'BadRequest', `invalid body: ${err.message}`));
      return send(500, status(500, 'InternalError', String(err)));
    } finally {
      if (depId.value) this.inflight.set(depId.value, (this.inflight.get(depId.value) ?? 1) - 1);
    }
  }

  private async applyFaults(r: RecordedRequest): Promise<void> {
    for (const entry of this.faults) {
      const { match = {}, nth, times, delayMs, hold, status: code, message } = entry.fault;
      if (match.method && match.method !== r.method) continue;
      if (match.kind && match.kind !== r.kind && match.kind.toLowerCase() !== resourceTypes.find((t) => t.kind === r.kind)?.plural) continue;
      if (match.name && match.name !== r.name) continue;
      if (match.dryRun !== undefined && match.dryRun !== (r.query.dryRun === 'All')) continue;
      entry.seen++;
      if (nth !== undefined && entry.seen !== nth) continue;
      if (times !== undefined && entry.used >= times) continue;
      entry.used++;
      if (delayMs) await sleep(delayMs, this.stopping.signal);
      if (hold && !entry.released) {
        entry.held++;
        await entry.gate;
        entry.held--;
      }
      if (code) throw new ApiError(code, reasons[code] ?? 'Unknown', message ?? `injected fault: ${code} ${reasons[code] ?? ''}`, { name: r.name ?? '', kind: r.kind ?? '' });
    }
  }

  private discovery(path: string): unknown {
    if (path === '/api') return { kind: 'APIVersions', versions: ['v1'] };
    if (path === '/apis') {
      return { kind: 'APIGroupList', apiVersion: 'v1', groups: [{ name: 'apps', versions: [{ groupVersion: 'apps/v1', version: 'v1' }], preferredVersion: { groupVersion: 'apps/v1', version: 'v1' } }] };
    }
    const m = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))$/.exec(path);
    if (!m) return undefined;
    const groupVersion = m[1] ?? `${m[2]}/${m[3]}`;
    const resources = resourceTypes.filter((t) => apiVersionOf(t) === groupVersion);
    if (resources.length === 0) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    return {
      kind: 'APIResourceList', apiVersion: 'v1', groupVersion,
      resources: resources.map((t) => ({ name: t.plural, singularName: t.kind.toLowerCase(), namespaced: t.namespaced, kind: t.kind, verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] })),
    };
  }

  private route(path: string): { type: ResourceType; namespace: string | undefined; name: string | undefined } {
    const m = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?$/.exec(path);
    if (!m) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    const groupVersion = m[1] ?? `${m[2]}/${m[3]}`;
    const type = resourceTypes.find((t) => apiVersionOf(t) === groupVersion && t.plural === m[5]);
    if (!type) throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${m[5]})`);
    return { type, namespace: m[4] ? decodeURIComponent(m[4]) : undefined, name: m[6] ? decodeURIComponent(m[6]) : undefined };
  }

  private serve(r: RecordedRequest, route: ReturnType<KubeApiTestServer['route']>, url: URL): [number, unknown] {
    const { type, namespace, name } = route;
    const notFound = () => new ApiError(404, 'NotFound', `${type.plural}${type.group ? `.${type.group}` : ''} "${name}" not found`, { name: name ?? '', kind: type.plural });
    if (r.method === 'GET' && name) {
      const obj = this.store.get(type, namespace, name);
      if (!obj) throw notFound();
      return [200, obj];
    }
    if (r.method === 'GET') {
      const items = this.store.list(type, namespace, parseSelector(url.searchParams.get('labelSelector')));
      return [200, { apiVersion: apiVersionOf(type), kind: `${type.kind}List`, metadata: { resourceVersion: this.store.resourceVersion() }, items }];
    }
    if (r.method === 'PATCH' && name) {
      if (!r.contentType?.startsWith('application/apply-patch')) throw new ApiError(415, 'UnsupportedMediaType', `the test server speaks server-side apply only, not ${r.contentType}`);
      const manager = r.query.fieldManager;
      if (!manager) throw new ApiError(400, 'BadRequest', 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch');
      const body = r.body;
      if (!isObj(body) || body.kind !== type.kind || body.apiVersion !== apiVersionOf(type)) throw new ApiError(400, 'BadRequest', `apply body must be a ${apiVersionOf(type)} ${type.kind}`);
      if ((body.metadata as Obj | undefined)?.name !== name) throw new ApiError(400, 'BadRequest', 'the name of the object does not match the name on the URL');
      const dryRun = r.query.dryRun === 'All';
      const { object, created } = this.store.apply(type, namespace, name, body, manager, r.query.force === 'true', dryRun);
      if (!dryRun && (type.kind === 'StatefulSet' || type.kind === 'Deployment')) {
        this.sim.sync(type.kind, namespace ?? 'default', name);
        return [created ? 201 : 200, this.store.get(type, namespace, name)];
      }
      return [created ? 201 : 200, object];
    }
    if (r.method === 'POST' && !name) {
      const body = r.body ?? {};
      const objName = String((body.metadata as Obj | undefined)?.name ?? '');
      if (this.store.get(type, namespace, objName)) throw new ApiError(409, 'AlreadyExists', `${type.plural} "${objName}" already exists`, { name: objName, kind: type.plural });
      const { object } = this.store.apply(type, namespace, objName, body, r.query.fieldManager ?? 'kubectl-create', true, r.query.dryRun === 'All');
      return [201, object];
    }
    if (r.method === 'DELETE' && name) {
      const deleted = this.store.delete(type, namespace, name);
      if (!deleted) throw notFound();
      if (type.kind === 'StatefulSet' || type.kind === 'Deployment') this.sim.deleted(type.kind, namespace ?? 'default', name);
      return [200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, kind: type.plural, uid: (deleted.metadata as Obj).uid } }];
    }
    throw new ApiError(405, 'MethodNotAllowed', `${r.method} is not supported on ${url.pathname}`);
  }
}

function status(code: number, reason: string, message: string, details?: Obj) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, details, code };
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done);
  });

export async function startKubeApiTestServer(): Promise<KubeApiTestServer> {
  return new KubeApiTestServer().start();
}
