import { ValidationError } from "./errors";

/**
 * A counting semaphore: at most `max` tasks in flight, waiters served first come, first served (urgent ones
 * before the others).
 * The Ion and Dataverse clients each hold one to cap their concurrent HTTP requests (Dataverse
 * service protection allows 52 per user; Ion throttles bursts).
 */
export class ConcurrencyLimiter {
  private active = 0;
  private highWater = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly urgentWaiting: Array<() => void> = [];

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1)
      throw new ValidationError(`maxConcurrency must be a positive integer, got ${max}.`, { field: "maxConcurrency" });
  }

  /**
   * Runs `work` when a slot is free and frees the slot when it settles. An `urgent` task (a link of a chain of
   * requests that must follow one another) takes the next free slot before the tasks already waiting.
   */
  async run<T>(work: () => Promise<T>, urgent = false): Promise<T> {
    await this.acquire(urgent);
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
    return this.waiting.length + this.urgentWaiting.length;
  }

  private acquire(urgent: boolean): Promise<void> {
    if (this.active < this.max) {
      this.active++;
      this.highWater = Math.max(this.highWater, this.active);
      return Promise.resolve();
    }
    // release() hands its slot straight to the waiter, so `active` is already counted for it.
    return new Promise<void>((resolve) => (urgent ? this.urgentWaiting : this.waiting).push(resolve));
  }

  private release(): void {
    const next = this.urgentWaiting.shift() ?? this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}

export interface LaneOptions {
  /** Requests this lane may have in flight at once (its own cap, below the shared capacity). */
  max: number;
  /** Served before every other lane when a slot frees (synchronous callers that a person or Dataverse waits on). */
  priority?: boolean;
}

interface Lane {
  readonly name: string;
  max: number;
  readonly priority: boolean;
  active: number;
  highWater: number;
  readonly waiting: Array<() => void>;
}

/**
 * A capacity shared by several lanes, served fairly: at most `capacity` tasks in flight over all lanes and
 * at most `max` per lane; when a slot frees, priority lanes with a waiter go first, then the other lanes
 * in turn (round robin), so a lane with a deep queue cannot starve one that asks for a single slot.
 * The Dataverse client gives each caller (a connector's sync, the webhooks) a lane over its identity's
 * capacity: Dataverse's service protection limits count per user, so all callers of one identity share it.
 */
export class FairShareLimiter {
  private active = 0;
  private highWater = 0;
  private readonly lanes: Lane[] = [];
  private cursor = 0;

  constructor(private cap: number) {
    FairShareLimiter.check(cap, "capacity");
  }

  private static check(n: number, field: string): void {
    if (!Number.isInteger(n) || n < 1) throw new ValidationError(`${field} must be a positive integer, got ${n}.`, { field });
  }

  get capacity(): number {
    return this.cap;
  }

  /** Changes the shared capacity (the environment's recommended parallelism, once known); waiters are served at once if it grew. */
  resize(capacity: number): void {
    FairShareLimiter.check(capacity, "capacity");
    this.cap = capacity;
    this.dispatch();
  }

  get inFlight(): number {
    return this.active;
  }

  get peakInFlight(): number {
    return this.highWater;
  }

  /** A new lane, kept for the limiter's life (the functions app makes one per connector it serves). */
  lane(name: string, options: LaneOptions): LimiterLane {
    FairShareLimiter.check(options.max, "max");
    const lane: Lane = { name, max: options.max, priority: options.priority ?? false, active: 0, highWater: 0, waiting: [] };
    this.lanes.push(lane);
    return new LimiterLane(this, lane);
  }

  /** @internal */ acquire(lane: Lane): Promise<void> {
    if (lane.waiting.length === 0 && this.canStart(lane)) {
      this.start(lane);
      if (!lane.priority) this.cursor = (this.lanes.indexOf(lane) + 1) % this.lanes.length;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => lane.waiting.push(resolve));
  }

  /** @internal */ release(lane: Lane): void {
    lane.active--;
    this.active--;
    this.dispatch();
  }

  private canStart(lane: Lane): boolean {
    return this.active < this.cap && lane.active < lane.max;
  }

  private start(lane: Lane): void {
    lane.active++;
    this.active++;
    lane.highWater = Math.max(lane.highWater, lane.active);
    this.highWater = Math.max(this.highWater, this.active);
  }

  private dispatch(): void {
    while (this.active < this.cap) {
      const lane = this.nextLane();
      if (!lane) return;
      this.start(lane);
      lane.waiting.shift()!();
    }
  }

  /** The lane to serve next: a waiting priority lane, else the next waiting lane after the last one served. */
  private nextLane(): Lane | undefined {
    const ready = (l: Lane) => l.waiting.length > 0 && l.active < l.max;
    const urgent = this.lanes.find((l) => l.priority && ready(l));
    if (urgent) return urgent;
    const n = this.lanes.length;
    for (let step = 0; step < n; step++) {
      const at = (this.cursor + step) % n;
      const lane = this.lanes[at]!;
      if (ready(lane)) {
        this.cursor = (at + 1) % n;
        return lane;
      }
    }
    return undefined;
  }
}

/** One caller's share of a FairShareLimiter, used like a ConcurrencyLimiter. */
export class LimiterLane {
  constructor(
    private readonly shared: FairShareLimiter,
    private readonly lane: Lane,
  ) {}

  get name(): string {
    return this.lane.name;
  }

  get max(): number {
    return this.lane.max;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    await this.shared.acquire(this.lane);
    try {
      return await work();
    } finally {
      this.shared.release(this.lane);
    }
  }

  get inFlight(): number {
    return this.lane.active;
  }

  get peakInFlight(): number {
    return this.lane.highWater;
  }

  get queued(): number {
    return this.lane.waiting.length;
  }
}
