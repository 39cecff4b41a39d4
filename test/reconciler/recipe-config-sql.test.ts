import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recipes } from '../../src/recipes/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { insertDeployment } from '../support/fixtures.ts';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => t?.drop());

const samples: [string, unknown][] = [
  ['postgresql', {}], ['postgresql', { storage: '8Gi', replicas: 1 }], ['postgresql', { storage: 'lots' }], ['postgresql', { storage: 8 }],
  ['postgresql', { replicas: 3 }], ['postgresql', { storage: '1.5Gi', tuning: { work_mem: '4MB' } }],
  ['redis', {}], ['redis', { maxmemory: '256Mi' }], ['redis', { maxmemory: 'a lot' }],
  ['web', {}], ['web', { image: 'nginx' }], ['web', { image: 'nginx', port: 70000 }], ['web', { image: 'nginx', port: 80.5 }],
  ['web', { image: 'nginx', replicas: 0 }], ['web', { image: 'nginx', servicePort: '80' }], ['web', { image: 7 }],
  ['oracle', {}],
];

describe('recipe config in SQL (writes that bypass the API)', () => {
  it('refuses a config the reconciler could not render, with SL210 and the field named', async () => {
    const err = await insertDeployment(t.db, { name: 'sql-bad', recipe: 'web', app_version: '1', config: { port: 8080 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(postgres.PostgresError);
    expect((err as postgres.PostgresError).code).toBe('SL210');
    expect((err as postgres.PostgresError).message).toMatch(/config\.image: required/);
    expect((err as postgres.PostgresError).hint).toMatch(/recipe_config_errors/);
    const d = await insertDeployment(t.db, { name: 'sql-ok', recipe: 'redis', app_version: '7', config: {} });
    const bad = await t.db`update shipslog.deployments set config = '{"maxmemory": "lots"}' where id = ${d.id}`.catch((e: postgres.PostgresError) => e.code);
    expect(bad).toBe('SL210');
    const [events] = await t.db`select count(*)::int as n from shipslog.deployment_events where deployment_id = ${d.id}`;
    expect(events!.n).toBe(1); // the refused change wrote nothing
    // Status and health writes do not re-check the config.
    await t.db`update shipslog.deployments set status = 'applied' where id = ${d.id}`;
  });

  it('the audit trigger refuses exactly what recipe_config_errors lists, on insert and on a config change', async () => {
    const base = await insertDeployment(t.db, { name: 'sql-samples', recipe: 'redis', app_version: '7', config: {} });
    for (const [i, [recipe, config]] of samples.entries()) {
      const [row] = await t.db<{ errors: string[] }[]>`select shipslog.recipe_config_errors(${recipe}, ${t.db.json(config as never)}) as errors`;
      const inserted = await insertDeployment(t.db, { name: `sample-${i}`, recipe, app_version: '1', config: config as Record<string, unknown> })
        .then(() => 'ok', (e: postgres.PostgresError) => e.code);
      expect(inserted, `insert ${recipe} ${JSON.stringify(config)}`).toBe(row!.errors.length > 0 ? 'SL210' : 'ok');
      if (recipe !== 'redis') continue;
      const updated = await t.db`update shipslog.deployments set config = ${t.db.json(config as never)} where id = ${base.id}`
        .then(() => 'ok', (e: postgres.PostgresError) => e.code);
      expect(updated, `update redis ${JSON.stringify(config)}`).toBe(row!.errors.length > 0 ? 'SL210' : 'ok');
    }
  });

  it('never refuses what the recipe\'s zod schema accepts (the SQL rule is the weaker one)', async () => {
    for (const [recipe, config] of samples) {
      const [row] = await t.db<{ errors: string[] }[]>`select shipslog.recipe_config_errors(${recipe}, ${t.db.json(config as never)}) as errors`;
      const zodOk = recipes[recipe]?.configSchema.safeParse(config).success ?? false;
      if (row!.errors.length > 0) expect(zodOk, `${recipe} ${JSON.stringify(config)}: SQL refuses, zod accepts`).toBe(false);
      if (!zodOk && recipe !== 'postgresql') expect(row!.errors.length, `${recipe} ${JSON.stringify(config)}`).toBeGreaterThan(0);
    }
  });
});
