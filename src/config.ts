import { z } from 'zod';
import { minimumRetentionSeconds, parseDuration } from './agent/duration.ts';

// Every setting shipslog reads, in one place. Read once at start by src/cli/.
const schema = z.object({
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  // Runtime logins (see README "Database roles"): the API's, a member of shipslog_app only, and
  // the reconciler's, a member of shipslog_reconciler only. DATABASE_URL stays the schema's
  // owner, used for migrations; `shipslog migrate` creates these logins when they are set.
  SHIPSLOG_APP_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  SHIPSLOG_RECONCILER_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  // LISTEN needs a session of its own on PostgreSQL itself: when the reconciler's URL goes
  // through a transaction pooler (PgBouncer pool_mode=transaction, `?prepare=false`), this is
  // a direct URL for its LISTEN connection (the same login; README "Behind PgBouncer"). Unset: LISTEN on
  // SHIPSLOG_RECONCILER_DATABASE_URL.
  SHIPSLOG_RECONCILER_LISTEN_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  PORT: z.coerce.number().int().min(1).max(65535).default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SHIPSLOG_DATA_DIR: z.string().min(1).default('.shipslog'),
  KUBECONFIG: z.string().min(1).optional(),
  SHIPSLOG_FINGERPRINT_KEY: z.string().min(43, 'must be at least 32 bytes, hex or base64').optional(),
  // The first admin API key of a database of your own, stored (hashed) by `shipslog migrate`
  // or by `serve` with the owner's URL while no admin key exists (src/cli/keys.ts). Never
  // logged: a bad value's message names the variable, not the value.
  SHIPSLOG_BOOTSTRAP_ADMIN_KEY: z
    .string()
    .regex(/^slk_[A-Za-z0-9_-]{43}$/, 'must be slk_ and 43 base64url characters, as `shipslog keys generate` prints')
    .optional(),
  // Ed25519 keys for signed audit checkpoints: PEM text or a path (see src/audit/checkpoints.ts).
  SHIPSLOG_CHECKPOINT_KEY: z.string().min(1).optional(),
  SHIPSLOG_CHECKPOINT_PUBLIC_KEY: z.string().min(1).optional(),
  // Set by Kubernetes in every pod: the reconciler then uses the pod's service account.
  KUBERNETES_SERVICE_HOST: z.string().min(1).optional(),
  // `off` keeps the reconciler out of `shipslog serve` (run `shipslog reconciler` separately).
  SHIPSLOG_RECONCILER: z.enum(['on', 'off']).default('on'),
  SHIPSLOG_RECONCILER_CONCURRENCY: z.coerce.number().int().min(1).max(32).default(2),
  // Agent messages older than this are purged daily; `0` keeps them forever (see src/agent/).
  SHIPSLOG_AGENT_MESSAGE_RETENTION: z
    .string()
    .default('7d')
    .transform((v, ctx) => {
      const seconds = parseDuration(v);
      if (seconds === null || (seconds > 0 && seconds < minimumRetentionSeconds)) {
        ctx.addIssue({ code: 'custom', message: 'must be an age of at least 1 day such as 7d, 36h or 2w, or 0 to keep forever' });
        return z.NEVER;
      }
      return seconds;
    }),
});

export type Config = {
  /** The schema owner's URL (migrations); unset with no runtime URL either: embedded PostgreSQL. */
  databaseUrl: string | undefined;
  /** The API's runtime login (member of shipslog_app only). */
  appDatabaseUrl?: string | undefined;
  /** The reconciler's runtime login (member of shipslog_reconciler only). */
  reconcilerDatabaseUrl?: string | undefined;
  /** A direct URL for the reconciler's LISTEN when its URL goes through a transaction pooler. */
  reconcilerListenDatabaseUrl?: string | undefined;
  port: number;
  host: string;
  logLevel: z.infer<typeof schema>['LOG_LEVEL'];
  dataDir: string;
  kubeconfig: string | undefined;
  fingerprintKey: string | undefined;
  /** SHIPSLOG_BOOTSTRAP_ADMIN_KEY: the first admin key, stored hashed while no admin key exists. */
  bootstrapAdminKey?: string | undefined;
  checkpointKey?: string | undefined;
  checkpointPublicKey?: string | undefined;
  /** Running in a pod (in-cluster service account), used when KUBECONFIG is not set. */
  inCluster?: boolean;
  /** The reconciler inside `serve`, and its parallel runs per process. */
  reconciler?: { enabled: boolean; concurrency: number };
  /** Agent message retention in seconds; 0 keeps messages forever. */
  agentMessageRetentionSeconds: number;
};

export class ConfigError extends Error {}

export function loadConfig(env: Record<string, string | undefined>): Config {
  // An empty variable means "not set", as in most shells' `FOO= cmd`.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const c = parsed.data;
  return {
    databaseUrl: c.DATABASE_URL,
    appDatabaseUrl: c.SHIPSLOG_APP_DATABASE_URL,
    reconcilerDatabaseUrl: c.SHIPSLOG_RECONCILER_DATABASE_URL,
    reconcilerListenDatabaseUrl: c.SHIPSLOG_RECONCILER_LISTEN_DATABASE_URL,
    port: c.PORT,
    host: c.HOST,
    logLevel: c.LOG_LEVEL,
    dataDir: c.SHIPSLOG_DATA_DIR,
    kubeconfig: c.KUBECONFIG,
    fingerprintKey: c.SHIPSLOG_FINGERPRINT_KEY,
    bootstrapAdminKey: c.SHIPSLOG_BOOTSTRAP_ADMIN_KEY,
    checkpointKey: c.SHIPSLOG_CHECKPOINT_KEY,
    checkpointPublicKey: c.SHIPSLOG_CHECKPOINT_PUBLIC_KEY,
    inCluster: c.KUBERNETES_SERVICE_HOST !== undefined,
    reconciler: { enabled: c.SHIPSLOG_RECONCILER === 'on', concurrency: c.SHIPSLOG_RECONCILER_CONCURRENCY },
    agentMessageRetentionSeconds: c.SHIPSLOG_AGENT_MESSAGE_RETENTION,
  };
}
