import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReconciler } from '../../src/reconciler/index.ts';
import { asUser, converged, createDeployment, harness, quietLog, stateOf, waitFor, type Harness } from './helpers.ts';

let h: Harness;
let pool: postgres.Sql;
beforeAll(async () => {
  h = await harness();
  // Every session of this pool runs as the reconciler's group role, as a deployment would.
  pool = postgres(h.t.url, { max: 5, onnotice: () => {}, connection: { application_name: 'reconciler as role', role: 'shipslog_reconciler' } as never });
});
afterAll(async () => {
  await pool?.end({ timeout: 5 });
  await h?.close();
});

describe('the reconciler needs only shipslog_reconciler privileges', () => {
  it('applies, records runs, checks health and removes as shipslog_reconciler', async () => {
    const [role] = await pool`select current_user as u`;
    expect(role!.u).toBe('shipslog_reconciler');
    const r = createReconciler({ db: pool, kube: h.kube, log: quietLog, config: { pollIntervalMs: 200, healthIntervalMs: 100, backoffBaseMs: 50, backoffMaxMs: 100 } });
    await r.start();
    const id = await createDeployment(h.t.db, { name: 'least-priv', recipe: 'redis', app_version: '7', config: {} });
    await converged(h.t.db, id);
    await waitFor('Healthy', async () => (await stateOf(h.t.db, id))!.health === 'Healthy');
    await asUser(h.t.db, (tx) => tx`update shipslog.deployments set deletion_requested_at = now() where id = ${id}`);
    await waitFor('removal', async () => !(await stateOf(h.t.db, id)));
    await r.stop();
    const roles = await h.t.db`select distinct db_role from shipslog.deployment_events where deployment_id = ${id} and actor_type = 'system'`;
    expect(roles.map((x) => x.db_role)).toEqual(['shipslog_reconciler']);
  });

  it('cannot forge run history or rewrite it', async () => {
    const code = async (p: Promise<unknown>) => p.then(() => 'ok', (e: postgres.PostgresError) => e.code);
    expect(await code(pool`insert into shipslog.reconcile_run_audit (transition_id, run_id, deployment_id, tenant, worker_id, correlation_id, success) values (1, gen_random_uuid(), gen_random_uuid(), 'x', 'w', 'c', true)`)).toBe('42501');
    expect(await code(pool`delete from shipslog.reconcile_runs`)).toBe('42501');
    expect(await code(pool`update shipslog.reconcile_run_transitions set worker_id = 'x'`)).toBe('42501');
    expect(await code(pool`insert into shipslog.deployment_events (deployment_id) values (gen_random_uuid())`)).toBe('42501');
  });
});
