import { sign } from 'node:crypto';
import type { Db } from '../db/client.ts';
import { withActor } from '../db/actor.ts';
import { toDomainError } from '../db/errors.ts';
import type { Log } from '../log.ts';
import { takeCheckpoint, type Checkpoint, type CheckpointKeys } from './checkpoints.ts';

export interface AuditPurgeResult {
  /** null when no chain had an expired prefix. */
  purgeId: number | null;
  chains: number;
  events: number;
  /** The checkpoint taken right after, so the newest checkpoint covers the trail as it now is. */
  checkpoint: Checkpoint | null;
}

/**
 * One retention run of the audit trail (sql/audit/85_retention.sql): read each chain's cut as
 * of one moment, sign each cut's anchor with the checkpoint key (which never enters
 * PostgreSQL), and hand the signed cuts to shipslog.purge_audit_events(), which recomputes
 * them, refuses any it would not make itself, stores the anchors and removes the prefixes in
 * one transaction. Then a checkpoint of the chains as they now are. Attributed like any change.
 */
export async function purgeAuditEvents(db: Db, keys: CheckpointKeys, kind: 'scheduled' | 'manual', log?: Log): Promise<AuditPurgeResult> {
  // One moment for both steps; a JavaScript Date holds milliseconds, and both steps get the same one.
  const [moment] = await db<{ at: Date }[]>`select now() as at`;
  const at = moment!.at;
  const cuts = await db<{ deployment_id: string; chain_index: number; message: string }[]>`
    select deployment_id, chain_index, message
    from shipslog.audit_retention_cuts(${at})
    order by deployment_id
  `;
  if (cuts.length === 0) return { purgeId: null, chains: 0, events: 0, checkpoint: null };
  const signatures = cuts.map((c) => sign(null, Buffer.from(c.message, 'utf8'), keys.privateKey));
  let purge: { id: string; chain_count: number; event_count: string } | undefined;
  try {
    purge = await withActor(db, { actor: 'audit-retention', actorType: 'system', reason: `${kind} audit retention` }, async (tx) => {
      const [row] = await tx<{ id: string; chain_count: number; event_count: string }[]>`
        select id, chain_count, event_count
        from shipslog.purge_audit_events(
          ${at},
          ${cuts.map((c) => c.deployment_id)}::uuid[],
          ${cuts.map((c) => c.chain_index)}::int[],
          ${keys.keyId},
          -- Hex text: the driver sends an array of Buffers as one bytea.
          array(select decode(s.hex, 'hex') from unnest(${signatures.map((x) => x.toString('hex'))}::text[]) with ordinality as s(hex, n) order by s.n))
      `;
      return row;
    });
  } catch (err) {
    throw toDomainError(err);
  }
  const checkpoint = await takeCheckpoint(db, keys);
  const result = { purgeId: purge ? Number(purge.id) : null, chains: purge?.chain_count ?? 0, events: Number(purge?.event_count ?? 0), checkpoint };
  log?.info({ kind, purgeId: result.purgeId, chains: result.chains, events: result.events, checkpoint: checkpoint.id }, `audit retention removed ${result.events} event(s) from ${result.chains} chain(s)`);
  return result;
}

/** Monthly partitions of the events from this month to `monthsAhead` ahead; returns how many it made. */
export async function ensureEventPartitions(db: Db, monthsAhead = 3): Promise<number> {
  const [row] = await db<{ n: number }[]>`select shipslog.ensure_deployment_event_partitions(${monthsAhead}) as n`;
  return row?.n ?? 0;
}
