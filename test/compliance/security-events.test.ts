import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordFindings, verifyChains } from '../../src/audit/verify.ts';
import { createTestApi, type TestApi } from '../api/harness.ts';

// access_denied (src/api/access-denied.ts) and security_violation (shipslog verify --record):
// refusals and integrity findings on the deployment's own chain.
let api: TestApi;
beforeAll(async () => {
  api = await createTestApi();
});
afterAll(async () => {
  await api?.drop();
});

const securityEvents = (id: string) => api.t.db<{ action: string; actor: string; details: Record<string, unknown> }[]>`
  select action, actor, new_state -> 'details' as details from shipslog.deployment_events
  where deployment_id = ${id} and shipslog.event_category(action) = 'security' order by chain_index`;

describe('security events', () => {
  it('records a scope refusal as access_denied on its own connection; another tenant\'s probe is a 404 and not recorded', async () => {
    const owner = await api.key('acme', ['read', 'deploy'], 'acme-deployer');
    const reader = await api.key('acme', ['read'], 'acme-reader');
    const stranger = await api.key('globex', ['read', 'deploy'], 'globex-deployer');
    const d = await (await api.call(owner, 'POST', '/v1/deployments', { name: 'guarded-db', recipe: 'redis', app_version: '7.2' })).json();
    const refused = await api.call(reader, 'POST', `/v1/deployments/${d.id}/restart`, {}, { 'x-correlation-id': 'probe-1' });
    expect(refused.status).toBe(403);
    expect((await api.call(stranger, 'POST', `/v1/deployments/${d.id}/restart`, {})).status).toBe(404);
    const events = await securityEvents(d.id);
    expect(events).toEqual([{
      action: 'access_denied', actor: 'acme-reader',
      details: { method: 'POST', path: `/v1/deployments/${d.id}/restart`, denied_because: 'this needs the deploy scope', scopes: ['read'] },
    }]);
    const [e] = await api.t.db`select correlation_id, db_role, shipslog.event_severity(action, new_state) as severity from shipslog.deployment_events where deployment_id = ${d.id} and action = 'access_denied'`;
    expect(e).toEqual({ correlation_id: 'probe-1', db_role: 'shipslog_app', severity: 'warning' });
    // The restart itself did not happen.
    const [row] = await api.t.db`select generation::int as g from shipslog.deployments where id = ${d.id}`;
    expect(row!.g).toBe(1);
    expect(await verifyChains(api.t.db, d.id)).toEqual([]);
  });

  it('records verify findings as security_violation events', async () => {
    const key = await api.key('acme', ['read', 'deploy'], 'acme-deployer-2');
    const d = await (await api.call(key, 'POST', '/v1/deployments', { name: 'tampered-db', recipe: 'redis', app_version: '7.2' })).json();
    await api.call(key, 'PATCH', `/v1/deployments/${d.id}`, { config: { maxmemory: '64Mi' } });
    await api.t.db.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`update shipslog.deployment_events set reason = 'edited' where deployment_id = ${d.id} and chain_index = 2`;
    });
    const findings = await verifyChains(api.t.db, d.id);
    expect(findings).toHaveLength(1);
    expect(await recordFindings(api.t.db, findings)).toEqual({ recorded: 1, notRecorded: [] });
    const [event] = await securityEvents(d.id);
    expect(event).toMatchObject({ action: 'security_violation', actor: 'shipslog verify', details: { finding: findings[0]!.problem, chain_index: 2, source: 'verify' } });
    // The first finding is still the tampered event.
    expect((await verifyChains(api.t.db, d.id))[0]!.problem).toBe(findings[0]!.problem);
  });
});
