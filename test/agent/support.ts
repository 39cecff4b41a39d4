import type { Db, Tx } from '../../src/db/client.ts';
import { setActorContext, type ActorContext } from '../../src/db/actor.ts';
import { startAgentMessage, finaliseAgentMessage, type FinaliseInput, type StartInput } from '../../src/db/agent-messages.ts';

/** One transaction as a database role with the actor context set, as the API does (role + tenant). */
export function asRole<T>(
  db: Db,
  role: 'shipslog_app' | 'shipslog_reconciler' | 'shipslog_auditor' | null,
  ctx: Partial<ActorContext>,
  fn: (tx: Tx) => Promise<T>,
): Promise<T> {
  return db.begin(async (tx) => {
    await setActorContext(tx, { actor: 'test-agent', actorType: 'service', ...ctx });
    if (role) await tx`select set_config('role', ${role}, true)`;
    return fn(tx);
  }) as Promise<T>;
}

export const finalise: FinaliseInput = {
  reasoning: ['user asked to deploy PostgreSQL', 'chose the postgresql recipe'],
  tokens: { prompt: 1200, completion: 300, total: 1500 },
  cost: { prompt: '0.0036', completion: '0.0045', total: '0.0081' },
};

/** A placeholder then its finalisation, as the tenant's app session. */
export async function recordMessage(
  db: Db,
  tenant: string,
  input: Omit<StartInput, 'model'> & { model?: string },
  values: FinaliseInput | null = finalise,
): Promise<void> {
  await asRole(db, 'shipslog_app', { tenant }, (tx) => startAgentMessage(tx, { model: 'claude-sonnet-4', ...input }));
  if (values) await asRole(db, 'shipslog_app', { tenant }, (tx) => finaliseAgentMessage(tx, input.messageId, values));
}
