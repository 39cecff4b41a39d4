import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyChains } from '../src/audit/verify.ts';
import { deploymentHistory, type HistoryEntry } from '../src/db/events.ts';
import { createTestApi, type TestApi } from './api/harness.ts';
import { eventsOf, insertDeployment } from './support/fixtures.ts';

// A version change to an older version is `downgraded`, for every writer (the trigger derives
// it with shipslog.version_order); the API's upgrade refuses one unless the request says so.
let api: TestApi;
beforeAll(async () => {
  api = await createTestApi();
});
afterAll(async () => {
  await api?.drop();
});

describe('shipslog.version_order', () => {
  it('compares the leading numbers as numbers, and gives no order where there are none', async () => {
    const cases: [string, string, number | null][] = [
      ['9', '10', 1],
      ['10', '9', -1],
      ['16.2', '16.10', 1],
      ['16.10', '16.2', -1],
      ['99', '16', -1],
      ['16', '16.0', 0],
      ['16.0.0', '16', 0],
      ['16', '16.0.1', 1],
      ['1.0', '1', 0],
      ['0.9', '0.10', 1],
      ['v1.9.0', 'v1.10.0', 1],
      ['V2', '1.99', -1],
      ['16.4-alpine', '16.2-alpine', -1],
      ['16.2-alpine', '17', 1],
      ['16-alpine', '16-bookworm', 0], // same numbers: a variant, not an older version
      ['2024.01.15', '2023.12.31', -1],
      ['20240115', '20240201', 1],
      ['16.02', '16.2', 0],
      ['123456789012345678901234567890', '123456789012345678901234567891', 1], // beyond bigint
      ['latest', '16', null],
      ['16', 'latest', null],
      ['stable', 'edge', null],
      ['', '16', null],
    ];
    const rows = await api.t.db<{ a: string; b: string; o: number | null }[]>`
      select c.a, c.b, shipslog.version_order(c.a, c.b) as o
      from unnest(${cases.map((c) => c[0])}::text[], ${cases.map((c) => c[1])}::text[]) with ordinality as c(a, b, n)
      order by c.n`;
    expect(rows.map((r) => [r.a, r.b, r.o])).toEqual(cases);
  });
});

describe('the audit trigger', () => {
  it('records an older version as downgraded, a newer or unordered one as upgraded, from any writer (raw SQL here)', async () => {
    const d = await insertDeployment(api.t.db, { tenant: 'acme', name: 'versions' }); // app_version 16
    const steps: [string, string, string][] = [
      ['99', 'upgraded', 'upgraded 16 -> 99'],
      ['16', 'downgraded', 'downgraded 99 -> 16'],
      ['16.10', 'upgraded', 'upgraded 16 -> 16.10'],
      ['16.9', 'downgraded', 'downgraded 16.10 -> 16.9'],
      ['latest', 'upgraded', 'upgraded 16.9 -> latest'],
      ['9', 'upgraded', 'upgraded latest -> 9'],
      ['10', 'upgraded', 'upgraded 9 -> 10'],
    ];
    for (const [version] of steps) await api.t.db`update shipslog.deployments set app_version = ${version} where id = ${d.id}`;
    const events = await eventsOf(api.t.db, d.id);
    expect(events.map((e) => e.action)).toEqual(['created', ...steps.map((s) => s[1])]);

    // The readable line, in SQL (psql, reports) and as the API renders it, says the same.
    const sql = await api.t.db<{ s: string }[]>`
      select shipslog.describe_event(action, shipslog.event_changes(previous_state, new_state), previous_state, new_state) as s
      from shipslog.deployment_events where deployment_id = ${d.id} and chain_index > 1 order by chain_index`;
    expect(sql.map((r) => r.s)).toEqual(steps.map((s) => s[2]));
    const readable = (await deploymentHistory(api.t.db, { deploymentId: d.id, limit: 50 }, 'readable')) as HistoryEntry[];
    expect(readable.slice(0, -1).reverse().map((e) => e.summary)).toEqual(steps.map((s) => s[2]));
    expect(await verifyChains(api.t.db, d.id)).toEqual([]);
  });

  it('accepts downgraded as an explicit shipslog.action', async () => {
    const d = await insertDeployment(api.t.db, { tenant: 'acme', name: 'explicit' });
    await api.t.db.begin(async (tx) => {
      await tx`select set_config('shipslog.action', 'downgraded', true)`;
      await tx`update shipslog.deployments set app_version = '15' where id = ${d.id}`;
    });
    expect((await eventsOf(api.t.db, d.id)).map((e) => e.action)).toEqual(['created', 'downgraded']);
  });
});

describe('POST /v1/deployments/{id}/upgrade to an older version', () => {
  it('is refused (409, nothing written) unless the request says "downgrade": true; then recorded as downgraded', async () => {
    const key = await api.key('acme', ['read', 'deploy'], 'alice');
    const created = await api.call(key, 'POST', '/v1/deployments', { name: 'orders-db', recipe: 'postgresql', app_version: '99' });
    const { id } = await created.json();

    const refused = await api.call(key, 'POST', `/v1/deployments/${id}/upgrade`, { app_version: '16', reason: 'typo?' });
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({
      type: expect.stringMatching(/conflict$/),
      detail: '16 is older than the current version 99: send "downgrade": true to mean it (recorded as downgraded)',
    });
    const unchanged = await (await api.call(key, 'GET', `/v1/deployments/${id}`)).json();
    expect(unchanged).toMatchObject({ app_version: '99', version: 1 });
    expect((await eventsOf(api.t.db, id)).map((e) => e.action)).toEqual(['created']);

    const meant = await api.call(key, 'POST', `/v1/deployments/${id}/upgrade`, { app_version: '16', downgrade: true, reason: '99 was never released' });
    expect(meant.status).toBe(200);
    expect(await meant.json()).toMatchObject({ app_version: '16', version: 2 });
    const history = await (await api.call(key, 'GET', `/v1/deployments/${id}/history`)).json();
    expect(history.items[0]).toMatchObject({ action: 'downgraded', changes: ['downgraded 99 -> 16'], reason: '99 was never released', actor: 'alice' });
    const filtered = await (await api.call(key, 'GET', `/v1/deployments/${id}/history?action=downgraded`)).json();
    expect(filtered.items).toHaveLength(1);

    // A newer version needs no flag, and "downgrade": true on a newer one is simply an upgrade.
    const up = await api.call(key, 'POST', `/v1/deployments/${id}/upgrade`, { app_version: '17', downgrade: true });
    expect(up.status).toBe(200);
    expect((await eventsOf(api.t.db, id)).map((e) => e.action)).toEqual(['created', 'downgraded', 'upgraded']);

    const metrics = await (await api.app.request('/metrics')).text();
    expect(metrics).toMatch(/shipslog_audit_events_written_total\{action="downgraded"\} 1/);
  });
});
