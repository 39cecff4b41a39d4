/** Lets idle worker loops sleep until a NOTIFY (or a timeout) wakes them. */
export class Wake {
  private waiters = new Set<() => void>();

  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }

  all(): void {
    for (const w of [...this.waiters]) w();
  }
}

