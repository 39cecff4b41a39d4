/**
 * The lines of an exported trail (`shipslog export`, JSON lines) and of an inclusion proof
 * (`shipslog prove`). docs/offline-verification.md describes every field; tools/verify-trail.mjs
 * reads them with nothing but node:crypto. Hashes and signatures are lowercase hex.
 */

export const TRAIL_FORMAT = 'shipslog-trail';
export const PROOF_FORMAT = 'shipslog-inclusion-proof';

export interface TrailFilter {
  deployment: string | null;
  tenant: string | null;
  from: string | null;
  to: string | null;
}

/** Line 1. `complete`: no filter, so every chain is exported whole (the verifier then checks that none is missing). */
export interface TrailHeader {
  type: 'header';
  format: typeof TRAIL_FORMAT;
  format_version: 1;
  exported_at: string;
  filter: TrailFilter;
  complete: boolean;
  /** SHA-256 of the checkpoint public key (DER SubjectPublicKeyInfo), hex: `shipslog public-key` prints the key. */
  public_key_fingerprint: string | null;
  chains: number;
  events: number;
}

/** A chain head a checkpoint signed, with its RFC 9162 audit path to the checkpoint's root. */
export interface SignedHead {
  leaf_index: number;
  deployment_id: string;
  chain_index: number;
  hash: string;
  audit_path: string[];
}

/** A version 2 checkpoint: its signed fields, and the heads of the exported chains it signed. */
export interface TrailCheckpoint {
  type: 'checkpoint';
  version: 2;
  id: number;
  created_at: string;
  snapshot: string;
  chain_count: number;
  event_count: number;
  root: string;
  key_id: string;
  signature: string;
  heads: SignedHead[];
}

/**
 * A purged chain's signed anchor (shipslog.audit_chain_anchors): its retained part starts after
 * #chain_index, whose hash was `hash`. The fields are those of shipslog.anchor_message, so a
 * verifier rebuilds the signed message exactly (anchorMessage); `state_sha256` is the SHA-256 of
 * the replayed state's jsonb text, or "null".
 */
export interface TrailAnchor {
  type: 'anchor';
  id: number;
  deployment_id: string;
  chain_index: number;
  hash: string;
  state_sha256: string;
  removed: boolean;
  judged_at: string;
  key_id: string;
  signature: string;
}

/** One event: `payload` is the exact text whose UTF-8 bytes were hashed (hash = SHA-256(prev_hash bytes || payload bytes)). */
export interface TrailEvent {
  type: 'event';
  deployment_id: string;
  chain_index: number;
  prev_hash: string;
  hash: string;
  payload: string;
}

/** The last line: what the export holds, so that a cut file is noticed. */
export interface TrailEnd {
  type: 'end';
  chains: number;
  events: number;
}

export type TrailLine = TrailHeader | TrailCheckpoint | TrailAnchor | TrailEvent | TrailEnd;

/** `shipslog prove`: one checkpoint, and the events from the proven one to the head it signed. */
export interface InclusionProof {
  type: typeof PROOF_FORMAT;
  format_version: 1;
  checkpoint: TrailCheckpoint;
  events: TrailEvent[];
}

/** What a checkpoint's Ed25519 signature covers (shipslog.checkpoint_message in SQL). */
export function checkpointMessage(c: Pick<TrailCheckpoint, 'version' | 'snapshot' | 'chain_count' | 'event_count' | 'root'>): string {
  return `shipslog-checkpoint v${c.version}\n${c.snapshot}\n${c.chain_count}\n${c.event_count}\n${c.root}`;
}

/** What an anchor's Ed25519 signature covers (shipslog.anchor_message in SQL): seven lines, UTF-8. */
export function anchorMessage(a: Pick<TrailAnchor, 'deployment_id' | 'chain_index' | 'hash' | 'state_sha256' | 'removed' | 'judged_at'>): string {
  return `shipslog-anchor v1\n${a.deployment_id}\n${a.chain_index}\n${a.hash}\n${a.state_sha256}\n${a.removed ? 'removed' : 'open'}\n${a.judged_at}`;
}
