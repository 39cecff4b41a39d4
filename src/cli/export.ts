import { createPublicKey, type KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { keyIdOf, loadVerifyKey, publicKeyPem } from '../audit/checkpoints.ts';
import { exportTrail } from '../audit/export.ts';
import { buildProof, parseEventRef } from '../audit/proof.ts';
import type { InclusionProof, TrailFilter } from '../audit/trail-format.ts';
import { TrailVerifier, verifyProof, type TrailReport } from '../audit/trail-verify.ts';
import type { Config } from '../config.ts';
import { progressLine } from './progress.ts';
import { withDatabase } from './verify.ts';

/**
 * `shipslog export`, `verify-export`, `prove`, `verify-proof` and `public-key`: the trail taken
 * away from the database and checked without it (docs/offline-verification.md). The two
 * verify commands open no database and read no configuration: only the file and the key.
 */

const out = (line: string) => process.stdout.write(`${line}\n`);

class UsageError extends Error {}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function instant(name: string, text: string | undefined): string | null {
  if (text === undefined) return null;
  // An offset or Z is required: a bare local time would mean something else on the auditor's machine.
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2}))?$/.test(text) || Number.isNaN(Date.parse(text))) {
    throw new UsageError(`${name} must be an ISO 8601 date or date-time with an offset (2026-01-31 or 2026-01-31T12:00:00Z), not "${text}"`);
  }
  return new Date(text.length === 10 ? `${text}T00:00:00Z` : text).toISOString();
}

export function parseFilter(opts: { deployment?: string; tenant?: string; from?: string; to?: string }): TrailFilter {
  if (opts.deployment !== undefined && !UUID.test(opts.deployment)) throw new UsageError(`--deployment must be a deployment id (uuid), not "${opts.deployment}"`);
  if (opts.tenant !== undefined && !DNS_LABEL.test(opts.tenant)) throw new UsageError(`--tenant must be a tenant name (a DNS label), not "${opts.tenant}"`);
  const from = instant('--from', opts.from);
  const to = instant('--to', opts.to);
  if (from && to && from >= to) throw new UsageError(`--from (${from}) must be before --to (${to})`);
  return { deployment: opts.deployment?.toLowerCase() ?? null, tenant: opts.tenant ?? null, from, to };
}

async function readPublicKey(value: string): Promise<KeyObject> {
  let key: KeyObject;
  try {
    key = createPublicKey(value.includes('-----BEGIN') ? value : await readFile(value, 'utf8'));
  } catch (err) {
    throw new UsageError(`--public-key: cannot read an Ed25519 public key from ${value.includes('-----BEGIN') ? 'the PEM text' : value}: ${(err as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new UsageError('--public-key must be an Ed25519 public key');
  return key;
}

async function exportCommand(config: Config, opts: { deployment?: string; tenant?: string; from?: string; to?: string }): Promise<void> {
  const filter = parseFilter(opts);
  const key = await loadVerifyKey(config.checkpointPublicKey, config.dataDir);
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
  await withDatabase(config, 'shipslog export', async (db) => {
    const progress = progressLine('exported', 'events');
    const summary = await exportTrail(db, process.stdout, { filter, publicKeyFingerprint: key ? keyIdOf(key) : null, onProgress: progress.update });
    progress.done();
    process.stderr.write(`exported ${summary.events} event(s) of ${summary.chains} chain(s) with ${summary.checkpoints} signed checkpoint(s)\n`);
  }, 2); // the export's transaction and a second reader in its snapshot (src/audit/export.ts)
}

function printReport(r: TrailReport, allowUncovered: boolean, fingerprint: string): void {
  for (const p of r.problems) out(`BROKEN ${p}`);
  if (r.moreProblems > 0) out(`BROKEN and ${r.moreProblems} more problem(s)`);
  out(`checked ${r.checkpoints} checkpoint(s), ${r.chains} chain segment(s), ${r.events} event(s) with key ${fingerprint}`);
  if (r.midChainStarts > 0) {
    out(`${r.midChainStarts} segment(s) start mid-chain: ${r.anchoredStarts} from a signed head or anchor (${r.purgedStarts} after a purge), ${r.midChainStarts - r.anchoredStarts} from a stated previous hash that nothing here signs`);
  }
  if (r.anchors > 0) out(`checked ${r.anchors} signed anchor(s) of purged chain prefixes`);
  out(`${r.covered} event(s) covered by a signed checkpoint, ${r.uncovered} after the last signed head of their chain`);
  if (r.problems.length > 0) out(`FAILED: ${r.problems.length + r.moreProblems} problem(s)`);
  else if (r.uncovered > 0 && !allowUncovered) out(`NOT COVERED: ${r.uncovered} event(s) are linked but no checkpoint here signs them (take a checkpoint, export again; or --allow-uncovered)`);
  else out('ok: every hash, link, signature and signed head checks');
}

async function verifyExportCommand(file: string, opts: { publicKey: string; allowUncovered?: boolean }): Promise<void> {
  const key = await readPublicKey(opts.publicKey);
  const size = (await stat(file)).size;
  const input = createReadStream(file);
  const verifier = new TrailVerifier(key);
  const progress = progressLine('verified', 'bytes');
  let n = 0;
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    verifier.line(line, ++n);
    if (n % 4096 === 0) progress.update(input.bytesRead, size);
  }
  progress.done();
  if (n === 0) verifier.problem('the file is empty');
  const report = verifier.finish();
  printReport(report, opts.allowUncovered === true, keyIdOf(key));
  if (report.problems.length > 0 || (report.uncovered > 0 && opts.allowUncovered !== true)) process.exitCode = 1;
}

function eventRef(text: string): ReturnType<typeof parseEventRef> {
  try {
    return parseEventRef(text);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

async function proveCommand(config: Config, event: string): Promise<void> {
  const ref = eventRef(event);
  await withDatabase(config, 'shipslog prove', async (db) => {
    out(JSON.stringify(await buildProof(db, ref), null, 2));
  });
}

async function verifyProofCommand(file: string, opts: { publicKey: string; event?: string; eventHash?: string }): Promise<void> {
  const key = await readPublicKey(opts.publicKey);
  let proof: InclusionProof;
  try {
    proof = JSON.parse(await readFile(file, 'utf8')) as InclusionProof;
  } catch (err) {
    throw new UsageError(`${file} is not a JSON proof: ${(err as Error).message}`);
  }
  const expected: { deploymentId?: string; chainIndex?: number; hash?: string } = {};
  if (opts.event !== undefined) {
    const ref = eventRef(opts.event);
    if ('seq' in ref) throw new UsageError('--event must be <deployment id>:<chain_index> (a proof does not carry seq outside its payload)');
    Object.assign(expected, ref);
  }
  if (opts.eventHash !== undefined) expected.hash = opts.eventHash.toLowerCase();
  const problems = verifyProof(proof, key, expected);
  for (const p of problems) out(`BROKEN ${p}`);
  if (problems.length > 0) {
    out(`FAILED: ${problems.length} problem(s)`);
    process.exitCode = 1;
    return;
  }
  const first = proof.events[0]!;
  const head = proof.events.at(-1)!;
  out(`ok: event #${first.chain_index} of ${first.deployment_id} (hash ${first.hash}) leads in ${proof.events.length - 1} link(s) to head #${head.chain_index}, signed by checkpoint #${proof.checkpoint.id} (${proof.checkpoint.created_at}) with key ${keyIdOf(key)}`);
}

async function publicKeyCommand(config: Config): Promise<void> {
  let key = await loadVerifyKey(config.checkpointPublicKey, config.dataDir);
  if (!key && config.checkpointKey) {
    const value = config.checkpointKey;
    key = createPublicKey(value.includes('-----BEGIN') ? value : await readFile(value, 'utf8'));
  }
  if (!key) throw new UsageError('no checkpoint key yet: `shipslog checkpoint` creates one (or set SHIPSLOG_CHECKPOINT_PUBLIC_KEY)');
  process.stdout.write(publicKeyPem(key));
  process.stderr.write(`fingerprint (SHA-256 of the DER public key): ${keyIdOf(key)}\n`);
}

/** Runs a command; a usage error is exit 2 with one line, like commander's own. */
const guarded = <A extends unknown[]>(fn: (...args: A) => Promise<void>) => async (...args: A) => {
  try {
    await fn(...args);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`shipslog: ${err.message}\n`);
    process.exitCode = 2;
  }
};

export function addExportCommands(program: Command, config: () => Config): void {
  program
    .command('export')
    .description('write the audit trail as JSON lines (events with their exact hashed payloads, signed checkpoints) to stdout')
    .option('--deployment <id>', 'only this deployment')
    .option('--tenant <tenant>', 'only this tenant')
    .option('--from <time>', 'events at or after this time (ISO 8601 with an offset)')
    .option('--to <time>', 'events before this time')
    .action(guarded(async (opts: { deployment?: string; tenant?: string; from?: string; to?: string }) => exportCommand(config(), opts)));

  program
    .command('verify-export')
    .description('check an exported trail without any database: hashes, links, checkpoint signatures, signed heads; exit 1 on any failure')
    .argument('<file>', 'the JSON lines written by shipslog export')
    .requiredOption('--public-key <pem>', 'the checkpoint public key (a PEM file or PEM text), from shipslog public-key')
    .option('--allow-uncovered', 'pass even when some events are newer than every checkpoint in the file')
    .action(guarded(async (file: string, opts: { publicKey: string; allowUncovered?: boolean }) => verifyExportCommand(file, opts)));

  program
    .command('prove')
    .description('print a proof (JSON) that an event is covered by a signed checkpoint')
    .argument('<event>', 'the event: its seq, or <deployment id>:<chain_index>')
    .action(guarded(async (event: string) => proveCommand(config(), event)));

  program
    .command('verify-proof')
    .description('check an inclusion proof without any database; exit 1 if it does not hold')
    .argument('<file>', 'the JSON written by shipslog prove')
    .requiredOption('--public-key <pem>', 'the checkpoint public key (a PEM file or PEM text)')
    .option('--event <deployment:index>', 'the event the proof must be about')
    .option('--event-hash <hex>', 'the hash the proven event must have')
    .action(guarded(async (file: string, opts: { publicKey: string; event?: string; eventHash?: string }) => verifyProofCommand(file, opts)));

  program
    .command('public-key')
    .description('print the checkpoint public key (PEM) to give to auditors; its fingerprint on stderr')
    .action(guarded(async () => publicKeyCommand(config())));
}
