import type { Db } from '../db/client.ts';
import { withActor } from '../db/actor.ts';
import { toDomainError } from '../db/errors.ts';
import type { Log } from '../log.ts';
import { formatDuration } from './duration.ts';

export type PurgeKind = 'scheduled' | 'manual';

export interface PurgeResult {
  /** ran: deleted and recorded; locked: another replica is running it; already_ran: done today. */
  outcome: 'ran' | 'locked' | 'already_ran';
  runId: string | null;
  deletedCount: number;
  cutoff: Date | null;
}

/**
 * One retention run through shipslog.purge_agent_messages, the only path PostgreSQL lets
 * delete agent messages. The advisory lock, the once-per-day rule and the run record are
 * all inside that function, so every replica (and `shipslog agent-messages purge`) can
 * simply call it. Attributed like any other change: actor context, system actor.
 */
export async function purgeAgentMessages(
  db: Db,
  olderThanSeconds: number,
  kind: PurgeKind,
  log: Log,
  actor = 'agent-message-retention',
): Promise<PurgeResult> {
  const reason = `${kind} retention: agent messages older than ${formatDuration(olderThanSeconds)}`;
  let row: { outcome: PurgeResult['outcome']; run_id: string | null; deleted_count: string; cutoff: Date | null } | undefined;
  try {
    row = await withActor(db, { actor, actorType: 'system', reason }, async (tx) => {
      const [r] = await tx<NonNullable<typeof row>[]>`
        select outcome, run_id::text as run_id, deleted_count::text as deleted_count, cutoff
        from shipslog.purge_agent_messages(justify_hours(make_interval(secs => ${olderThanSeconds})), ${kind})
      `;
      return r;
    });
  } catch (err) {
    throw toDomainError(err);
  }
  const result: PurgeResult = {
    outcome: row!.outcome,
    runId: row!.run_id,
    deletedCount: Number(row!.deleted_count),
    cutoff: row!.cutoff,
  };
  if (result.outcome === 'ran') {
    log.info(
      { kind, deleted: result.deletedCount, cutoff: result.cutoff, runId: result.runId, olderThan: formatDuration(olderThanSeconds) },
      `agent message retention removed ${result.deletedCount} message(s)`,
    );
  } else {
    log.debug({ kind, outcome: result.outcome }, 'agent message retention skipped: another replica ran or is running it');
  }
  return result;
}
