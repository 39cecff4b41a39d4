import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createApiKey } from '../../src/db/api-keys.ts';
import { createLog } from '../../src/log.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { insertDeployment } from '../support/fixtures.ts';

// The API's hot pages run on their prepared statement's generic plan (src/db/events.ts,
// genericPlanFits): a history page, a tenant's event listing, a feed poll and the agent tool's
// history are not planned afresh on every request. A page with a filter whose value the plan
// depends on (an actor, an action, a status) keeps PostgreSQL's custom plans. Read off
// pg_prepared_statements of the API's one connection.

let t: TestDatabase;
let pool: postgres.Sql;
let app: ReturnType<typeof createApp>;
let key: string;
let id: string;

beforeAll(async () => {
  t = await createTestDatabase();
  const d = await insertDeployment(t.db, { tenant: 'acme', name: 'orders-db' });
  id = d.id;
  for (let i = 1; i < 20; i++) await t.db`update shipslog.deployments set config = ${t.db.json({ storage: `${i}Gi` })} where id = ${id}`;
  key = (await createApiKey(t.db, { name: 'bot', tenant: 'acme', scopes: ['read', 'audit'] })).key;
  // One connection: its prepared statements are the API's.
  pool = postgres(t.url, { max: 1, onnotice: () => {} });
  app = createApp({ db: pool, config: loadConfig({ DATABASE_URL: t.url, LOG_LEVEL: 'silent' }), log: createLog('silent'), fingerprintKey: Buffer.alloc(32, 7) });
});

afterAll(async () => {
  await pool?.end({ timeout: 5 });
  await t?.drop();
});

/** Sends the request `times` times; then the plans of the API's statements matching `statement`, summed. */
async function plansOf(request: () => Response | Promise<Response>, statement: RegExp, times = 8): Promise<{ generic: number; custom: number }> {
  const before = await plans(statement);
  for (let i = 0; i < times; i++) expect((await request()).status).toBe(200);
  const after = await plans(statement);
  return { generic: after.generic - before.generic, custom: after.custom - before.custom };
}

async function plans(statement: RegExp): Promise<{ generic: number; custom: number }> {
  const rows = await pool<{ statement: string; generic: number; custom: number }[]>`
    select statement, generic_plans::int as generic, custom_plans::int as custom from pg_prepared_statements`;
  const matching = rows.filter((r) => statement.test(r.statement));
  return { generic: matching.reduce((n, r) => n + r.generic, 0), custom: matching.reduce((n, r) => n + r.custom, 0) };
}

const get = (path: string) => () => app.request(path, { headers: { authorization: `Bearer ${key}` } });
const historyPage = /readable_events[\s\S]*e\.deployment_id = \$1[\s\S]*order by e\.chain_index desc/;
const eventsPage = /readable_events[\s\S]*order by e\.tenant desc, e\.occurred_at desc/;

describe('the generic plan for pages whose plan does not depend on the values asked for', () => {
  it('a history page and its next page', async () => {
    expect(await plansOf(get(`/v1/deployments/${id}/history?limit=5`), historyPage)).toEqual({ generic: 8, custom: 0 });
    expect(await plansOf(get(`/v1/deployments/${id}/history?limit=5&cursor=10`), historyPage)).toEqual({ generic: 8, custom: 0 });
  });

  it("a tenant key's event listing", async () => {
    expect(await plansOf(get('/v1/events?limit=5'), eventsPage)).toEqual({ generic: 8, custom: 0 });
  });

  it('a feed poll', async () => {
    expect(await plansOf(get('/v1/events/feed?after=0:0&limit=5'), /pg_snapshot_xmin[\s\S]*from shipslog\.deployment_events/)).toEqual({ generic: 8, custom: 0 });
  });

  it("the agent tool's history of a name", async () => {
    const tool = () => app.request('/v1/tools/get-app-history', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ appId: 'orders-db', limit: 5 }),
    });
    expect(await plansOf(tool, /cross join lateral[\s\S]*order by e\.chain_index desc/)).toEqual({ generic: 8, custom: 0 });
  });
});

describe("PostgreSQL's own choice for a filter whose value the plan depends on", () => {
  it('an actor or an action in a history page', async () => {
    for (const filter of ['actor=alice', 'action=created']) {
      // PostgreSQL plans the first five executions of a statement for their values.
      expect((await plansOf(get(`/v1/deployments/${id}/history?limit=5&${filter}`), historyPage)).custom).toBeGreaterThanOrEqual(5);
    }
  });

  it('a status or an actor in the event listing', async () => {
    for (const filter of ['status=failed', 'actor=alice']) {
      expect((await plansOf(get(`/v1/events?limit=5&${filter}`), eventsPage)).custom).toBeGreaterThanOrEqual(5);
    }
  });
});
