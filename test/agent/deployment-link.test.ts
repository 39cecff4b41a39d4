import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withActor } from '../../src/db/actor.ts';
import { deploymentAgentCost, deploymentChangesOfMessage } from '../../src/db/agent-messages.ts';
import { deploymentHistory, type LinkedHistoryEntry } from '../../src/db/events.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { eventsOf, insertDeployment } from '../support/fixtures.ts';
import { asRole, recordMessage } from './support.ts';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

const agent = (correlationId: string) => ({ actor: 'agent', actorType: 'service' as const, correlationId, tenant: 'acme' });
const cost = (total: string, tokens: number) => ({
  reasoning: ['resize'],
  tokens: { prompt: tokens, completion: 0, total: tokens },
  cost: { prompt: total, completion: '0', total },
});

describe('agent messages linked to deployment changes', () => {
  it('shows the message behind each correlated change and sums a deployment\'s agent cost once per message', async () => {
    await recordMessage(t.db, 'acme', { messageId: 'msg-create', projectId: 'shop', model: 'claude-opus-4' }, cost('0.25', 1000));
    await recordMessage(t.db, 'acme', { messageId: 'msg-resize', projectId: 'shop', model: 'claude-sonnet-4' }, cost('0.0125', 400));
    const d = await withActor(t.db, agent('msg-create'), (tx) => insertDeployment(tx, { name: 'orders-db' }));
    // One message caused two changes; a psql change in between carries no message.
    await withActor(t.db, agent('msg-resize'), (tx) => tx`update shipslog.deployments set config = config || '{"storage":"16Gi"}' where id = ${d.id}`);
    await t.db`update shipslog.deployments set health = 'Healthy' where id = ${d.id}`;
    await withActor(t.db, agent('msg-resize'), (tx) => tx`update shipslog.deployments set app_version = '17' where id = ${d.id}`);

    const events = await eventsOf(t.db, d.id);
    expect(events.map((e) => e.correlation_id)).toEqual(['msg-create', 'msg-resize', null, 'msg-resize']);
    // The history page names each change's message, newest first, in the API's key order.
    const linked = (await deploymentHistory(t.db, { deploymentId: d.id, limit: 10 }, 'readable', { agentMessages: true })) as LinkedHistoryEntry[];
    expect(linked.map((e) => e.agent_message?.message_id ?? null)).toEqual(['msg-resize', null, 'msg-resize', 'msg-create']);
    expect(JSON.stringify(linked[2]!.agent_message)).toBe(JSON.stringify({
      message_id: 'msg-resize',
      model: 'claude-sonnet-4',
      tokens: { prompt: 400, completion: 0, total: 400 },
      cost: { prompt: '0.0125', completion: '0', total: '0.0125' },
    }));
    expect(Object.keys(linked[0]!).at(-1)).toBe('agent_message');

    expect(await deploymentAgentCost(t.db, d.id)).toEqual({ messageCount: 2, totalTokens: 1400, totalCost: '0.2625' });
    const changes = await deploymentChangesOfMessage(t.db, 'msg-resize');
    expect(changes.map((c) => [c.name, c.action, c.chainIndex])).toEqual([
      ['orders-db', 'config_changed', 2],
      ['orders-db', 'upgraded', 4],
    ]);

    // The same through psql, as an auditor would ask it.
    const [row] = await t.db<{ total_cost: string }[]>`select total_cost::text from shipslog.deployment_agent_cost(${d.id})`;
    expect(row?.total_cost).toBe('0.2625');
  });

  it('never links a change to another tenant\'s message with the same id', async () => {
    await recordMessage(t.db, 'acme', { messageId: 'msg-shared-id', projectId: 'shop', model: 'm' }, cost('1', 1));
    const g = await withActor(t.db, { ...agent('msg-shared-id'), tenant: 'globex' }, (tx) => insertDeployment(tx, { tenant: 'globex', name: 'web' }));
    expect(await deploymentAgentCost(t.db, g.id)).toEqual({ messageCount: 0, totalTokens: 0, totalCost: '0' });
    const [e] = await eventsOf(t.db, g.id);
    expect(e!.correlation_id).toBe('msg-shared-id');
    // Not as the owner, nor through a global key's view of every tenant.
    const page = (db: Parameters<typeof deploymentHistory>[0]) =>
      deploymentHistory(db, { deploymentId: g.id, limit: 10 }, 'readable', { agentMessages: true }) as Promise<LinkedHistoryEntry[]>;
    expect((await page(t.db)).map((x) => x.agent_message)).toEqual([null]);
    expect((await asRole(t.db, 'shipslog_app', { tenant: '*' }, page)).map((x) => x.agent_message)).toEqual([null]);
  });

  it('respects row-level security through the view (security_invoker)', async () => {
    const seen = (tenant: string) =>
      asRole(t.db, 'shipslog_app', { tenant }, (tx) => tx<{ message_id: string }[]>`
        select distinct message_id from shipslog.agent_message_deployment_changes order by 1`);
    expect((await seen('acme')).map((r) => r.message_id)).toEqual(['msg-create', 'msg-resize']);
    expect(await seen('globex')).toHaveLength(0);
  });

  it('names a message that is not finalised yet without tokens or cost', async () => {
    await recordMessage(t.db, 'acme', { messageId: 'msg-open', projectId: 'shop', model: 'claude-haiku-4' }, null);
    const d = await withActor(t.db, agent('msg-open'), (tx) => insertDeployment(tx, { name: 'cache' }));
    const [entry] = (await asRole(t.db, 'shipslog_app', { tenant: 'acme' }, (tx) =>
      deploymentHistory(tx, { deploymentId: d.id, limit: 10 }, 'readable', { agentMessages: true }))) as LinkedHistoryEntry[];
    expect(entry!.agent_message).toEqual({ message_id: 'msg-open', model: 'claude-haiku-4', tokens: null, cost: null });
  });
});
