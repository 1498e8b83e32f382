/**
 * The claim a work item holds on its run row, and the fenced write every holder makes: a run split across
 * Functions invocations (./workItems.ts) may be delivered twice (the queue is at-least-once), so each write
 * of the run row by an item first checks, under the row's ETag, that this delivery still holds the step.
 * A delivery that lost its claim stops before writing the row again; its data writes were idempotent upserts.
 */
import { type DataverseClient, DataverseConcurrencyError } from "../dataverse";
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

/**
 * The ETag under which `claim` still holds the run row; throws ItemClaimLostError otherwise. A finished row is
 * held by nobody: a stale-run takeover or the poison handler marks a run failed without touching its claim.
 */
export async function claimedEtag(dv: DataverseClient, runId: string, claim: ItemClaim): Promise<string> {
  const state = await readRunState(dv, runId);
  const finished = state?.status !== undefined && FINISHED_RUN_STATUSES.has(state.status);
  if (!state || finished || !sameClaim(state.checkpoint?.item, claim)) throw new ItemClaimLostError(runId);
  return state.etag;
}

/**
 * Updates the run row only while `claim` holds it (read, compare, PATCH with If-Match). Other writers touch the
 * row too (an admin's cancel stamp, the UI): a 412 is judged again from a fresh read, and only a lost claim stops.
 */
export async function fencedUpdate(dv: DataverseClient, runId: string, claim: ItemClaim, body: Record<string, unknown>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const etag = await claimedEtag(dv, runId, claim);
    try {
      await dv.update(SETS.syncRun, runId, body, { ifMatch: etag });
      return;
    } catch (error) {
      if (!(error instanceof DataverseConcurrencyError)) throw error;
      if (attempt >= FENCED_WRITE_ATTEMPTS) throw new ItemClaimLostError(runId);
    }
  }
}

/** Writes of the run row racing other writers before the item gives the row up as lost. */
export const FENCED_WRITE_ATTEMPTS = 5;
