import { pino } from 'pino';
import { withActor } from '../../src/db/actor.ts';
import type { Db, Queryable } from '../../src/db/client.ts';
import { createKube, createReconciler, type Kube, type Reconciler, type ReconcilerConfig } from '../../src/reconciler/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { startKubeApiTestServer, type KubeApiTestServer } from '../support/kube-api-server.ts';

export const quietLog = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

export interface Harness {
  t: TestDatabase;
  server: KubeApiTestServer;
  kube: Kube;
  /** A reconciler with its own pool (so a test can cut its connections like a crash would). */
  reconciler: (config?: ReconcilerConfig & { kube?: Kube | null }) => { r: Reconciler; pool: Db };
  close: () => Promise<void>;
}

export async function harness(): Promise<Harness> {
  const [t, server] = await Promise.all([createTestDatabase(), startKubeApiTestServer()]);
  const kube = createKube(server.kubeConfig());
  const started: Reconciler[] = [];
  return {
    t,
    server,
    kube,
    reconciler: (config = {}) => {
      const concurrency = config.concurrency ?? 2;
      const pool = t.connect(concurrency + 3, 'shipslog reconciler test');
      const r = createReconciler({
        db: pool,
        kube: config.kube === undefined ? kube : config.kube,
        log: quietLog,
        config: { pollIntervalMs: 200, healthIntervalMs: 100, backoffBaseMs: 100, backoffMaxMs: 400, ...config },
      });
      started.push(r);
      return { r, pool };
    },
    close: async () => {
      await Promise.all(started.map((r) => r.stop().catch(() => {})));
      await server.stop();
      await t.drop();
    },
  };
}

export interface DeploymentState {
  id: string;
  status: string;
  status_message: string | null;
  health: string;
  health_message: string | null;
  generation: number;
  observed_generation: number;
  managed_resources: { kind: string; name: string; namespace: string | null; apiVersion?: string }[];
  service_name: string | null;
  url: string | null;
}

export async function stateOf(db: Queryable, id: string): Promise<DeploymentState | undefined> {
  const [row] = await db<DeploymentState[]>`
    select id, status, status_message, health, health_message, generation::int, observed_generation::int,
           managed_resources, service_name, url
    from shipslog.deployments
    where id = ${id}
  `;
  return row;
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false | null>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Waits until the deployment's current generation is observed with the given status. */
export function converged(db: Queryable, id: string, status = 'applied', timeoutMs?: number): Promise<DeploymentState> {
  return waitFor(`deployment ${id} to be ${status}`, async () => {
    const s = await stateOf(db, id);
    return s && s.status === status && s.observed_generation === s.generation ? s : undefined;
  }, timeoutMs);
}

/** A change made by a person through the API: an audited write with a user actor. */
export function asUser<T>(db: Db, fn: Parameters<typeof withActor<T>>[2]): Promise<T> {
  return withActor(db, { actor: 'alice@example.com', actorType: 'user' }, fn);
}

export async function createDeployment(
  db: Db,
  values: { tenant?: string; name: string; recipe?: string; app_version?: string; config?: Record<string, unknown>; secrets_ref?: string | null },
): Promise<string> {
  return asUser(db, async (tx) => {
    const [row] = await tx<{ id: string }[]>`
      insert into shipslog.deployments (tenant, name, recipe, app_version, config, secrets_ref)
      values (${values.tenant ?? 'acme'}, ${values.name}, ${values.recipe ?? 'postgresql'}, ${values.app_version ?? '16'},
              ${tx.json((values.config ?? { storage: '1Gi' }) as never)}, ${values.secrets_ref ?? null})
      returning id
    `;
    return row!.id;
  });
}

export async function runsOf(db: Queryable, id: string) {
  return db<{ id: string; phase: string; outcome: string | null; generation: number; failure_reason: string | null; failure_message: string | null; skip_reason: string | null; change_set: { kind: string; name: string; action: string }[]; worker_id: string; dry_run: boolean; started_at: Date; completed_at: Date | null }[]>`
    select id, phase, outcome, generation::int, failure_reason, failure_message, skip_reason, change_set, worker_id, dry_run, started_at, completed_at
    from shipslog.reconcile_runs
    where deployment_id = ${id}
    order by started_at
  `;
}

/** The deployment's row-change events (rollout events: rolloutEventsOf). */
export async function eventsOf(db: Queryable, id: string) {
  return db<{ action: string; actor: string; actor_type: string; reason: string | null; correlation_id: string | null; request_id: string | null; new_state: Record<string, unknown> | null }[]>`
    select action, actor, actor_type, reason, correlation_id, request_id, new_state
    from shipslog.deployment_events
    where deployment_id = ${id}
      and shipslog.is_row_change(action)
    order by chain_index
  `;
}

/** The deployment's events that are not row changes (rollouts, approvals, gates, rollback), oldest first. */
export async function rolloutEventsOf(db: Queryable, id: string) {
  return db<{ action: string; actor: string; correlation_id: string | null; request_id: string | null; details: Record<string, unknown> }[]>`
    select action, actor, correlation_id, request_id, new_state -> 'details' as details
    from shipslog.deployment_events
    where deployment_id = ${id}
      and not shipslog.is_row_change(action)
    order by chain_index
  `;
}
