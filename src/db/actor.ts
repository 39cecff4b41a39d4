import type { Db, Tx } from './client.ts';

/** Who is making a change and why; the audit trigger reads it from transaction-local settings. */
export interface ActorContext {
  actor: string;
  actorType: 'user' | 'service' | 'system';
  reason?: string | undefined;
  correlationId?: string | undefined;
  requestId?: string | undefined;
  sourceIp?: string | undefined;
  userAgent?: string | undefined;
  /** An explicit action such as `rolled_back`, overriding the one the trigger derives. */
  action?: string | undefined;
  tenant?: string | undefined;
}

const settings: Record<keyof ActorContext, string> = {
  actor: 'shipslog.actor',
  actorType: 'shipslog.actor_type',
  reason: 'shipslog.reason',
  correlationId: 'shipslog.correlation_id',
  requestId: 'shipslog.request_id',
  sourceIp: 'shipslog.source_ip',
  userAgent: 'shipslog.user_agent',
  action: 'shipslog.action',
  tenant: 'shipslog.tenant',
};

/** The actor context as [setting, value] pairs for set_config (unset fields as '', which the trigger reads as unset). */
export function actorSettings(ctx: ActorContext): [string, string][] {
  return (Object.entries(settings) as [keyof ActorContext, string][]).map(([key, name]) => [name, ctx[key] ?? '']);
}

/** Sets the actor context for the rest of this transaction (set_config(..., true) is transaction-local). */
export async function setActorContext(tx: Tx, ctx: ActorContext): Promise<void> {
  const pairs = actorSettings(ctx);
  await tx`
    select set_config(s.name, s.value, true)
    from unnest(${pairs.map((p) => p[0])}::text[], ${pairs.map((p) => p[1])}::text[]) as s(name, value)
  `;
}

/** Runs fn in one transaction with the actor context set: the unit of every audited write. */
export function withActor<T>(db: Db, ctx: ActorContext, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return db.begin(async (tx) => {
    await setActorContext(tx, ctx);
    return fn(tx);
  }) as Promise<T>;
}
