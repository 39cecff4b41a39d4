import { createHash, verify, type KeyObject } from 'node:crypto';
import { keyIdOf } from './checkpoints.ts';
import { leafBytes, verifyAuditPath } from './merkle.ts';
import { anchorMessage, checkpointMessage, PROOF_FORMAT, TRAIL_FORMAT, type InclusionProof, type TrailAnchor, type TrailCheckpoint, type TrailEvent } from './trail-format.ts';

/**
 * Checks an exported trail (or an inclusion proof) with no database: every hash recomputed
 * from the exported payload bytes, every link, every checkpoint's signature and audit paths,
 * and that each signed head is the exported event at that place. One pass, memory bounded by
 * the signed heads and the chains, not the events. tools/verify-trail.mjs does the same with
 * its own code; docs/offline-verification.md is the rule book for both.
 */

export interface TrailReport {
  problems: string[];
  /** Problems beyond the first 1000 are counted only. */
  moreProblems: number;
  chains: number;
  events: number;
  checkpoints: number;
  /** Events at or before a signed head of their chain segment: the checkpoints vouch for them. */
  covered: number;
  /** Events after the last signed head of their segment: only linked, not yet signed. */
  uncovered: number;
  /** Segments that start after #1, and how many of those start at a signed head or a signed anchor. */
  midChainStarts: number;
  anchoredStarts: number;
  /** Signed anchors read, and how many segments start right after one (a purged prefix). */
  anchors: number;
  purgedStarts: number;
}

const HEX64 = /^[0-9a-f]{64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAX_PROBLEMS = 1000;
const SYSTEM_CHAIN = '00000000-0000-0000-0000-000000000000';

interface Signed {
  hash: string;
  checkpointId: number;
  matched: boolean;
}

interface Segment {
  first: number;
  last: number;
  lastHash: string;
  lastAction: string | undefined;
  lastSigned: number;
}

export class TrailVerifier {
  readonly report: TrailReport = {
    problems: [], moreProblems: 0, chains: 0, events: 0, checkpoints: 0, covered: 0, uncovered: 0, midChainStarts: 0, anchoredStarts: 0, anchors: 0, purgedStarts: 0,
  };
  private readonly fingerprint: string;
  private readonly signed = new Map<string, Signed[]>();
  /** Per chain: where its exported segment stands (bounded by the chains, not the events). */
  private readonly segments = new Map<string, Segment>();
  private lastSeq = 0;
  private sawHeader = false;
  private sawEnd = false;
  private complete = false;
  private newest: TrailCheckpoint | undefined;
  /** Per chain: its valid signed anchor (the newest one given), where its retained part starts. */
  private readonly anchors = new Map<string, TrailAnchor>();

  private readonly publicKey: KeyObject;

  constructor(publicKey: KeyObject) {
    this.publicKey = publicKey;
    this.fingerprint = keyIdOf(publicKey);
  }

  problem(text: string): void {
    if (this.report.problems.length < MAX_PROBLEMS) this.report.problems.push(text);
    else this.report.moreProblems++;
  }

  /** One line of the file (1-based number for messages). */
  line(text: string, n: number): void {
    if (text.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      this.problem(`line ${n}: not JSON`);
      return;
    }
    const type = (value as { type?: unknown } | null)?.type;
    if (n === 1 && type !== 'header') this.problem('line 1 is not the header: not a shipslog trail, or its start was cut');
    if (this.sawEnd) this.problem(`line ${n}: follows the end line`);
    if (type === 'header') this.header(value as Record<string, unknown>, n);
    else if (type === 'checkpoint') this.checkpoint(value as TrailCheckpoint, `line ${n}`);
    else if (type === 'anchor') this.anchor(value as TrailAnchor, `line ${n}`);
    else if (type === 'event') this.event(value as TrailEvent, `line ${n}`);
    else if (type === 'end') this.end(value as Record<string, unknown>, n);
    else this.problem(`line ${n}: unknown line type ${JSON.stringify(type)}`);
  }

  private header(h: Record<string, unknown>, n: number): void {
    if (n !== 1 || this.sawHeader) this.problem(`line ${n}: a second header`);
    this.sawHeader = true;
    if (h.format !== TRAIL_FORMAT || h.format_version !== 1) this.problem(`line ${n}: format ${String(h.format)} v${String(h.format_version)} is not ${TRAIL_FORMAT} v1`);
    this.complete = h.complete === true;
    if (typeof h.public_key_fingerprint === 'string' && h.public_key_fingerprint !== this.fingerprint) {
      this.problem(`the export names public key ${h.public_key_fingerprint}, but the given key is ${this.fingerprint}: wrong key`);
    }
  }

  checkpoint(c: TrailCheckpoint, where: string): void {
    if (this.report.events > 0) this.problem(`${where}: checkpoint after the events (checkpoints come first)`);
    this.report.checkpoints++;
    const shapeOk = c.version === 2 && Number.isSafeInteger(c.id) && typeof c.snapshot === 'string' && Number.isSafeInteger(c.chain_count)
      && Number.isSafeInteger(c.event_count) && HEX64.test(String(c.root)) && /^[0-9a-f]{128}$/.test(String(c.signature)) && Array.isArray(c.heads);
    if (!shapeOk) {
      this.problem(`${where}: checkpoint #${String(c.id)} is malformed (version 2 with snapshot, counts, root, key_id, signature and heads expected)`);
      return;
    }
    const name = `checkpoint #${c.id}`;
    if (c.key_id !== this.fingerprint) {
      this.problem(`${where}: ${name} names signing key ${String(c.key_id)}, not the given public key ${this.fingerprint}: wrong key or forged`);
      return;
    }
    if (!verify(null, Buffer.from(checkpointMessage(c), 'utf8'), this.publicKey, Buffer.from(c.signature, 'hex'))) {
      this.problem(`${where}: ${name}'s signature does not verify with the given public key: forged or altered`);
      return;
    }
    for (const h of c.heads) {
      const ok = UUID.test(String(h.deployment_id)) && Number.isSafeInteger(h.chain_index) && HEX64.test(String(h.hash)) && Array.isArray(h.audit_path)
        && h.audit_path.every((p) => HEX64.test(String(p)))
        && verifyAuditPath(leafBytes(h.deployment_id, h.chain_index, h.hash), h.leaf_index, c.chain_count, h.audit_path.map((p) => Buffer.from(p, 'hex')), Buffer.from(c.root, 'hex'));
      if (!ok) {
        this.problem(`${where}: ${name}: the head #${String(h.chain_index)} of ${String(h.deployment_id)} is not in its signed tree (audit path fails)`);
        continue;
      }
      const key = `${h.deployment_id} ${h.chain_index}`;
      this.signed.set(key, [...(this.signed.get(key) ?? []), { hash: h.hash, checkpointId: c.id, matched: false }]);
    }
    if (!this.newest || c.id > this.newest.id) this.newest = c;
  }

  /** A purged chain's signed anchor: its key, its Ed25519 signature over the rebuilt anchor message. */
  anchor(a: TrailAnchor, where: string): void {
    if (this.report.events > 0) this.problem(`${where}: anchor after the events (anchors come before them)`);
    this.report.anchors++;
    const shapeOk = Number.isSafeInteger(a.id) && UUID.test(String(a.deployment_id)) && Number.isSafeInteger(a.chain_index) && a.chain_index >= 1
      && HEX64.test(String(a.hash)) && (a.state_sha256 === 'null' || HEX64.test(String(a.state_sha256))) && typeof a.removed === 'boolean'
      && typeof a.judged_at === 'string' && /^[0-9a-f]{128}$/.test(String(a.signature));
    if (!shapeOk) {
      this.problem(`${where}: anchor #${String(a.id)} is malformed (deployment_id, chain_index, hash, state_sha256, removed, judged_at, key_id, signature expected)`);
      return;
    }
    const name = `anchor #${a.id} (#${a.chain_index} of ${a.deployment_id})`;
    if (a.key_id !== this.fingerprint) {
      this.problem(`${where}: ${name} names signing key ${String(a.key_id)}, not the given public key ${this.fingerprint}: wrong key or forged`);
      return;
    }
    if (!verify(null, Buffer.from(anchorMessage(a), 'utf8'), this.publicKey, Buffer.from(a.signature, 'hex'))) {
      this.problem(`${where}: ${name}'s signature does not verify with the given public key: forged or altered`);
      return;
    }
    const held = this.anchors.get(a.deployment_id);
    if (!held || a.chain_index > held.chain_index) this.anchors.set(a.deployment_id, a);
  }

  /** A signed head at this place, if any: each one must hold this hash. */
  private matchSigned(deploymentId: string, chainIndex: number, hash: string, where: string): boolean {
    const heads = this.signed.get(`${deploymentId} ${chainIndex}`);
    if (!heads) return false;
    let ok = true;
    for (const s of heads) {
      s.matched = true;
      if (s.hash !== hash) {
        ok = false;
        this.problem(`${where}: checkpoint #${s.checkpointId} signed #${chainIndex} of ${deploymentId} as ${s.hash}, the export has ${hash || 'nothing'}: altered`);
      }
    }
    return ok;
  }

  event(e: TrailEvent, where: string): void {
    this.report.events++;
    if (!UUID.test(String(e.deployment_id)) || !Number.isSafeInteger(e.chain_index) || e.chain_index < 1
      || !(e.prev_hash === '' || HEX64.test(String(e.prev_hash))) || !HEX64.test(String(e.hash)) || typeof e.payload !== 'string') {
      this.problem(`${where}: malformed event (deployment_id, chain_index, prev_hash, hash, payload expected)`);
      return;
    }
    const id = `#${e.chain_index} of ${e.deployment_id}`;
    let s = this.segments.get(e.deployment_id);
    if (!s) {
      this.report.chains++;
      s = { first: e.chain_index, last: e.chain_index - 1, lastHash: e.prev_hash, lastAction: undefined, lastSigned: 0 };
      this.segments.set(e.deployment_id, s);
      if (e.chain_index === 1 && e.prev_hash !== '') this.problem(`${where}: event ${id} is a chain's first but names a previous hash`);
      if (e.chain_index > 1) {
        if (e.prev_hash === '') this.problem(`${where}: event ${id} starts mid-chain without the previous hash`);
        const anchor = this.anchors.get(e.deployment_id);
        const purged = anchor?.chain_index === e.chain_index - 1;
        if (purged && anchor.hash !== e.prev_hash) {
          this.problem(`${where}: event ${id} names previous hash ${e.prev_hash}, but anchor #${anchor.id} signed #${anchor.chain_index} as ${anchor.hash}: altered`);
        } else if (purged) {
          this.report.purgedStarts++;
          if (anchor.removed) s.lastAction = 'removed';
        } else if (this.complete) {
          this.problem(`${where}: a complete export, but chain ${e.deployment_id} starts at #${e.chain_index} with no signed anchor before it: its first events are missing`);
        }
        this.report.midChainStarts++;
        if (this.matchSigned(e.deployment_id, e.chain_index - 1, e.prev_hash, where) || purged) {
          this.report.anchoredStarts++;
          s.lastSigned = e.chain_index - 1;
        }
      }
    } else if (e.chain_index !== s.last + 1) {
      this.problem(e.chain_index <= s.last
        ? `${where}: event ${id} follows #${s.last}: lines reordered or repeated`
        : `${where}: event ${id} follows #${s.last}: ${e.chain_index - s.last - 1} event(s) missing`);
    }
    if (e.prev_hash !== s.lastHash) this.problem(`${where}: event ${id} names a previous hash that is not the previous event's hash: an event removed, reordered or altered`);
    const computed = createHash('sha256').update(Buffer.from(e.prev_hash, 'hex')).update(Buffer.from(e.payload, 'utf8')).digest('hex');
    if (computed !== e.hash) this.problem(`${where}: event ${id} does not match its hash: its payload or hash was altered`);
    let payload: { seq?: unknown; deployment_id?: unknown; chain_index?: unknown; action?: unknown } = {};
    try {
      payload = JSON.parse(e.payload) as typeof payload;
    } catch {
      this.problem(`${where}: event ${id}'s payload is not JSON`);
    }
    if (payload.deployment_id !== e.deployment_id || payload.chain_index !== e.chain_index) {
      this.problem(`${where}: event ${id}'s payload is #${String(payload.chain_index)} of ${String(payload.deployment_id)}: moved`);
    }
    // Lines are in seq order (the order events were written): any other order is a reordering.
    if (typeof payload.seq !== 'number' || payload.seq <= this.lastSeq) {
      this.problem(`${where}: event ${id} has seq ${String(payload.seq)} after seq ${this.lastSeq}: lines reordered`);
    }
    if (typeof payload.seq === 'number') this.lastSeq = Math.max(this.lastSeq, payload.seq);
    // shipslog's own system chain (all-zero id: purge records) has no deployment to create.
    if (e.chain_index === 1 && payload.action !== 'created' && e.deployment_id !== SYSTEM_CHAIN) this.problem(`${where}: event ${id} is ${String(payload.action)}, not created`);
    if (s.lastAction === 'removed') this.problem(`${where}: event ${id} follows the chain's removed event`);
    if (this.matchSigned(e.deployment_id, e.chain_index, e.hash, where)) s.lastSigned = e.chain_index;
    s.last = e.chain_index;
    s.lastHash = e.hash;
    s.lastAction = typeof payload.action === 'string' ? payload.action : undefined;
  }

  /** Coverage: per segment, the events up to its last signed head are vouched for by a checkpoint. */
  private closeSegments(): void {
    for (const s of this.segments.values()) {
      const count = s.last - s.first + 1;
      const covered = Math.max(0, Math.min(count, s.lastSigned - s.first + 1));
      this.report.covered += covered;
      this.report.uncovered += count - covered;
    }
    this.segments.clear();
  }

  private end(e: Record<string, unknown>, n: number): void {
    this.sawEnd = true;
    if (e.chains !== this.report.chains || e.events !== this.report.events) {
      this.problem(`line ${n}: the end line counts ${String(e.chains)} chain(s) and ${String(e.events)} event(s), the file holds ${this.report.chains} and ${this.report.events}: lines removed or added`);
    }
  }

  /** After the last line: what must have been seen. */
  finish(requireEnd = true): TrailReport {
    this.closeSegments();
    if (requireEnd && !this.sawEnd) this.problem('the file ends without its end line: cut short');
    for (const [key, heads] of this.signed) {
      const [deploymentId, index] = key.split(' ') as [string, string];
      const anchor = this.anchors.get(deploymentId);
      for (const s of heads) {
        if (s.matched) continue;
        // A head inside a purged prefix: the anchor signs where the prefix ended (and its hash); earlier ones are gone with it.
        if (anchor && Number(index) < anchor.chain_index) continue;
        if (anchor && Number(index) === anchor.chain_index) {
          if (s.hash !== anchor.hash) this.problem(`checkpoint #${s.checkpointId} signed head ${key.replace(' ', ' #')} as ${s.hash}, but anchor #${anchor.id} signed it as ${anchor.hash}: altered`);
          continue;
        }
        this.problem(`checkpoint #${s.checkpointId} signed head ${key.replace(' ', ' #')} (${s.hash}), which is not in the export: events removed`);
      }
    }
    if (this.complete && this.newest && new Set(this.newest.heads.map((h) => h.leaf_index)).size !== this.newest.chain_count) {
      this.problem(`a complete export, but the newest checkpoint #${this.newest.id} lists ${this.newest.heads.length} of its ${this.newest.chain_count} chain head(s): chains left out`);
    }
    return this.report;
  }
}

/** Reads an inclusion proof: the event it proves (its first) is linked to a head the checkpoint signed. */
export function verifyProof(proof: InclusionProof, publicKey: KeyObject, expected?: { deploymentId?: string; chainIndex?: number; hash?: string }): string[] {
  const v = new TrailVerifier(publicKey);
  if (proof?.type !== PROOF_FORMAT || proof.format_version !== 1 || !Array.isArray(proof.events) || proof.events.length === 0 || !proof.checkpoint) {
    return [`not a ${PROOF_FORMAT} v1 with a checkpoint and at least one event`];
  }
  v.checkpoint(proof.checkpoint, 'checkpoint');
  proof.events.forEach((e, i) => v.event(e, `events[${i}]`));
  const report = v.finish(false);
  const problems = [...report.problems];
  if (report.chains > 1) problems.push('the events belong to more than one chain');
  if (report.problems.length === 0 && report.uncovered > 0) problems.push('the events do not end at a head the checkpoint signed: the event is not covered');
  const first = proof.events[0]!;
  if (expected?.deploymentId !== undefined && (first.deployment_id !== expected.deploymentId || first.chain_index !== expected.chainIndex)) {
    problems.push(`the proof is for event #${first.chain_index} of ${first.deployment_id}, not #${expected.chainIndex} of ${expected.deploymentId}`);
  }
  if (expected?.hash !== undefined && first.hash !== expected.hash) problems.push(`the proof is for the event with hash ${first.hash}, not ${expected.hash}`);
  return problems;
}
