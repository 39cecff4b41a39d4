import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withActor } from '../../src/db/actor.ts';
import { agentMessagesForEvents, deploymentAgentCost, deploymentChangesOfMessage } from '../../src/db/agent-messages.ts';
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
    const linked = await agentMessagesForEvents(t.db, events.map((e) => e.seq));
    expect(events.map((e) => linked.get(e.seq)?.messageId ?? null)).toEqual(['msg-create', 'msg-resize', null, 'msg-resize']);
    expect(linked.get(events[1]!.seq)).toEqual({
      messageId: 'msg-resize',
      model: 'claude-sonnet-4',
      tokens: { prompt: 400, completion: 0, total: 400 },
      cost: { prompt: '0.0125', completion: '0', total: '0.0125' },
    });

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
    expect((await agentMessagesForEvents(t.db, [e!.seq])).size).toBe(0);
  });

  it('respects row-level security through the view (security_invoker)', async () => {
    const seen = (tenant: string) =>
      asRole(t.db, 'shipslog_app', { tenant }, (tx) => tx<{ message_id: string }[]>`
        select distinct message_id from shipslog.agent_message_deployment_changes order by 1`);
    expect((await seen('acme')).map((r) => r.message_id)).toEqual(['msg-create', 'msg-resize']);
    expect(await seen('globex')).toHaveLength(0);
  });
});
