import { verifyAnchors } from '../audit/anchors.ts';
import { loadSigningKey, loadVerifyKey, takeCheckpoint, verifyCheckpoints } from '../audit/checkpoints.ts';
import { purgeAuditEvents } from '../audit/retention.ts';
import { recordFindings, verifyAll } from '../audit/verify.ts';
import type { Config } from '../config.ts';
import { createDb, type Db } from '../db/client.ts';
import { createLog } from '../log.ts';
import { openDatabase } from './database.ts';

export async function withDatabase(config: Config, applicationName: string, fn: (db: Db) => Promise<void>, connections = 1): Promise<void> {
  const log = createLog(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const database = await openDatabase(config, log);
  const db = createDb(database.url, { max: connections, applicationName });
  try {
    await fn(db);
  } finally {
    await db.end();
    await database.stop();
  }
}

const out = (line: string) => process.stdout.write(`${line}\n`);

/** `shipslog verify`: every chain, then the signed checkpoints; exit 1 on any finding. */
export async function verifyCommand(config: Config, opts: { deploymentId?: string | undefined; allCheckpoints: boolean; record?: boolean }): Promise<void> {
  await withDatabase(config, 'shipslog verify', async (db) => {
    const progress = process.stderr.isTTY
      ? (done: number, estimate: number) => {
          const of = estimate > done ? ` of ~${Math.round(estimate).toLocaleString('en')}` : '';
          process.stderr.write(`\rverifying: ${done.toLocaleString('en')}${of} events`);
        }
      : undefined;
    const { findings, chains, events } = await verifyAll(db, { deploymentId: opts.deploymentId, onProgress: progress });
    if (progress) process.stderr.write('\r\x1b[K');
    for (const f of findings) out(`BROKEN ${f.tenant}/${f.name} (${f.deploymentId}) at event #${f.chainIndex}: ${f.problem}`);
    if (findings.length === 0) out(`ok: ${chains} chain(s), ${events} event(s) verified`);
    else out(`${findings.length} of ${chains} chain(s) broken`);
    if (opts.record && findings.length > 0) {
      const { recorded, notRecorded } = await recordFindings(db, findings);
      out(`recorded ${recorded} security_violation event(s)${notRecorded.length ? `; ${notRecorded.length} on removed deployments not recorded` : ''}`);
    }

    const publicKey = await loadVerifyKey(config.checkpointPublicKey, config.dataDir);
    const anchors = await verifyAnchors(db, publicKey);
    for (const f of anchors.findings) out(`BROKEN anchor #${f.anchorId} of ${f.deploymentId} at event #${f.chainIndex}: ${f.problem}`);
    if (anchors.checked > 0 && anchors.findings.length === 0 && anchors.signaturesChecked) out(`ok: ${anchors.checked} signed anchor(s) of purged chains`);

    const report = await verifyCheckpoints(db, publicKey, opts.allCheckpoints);
    for (const f of report.findings) out(`BROKEN checkpoint #${f.checkpointId} (${f.createdAt.toISOString()}): ${f.problem}`);
    if (report.checked === 0) out('no signed checkpoint yet: take one with `shipslog checkpoint`');
    else if (report.findings.length === 0) {
      const older = report.predatingPurge > 0 ? ` (${report.predatingPurge} taken before a purge: signature only)` : '';
      out(`ok: ${report.checked} checkpoint(s), ${report.recomputed} recomputed${older}`);
    }
    if ((report.checked > 0 || anchors.checked > 0) && !report.signaturesChecked) {
      out('checkpoint and anchor signatures not checked: no public key (set SHIPSLOG_CHECKPOINT_PUBLIC_KEY)');
    }
    if (findings.length > 0 || report.findings.length > 0 || anchors.findings.length > 0) process.exitCode = 1;
  }, 2); // two connections: verification streams two ranges of chains side by side
}

/** `shipslog checkpoint`: prints one line to keep outside the database (a log, a ticket, a bucket). */
export async function checkpointCommand(config: Config): Promise<void> {
  const keys = await loadSigningKey(config.checkpointKey, config.dataDir);
  await withDatabase(config, 'shipslog checkpoint', async (db) => {
    const c = await takeCheckpoint(db, keys);
    out(
      `checkpoint #${c.id} at ${c.createdAt.toISOString()}: ${c.chainCount} chain(s), ${c.eventCount} event(s), digest ${c.digest}, key ${c.keyId}`,
    );
  });
}

/**
 * `shipslog purge`: removes the audit events past their retention (whole chain prefixes), each
 * purged prefix sealed first by an anchor signed with the checkpoint key; then a checkpoint.
 */
export async function purgeCommand(config: Config): Promise<void> {
  const keys = await loadSigningKey(config.checkpointKey, config.dataDir);
  await withDatabase(config, 'shipslog purge', async (db) => {
    const r = await purgeAuditEvents(db, keys, 'manual');
    if (r.purgeId === null) {
      out('nothing to purge: no chain starts with events past their retention');
      return;
    }
    out(`purge #${r.purgeId}: ${r.events} event(s) removed from ${r.chains} chain(s), each sealed by a signed anchor`);
    if (r.checkpoint) {
      const c = r.checkpoint;
      out(`checkpoint #${c.id} at ${c.createdAt.toISOString()}: ${c.chainCount} chain(s), ${c.eventCount} event(s), digest ${c.digest}, key ${c.keyId}`);
    }
  });
}
