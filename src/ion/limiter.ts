/** A counting semaphore: at most `max` Ion requests in flight per client, FIFO for waiters. */
export class ConcurrencyLimiter {
  private active = 0;
  private readonly waiters: (() => void)[] = [];
  /** Highest concurrency observed (tests assert the limit holds). */
  peak = 0;

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxConcurrency must be a positive integer, got ${max}`);
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await work();
    } finally {
      this.release();
    }
  }

  private acquire(): Promise<void> {
    if (this.active < this.max) {
      this.active++;
      this.peak = Math.max(this.peak, this.active);
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters.push(() => {
      this.active++;
      this.peak = Math.max(this.peak, this.active);
      resolve();
    }));
  }

  private release(): void {
    this.active--;
    const next = this.waiters.shift();
    if (next) next();
  }
}
