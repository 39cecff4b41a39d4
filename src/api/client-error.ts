import type { Duplex } from 'node:stream';
import { problemBody } from './problem.ts';

/**
 * The HTTP server's 'clientError' listener (issue 9): a request Node's parser refuses before
 * any route sees it (NUL or another byte a header may not hold, a malformed request line,
 * conflicting lengths, headers over 16 KiB) is answered as problem+json like every other
 * refusal, instead of Node's bare "400 Bad Request" with no body. Statuses are Node's own:
 * 400, and 431, 413 and 408 for its three special cases. Then the connection closes: after
 * a parse error nothing more on it can be trusted.
 */
export function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  // As Node's own default (lib/_http_server.js): only when the socket still takes writes and
  // no response to this connection has started.
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const [status, reason, type, detail] =
    err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'Request Header Fields Too Large', 'invalid-request', 'the request headers are too large']
    : err.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW' ? [413, 'Payload Too Large', 'payload-too-large', 'the chunk extensions are too large']
    : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'Request Timeout', 'invalid-request', 'the request did not arrive in time']
    : [400, 'Bad Request', 'invalid-request', 'malformed HTTP request (for example a NUL or control byte in a header)'];
  const body = JSON.stringify({ ...problemBody(type, detail), status });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}
