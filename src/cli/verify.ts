import { loadSigningKey, loadVerifyKey, takeCheckpoint, verifyCheckpoints } from '../audit/checkpoints.ts';
import { countChains, verifyChains } from '../audit/verify.ts';
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
export async function verifyCommand(config: Config, opts: { deploymentId?: string | undefined; allCheckpoints: boolean }): Promise<void> {
  await withDatabase(config, 'shipslog verify', async (db) => {
    const findings = await verifyChains(db, opts.deploymentId);
    const { chains, events } = await countChains(db);
    for (const f of findings) out(`BROKEN ${f.tenant}/${f.name} (${f.deploymentId}) at event #${f.chainIndex}: ${f.problem}`);
    if (findings.length === 0) out(`ok: ${chains} chain(s), ${events} event(s) verified`);
    else out(`${findings.length} of ${chains} chain(s) broken`);

    const publicKey = await loadVerifyKey(config.checkpointPublicKey, config.dataDir);
    const report = await verifyCheckpoints(db, publicKey, opts.allCheckpoints);
    for (const f of report.findings) out(`BROKEN checkpoint #${f.checkpointId} (${f.createdAt.toISOString()}): ${f.problem}`);
    if (report.checked === 0) out('no signed checkpoint yet: take one with `shipslog checkpoint`');
    else if (report.findings.length === 0) out(`ok: ${report.checked} checkpoint(s), ${report.recomputed} recomputed`);
    if (report.checked > 0 && !report.signaturesChecked) {
      out('checkpoint signatures not checked: no public key (set SHIPSLOG_CHECKPOINT_PUBLIC_KEY)');
    }
    if (findings.length > 0 || report.findings.length > 0) process.exitCode = 1;
  });
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
