import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyChains } from '../../src/audit/verify.ts';
import { createKube, createReconciler, type Reconciler } from '../../src/reconciler/index.ts';
import { createTestApi, type TestApi } from '../api/harness.ts';
import { mcpCall } from '../api/mcp-client.ts';
import { startKubeApiTestServer, type KubeApiTestServer } from '../support/kube-api-server.ts';
import { converged, quietLog, rolloutEventsOf, stateOf, waitFor } from '../reconciler/helpers.ts';

// Rollback through the API, the agent tool and MCP (sql/compliance/60_rollback.sql): the desired
// state at an earlier event comes back as a NEW generation, rollback_started then
// rollback_completed when the reconciler has applied it; refused with the reason when the state
// cannot be rebuilt.
let api: TestApi;
let server: KubeApiTestServer;
let r: Reconciler;
let key: string;
let reader: string;
beforeAll(async () => {
  [api, server] = await Promise.all([createTestApi(), startKubeApiTestServer()]);
  key = await api.key('shop', ['read', 'deploy'], 'alice');
  reader = await api.key('shop', ['read'], 'viewer');
  r = createReconciler({
    db: api.t.connect(5, 'shipslog reconciler test'),
    kube: createKube(server.kubeConfig()),
    log: quietLog,
    config: { pollIntervalMs: 150, healthIntervalMs: 100_000, backoffBaseMs: 100, backoffMaxMs: 400 },
  });
  await r.start();
});
afterAll(async () => {
  await r?.stop();
  await server?.stop();
  await api?.drop();
});

const get = async (id: string) => (await api.call(key, 'GET', `/v1/deployments/${id}`)).json();

describe('rollback', () => {
  it('restores an earlier desired state as a new generation, rollback_started then rollback_completed', async () => {
    const d = await (await api.call(key, 'POST', '/v1/deployments', { name: 'cache', recipe: 'redis', app_version: '7.2', config: { maxmemory: '64Mi' } })).json();
    await converged(api.t.db, d.id);
    await api.call(key, 'PATCH', `/v1/deployments/${d.id}`, { config: { maxmemory: '256Mi' } });
    await api.call(key, 'POST', `/v1/deployments/${d.id}/upgrade`, { app_version: '7.4' });
    await converged(api.t.db, d.id);
    const before = await get(d.id);
    expect(before).toMatchObject({ app_version: '7.4', generation: 3 });

    const res = await api.call(key, 'POST', `/v1/deployments/${d.id}/rollback`, { event: { chain_index: 1 }, reason: 'the upgrade broke eviction' });
    expect(res.status).toBe(202);
    const started = await res.json();
    expect(started).toMatchObject({ deployment_id: d.id, generation: 4, target_chain_index: 1 });
    const after = await get(d.id);
    expect(after).toMatchObject({ app_version: '7.2', generation: 4 });
    expect(after.config.maxmemory).toBe('64Mi');
    await converged(api.t.db, d.id);
    await waitFor('rollback_completed', async () => (await rolloutEventsOf(api.t.db, d.id)).find((e) => e.action === 'rollback_completed'));

    // History grew (N+1): nothing before it changed.
    const [rolled] = await api.t.db`select action, reason, actor, previous_state, new_state from shipslog.deployment_events where seq = ${started.rolled_back_seq}`;
    expect(rolled).toMatchObject({ action: 'rolled_back', reason: 'the upgrade broke eviction', actor: 'alice' });
    expect(rolled!.new_state).toMatchObject({ app_version: '7.2', config: { maxmemory: '64Mi' } });
    const events = (await rolloutEventsOf(api.t.db, d.id)).filter((e) => e.action.startsWith('rollback_') || e.details.generation === 4);
    expect(events.map((e) => e.action)).toEqual(['rollback_started', 'deployment_started', 'deployment_completed', 'rollback_completed']);
    expect(events[0]!.details).toMatchObject({ generation: 4, target_chain_index: 1, from_generation: 3, parent_seq: started.target_seq });
    expect(events[3]!.details.parent_seq).toBe(started.rollback_started_seq);
    const summaries = (await (await api.call(key, 'GET', `/v1/deployments/${d.id}/history?category=rollback`)).json()).items.map((e: { summary: string }) => e.summary);
    // The rolled_back change itself is in the rollback category too.
    expect(summaries).toEqual([
      'rollback completed (generation 4)', 'rollback to event #1 started as generation 4', expect.stringMatching(/downgraded 7\.4 -> 7\.2/),
    ]);
    expect(summaries[2]).toContain('maxmemory: 256Mi -> 64Mi');
    expect(await verifyChains(api.t.db, d.id)).toEqual([]);

    // Rolling back to where it is now changes nothing and is refused.
    const same = await api.call(key, 'POST', `/v1/deployments/${d.id}/rollback`, { event: { seq: started.rolled_back_seq } });
    expect(same.status).toBe(409);
    expect((await same.json()).detail).toMatch(/nothing to roll back/);
  });

  it('refuses when the state cannot be rebuilt (secrets rotated since), an unknown event, and a reader', async () => {
    const d = await (await api.call(key, 'POST', '/v1/deployments', {
      name: 'vault-db', recipe: 'postgresql', app_version: '16', config: { storage: '8Gi' }, secrets: { password: 'first' },
    })).json();
    await api.call(key, 'PATCH', `/v1/deployments/${d.id}`, { config: { storage: '16Gi' } });
    await api.call(key, 'PATCH', `/v1/deployments/${d.id}`, { secrets: { password: 'second' } });
    const before = await api.t.db`select count(*)::int as n, max(generation) as g from shipslog.deployment_events, shipslog.deployments where deployment_id = ${d.id} and id = ${d.id} and actor_type <> 'system' and action <> 'access_denied'`;
    const rotated = await api.call(key, 'POST', `/v1/deployments/${d.id}/rollback`, { event: { chain_index: 2 } });
    expect(rotated.status).toBe(409);
    const problem = await rotated.json();
    expect(problem.detail).toMatch(/cannot rebuild the state at event #2: its secrets were rotated since/);
    expect(problem.hint).toMatch(/Restore the old secret values first/);
    expect((await api.call(key, 'POST', `/v1/deployments/${d.id}/rollback`, { event: { chain_index: 99 } })).status).toBe(404);
    expect((await api.call(key, 'POST', `/v1/deployments/${d.id}/rollback`, { event: { chain_index: 1, seq: 1 } })).status).toBe(400);
    expect((await api.call(reader, 'POST', `/v1/deployments/${d.id}/rollback`, { event: { chain_index: 1 } })).status).toBe(403);
    const other = await api.key('elsewhere', ['read', 'deploy']);
    expect((await api.call(other, 'POST', `/v1/deployments/${d.id}/rollback`, { event: { chain_index: 1 } })).status).toBe(404);
    // Nothing was written by any refusal (the reconciler's own events aside: it works meanwhile),
    // except the record of the reader's 403 (access_denied).
    expect(await api.t.db`select count(*)::int as n, max(generation) as g from shipslog.deployment_events, shipslog.deployments where deployment_id = ${d.id} and id = ${d.id} and actor_type <> 'system' and action <> 'access_denied'`).toEqual(before);
    const [denied] = await api.t.db`select actor from shipslog.deployment_events where deployment_id = ${d.id} and action = 'access_denied'`;
    expect(denied).toEqual({ actor: 'viewer' });
  });

  it('works from the agent tool and MCP, by app name', async () => {
    const d = await (await api.call(key, 'POST', '/v1/deployments', { name: 'agent-cache', recipe: 'redis', app_version: '7.2', config: {} })).json();
    await api.call(key, 'POST', `/v1/deployments/${d.id}/upgrade`, { app_version: '7.4' });
    // By seq: the reconciler's events interleave with these, so chain indexes are not known ahead.
    const [upgraded] = await api.t.db`select seq::int as seq from shipslog.deployment_events where deployment_id = ${d.id} and action = 'upgraded'`;
    const tool = await api.call(key, 'POST', '/v1/tools/rollback-app', { appId: 'agent-cache', event: { chain_index: 1 } });
    expect(tool.status).toBe(202);
    expect((await stateOf(api.t.db, d.id))!.generation).toBe(3);
    expect((await get(d.id)).app_version).toBe('7.2');
    const viaMcp = await mcpCall(api.app, key, 'rollback-app', { appId: 'shop/agent-cache', event: { seq: upgraded!.seq }, reason: 'agent: restore 7.4' });
    expect(viaMcp.isError, viaMcp.content[0]?.text).toBeFalsy();
    expect(viaMcp.structuredContent).toMatchObject({ generation: 4, target_seq: upgraded!.seq });
    expect((await get(d.id)).app_version).toBe('7.4');
    const refused = await mcpCall(api.app, key, 'rollback-app', { appId: 'agent-cache', event: { chain_index: 99 } });
    expect(refused).toMatchObject({ isError: true });
    expect(refused.content[0]!.text).toMatch(/has no event #99/);
    const denied = await mcpCall(api.app, reader, 'rollback-app', { appId: 'agent-cache', event: { chain_index: 1 } });
    expect(denied).toMatchObject({ isError: true, content: [{ text: 'this needs the deploy scope' }] });
  });
});
