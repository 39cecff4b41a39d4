import { createServer, type RequestListener, type Server } from 'node:http';
import { answerClientError } from '../api/client-error.ts';
import { ConfigError } from '../config.ts';

export interface HeldPort {
  server: Server;
  /** From now on requests go to this listener (until then: 503, Retry-After: 1). */
  handle: (listener: RequestListener) => void;
  close: () => Promise<void>;
}

/**
 * Binds PORT before anything else starts, and keeps it: a busy port is reported at once,
 * not after a database was initialised and migrated, and no other process can take the
 * port in between (a check that binds and lets go would leave that race open). Until the
 * service is ready, every request is answered 503 `starting`, which probes read as not
 * ready yet.
 */
export async function holdPort(port: number, host: string): Promise<HeldPort> {
  let listener: RequestListener = (_req, res) => {
    res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1', connection: 'close' });
    res.end('{"status":"starting"}\n');
  };
  const server = createServer((req, res) => listener(req, res));
  // Requests Node's parser refuses are answered as problem+json too (issue 9).
  server.on('clientError', answerClientError);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((err: { code?: string; message?: string }) => {
    const why: Record<string, string> = {
      EADDRINUSE: 'is in use by another process: stop it, or set PORT to a free port',
      EACCES: 'may not be bound by this user (ports below 1024 need privileges): set PORT to 1024 or above',
      EADDRNOTAVAIL: `cannot be bound: HOST ${host} is not an address of this machine`,
    };
    const reason = (err.code && why[err.code]) ?? `cannot be bound: ${err.message ?? err.code}`;
    throw new ConfigError(`PORT ${port} on ${host} ${reason} (${err.code ?? 'error'})`);
  });
  let closed: Promise<void> | undefined;
  return {
    server,
    handle: (next) => {
      listener = next;
    },
    close: () => (closed ??= new Promise<void>((resolve) => server.close(() => resolve()))),
  };
}
