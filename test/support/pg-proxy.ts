import net from 'node:net';

/**
 * A TCP proxy in front of PostgreSQL that a test can cut at a chosen moment, to put the driver
 * through a connection dying exactly there.
 */
export interface PgProxy {
  port: number;
  /** Resets (RST) the client side of every open connection: the client reads ECONNRESET. */
  reset: () => void;
  /** Closes (FIN) the client side of every open connection. */
  end: () => void;
  /**
   * For the next connection: once the server has authenticated the client, holds the server's
   * bytes from its AuthenticationOk on (parameters, key data, the ReadyForQuery that ends the
   * startup), so that the client stays in its startup while the server already reads queries.
   * Resolves when that moment has come, with the function that lets the held bytes through.
   */
  holdNextStartup: () => Promise<() => void>;
  /** Bytes sent to clients so far, over all connections. */
  bytesToClients: () => number;
  close: () => Promise<void>;
}

// AuthenticationOk: 'R', length 8, status 0 (SASLFinal and the others are longer or non-zero).
const authenticationOk = Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 0]);

export async function startPgProxy(upstream: { host: string; port: number }): Promise<PgProxy> {
  const pairs = new Set<{ client: net.Socket; server: net.Socket }>();
  let nextHold: { onHeld: (release: () => void) => void } | null = null;
  let toClients = 0;
  const proxy = net.createServer((client) => {
    const server = net.connect(upstream.port, upstream.host);
    const pair = { client, server };
    pairs.add(pair);
    client.on('error', () => {});
    server.on('error', () => {});
    const hold = nextHold;
    nextHold = null;
    let held: Buffer[] | null = null;
    const toClient = (x: Buffer) => {
      toClients += x.length;
      client.write(x);
    };
    client.on('data', (x: Buffer) => server.write(x));
    server.on('data', (x: Buffer) => {
      if (held) return void held.push(x);
      const at = hold ? x.indexOf(authenticationOk) : -1;
      if (!hold || at < 0) return toClient(x);
      if (at > 0) toClient(x.subarray(0, at));
      held = [x.subarray(at)];
      hold.onHeld(() => {
        const bytes = held ?? [];
        held = null;
        for (const b of bytes) toClient(b);
      });
    });
    const done = () => {
      pairs.delete(pair);
      client.destroy();
      server.destroy();
    };
    client.on('close', done);
    server.on('close', done);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    port: (proxy.address() as net.AddressInfo).port,
    reset: () => {
      for (const { client, server } of pairs) {
        client.resetAndDestroy();
        server.destroy();
      }
    },
    end: () => {
      for (const { client, server } of pairs) {
        client.end();
        server.destroy();
      }
    },
    holdNextStartup: () => new Promise((resolve) => (nextHold = { onHeld: resolve })),
    bytesToClients: () => toClients,
    close: async () => {
      for (const { client, server } of pairs) {
        client.destroy();
        server.destroy();
      }
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    },
  };
}
