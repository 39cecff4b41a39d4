/**
 * The per-chain checks of `shipslog verify` over a stream of events (src/audit/event-stream.ts),
 * the same as shipslog.verify_chains() (sql/audit/50_verify.sql, the reference) makes: each
 * link's hash over the stored hash before it, the chain indexes without gap or repeat from the
 * chain's start (its anchor after a purge), nothing after a removed event, a created event
 * first, and the partial states replayed into the state the deployment row must hold.
 *
 * The events may come in `seq` order (the order they were written, which PostgreSQL reads
 * nearly sequentially) rather than chain order: an event that arrives before the one it
 * follows waits in `pending` until its chain reaches it. Along one chain seq grows with the
 * chain index (each event is written under the deployment's row lock), so little ever waits;
 * when more than `pendingLimit` events wait (a chain with an event deleted, say), the walk
 * gives up with OutOfOrder and the caller reads that range again in chain order, where
 * nothing waits.
 */
import { rowChangeActions } from '../db/events.ts';
import { Field, PayloadHasher, type EventRow } from './event-stream.ts';
import { applyEvent, type Json } from './replay.ts';

export interface ChainFinding {
  deploymentId: string;
  tenant: string;
  name: string;
  chainIndex: number;
  problem: string;
}

/** Where a chain's retained part starts: its newest anchor (hash hex). */
export interface ChainStart { chainIndex: number; hash: string; state: Json; removed: boolean }

/** What the walk learnt about one chain: its last event (hash hex) and, if it has a row, its replayed state. */
export interface ChainEnd { tenant: string; name: string; chainIndex: number; hash: string; action: string; state: Json }

/** A link whose hash did not match the payload rebuilt here: judged afterwards with shipslog.event_hash(). */
export interface HashSuspect { deploymentId: string; tenant: string; name: string; chainIndex: number; action: string; prevHash: string | null }

export class OutOfOrder extends Error {}

// shipslog.system_chain_id(): shipslog's own chain (purge events), which has no deployment row.
export const systemChainId = '00000000-0000-0000-0000-000000000000';

const rowChanges: ReadonlySet<string> = new Set(rowChangeActions);

interface Walk {
  tenant: string;
  name: string;
  anchorIndex: number;
  /** The index the chain expects next. */
  next: number;
  prevHash: string | null;
  prevAction: string | null;
  state: Json;
  replays: boolean;
  broken: boolean;
  pending: Map<number, EventRow> | null;
  end: ChainEnd | undefined;
}

export class ChainWalker {
  readonly findings = new Map<string, ChainFinding>();
  readonly suspects: HashSuspect[] = [];
  events = 0;
  private readonly walks = new Map<string, Walk>();
  private readonly hasher = new PayloadHasher();
  private pendingCount = 0;

  /**
   * @param starts each purged chain's anchor
   * @param hasRow the chains whose deployment row exists (their states are replayed)
   * @param inChainOrder the events come in chain order: a gap is reported at once, nothing waits
   */
  private readonly starts: ReadonlyMap<string, ChainStart>;
  private readonly hasRow: (id: string) => boolean;
  private readonly inChainOrder: boolean;
  private readonly pendingLimit: number;

  constructor(starts: ReadonlyMap<string, ChainStart>, hasRow: (id: string) => boolean, inChainOrder: boolean, pendingLimit: number | undefined = 100_000) {
    this.starts = starts;
    this.hasRow = hasRow;
    this.inChainOrder = inChainOrder;
    this.pendingLimit = pendingLimit ?? 100_000;
  }

  /** Takes one event (the row is only valid during the call). */
  add(row: EventRow): void {
    this.events++;
    const id = row.ascii(Field.DeploymentId) ?? '';
    let walk = this.walks.get(id);
    if (!walk) {
      walk = this.startWalk(id, row);
      this.walks.set(id, walk);
    }
    const index = row.int(Field.ChainIndex);
    if (walk.broken) {
      this.remember(walk, row, index);
      return;
    }
    if (index <= walk.anchorIndex) {
      this.report(id, walk, index, `event #${index} lies in the purged prefix its signed anchor ends at #${walk.anchorIndex}`);
    } else if (index < walk.next) {
      // In chain order the repeat comes right after its twin, which is what the reference names.
      this.report(id, walk, index, `event #${index} follows #${index}: a chain index repeated`);
    } else if (index > walk.next) {
      if (this.inChainOrder) {
        this.report(id, walk, index, `event #${index} follows #${walk.next - 1}: ${index - walk.next} event(s) missing`);
        this.remember(walk, row, index);
        return;
      }
      walk.pending ??= new Map();
      if (walk.pending.has(index)) {
        this.report(id, walk, index, `event #${index} follows #${index}: a chain index repeated`);
        return;
      }
      walk.pending.set(index, row.detach());
      if (++this.pendingCount > this.pendingLimit) throw new OutOfOrder(`more than ${this.pendingLimit} events arrived before the events they follow`);
      return;
    } else {
      this.check(id, walk, row, index);
      while (!walk.broken && walk.pending?.size) {
        const waiting = walk.pending.get(walk.next);
        if (!waiting) break;
        walk.pending.delete(walk.next);
        this.pendingCount--;
        this.check(id, walk, waiting, walk.next);
      }
    }
  }

  /** After the last event: a chain still waiting for an event misses it. Returns each chain's end. */
  finish(): Map<string, ChainEnd> {
    const ends = new Map<string, ChainEnd>();
    for (const [id, walk] of this.walks) {
      if (!walk.broken && walk.pending?.size) {
        let first = Infinity;
        let last = 0;
        for (const i of walk.pending.keys()) {
          first = Math.min(first, i);
          last = Math.max(last, i);
        }
        this.remember(walk, walk.pending.get(last)!, last);
        this.report(id, walk, first, `event #${first} follows #${walk.next - 1}: ${first - walk.next} event(s) missing`);
      }
      walk.pending = null;
      if (walk.end) ends.set(id, walk.end);
    }
    this.pendingCount = 0;
    return ends;
  }

  private startWalk(id: string, row: EventRow): Walk {
    const start = this.starts.get(id);
    const anchorIndex = start?.chainIndex ?? 0;
    return {
      tenant: row.text(Field.Tenant) ?? '',
      name: row.text(Field.Name) ?? '',
      anchorIndex,
      next: anchorIndex + 1,
      prevHash: start?.hash ?? null,
      prevAction: start?.removed ? 'removed' : null,
      state: start ? structuredClone(start.state) : null,
      replays: this.hasRow(id) && id !== systemChainId,
      broken: false,
      pending: null,
      end: undefined,
    };
  }

  /** The next event of a chain that holds so far. */
  private check(id: string, walk: Walk, row: EventRow, index: number): void {
    const action = row.text(Field.Action) ?? '';
    if (walk.prevAction === 'removed') {
      this.report(id, walk, index, `event #${index} (${action}) follows the removed event`);
    } else if (index === 1 && action !== 'created' && id !== systemChainId) {
      this.report(id, walk, index, `event #${index} is ${action}, not created: the chain's start is missing`);
    }
    if (!this.hasher.matches(row, walk.prevHash)) {
      // Judged after the stream with shipslog.event_hash() itself; the chain's checks go on meanwhile.
      this.suspects.push({ deploymentId: id, tenant: walk.tenant, name: walk.name, chainIndex: index, action, prevHash: walk.prevHash });
    }
    // Events that are not row changes (rollouts, approvals, ...) change no state.
    if (!walk.broken && walk.replays && rowChanges.has(action)) {
      const before = row.text(Field.PreviousState);
      const after = row.text(Field.NewState);
      walk.state = applyEvent(walk.state, before === null ? null : (JSON.parse(before) as Json), after === null ? null : (JSON.parse(after) as Json));
    }
    walk.next = index + 1;
    walk.prevHash = row.ascii(Field.Hash);
    walk.prevAction = action;
    // One end object per chain, updated in place: no allocation per event.
    const end = (walk.end ??= { tenant: walk.tenant, name: walk.name, chainIndex: 0, hash: '', action: '', state: null });
    end.chainIndex = index;
    end.hash = walk.prevHash ?? '';
    end.action = action;
    end.state = walk.state;
  }

  /** A chain's last event, once its checks have stopped. */
  private remember(walk: Walk, row: EventRow, index: number): void {
    if (walk.end && walk.end.chainIndex >= index) return;
    walk.end = { tenant: walk.tenant, name: walk.name, chainIndex: index, hash: row.ascii(Field.Hash) ?? '', action: row.text(Field.Action) ?? '', state: walk.state };
  }

  /** A broken link: the chain's checks stop, and its lowest broken link is the one reported. */
  private report(id: string, walk: Walk, chainIndex: number, problem: string): void {
    walk.broken = true;
    if (walk.pending) {
      this.pendingCount -= walk.pending.size;
      walk.pending = null;
    }
    const known = this.findings.get(id);
    if (!known || chainIndex < known.chainIndex) this.findings.set(id, { deploymentId: id, tenant: walk.tenant, name: walk.name, chainIndex, problem });
  }
}
