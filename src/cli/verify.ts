import { countChains, verifyChains } from '../audit/verify.ts';
import type { Config } from '../config.ts';
import { createDb } from '../db/client.ts';
import { createLog } from '../log.ts';
import { openDatabase } from './database.ts';

export async function verifyCommand(config: Config, deploymentId?: string): Promise<void> {
  const log = createLog(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const database = await openDatabase(config, log);
  const db = createDb(database.url, { max: 1, applicationName: 'shipslog verify' });
  try {
    const findings = await verifyChains(db, deploymentId);
    const { chains, events } = await countChains(db);
    for (const f of findings) {
      process.stdout.write(`BROKEN ${f.tenant}/${f.name} (${f.deploymentId}) at event #${f.chainIndex}: ${f.problem}\n`);
    }
    if (findings.length === 0) {
      process.stdout.write(`ok: ${chains} chain(s), ${events} event(s) verified\n`);
    } else {
      process.stdout.write(`${findings.length} of ${chains} chain(s) broken\n`);
      process.exitCode = 1;
    }
  } finally {
    await db.end();
    await database.stop();
  }
}
