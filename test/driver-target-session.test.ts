/*
 * Issue 9, item 3: multi-host URLs with target_session_attrs=read-write must skip a hot
 * standby. PostgreSQL 14+ reports in_hot_standby at startup, and a standby's
 * default_transaction_read_only is 'off' (the setting, not its state): the unpatched driver
 * (postgres 3.4.9) took those two reports for "read-write" and kept the standby, so during a
 * Patroni failover every write answered 500 (25006) until the promotion (RELIABILITY.md,
 * item 3). patches/postgres+3.4.9.patch makes it move on, as libpq does.
 *
 * A standby without a second server: a proxy in front of the test database that rewrites the
 * ParameterStatus in_hot_standby to 'on' and records what the client sends after startup.
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './support/db.ts';

let t: TestDatabase;
let proxy: Server;
/** Message types the client sent through the proxy after its startup packet. */
let sent: string[] = [];

/** Backend messages (type, int32 length, payload) with in_hot_standby reported as 'on'. */
function asStandby(): (chunk: Buffer) => Buffer {
  let pending = Buffer.alloc(0);
  return (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    const out: Buffer[] = [];
    while (pending.length >= 5) {
      const length = pending.readInt32BE(1);
      if (pending.length < 1 + length) break;
      const message = pending.subarray(0, 1 + length);
      pending = pending.subarray(1 + length);
      if (message[0] === 0x53 && message.subarray(5).toString().startsWith('in_hot_standby\0')) {
        const payload = Buffer.from('in_hot_standby\0on\0');
        const header = Buffer.alloc(5);
        header[0] = 0x53;
        header.writeInt32BE(4 + payload.length, 1);
        out.push(header, payload);
      } else out.push(message);
    }
    return Buffer.concat(out);
  };
}

/** Frontend messages after the untyped startup packet: their type letters. */
function recordTypes(): (chunk: Buffer) => void {
  let pending = Buffer.alloc(0);
  let started = false;
  return (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    for (;;) {
      if (!started) {
        if (pending.length < 4 || pending.length < pending.readInt32BE(0)) return;
        pending = pending.subarray(pending.readInt32BE(0));
        started = true;
        continue;
      }
      if (pending.length < 5 || pending.length < 1 + pending.readInt32BE(1)) return;
      sent.push(String.fromCharCode(pending[0] as number));
      pending = pending.subarray(1 + pending.readInt32BE(1));
    }
  };
}

beforeAll(async () => {
  t = await createTestDatabase();
  const target = new URL(t.url);
  proxy = createServer((client: Socket) => {
    const server = connect(Number(target.port), target.hostname);
    const rewrite = asStandby();
    const record = recordTypes();
    client.on('data', (b: Buffer) => {
      record(b);
      server.write(b);
    });
    server.on('data', (b: Buffer) => client.write(rewrite(b)));
    client.on('close', () => server.destroy());
    server.on('close', () => client.destroy());
    client.on('error', () => server.destroy());
    server.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  await new Promise<void>((resolve) => proxy?.close(() => resolve()));
  await t?.drop();
});

describe('postgres driver: target_session_attrs on a multi-host URL', () => {
  it('read-write skips a server that reports in_hot_standby=on and takes the next host', async () => {
    const target = new URL(t.url);
    const proxyPort = (proxy.address() as AddressInfo).port;
    const url = `postgres://${target.username}:${target.password}@127.0.0.1:${proxyPort},${target.hostname}:${target.port}${target.pathname}?target_session_attrs=read-write`;
    const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5 });
    try {
      sent = [];
      const [row] = await sql<{ ok: number }[]>`select 1 as ok`;
      expect(row?.ok).toBe(1);
      // Only authentication and the Terminate that left the "standby": no query went there.
      expect(sent.filter((x) => !['p', 'X'].includes(x))).toEqual([]);
      expect(sent).toContain('X');
    } finally {
      await sql.end({ timeout: 5 });
    }
  });

  it('read-only, and primary, keep to their own rules', async () => {
    const target = new URL(t.url);
    const proxyPort = (proxy.address() as AddressInfo).port;
    const base = `postgres://${target.username}:${target.password}@127.0.0.1:${proxyPort},${target.hostname}:${target.port}${target.pathname}`;
    // read-only takes the "standby" (the first host) and runs its query there.
    sent = [];
    const readOnly = postgres(`${base}?target_session_attrs=read-only`, { max: 1, onnotice: () => {}, connect_timeout: 5 });
    await readOnly`select 1`;
    await readOnly.end({ timeout: 5 });
    expect(sent.some((x) => x === 'P' || x === 'Q')).toBe(true);
    // primary skips it, as before the patch.
    sent = [];
    const primary = postgres(`${base}?target_session_attrs=primary`, { max: 1, onnotice: () => {}, connect_timeout: 5 });
    await primary`select 1`;
    await primary.end({ timeout: 5 });
    expect(sent.filter((x) => !['p', 'X'].includes(x))).toEqual([]);
  });
});
