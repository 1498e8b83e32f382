/**
 * Which provider account (and account) each Ion customer's subscriptions link to, as the accounts phase
 * decides it, for a subscriptions phase running at the same time (the first sync of a large
 * reseller spends seconds matching customers, CPU in the sync, while Dataverse could already be taking
 * their subscriptions).
 *
 * A customer is decided when its link is final for this run: at once for a stored row the run will not
 * re-map (Mapped, Ignored, or an unchanged decision), after its write for a new row or a mapping change
 * (the new row's id, and only a mapping Dataverse accepted). Subscriptions of an undecided customer are
 * held and handed back when it is decided. `close` decides everyone left (the accounts phase is over
 * and all its writes are done).
 */
export interface CustomerLink {
  providerAccountId: string;
  accountId?: string | null;
}

/** Decided: the link, or null when the customer is not mapped (its subscriptions are skipped). */
export type LinkDecision = CustomerLink | null;

export class CustomerLinks<Item> {
  private readonly decided = new Map<string, LinkDecision>();
  private readonly held = new Map<string, Item[]>();
  private heldTotal = 0;
  private closedWith?: (ionCustomerId: string) => LinkDecision;
  private failure?: unknown;
  private waiters: { below: number; resolve: () => void; reject: (error: unknown) => void }[] = [];

  /** Receives the held items of a customer once it is decided (in the order they were held); set before holding any. */
  onRelease: (items: Item[], link: LinkDecision, ionCustomerId: string) => void = () => {
    throw new Error("CustomerLinks.onRelease must be set before items are held.");
  };
  private planned = false;
  private plannedWaiters: { resolve: () => void; reject: (error: unknown) => void }[] = [];

  /** Most items held at once (the run's report shows it). */
  peakHeld = 0;

  /** Items waiting for their customer. */
  get heldCount(): number {
    return this.heldTotal;
  }

  /** True once the accounts phase has planned every customer and queued every write it will make. */
  get allPlanned(): boolean {
    return this.planned;
  }

  /** The accounts phase has planned every customer: what is undecided now only waits for a write (or `close`). */
  markAllPlanned(): void {
    if (this.planned) return;
    this.planned = true;
    this.plannedWaiters.forEach((w) => w.resolve());
    this.plannedWaiters = [];
  }

  /** Resolves once `markAllPlanned` ran; rejects if the accounts phase failed. */
  whenAllPlanned(): Promise<void> {
    if (this.planned) return Promise.resolve();
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.plannedWaiters.push({ resolve, reject }));
  }

  /** The customer's link, null when not mapped, "pending" while the accounts phase has not decided it. */
  lookup(ionCustomerId: string): LinkDecision | "pending" {
    const link = this.decided.get(ionCustomerId);
    if (link !== undefined) return link;
    if (this.closedWith) return this.closedWith(ionCustomerId);
    return "pending";
  }

  /** Records the customer's link (the first decision stands) and releases what waited for it. */
  decide(ionCustomerId: string, link: LinkDecision): void {
    // The accounts phase failed: nothing more is released (the run is failing).
    if (this.failure !== undefined || this.decided.has(ionCustomerId)) return;
    this.decided.set(ionCustomerId, link);
    const items = this.held.get(ionCustomerId);
    if (!items) return;
    this.held.delete(ionCustomerId);
    this.heldTotal -= items.length;
    this.onRelease(items, link, ionCustomerId);
    this.wake();
  }

  /** Throws the accounts phase's failure, if it failed: a reader beside it stops at its next page. */
  throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  /** Keeps an item until its customer is decided (only while `lookup` says "pending"). */
  hold(ionCustomerId: string, item: Item): void {
    const list = this.held.get(ionCustomerId);
    if (list) list.push(item);
    else this.held.set(ionCustomerId, [item]);
    this.heldTotal++;
    if (this.heldTotal > this.peakHeld) this.peakHeld = this.heldTotal;
  }

  /**
   * The accounts phase is over and its writes are done: every customer not decided yet gets `fallback`
   * (its stored state), held items are released, and later lookups answer from `fallback` too.
   */
  close(fallback: (ionCustomerId: string) => LinkDecision): void {
    if (this.closedWith) return;
    this.closedWith = fallback;
    for (const ionCustomerId of [...this.held.keys()]) this.decide(ionCustomerId, fallback(ionCustomerId));
    this.wake();
  }

  /** The accounts phase failed: whoever waits on it fails too (held items are dropped, nothing was written for them). */
  fail(error: unknown): void {
    if (this.failure !== undefined || this.closedWith) return;
    this.failure = error;
    this.held.clear();
    this.heldTotal = 0;
    this.waiters.forEach((w) => w.reject(error));
    this.plannedWaiters.forEach((w) => w.reject(error));
    this.waiters = [];
    this.plannedWaiters = [];
  }

  /** Resolves once fewer than `below` items are held (or everything is decided); rejects if the accounts phase failed. */
  whenHeldBelow(below: number): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.heldTotal < below || this.closedWith) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ below, resolve, reject }));
  }

  private wake(): void {
    const ready = this.waiters.filter((w) => this.heldTotal < w.below || this.closedWith);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    ready.forEach((w) => w.resolve());
  }
}
