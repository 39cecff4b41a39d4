/**
 * Events as `COPY ... TO STDOUT` streams them, with each event's hashed bytes rebuilt in Node
 * from its column values: the reader of `shipslog verify` (src/audit/verify.ts).
 *
 * Why: building `shipslog.event_payload_text(e)` costs PostgreSQL ~6 us per event (a dozen
 * to_json() calls and forty concatenations), and reading the events in chain order (the chain
 * index) costs another ~3 us in scattered heap reads. COPY of the bare columns in `seq` order
 * costs ~2.5 us, and the same bytes written here from the copied bytes (no JavaScript string per
 * field) and hashed in one call cost about as much again (BENCHMARKS.md, Verification).
 *
 * The rebuilt payload is the text of shipslog.event_payload(e) (sql/audit/40_payload.sql): the
 * keys in jsonb's order, ", " and ": " between them, strings escaped as PostgreSQL's
 * escape_json() does, the states as jsonb prints them (COPY sends jsonb's own text), the time
 * as shipslog.iso_utc(). A value this code could write differently from PostgreSQL (a year
 * outside 0001-9999, say) only makes the event's hash look wrong here: verify then judges the
 * event with shipslog.event_hash() itself before it reports anything, so a difference costs
 * time, never a false finding (test/verify-fast.test.ts holds the bytes equal for every kind of
 * value).
 */
import { hash as sha256 } from 'node:crypto';

/** The columns COPY sends, in payload (jsonb key) order, then the stored hash. */
export const EVENT_COPY_COLUMNS = `e.seq, e.name, e.txid, e.actor, e.action, e.reason, e.tenant, e.db_role, e.db_user,
  e.new_state, e.source_ip::text, e.actor_type, e.request_id, e.user_agent, e.chain_index, e.client_addr::text,
  e.occurred_at, e.deployment_id, e.correlation_id, e.previous_state, e.application_name, encode(e.hash, 'hex')`;

/**
 * COPY's options: CSV with a delimiter (0x01) and a quote character (0x02) that jsonb text,
 * uuids, numbers and hex never hold, so nearly every field arrives exactly as it is; a text
 * value holding a control character, the delimiter or the quote arrives quoted (the slow path
 * below). An unquoted empty field is NULL, a quoted one the empty string.
 */
export const EVENT_COPY_FORMAT = `with (format csv, delimiter e'\\x01', quote e'\\x02')`;

/** The settings the timestamp's text form assumes (set for the COPY, then put back). */
export const EVENT_COPY_SETTINGS: Readonly<Record<string, string>> = { timezone: 'UTC', datestyle: 'ISO, YMD' };

const DELIMITER = 0x01;
const QUOTE = 0x02;
const NEWLINE = 0x0a;

/** Field positions in a row (EVENT_COPY_COLUMNS' order). */
export const Field = {
  Seq: 0, Name: 1, Txid: 2, Actor: 3, Action: 4, Reason: 5, Tenant: 6, DbRole: 7, DbUser: 8, NewState: 9, SourceIp: 10,
  ActorType: 11, RequestId: 12, UserAgent: 13, ChainIndex: 14, ClientAddr: 15, OccurredAt: 16, DeploymentId: 17,
  CorrelationId: 18, PreviousState: 19, ApplicationName: 20, Hash: 21,
} as const;
export type Field = (typeof Field)[keyof typeof Field];
const FIELDS = 22;
const PAYLOAD_FIELDS = 21;

/** How each payload field is written: a number, a JSON string (escaped), a quoted literal that needs no escaping, jsonb text, the time. */
const NUMBER = 0;
const STRING = 1;
const LITERAL = 2;
const JSON_TEXT = 3;
const TIME = 4;
const payloadKinds = [
  NUMBER, STRING, LITERAL, STRING, STRING, STRING, STRING, STRING, STRING, JSON_TEXT, STRING, STRING, STRING, STRING,
  NUMBER, STRING, TIME, LITERAL, STRING, JSON_TEXT, STRING,
];
const payloadKeys = [
  'seq', 'name', 'txid', 'actor', 'action', 'reason', 'tenant', 'db_role', 'db_user', 'new_state', 'source_ip', 'actor_type',
  'request_id', 'user_agent', 'chain_index', 'client_addr', 'occurred_at', 'deployment_id', 'correlation_id', 'previous_state',
  'application_name',
];
/** The text before each value: `{"seq": `, `, "name": `, ... (bytes). */
const prefixes = payloadKeys.map((key, i) => Buffer.from(`${i === 0 ? '{' : ', '}"${key}": `, 'latin1'));
const NULL = Buffer.from('null', 'latin1');
const HEX = '0123456789abcdef';

/**
 * One row: the buffer holding its fields, and each field's [start, end) in it (end -1: NULL).
 * Valid only during the callback that receives it; `detach()` copies it for later.
 */
export class EventRow {
  buf: Buffer = Buffer.alloc(0);
  readonly start = new Int32Array(FIELDS);
  readonly end = new Int32Array(FIELDS);

  isNull(f: Field): boolean {
    return this.end[f] === -1;
  }

  /** The field as text (null for NULL). */
  text(f: Field): string | null {
    return this.end[f] === -1 ? null : this.buf.toString('utf8', this.start[f], this.end[f]);
  }

  /** An ASCII field (a hash's hex, a uuid) as text: cheaper than UTF-8 decoding. */
  ascii(f: Field): string | null {
    return this.end[f] === -1 ? null : this.buf.toString('latin1', this.start[f], this.end[f]);
  }

  /** An integer field (seq, chain_index). */
  int(f: Field): number {
    let i = this.start[f]!;
    const negative = this.buf[i] === 0x2d; // a forged negative chain index is a finding, not garbage
    if (negative) i++;
    let n = 0;
    for (; i < this.end[f]!; i++) n = n * 10 + (this.buf[i]! - 48);
    return negative ? -n : n;
  }

  /** A copy that outlives the chunk it came from (an event held until its chain reaches it). */
  detach(): EventRow {
    const copy = new EventRow();
    let lo = Infinity;
    let hi = 0;
    for (let f = 0; f < FIELDS; f++) {
      if (this.end[f] === -1) continue;
      lo = Math.min(lo, this.start[f]!);
      hi = Math.max(hi, this.end[f]!);
    }
    if (lo === Infinity) lo = hi = 0;
    copy.buf = Buffer.from(this.buf.subarray(lo, hi));
    for (let f = 0; f < FIELDS; f++) {
      copy.start[f] = this.start[f]! - lo;
      copy.end[f] = this.end[f] === -1 ? -1 : this.end[f]! - lo;
    }
    return copy;
  }
}

/**
 * Splits COPY's output into rows. Chunks may end anywhere (the rest waits for the next); a row
 * with a quoted field is unquoted into a buffer of its own.
 */
export class EventRowReader {
  private carry: Buffer | null = null;
  private readonly row = new EventRow();

  /** Calls `onRow` for every complete row in the chunk (the row is reused: detach() to keep it). */
  push(chunk: Buffer, onRow: (row: EventRow) => void): void {
    const buf = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    this.carry = null;
    let pos = 0;
    while (pos < buf.length) {
      const next = this.parseRow(buf, pos);
      if (next === -1) break;
      onRow(this.row);
      pos = next;
    }
    if (pos < buf.length) this.carry = Buffer.from(buf.subarray(pos));
  }

  /** Throws when the stream ended inside a row. */
  end(): void {
    if (this.carry && this.carry.length > 0) throw new Error('the event stream ended in the middle of a row');
  }

  /** Reads the row at `pos` into this.row; returns the position after it, or -1 when it is incomplete. */
  private parseRow(buf: Buffer, pos: number): number {
    const row = this.row;
    let p = pos;
    for (let f = 0; f < FIELDS; f++) {
      if (p >= buf.length) return -1;
      if (buf[p] === QUOTE) return this.parseQuotedRow(buf, pos);
      let e = p;
      while (e < buf.length && buf[e] !== DELIMITER && buf[e] !== NEWLINE) e++;
      if (e >= buf.length) return -1;
      row.start[f] = p;
      row.end[f] = e === p ? -1 : e;
      const expected = f === FIELDS - 1 ? NEWLINE : DELIMITER;
      if (buf[e] !== expected) throw new Error(`unexpected ${buf[e] === NEWLINE ? 'end of row' : 'field'} in the event stream`);
      p = e + 1;
    }
    row.buf = buf;
    return p;
  }

  /** The slow path: a row holding a quoted field, copied field by field with its quotes undone. */
  private parseQuotedRow(buf: Buffer, pos: number): number {
    const row = this.row;
    const parts: Buffer[] = [];
    let length = 0;
    let p = pos;
    for (let f = 0; f < FIELDS; f++) {
      if (p >= buf.length) return -1;
      let value: Buffer | null;
      if (buf[p] === QUOTE) {
        const bytes: number[] = [];
        let i = p + 1;
        for (;;) {
          if (i >= buf.length) return -1;
          if (buf[i] === QUOTE) {
            if (i + 1 >= buf.length) return -1;
            if (buf[i + 1] === QUOTE) {
              bytes.push(QUOTE);
              i += 2;
              continue;
            }
            break;
          }
          bytes.push(buf[i]!);
          i++;
        }
        value = Buffer.from(bytes);
        p = i + 1;
      } else {
        let e = p;
        while (e < buf.length && buf[e] !== DELIMITER && buf[e] !== NEWLINE) e++;
        if (e >= buf.length) return -1;
        value = e === p ? null : buf.subarray(p, e);
        p = e;
      }
      if (p >= buf.length) return -1;
      const expected = f === FIELDS - 1 ? NEWLINE : DELIMITER;
      if (buf[p] !== expected) throw new Error('unexpected character after a quoted field in the event stream');
      p++;
      row.start[f] = length;
      row.end[f] = value === null ? -1 : length + value.length;
      if (value) {
        parts.push(value);
        length += value.length;
      }
    }
    row.buf = Buffer.concat(parts, length);
    return p;
  }
}

/**
 * Writes SHA-256(previous hash || payload) of rows and compares it with their stored hash.
 * One buffer is reused for every event: the previous hash, then the payload's bytes.
 */
export class PayloadHasher {
  private out = Buffer.alloc(4096);
  private p = 0;

  /** Whether the row's stored hash is SHA-256 over `previousHash` (hex, or null for none) and its payload's bytes. */
  matches(row: EventRow, previousHash: string | null): boolean {
    const stored = row.end[Field.Hash]! - row.start[Field.Hash]!;
    if (stored !== 64) return false;
    const computed = sha256('sha256', this.payload(row, previousHash), 'hex');
    const buf = row.buf;
    const at = row.start[Field.Hash]!;
    for (let i = 0; i < 64; i++) if (computed.charCodeAt(i) !== buf[at + i]) return false;
    return true;
  }

  /** The hashed bytes: the previous hash's 32 bytes (if any), then the payload. Valid until the next call. */
  payload(row: EventRow, previousHash: string | null): Buffer {
    this.p = 0;
    if (previousHash !== null) {
      this.ensure(32);
      this.p += this.out.write(previousHash, 0, 32, 'hex');
    }
    const buf = row.buf;
    for (let f = 0; f < PAYLOAD_FIELDS; f++) {
      this.raw(prefixes[f]!, 0, prefixes[f]!.length);
      const s = row.start[f]!;
      const e = row.end[f]!;
      if (e === -1) {
        this.raw(NULL, 0, 4);
        continue;
      }
      switch (payloadKinds[f]) {
        case NUMBER:
        case JSON_TEXT:
          this.raw(buf, s, e);
          break;
        case LITERAL:
          this.byte(0x22);
          this.raw(buf, s, e);
          this.byte(0x22);
          break;
        case STRING:
          this.string(buf, s, e);
          break;
        case TIME:
          this.time(buf, s, e);
          break;
      }
    }
    this.byte(0x7d); // }
    return this.out.subarray(0, this.p);
  }

  private ensure(n: number): void {
    if (this.p + n <= this.out.length) return;
    const bigger = Buffer.alloc(Math.max(this.out.length * 2, this.p + n));
    this.out.copy(bigger, 0, 0, this.p);
    this.out = bigger;
  }

  private byte(b: number): void {
    this.ensure(1);
    this.out[this.p++] = b;
  }

  private raw(src: Buffer, s: number, e: number): void {
    const n = e - s;
    this.ensure(n);
    if (n > 48) {
      src.copy(this.out, this.p, s, e);
    } else {
      const out = this.out;
      for (let i = s, o = this.p; i < e; i++, o++) out[o] = src[i]!;
    }
    this.p += n;
  }

  /** A JSON string as PostgreSQL's escape_json() writes it: `"`, `\` and control characters escaped, the rest as is. */
  private string(src: Buffer, s: number, e: number): void {
    this.ensure((e - s) * 6 + 2);
    const out = this.out;
    let o = this.p;
    out[o++] = 0x22;
    for (let i = s; i < e; i++) {
      const c = src[i]!;
      if (c >= 0x20 && c !== 0x22 && c !== 0x5c) {
        out[o++] = c;
        continue;
      }
      out[o++] = 0x5c;
      switch (c) {
        case 0x22: out[o++] = 0x22; break;
        case 0x5c: out[o++] = 0x5c; break;
        case 0x08: out[o++] = 0x62; break; // \b
        case 0x0c: out[o++] = 0x66; break; // \f
        case 0x0a: out[o++] = 0x6e; break; // \n
        case 0x0d: out[o++] = 0x72; break; // \r
        case 0x09: out[o++] = 0x74; break; // \t
        default:
          out[o++] = 0x75; // \u00XX, lowercase hex as escape_json() writes it
          out[o++] = 0x30;
          out[o++] = 0x30;
          out[o++] = HEX.charCodeAt(c >> 4);
          out[o++] = HEX.charCodeAt(c & 15);
      }
    }
    out[o++] = 0x22;
    this.p = o;
  }

  /**
   * shipslog.iso_utc() (`YYYY-MM-DD"T"HH24:MI:SS.US"Z"`) from the ISO text COPY writes in UTC:
   * `YYYY-MM-DD HH:MI:SS[.fraction]+00`, the fraction without trailing zeros. Any other shape
   * (a year past 9999, BC) is written as it came, and the hash check sends the event to SQL.
   */
  private time(src: Buffer, s: number, e: number): void {
    const n = e - s;
    if (n < 22 || src[s + 10] !== 0x20 || src[e - 3] !== 0x2b || src[e - 2] !== 0x30 || src[e - 1] !== 0x30) {
      this.raw(src, s, e);
      return;
    }
    this.ensure(30);
    const out = this.out;
    let o = this.p;
    out[o++] = 0x22;
    for (let i = s; i < s + 10; i++) out[o++] = src[i]!;
    out[o++] = 0x54; // T
    for (let i = s + 11; i < s + 19; i++) out[o++] = src[i]!;
    out[o++] = 0x2e; // .
    let digits = 0;
    if (src[s + 19] === 0x2e) for (let i = s + 20; i < e - 3 && digits < 6; i++, digits++) out[o++] = src[i]!;
    for (; digits < 6; digits++) out[o++] = 0x30;
    out[o++] = 0x5a; // Z
    out[o++] = 0x22;
    this.p = o;
  }
}
