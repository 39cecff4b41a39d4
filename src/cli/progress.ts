/**
 * Progress on stderr for long exports and verifications, only when stderr is a terminal (a
 * pipe or a log file gets none), at most five times a second; cleared when done.
 */
export function progressLine(label: string, unit: string): { update: (done: number, total: number) => void; done: () => void } {
  const tty = process.stderr.isTTY === true;
  let last = 0;
  let shown = false;
  return {
    update(done, total) {
      if (!tty) return;
      const now = Date.now();
      if (now - last < 200) return;
      last = now;
      shown = true;
      const pct = total > 0 ? ` (${Math.min(100, Math.floor((done / total) * 100))}%)` : '';
      process.stderr.write(`\r${label}: ${done.toLocaleString('en')} of ${total.toLocaleString('en')} ${unit}${pct}\u001b[K`);
    },
    done() {
      if (tty && shown) process.stderr.write('\r\u001b[K');
    },
  };
}
