/*
 * The driver (postgres 3.4.9, patched: patches/postgres+3.4.9.patch) after a `COPY ... TO
 * STDOUT` whose reader was behind: the connection answers the next query.
 *
 * Upstream (porsager/postgres#499; fix proposed in #1016), a CopyData that fills the readable
 * stream's buffer pauses the socket, and only the stream's read() resumes it. When CopyDone
 * comes in the same socket read, the stream ends with the socket paused, read() is never
 * called again, and every later query on that connection waits forever for a reply that sits
 * in the socket's buffer. `shipslog verify` and `shipslog export` read COPY streams and then
 * query on: they hung. Each case here reads a COPY late (its rows arrive while nobody reads
 * them), then queries on the same connection; each size of output is tried, since which one
 * puts CopyDone in the read that paused depends on how the server's writes are split. The test
 * fails (times out) without the patch, for the ESM and the CommonJS copies of the driver.
 */
import { createRequire } from 'node:module';
import postgres from 'postgres';
import { describe, expect, inject, it } from 'vitest';

const drivers: [string, typeof postgres][] = [
  ['ESM', postgres],
  ['CommonJS', createRequire(import.meta.url)('postgres') as typeof postgres],
];

const within = <T>(ms: number, what: string, p: Promise<T>): Promise<T> =>
  Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms))]);

describe.each(drivers)('COPY read late, then a query on the same connection (%s)', (_name, driver) => {
  it('is answered, whatever the size of the COPY', async () => {
    const sql = driver(inject('adminUrl'), { max: 1, onnotice: () => {} });
    try {
      for (let kb = 20; kb <= 64; kb += 2) {
        const stream = (await sql.unsafe(`copy (select repeat('x', 1023) from generate_series(1, ${kb})) to stdout`).readable()) as AsyncIterable<Buffer>;
        // Nobody reads while the rows arrive: the stream's buffer fills and the socket pauses.
        await new Promise((resolve) => setTimeout(resolve, 30));
        let bytes = 0;
        for await (const chunk of stream) bytes += chunk.length;
        expect(bytes).toBe(kb * 1024);
        const [row] = await within(2000, `the query after a COPY of ${kb} KB`, sql`select ${kb}::int as kb`);
        expect(row).toEqual({ kb });
      }
    } finally {
      await sql.end({ timeout: 1 });
    }
  });
});
