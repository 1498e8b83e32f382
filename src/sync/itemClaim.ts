/**
 * The claim a work item holds on its run row, and the fenced write every holder makes: a run split across
 * Functions invocations (./workItems.ts) may be delivered twice (the queue is at-least-once), so each write
 * of the run row by an item first checks, under the row's ETag, that this delivery still holds the step.
 * A delivery that lost its claim stops before writing the row again; its data writes were idempotent upserts.
 */
import { type BatchOperation, type BatchResult, type DataverseClient, DataverseConcurrencyError } from "../dataverse";
import type { CheckpointState, ItemClaim } from "./checkpoint";
import { parseCheckpoint } from "./checkpoint";
import { SyncError } from "./errors";
import { SETS } from "./schema";

/** Another delivery took this step over (the queue delivered it again): this one stops without a final write. */
export class ItemClaimLostError extends SyncError {
  constructor(runId: string) {
    super("SYNC_ITEM_CLAIM_LOST", `Another delivery of this work item now carries sync run ${runId}; this one stopped.`, {
      retryable: false,
    });
  }
}

/**
 * Thrown at a page boundary when the item's budget is spent: the run stops here, records its checkpoint
 * and hands the rest to the next work item. Not a failure.
 */
export class RunYield extends SyncError {
  constructor() {
    super("SYNC_ITEM_YIELD", "The work item's budget is spent; the run continues in the next item.");
  }
}

/**
 * Thrown at the start of the outbound phase of a work item when more requests are pending than one item
 * should take: the run records the branches and hands the phase to one branch item each (./branches.ts).
 */
export class RunFanOut extends SyncError {
  constructor(readonly branches: { from?: string; to?: string }[]) {
    super("SYNC_ITEM_FAN_OUT", "The outbound phase continues in branch work items that run at once.");
  }
}

export function sameClaim(a: ItemClaim | undefined, b: ItemClaim | undefined): boolean {
  return a !== undefined && b !== undefined && a.step === b.step && a.messageId === b.messageId && a.dequeueCount === b.dequeueCount;
}

export interface RunRowState {
  etag: string;
  status?: string;
  checkpoint?: CheckpointState;
}

/** The run row's status and checkpoint with its ETag (undefined when the row is gone). */
export async function readRunState(dv: DataverseClient, runId: string): Promise<RunRowState | undefined> {
  const row = await dv.tryRetrieve<{ "@odata.etag"?: string; w365_status?: string; w365_checkpoint?: string | null }>(SETS.syncRun, runId, {
    select: ["w365_status", "w365_checkpoint"],
  });
  if (!row) return undefined;
  return { etag: row["@odata.etag"] ?? "*", status: row.w365_status, checkpoint: parseCheckpoint(row.w365_checkpoint) };
}

/** Run statuses after which no item may write the row again. */
export const FINISHED_RUN_STATUSES: ReadonlySet<string> = new Set(["succeeded", "partial", "failed", "canceled"]);

/** Whether `claim` still holds a row in this state. A finished row is held by nobody (a takeover or the poison handler finished it). */
export function claimHolds(state: { status?: string; checkpoint?: CheckpointState } | undefined, claim: ItemClaim): boolean {
  const finished = state?.status !== undefined && FINISHED_RUN_STATUSES.has(state.status);
  return state !== undefined && !finished && sameClaim(state.checkpoint?.item, claim);
}

/** The run row as the cancel check and the fence read it: status, checkpoint, cancel stamp, and the connector's state. */
export interface RunRowRead {
  "@odata.etag"?: string;
  w365_status?: string;
  w365_checkpoint?: string | null;
  w365_cancelrequestedon?: string | null;
  /** null when the connector is gone (deleted under the run). */
  w365_connection?: { statecode?: number | null } | null;
}

const ROW_READ_COLUMNS = ["w365_status", "w365_checkpoint", "w365_cancelrequestedon"];
const CONNECTION_STATE = "w365_connection($select=statecode)";

/**
 * One run's link to its run row: the ETag of its last read or write, and what that read or write showed.
 *
 * A work item's writes are fenced by its claim. The fence goes out under the last ETag this run saw (its own
 * previous write answers with the new ETag: `Prefer: return=representation`, as Dataverse's "update with data
 * returned" does; a plain PATCH answers 204 with no ETag), so a write costs no read while nobody else touched
 * the row. A 412 means someone did (an admin's cancel stamp, the UI, another delivery that took the step
 * over, a takeover or the poison handler finishing the run): the row is read again, the claim and the status
 * judged from that fresh row, and the write repeated only while the claim holds. That read also brings the
 * cancel stamp and the connector's state, so it serves as the cancel check (./cancellation.ts) too.
 * Without a claim (a run not split into items), writes go with If-Match: * as before.
 */
export class RunRowLink {
  private etag?: string;
  private seq = 0;
  /** The latest full read (cancel stamp and connector state), its clock time, and a sequence number. */
  private latest?: { row: RunRowRead | undefined; at: number; seq: number };
  /** A cancel stamp seen in any read or write answer. */
  cancelRequestedOn?: string;
  /** Requests of the run row this run made (a report figure). */
  readonly requests = { reads: 0, writes: 0 };

  constructor(
    private readonly dv: DataverseClient,
    private readonly now: () => number,
    readonly runId: string,
    readonly claim?: ItemClaim,
    /** The ETag of a write this claim just made (the claim itself), if the caller has it. */
    etag?: string,
  ) {
    this.etag = etag;
  }

  /**
   * Reads the row with the cancel stamp and the connector's state, plus `extra` columns. Throws
   * ItemClaimLostError when this run holds a claim the row no longer carries (when `judge`, the default).
   */
  async read<T extends RunRowRead = RunRowRead>(extra: string[] = [], judge = true): Promise<T | undefined> {
    this.requests.reads++;
    const row = await this.dv.tryRetrieve<T>(SETS.syncRun, this.runId, {
      select: [...new Set([...ROW_READ_COLUMNS, ...extra])],
      expand: CONNECTION_STATE,
    });
    this.observe(row);
    if (judge) this.judge(row);
    return row;
  }

  /**
   * Takes the row as read (and judged) elsewhere: its ETag becomes the one the next fenced write goes under
   * when `claim` holds it; otherwise throws ItemClaimLostError.
   */
  judge(row: RunRowRead | undefined): void {
    if (!this.claim) return;
    const state = row && { status: row.w365_status, checkpoint: parseCheckpoint(row.w365_checkpoint) };
    if (!claimHolds(state, this.claim)) {
      this.etag = undefined;
      throw new ItemClaimLostError(this.runId);
    }
    this.etag = row?.["@odata.etag"];
  }

  /** The latest full read newer than `seq` (the cancel watch judges each read once), if any. */
  latestSince(seq: number): { row: RunRowRead | undefined; at: number; seq: number } | undefined {
    return this.latest && this.latest.seq > seq ? this.latest : undefined;
  }

  /** Writes the row: fenced by the claim when there is one (see the class comment). */
  async write(body: Record<string, unknown>): Promise<void> {
    if (!this.claim) {
      this.requests.writes++;
      await this.dv.update(SETS.syncRun, this.runId, body);
      return;
    }
    for (let attempt = 1; ; attempt++) {
      if (!this.etag) await this.read();
      try {
        this.requests.writes++;
        const row = await this.dv.updateReturning<RunRowRead>(SETS.syncRun, this.runId, body, {
          ifMatch: this.etag,
          select: ["w365_cancelrequestedon"],
        });
        if (row.w365_cancelrequestedon) this.cancelRequestedOn = row.w365_cancelrequestedon;
        this.afterOwnWrite(body, row["@odata.etag"]);
        return;
      } catch (error) {
        if (!(error instanceof DataverseConcurrencyError)) throw error;
        this.etag = undefined;
        if (attempt >= FENCED_WRITE_ATTEMPTS) throw new ItemClaimLostError(this.runId);
      }
    }
  }

  /**
   * The final write with other operations in one $batch (the connector's last-sync stamp): fenced as `write`.
   * The other operations are unconditional and idempotent, so sending them again after a 412 is safe.
   */
  async writeWith(body: Record<string, unknown>, alsoWrite: BatchOperation[]): Promise<BatchResult[]> {
    for (let attempt = 1; ; attempt++) {
      if (this.claim && !this.etag) await this.read();
      const ifMatch = this.claim ? this.etag! : "*";
      this.requests.writes++;
      const [own, ...others] = await this.dv.batch(
        [{ method: "PATCH", entitySet: SETS.syncRun, key: this.runId, body, ifMatch }, ...alsoWrite],
        { continueOnError: true },
      );
      // A $batch answers a PATCH with 204 and no ETag: the next write (if any) reads first.
      this.etag = undefined;
      if (!own || own.ok) return others;
      if (!(this.claim && own.error instanceof DataverseConcurrencyError)) throw own.error;
      if (attempt >= FENCED_WRITE_ATTEMPTS) throw new ItemClaimLostError(this.runId);
    }
  }

  private observe(row: RunRowRead | undefined): void {
    this.latest = { row, at: this.now(), seq: ++this.seq };
    if (row?.w365_cancelrequestedon) this.cancelRequestedOn = row.w365_cancelrequestedon;
  }

  private afterOwnWrite(body: Record<string, unknown>, etag: string | undefined): void {
    // A write that hands the step on (or finishes the run) releases the claim: nothing more may go under its ETag.
    const status = body.w365_status;
    const checkpoint = typeof body.w365_checkpoint === "string" ? parseCheckpoint(body.w365_checkpoint) : undefined;
    const released =
      (typeof status === "string" && FINISHED_RUN_STATUSES.has(status)) ||
      (checkpoint !== undefined && !sameClaim(checkpoint.item, this.claim));
    this.etag = released ? undefined : etag;
  }
}

/** Writes of the run row racing other writers before the item gives the row up as lost. */
export const FENCED_WRITE_ATTEMPTS = 5;
