import { pino, type Logger } from 'pino';

export type Log = Logger;

/** JSON logs on stdout. Secrets never reach a log line: request bodies are not logged. */
export function createLog(level: string): Log {
  return pino({
    level,
    base: { service: 'shipslog' },
    redact: { paths: ['req.headers.authorization', '*.password', '*.secrets'], censor: '[redacted]' },
  });
}
