/**
 * Concurrency cap for Dataverse requests. Service protection allows 52 concurrent requests per user;
 * the client stays well under it (default 8) so parallel syncs in one process never trip the limit.
 */
export class ConcurrencyLimiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  private peak = 0;

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxConcurrency must be a positive integer, got ${max}`);
  }

  /** Runs `fn` when a slot is free; slots are handed out first come, first served. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  get inFlight(): number {
    return this.active;
  }

  /** Highest number of requests in flight at once since creation (for tests and stats). */
  get peakInFlight(): number {
    return this.peak;
  }

  private acquire(): Promise<void> {
    if (this.active < this.max) {
      this.active++;
      this.peak = Math.max(this.peak, this.active);
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => this.waiting.push(resolve)).then(() => {
      this.peak = Math.max(this.peak, this.active);
    });
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next(); // the slot passes directly to the next waiter; `active` stays the same
    else this.active--;
  }
}
