import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { insertDeployment } from '../support/fixtures.ts';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => t?.drop());

// The audit trigger wakes the reconcilers only when a write gives them work they would not
// find by themselves (issue 10): PostgreSQL serialises the commits of notifying transactions.
describe('reconciler wake-up (NOTIFY shipslog_reconcile)', () => {
  it('notifies a new deployment and a new generation of a settled or failing one; nothing for pending ones or status writes', async () => {
    const listener = t.connect(1);
    const heard: string[] = [];
    await listener.listen('shipslog_reconcile', (id) => heard.push(id));
    // A notification of a transaction that committed before this one returns has arrived
    // once a later round trip on the listening connection does.
    const settle = async () => {
      await new Promise((r) => setTimeout(r, 50));
      await listener`select 1`;
      return heard.splice(0);
    };
    const config = (id: string, storage: string) =>
      t.db`update shipslog.deployments set config = jsonb_set(config, '{storage}', to_jsonb(${storage}::text)) where id = ${id}`;

    const d = await insertDeployment(t.db, { name: 'wake' });
    expect(await settle()).toEqual([d.id]);
    // Pending (generation 1 not observed yet): the reconciler will find it.
    await config(d.id, '9Gi');
    await config(d.id, '10Gi');
    expect(await settle()).toEqual([]);
    // The reconciler settles it: a status write, no new generation.
    await t.db`update shipslog.deployments set status = 'applied', observed_generation = generation where id = ${d.id}`;
    await t.db`update shipslog.deployments set health = 'Healthy' where id = ${d.id}`;
    expect(await settle()).toEqual([]);
    // Settled, then a config change: new work.
    await config(d.id, '11Gi');
    expect(await settle()).toEqual([d.id]);
    // Failing at its generation (back-off holds it): a newer generation must be tried at once.
    await t.db`update shipslog.deployments set status = 'failed' where id = ${d.id}`;
    await config(d.id, '12Gi');
    expect(await settle()).toEqual([d.id]);
    // A removal request of a settled deployment is new work too (general path of the trigger).
    await t.db`update shipslog.deployments set status = 'applied', observed_generation = generation where id = ${d.id}`;
    await t.db`update shipslog.deployments set deletion_requested_at = now() where id = ${d.id}`;
    expect(await settle()).toEqual([d.id]);
    // A refused write notifies nothing (the notification dies with its transaction).
    await t.db`update shipslog.deployments set status = 'applied', observed_generation = generation where id = ${d.id}`;
    await expect(config(d.id, 'lots')).rejects.toMatchObject({ code: 'SL210' });
    expect(await settle()).toEqual([]);
  });
});
