import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { formatDuration, minimumRetentionSeconds, parseDuration } from '../agent/duration.ts';
import { purgeAgentMessages } from '../agent/retention.ts';
import type { Config } from '../config.ts';
import { createDb } from '../db/client.ts';
import { createLog } from '../log.ts';
import { openDatabase } from './database.ts';

/** `shipslog agent-messages purge --older-than 7d`: the retention job, run by hand. */
export function addAgentMessagesCommand(program: Command, config: () => Config): void {
  const group = program.command('agent-messages').description('the audit trail of the agent\'s model calls');
  group
    .command('purge')
    .description('delete agent messages older than an age (at least 1d) and record the run, as the daily job does')
    .option('--older-than <age>', 'age such as 7d, 36h or 2w (default: SHIPSLOG_AGENT_MESSAGE_RETENTION)')
    .action(async (opts: { olderThan?: string }) => purgeCommand(config(), opts.olderThan));
}

export async function purgeCommand(config: Config, olderThan: string | undefined): Promise<void> {
  const seconds = olderThan === undefined ? config.agentMessageRetentionSeconds : parseDuration(olderThan);
  if (seconds === null || seconds < minimumRetentionSeconds) {
    const why = seconds === 0 ? 'retention is 0 (keep forever): nothing to purge' : `--older-than must be an age of at least 1d such as 7d, 36h or 2w, got ${olderThan}`;
    process.stderr.write(`shipslog: ${why}\n`);
    process.exitCode = seconds === 0 ? 0 : 2;
    return;
  }
  const log = createLog(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const database = await openDatabase(config, log);
  const db = createDb(database.url, { max: 1, applicationName: 'shipslog agent-messages purge' });
  try {
    const actor = `cli:${userInfo().username}`;
    const result = await purgeAgentMessages(db, seconds, 'manual', log, actor);
    process.stdout.write(
      `removed ${result.deletedCount} agent message(s) older than ${formatDuration(seconds)}` +
        ` (created before ${result.cutoff?.toISOString()}); recorded as retention run ${result.runId}\n`,
    );
  } finally {
    await db.end();
    await database.stop();
  }
}
