import type { Db } from '../db/client.ts';
import { signedCheckpoint } from './signed-heads.ts';
import { PROOF_FORMAT, type InclusionProof, type TrailEvent } from './trail-format.ts';

/** An event named on the command line: its global `seq`, or `<deployment id>:<chain_index>`. */
export type EventRef = { seq: string } | { deploymentId: string; chainIndex: number };

export function parseEventRef(text: string): EventRef {
  if (/^[1-9][0-9]{0,18}$/.test(text)) return { seq: text };
  const m = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}):([1-9][0-9]{0,9})$/i.exec(text);
  if (m && Number(m[2]) <= 2 ** 31 - 1) return { deploymentId: m[1]!.toLowerCase(), chainIndex: Number(m[2]) };
  throw new Error(`an event is its seq (a positive number) or <deployment id>:<chain_index>, not "${text}"`);
}

export class NotCoveredError extends Error {}

/**
 * `shipslog prove`: the shortest proof that an event is covered by a signed checkpoint, the
 * oldest checkpoint whose head of the event's chain is the event or follows it. The proof
 * holds the events from this one to that head (each with the exact payload that was
 * hashed), the checkpoint's signed fields, and the head's audit path to the signed root.
 */
export async function buildProof(db: Db, ref: EventRef): Promise<InclusionProof> {
  return db.begin('isolation level repeatable read', async (tx) => {
    const [event] = 'seq' in ref
      ? await tx<{ deployment_id: string; chain_index: number }[]>`
          select deployment_id, chain_index from shipslog.deployment_events where seq = ${ref.seq}`
      : await tx<{ deployment_id: string; chain_index: number }[]>`
          select deployment_id, chain_index from shipslog.deployment_events
          where deployment_id = ${ref.deploymentId}::uuid and chain_index = ${ref.chainIndex}`;
    if (!event) throw new Error(`no audit event ${'seq' in ref ? ref.seq : `${ref.deploymentId}:${ref.chainIndex}`}`);
    const [head] = await tx<{ checkpoint_id: string; leaf_index: number; chain_index: number }[]>`
      select checkpoint_id, leaf_index, chain_index
      from shipslog.audit_checkpoint_heads
      where deployment_id = ${event.deployment_id}
        and chain_index >= ${event.chain_index}
      order by chain_index, checkpoint_id
      limit 1`;
    if (!head) {
      throw new NotCoveredError(
        `event #${event.chain_index} of ${event.deployment_id} is not covered by a signed checkpoint yet: take one with \`shipslog checkpoint\``,
      );
    }
    const events = await tx<TrailEvent[]>`
      select
        'event' as type,
        e.deployment_id,
        e.chain_index,
        encode(coalesce(lag(e.hash) over (order by e.chain_index), p.hash, a.hash, ''::bytea), 'hex') as prev_hash,
        encode(e.hash, 'hex') as hash,
        shipslog.event_payload(e)::text as payload
      from shipslog.deployment_events as e
      left join shipslog.deployment_events as p
        on p.deployment_id = e.deployment_id
        and p.chain_index = ${event.chain_index} - 1
      -- The first event after a purged prefix: the event before it is gone, its signed anchor holds its hash.
      left join shipslog.audit_chain_anchors as a
        on a.deployment_id = e.deployment_id
        and a.chain_index = ${event.chain_index} - 1
      where e.deployment_id = ${event.deployment_id}
        and e.chain_index between ${event.chain_index} and ${head.chain_index}
      order by e.chain_index`;
    const checkpoint = await signedCheckpoint(tx, Number(head.checkpoint_id), [head.leaf_index]);
    return { type: PROOF_FORMAT, format_version: 1, checkpoint, events: events.map((e) => ({ ...e })) };
  });
}
