import { Command, CommanderError } from 'commander';
import { ConfigError, loadConfig } from '../config.ts';
import { addAgentMessagesCommand } from './agent-messages.ts';
import { addExportCommands } from './export.ts';
import { LoginError } from '../db/logins.ts';
import { DatabaseConfigError } from './database.ts';
import { migrateCommand } from './migrate.ts';
import { addKeysCommand } from './keys.ts';
import { addLoginsCommand } from './logins.ts';
import { describeError } from './errors.ts';
import { addPsqlCommands } from './psql.ts';
import { addReportCommand } from './report.ts';
import { checkpointCommand, purgeCommand, verifyCommand } from './verify.ts';

/**
 * `shipslog <command>`. The only place that reads process.env (through loadConfig). `serve`
 * and `reconciler` are imported when run: the API and the Kubernetes client take ~1 s to load
 * (measured: 0.5 s for `keys` alone, 2.3 s with serve's imports), which every short command paid.
 */
export async function main(argv: string[]): Promise<void> {
  const program = new Command()
    .name('shipslog')
    .description('Flight recorder and single source of truth for applications on Kubernetes')
    .showHelpAfterError()
    .exitOverride();

  const config = () => loadConfig(process.env);

  program
    .command('serve')
    .description('run the API (embedded PostgreSQL when DATABASE_URL is not set)')
    .action(async () => (await import('./serve.ts')).serveCommand(config()));

  program
    .command('migrate')
    .description('apply pending database migrations and list what was applied')
    .action(async () => migrateCommand(config()));

  program
    .command('verify')
    .description('check every audit hash chain; exits 1 and names the first broken link per deployment')
    .option('--deployment <id>', 'check only this deployment id')
    .option('--all-checkpoints', 'recompute every signed checkpoint, not only the newest')
    .option('--record', 'record each finding as a security_violation event on its chain')
    .action(async (opts: { deployment?: string; allCheckpoints?: boolean; record?: boolean }) =>
      verifyCommand(config(), { deploymentId: opts.deployment, allCheckpoints: opts.allCheckpoints === true, record: opts.record === true }),
    );

  program
    .command('checkpoint')
    .description('sign a digest of every audit chain head as committed now; keep the printed line outside the database')
    .action(async () => checkpointCommand(config()));

  program
    .command('purge')
    .description('remove audit events past their retention (shipslog.audit_retention), whole chain prefixes, each sealed by a signed anchor; then a checkpoint')
    .action(async () => purgeCommand(config()));

  program
    .command('reconciler')
    .description('run only the reconciler: apply deployments to Kubernetes (plan only without KUBECONFIG); replicas are safe')
    .action(async () => (await import('./reconciler.ts')).reconcilerCommand(config()));

  addExportCommands(program, config);
  addAgentMessagesCommand(program, config);
  addKeysCommand(program, config);
  addLoginsCommand(program, config);
  addPsqlCommands(program, config);
  addReportCommand(program, config);

  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    if (err instanceof ConfigError || err instanceof DatabaseConfigError || err instanceof LoginError) {
      process.stderr.write(`shipslog: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`shipslog: ${describeError(err)}\n`);
    process.exitCode = 1;
  }
}
