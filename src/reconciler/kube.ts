// The modules themselves, not the package's index: the index (and, unpatched, config.js and
// object.js) load every generated API class, whose source V8 keeps in memory: the server's
// RSS was 25 MB larger for classes shipslog never calls (patches/@kubernetes+client-node*.patch).
import { KubeConfig } from '@kubernetes/client-node/dist/config.js';
import { ApiException } from '@kubernetes/client-node/dist/gen/apis/exception.js';
import { KubernetesObjectApi } from '@kubernetes/client-node/dist/object.js';
import { PatchStrategy } from '@kubernetes/client-node/dist/patch.js';
import type { KubernetesObject, RequestContext, ResponseContext } from '@kubernetes/client-node';
import type { KubeObject } from '../recipes/index.ts';
import { FIELD_MANAGER } from '../recipes/index.ts';

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string | null | undefined;
}

/** A failed Kubernetes API call: the HTTP status and the Status object's reason and message. */
export class KubeError extends Error {
  readonly status: number;
  readonly reason: string;
  constructor(status: number, reason: string, message: string) {
    super(message);
    this.name = 'KubeError';
    this.status = status;
    this.reason = reason;
  }
}

/** What the reconciler needs of Kubernetes; createKube implements it with @kubernetes/client-node. */
export interface Kube {
  /** Where objects go, for run records and logs: the cluster's server URL (no credentials). */
  readonly target: string;
  /** How long one request may take before it fails (createKube: 30 s by default); a lease must outlast it. */
  readonly requestTimeoutMs?: number | undefined;
  apply(obj: KubeObject, options: { dryRun: boolean; fieldManager?: string }): Promise<KubeObject>;
  get(ref: ObjectRef): Promise<KubeObject | null>;
  list(apiVersion: string, kind: string, namespace: string, labelSelector: string): Promise<KubeObject[]>;
  /** 'deleted', or 'gone' when it did not exist (404): both leave nothing behind. */
  delete(ref: ObjectRef): Promise<'deleted' | 'gone'>;
}

/**
 * KubernetesObjectApi without the generated models. The stock client serialises built-in
 * kinds through ObjectSerializer, which drops fields its models do not know (upstream issue
 * 2962); under server-side apply a field we own that is dropped from the request gets
 * removed from the object. So request bodies are our plain JSON as is, and responses are the
 * server's JSON as is. Discovery, auth, TLS and URL building stay the library's.
 */
class PlainObjectApi extends KubernetesObjectApi {
  static fromConfig(kc: KubeConfig, requestTimeoutMs: number): PlainObjectApi {
    const base = KubernetesObjectApi.makeApiClient(kc);
    const configuration = (base as unknown as { configuration: ConstructorParameters<typeof KubernetesObjectApi>[0] }).configuration;
    const api = new PlainObjectApi(configuration);
    api.setDefaultNamespace(kc);
    // KubeConfig builds a new undici Agent for every request (in applySecurityAuthentication),
    // so every request opened a new connection - with TLS, a handshake per request. Keep the
    // first one and reuse it: its TLS options come from the same kubeconfig. Measured against
    // the test server: 1,600 requests opened 1,600 connections before, a handful after.
    let shared: unknown;
    const keep = <T>(value: T) => ({ toPromise: () => Promise.resolve(value) });
    (configuration.middleware as unknown as object[]).push({
      pre: (ctx: RequestContext) => {
        // A hung API server must not hold a deployment's lease forever.
        ctx.setSignal(AbortSignal.timeout(requestTimeoutMs));
        const dispatcher = ctx.getDispatcher();
        if (dispatcher) {
          shared ??= dispatcher;
          if (dispatcher !== shared) ctx.setDispatcher(shared as typeof dispatcher);
        }
        return keep(ctx);
      },
      post: (response: ResponseContext) => keep(response),
    });
    return api;
  }

  async serverSideApply(obj: KubeObject, dryRun: boolean, fieldManager: string): Promise<KubeObject> {
    const path = await this.specUriPath(obj as KubernetesObject, 'patch');
    const ctx: RequestContext = this.configuration.baseServer.makeRequestContext(path, 'PATCH');
    ctx.setHeaderParam('Accept', 'application/json');
    ctx.setHeaderParam('Content-Type', PatchStrategy.ServerSideApply);
    ctx.setQueryParam('fieldManager', fieldManager);
    // force: shipslog is the source of truth for the fields it sets; another manager's edit
    // of them is drift to correct, not a reason to stop (as Flux does).
    ctx.setQueryParam('force', 'true');
    if (dryRun) ctx.setQueryParam('dryRun', 'All');
    ctx.setBody(JSON.stringify(obj));
    return (await this.requestPromise(ctx)) as unknown as KubeObject;
  }

  protected override async processResponse<T extends KubernetesObject>(response: ResponseContext): Promise<T> {
    const text = await response.body.text();
    if (response.httpStatusCode >= 200 && response.httpStatusCode <= 299) return JSON.parse(text) as T;
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON (a proxy's error page): keep the text
    }
    throw new ApiException(response.httpStatusCode, 'Unsuccessful HTTP Request', body, response.headers);
  }
}

function toKubeError(err: unknown): unknown {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
    return new KubeError(504, 'Timeout', `the API server did not answer in time (${err.message})`);
  }
  if (err instanceof ApiException) {
    const body = err.body as { reason?: string; message?: string } | string | undefined;
    const reason = typeof body === 'object' && body?.reason ? body.reason : `HTTP${err.code}`;
    const message = typeof body === 'object' && body?.message ? body.message : typeof body === 'string' && body ? body.slice(0, 500) : `HTTP ${err.code}`;
    return new KubeError(err.code, reason, message);
  }
  return err;
}

async function translate<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toKubeError(err);
  }
}

export interface KubeOptions {
  /** Per request, including reading the answer (default 30 s). */
  requestTimeoutMs?: number;
}

export function createKube(kc: KubeConfig, options: KubeOptions = {}): Kube {
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  const api = PlainObjectApi.fromConfig(kc, requestTimeoutMs);
  const header = (ref: ObjectRef) => ({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) } });
  return {
    target: kc.getCurrentCluster()?.server ?? 'unknown',
    requestTimeoutMs,
    apply: (obj, { dryRun, fieldManager }) => translate(() => api.serverSideApply(structuredClone(obj), dryRun, fieldManager ?? FIELD_MANAGER)),
    get: (ref) =>
      translate(async () => {
        try {
          return (await api.read(header(ref))) as unknown as KubeObject;
        } catch (err) {
          if (err instanceof ApiException && err.code === 404) return null;
          throw err;
        }
      }),
    list: (apiVersion, kind, namespace, labelSelector) =>
      translate(async () => {
        const list = await api.list(apiVersion, kind, namespace, undefined, undefined, undefined, undefined, labelSelector);
        return list.items as unknown as KubeObject[];
      }),
    delete: (ref) =>
      translate(async () => {
        try {
          // Background: the API server's garbage collector removes pods and replica sets.
          await api.delete(header(ref), undefined, undefined, undefined, undefined, 'Background');
          return 'deleted' as const;
        } catch (err) {
          if (err instanceof ApiException && err.code === 404) return 'gone' as const;
          throw err;
        }
      }),
  };
}

/** KUBECONFIG file, or the in-cluster service account; null when neither (no cluster configured). */
export function loadKubeConfig(options: { kubeconfig?: string | undefined; inCluster?: boolean }): KubeConfig | null {
  const kc = new KubeConfig();
  if (options.kubeconfig) {
    kc.loadFromFile(options.kubeconfig);
    return kc;
  }
  if (options.inCluster) {
    kc.loadFromCluster();
    return kc;
  }
  return null;
}
