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

/** What a claim is judged on: the run row's status and checkpoint. */
export interface RunRowView {
  status?: string;
  checkpoint?: CheckpointState;
}

export interface RunRowState extends RunRowView {
  etag: string;
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

/** Whether the row is there and not finished: a finished row is held by nobody (a takeover or the poison handler finished it). */
export function runOpen(state: RunRowView | undefined): boolean {
  return state !== undefined && !(state.status !== undefined && FINISHED_RUN_STATUSES.has(state.status));
}

/** Whether `claim` still holds the run's step in a row in this state. */
export function claimHolds(state: RunRowView | undefined, claim: ItemClaim): boolean {
  return runOpen(state) && sameClaim(state?.checkpoint?.item, claim);
}

/**
 * A write of the run row: its columns, or a function giving them from the row as the link last read or wrote it.
 * A function is applied again onto the row re-read after a 412, so a change of one part of the checkpoint (a
 * branch's) keeps what other writers wrote meanwhile.
 */
export type RunRowChange = Record<string, unknown> | ((row: RunRowView) => Record<string, unknown>);

export interface RunRowLinkOptions {
  /** The ETag of a write this claim just made (the claim itself), if the caller has it. */
  etag?: string;
  /** Whether the claim holds the row in this state: by default the run's step (`claimHolds`); a branch item judges its branch. */
  holds?: (row: RunRowView | undefined) => boolean;
  /** Writes racing other writers before the claim is given up as lost. */
  attempts?: number;
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
 * judged from that fresh row (`holds`), and the write repeated only while the claim holds; a change given as a
 * function is applied again onto that row. That read also brings the cancel stamp and the connector's state, so
 * it serves as the cancel check (./cancellation.ts) too, and the cancel check's read refreshes the ETag and judges
 * the claim in turn. A run's writes and cancel checks go one after another, never at once, through one link.
 * Without a claim (a run not split into items), writes go with If-Match: * as before.
 */
export class RunRowLink {
  private etag?: string;
  /** The row as this link last read or wrote it (what a change given as a function is applied to). */
  private row?: RunRowView;
  private readonly holds: (row: RunRowView | undefined) => boolean;
  private readonly attempts: number;
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
    o: RunRowLinkOptions = {},
  ) {
    this.etag = o.etag;
    this.holds = o.holds ?? ((row) => claimHolds(row, claim!));
    this.attempts = o.attempts ?? FENCED_WRITE_ATTEMPTS;
  }

  /** The row as this link last read or wrote it (undefined before the first read, or when the row is gone). */
  get seen(): RunRowView | undefined {
    return this.row;
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
    if (!this.holds(viewOf(row))) {
      this.etag = undefined;
      throw new ItemClaimLostError(this.runId);
    }
    this.etag = row?.["@odata.etag"];
  }

  /**
   * Takes the claim: reads the row (a read that also serves the first cancel check), and `decide` says either
   * what to write to take it, sent with If-Match on that read's ETag, or why not (`{ not }`, returned; nothing
   * is written). A 412 means another writer came between the read and the write: the row is read and decided
   * again. After the claim, the answer's ETag is the next fenced write's.
   */
  async take<T>(decide: (row: RunRowView | undefined) => { write: RunRowChange } | { not: T }): Promise<T | undefined> {
    for (let attempt = 1; ; attempt++) {
      const read = await this.read([], false);
      const decision = decide(this.row);
      if ("not" in decision) return decision.not;
      const body = this.bodyOf(decision.write);
      try {
        await this.send(body, read?.["@odata.etag"] ?? "*");
        return undefined;
      } catch (error) {
        if (!(error instanceof DataverseConcurrencyError) || attempt >= this.attempts) throw error;
      }
    }
  }

  /** The latest full read newer than `seq` (the cancel watch judges each read once), if any. */
  latestSince(seq: number): { row: RunRowRead | undefined; at: number; seq: number } | undefined {
    return this.latest && this.latest.seq > seq ? this.latest : undefined;
  }

  /**
   * Writes the row: fenced by the claim when there is one (see the class comment). Returns the row as written
   * (the change applied onto the row as last seen).
   */
  async write(change: RunRowChange): Promise<RunRowView> {
    if (!this.claim) {
      const body = this.bodyOf(change);
      this.requests.writes++;
      await this.dv.update(SETS.syncRun, this.runId, body);
      this.row = applied(this.row, body);
      return this.row;
    }
    for (let attempt = 1; ; attempt++) {
      if (!this.etag) await this.read();
      try {
        await this.send(this.bodyOf(change), this.etag!);
        return this.row!;
      } catch (error) {
        if (!(error instanceof DataverseConcurrencyError)) throw error;
        this.etag = undefined;
        if (attempt >= this.attempts) throw new ItemClaimLostError(this.runId);
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
      if (attempt >= this.attempts) throw new ItemClaimLostError(this.runId);
    }
  }

  private observe(row: RunRowRead | undefined): void {
    this.latest = { row, at: this.now(), seq: ++this.seq };
    this.row = viewOf(row);
    if (row?.w365_cancelrequestedon) this.cancelRequestedOn = row.w365_cancelrequestedon;
  }

  private bodyOf(change: RunRowChange): Record<string, unknown> {
    return typeof change === "function" ? change(this.row ?? {}) : change;
  }

  /** One PATCH under `ifMatch`, asking for the new ETag and the cancel stamp. */
  private async send(body: Record<string, unknown>, ifMatch: string): Promise<void> {
    this.requests.writes++;
    const answer = await this.dv.updateReturning<RunRowRead>(SETS.syncRun, this.runId, body, {
      ifMatch,
      select: ["w365_cancelrequestedon"],
    });
    if (answer.w365_cancelrequestedon) this.cancelRequestedOn = answer.w365_cancelrequestedon;
    this.row = applied(this.row, body);
    // A write after which the claim no longer holds (it handed the step or turn on, finished the run or its
    // branch) releases it: nothing more may go under its ETag.
    this.etag = this.holds(this.row) ? answer["@odata.etag"] : undefined;
  }
}

function viewOf(row: RunRowRead | undefined): RunRowView | undefined {
  return row && { status: row.w365_status, checkpoint: parseCheckpoint(row.w365_checkpoint) };
}

/** The row as it is after a write of `body` onto `row` (the columns a claim is judged on). */
function applied(row: RunRowView | undefined, body: Record<string, unknown>): RunRowView {
  const status = typeof body.w365_status === "string" ? body.w365_status : row?.status;
  const checkpoint = typeof body.w365_checkpoint === "string" ? parseCheckpoint(body.w365_checkpoint) : row?.checkpoint;
  return { ...(status !== undefined ? { status } : {}), ...(checkpoint !== undefined ? { checkpoint } : {}) };
}

/** Writes of the run row racing other writers before the item gives the row up as lost. */
export const FENCED_WRITE_ATTEMPTS = 5;
