import { Command, InvalidArgumentError } from 'commander';
import { loadVerifyKey } from '../audit/checkpoints.ts';
import { complianceReport, reportFormats, type ReportFormat } from '../audit/report.ts';
import { renderHtml } from '../audit/report-html.ts';
import { renderText } from '../audit/report-text.ts';
import type { Config } from '../config.ts';
import { createDb } from '../db/client.ts';
import { uuidPattern } from '../db/ids.ts';
import { createLog } from '../log.ts';
import { openDatabase } from './database.ts';

// An instant with a date, optionally a time and an offset: what the API accepts too. Free text
// that Date.parse would guess at ("1", "March") is refused rather than read as some moment.
const instant = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$/;
const dnsLabel = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

function parseInstant(value: string): Date {
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value.replace(' ', 'T'));
  if (!instant.test(value) || Number.isNaN(d.getTime())) {
    throw new InvalidArgumentError('expected a date or an ISO 8601 instant, e.g. 2026-10-01 or 2026-10-01T12:00:00Z (a date alone is midnight UTC)');
  }
  return d;
}

function matching(pattern: RegExp, what: string) {
  return (value: string) => {
    if (!pattern.test(value)) throw new InvalidArgumentError(`expected ${what}`);
    return value;
  };
}

function parseFormat(value: string): ReportFormat {
  if (!(reportFormats as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${reportFormats.join(', ')}`);
  return value as ReportFormat;
}

interface ReportOptions {
  from: Date;
  to: Date;
  tenant?: string;
  deployment?: string;
  environment?: string;
  format: ReportFormat;
}

export function addReportCommand(program: Command, config: () => Config): void {
  program
    .command('report')
    .description('compliance report for a window: summary, events by type and category, actors, timeline, and checks with their evidence; exits 1 when a check fails')
    .requiredOption('--from <instant>', 'window start, inclusive (2026-10-01 or an ISO 8601 instant)', parseInstant)
    .requiredOption('--to <instant>', 'window end, exclusive', parseInstant)
    .option('--tenant <tenant>', 'only this tenant', matching(dnsLabel, 'a tenant name (a DNS label)'))
    .option('--deployment <id>', 'only this deployment id', matching(uuidPattern, 'a deployment id (a UUID)'))
    .option('--environment <environment>', 'only deployments in this environment', matching(dnsLabel, 'an environment name (a DNS label)'))
    .option('--format <format>', `${reportFormats.join(' | ')}`, parseFormat, 'text')
    .action(async (opts: ReportOptions, cmd: Command) => {
      if (opts.from.getTime() >= opts.to.getTime()) cmd.error('error: --from must come before --to (--to is exclusive)', { exitCode: 2 });
      await reportCommand(config(), opts);
    });
}

async function reportCommand(config: Config, opts: ReportOptions): Promise<void> {
  const log = createLog(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const database = await openDatabase(config, log);
  const db = createDb(database.url, { max: 2, applicationName: 'shipslog report' }); // two: the chain check runs beside the SQL document
  try {
    const publicKey = await loadVerifyKey(config.checkpointPublicKey, config.dataDir);
    const report = await complianceReport(
      db,
      { from: opts.from, to: opts.to, tenant: opts.tenant, deploymentId: opts.deployment, environment: opts.environment },
      publicKey,
    );
    const text = opts.format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : opts.format === 'html' ? renderHtml(report) : renderText(report);
    process.stdout.write(text);
    if (report.summary.status === 'fail') process.exitCode = 1;
  } finally {
    await db.end();
    await database.stop();
  }
}
