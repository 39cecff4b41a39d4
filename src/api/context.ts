import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Config } from '../config.ts';
import type { Db } from '../db/client.ts';
import type { Log } from '../log.ts';
import type { Reconciler } from '../reconciler/index.ts';
import type { SecretWriter } from '../secrets.ts';
import type { ApiMetrics } from './metrics.ts';

export type Scope = 'read' | 'deploy' | 'audit' | 'admin' | 'approve' | 'gates';

/** The authenticated caller, set by the auth middleware on every /v1 and /mcp request. */
export interface Principal {
  keyId: string;
  /** The key's name: recorded as the actor of every change it makes. */
  name: string;
  /** null for a global key (every tenant). */
  tenant: string | null;
  scopes: Scope[];
  actorType: 'user' | 'service';
}

export interface AppDeps {
  db: Db;
  config: Config;
  log: Log;
  /** Where secret values go (default: noClusterSecretWriter, which drops them). */
  secretWriter?: SecretWriter;
  /** HMAC key for secret fingerprints (default: loadFingerprintKey(config.fingerprintKey, config.dataDir)). */
  fingerprintKey?: Buffer;
  /** The reconciler running in this process (`shipslog serve`): its state in /readyz, its metrics in /metrics. */
  reconciler?: Pick<Reconciler, 'describe' | 'metrics'>;
}

/** What createApp resolves once and hands to every route module. */
export interface ApiDeps extends Required<Omit<AppDeps, 'fingerprintKey' | 'reconciler'>> {
  fingerprintKey: () => Promise<Buffer>;
  metrics: ApiMetrics;
  reconciler: Pick<Reconciler, 'describe' | 'metrics'> | null;
}

export interface AppEnv {
  Variables: {
    requestId: string;
    /** Absent on public routes (/healthz, /readyz, /openapi.json, /docs, /metrics). */
    principal: Principal;
  };
}

export type App = OpenAPIHono<AppEnv>;
