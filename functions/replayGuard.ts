/**
 * Replay protection for webhook deliveries. Dataverse resends the same RemoteExecutionContext when
 * a delivery fails with 502/503/504, and a captured request could be replayed: a delivery whose
 * identity was already processed within the window is answered with the first outcome, without a
 * second effect. A duplicate arriving while the first is still running waits for it. A failed
 * delivery is forgotten so Dataverse's retry can do the work. In-memory per instance: the engine's
 * own idempotency (order referenceIds, upserts by key) covers deliveries landing on another instance.
 */
import { EMPTY_GUID, type WebhookContext } from "../plugins/context";
import type { Clock } from "../src/shared/clock";

export interface RememberedOutcome {
  status: number;
  body: Record<string, unknown>;
}

interface Entry {
  expiresAt: number;
  outcome?: RememberedOutcome;
  pending?: Promise<RememberedOutcome>;
}

/**
 * Identity of a delivery: the message, record and the platform's ids. RequestId or OperationId must
 * be present, or two distinct events in one correlation (a flow updating a row twice) would collide.
 */
export function replayKey(ctx: WebhookContext): string | undefined {
  if (!ctx.requestId && !ctx.operationId) return undefined;
  return [
    ctx.messageName.toLowerCase(),
    ctx.primaryEntityName,
    ctx.primaryEntityId,
    ctx.requestId ?? EMPTY_GUID,
    ctx.operationId ?? EMPTY_GUID,
    ctx.correlationId,
    ctx.stageNumber,
  ].join("|");
}

export class ReplayGuard {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly windowMs: number,
    private readonly clock: Clock,
    private readonly maxEntries = 20_000,
  ) {}

  /**
   * Runs `work` once per key within the window. Returns the outcome and whether it was a replay.
   * Outcomes with status >= 400 or thrown errors are not remembered.
   */
  async run(key: string | undefined, work: () => Promise<RememberedOutcome>): Promise<{ outcome: RememberedOutcome; replayed: boolean }> {
    if (key === undefined) return { outcome: await work(), replayed: false };
    const now = this.clock.now();
    this.evict(now);
    const existing = this.entries.get(key);
    if (existing && existing.expiresAt > now) {
      if (existing.outcome) return { outcome: existing.outcome, replayed: true };
      if (existing.pending) {
        try {
          return { outcome: await existing.pending, replayed: true };
        } catch {
          // The first attempt failed and was forgotten: this delivery does the work itself.
          return this.run(key, work);
        }
      }
    }
    const entry: Entry = { expiresAt: now + this.windowMs };
    const pending = work();
    entry.pending = pending;
    this.entries.set(key, entry);
    try {
      const outcome = await pending;
      if (outcome.status >= 400) this.entries.delete(key);
      else {
        entry.outcome = outcome;
        delete entry.pending;
      }
      return { outcome, replayed: false };
    } catch (error) {
      this.entries.delete(key);
      throw error;
    }
  }

  /** Is the delivery older than the window (and so beyond what this guard can recognise)? */
  isStale(createdOn: Date | undefined): boolean {
    return createdOn !== undefined && this.clock.now() - createdOn.getTime() > this.windowMs;
  }

  size(): number {
    return this.entries.size;
  }

  private evict(now: number): void {
    for (const [k, e] of this.entries) {
      // Map iteration is insertion order, so expiry order too (fixed window): stop at the first live one.
      if (e.expiresAt > now && this.entries.size <= this.maxEntries) break;
      if (!e.pending || e.expiresAt <= now) this.entries.delete(k);
      else break;
    }
  }
}
