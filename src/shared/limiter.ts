import { ValidationError } from "./errors";

/**
 * A counting semaphore: at most `max` tasks in flight, waiters served first come, first served.
 * The Ion and Dataverse clients each hold one to cap their concurrent HTTP requests (Dataverse
 * service protection allows 52 per user; Ion throttles bursts).
 */
export class ConcurrencyLimiter {
  private active = 0;
  private highWater = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1)
      throw new ValidationError(`maxConcurrency must be a positive integer, got ${max}.`, { field: "maxConcurrency" });
  }

  /** Runs `work` when a slot is free and frees the slot when it settles. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await work();
    } finally {
      this.release();
    }
  }

  /** Tasks running now. */
  get inFlight(): number {
    return this.active;
  }

  /** Highest number of tasks in flight at once since creation (tests assert the cap holds). */
  get peakInFlight(): number {
    return this.highWater;
  }

  /** Tasks waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  private acquire(): Promise<void> {
    if (this.active < this.max) {
      this.active++;
      this.highWater = Math.max(this.highWater, this.active);
      return Promise.resolve();
    }
    // release() hands its slot straight to the waiter, so `active` is already counted for it.
    return new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}
