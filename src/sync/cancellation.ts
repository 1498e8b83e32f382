/**
 * Stopping a run on request: an admin's Cancel stamps w365_cancelrequestedon on the run row, and deactivating the
 * connector (statecode Inactive) means "syncs stop" too. The run checks both between pages and between outbound
 * rows, at most once per interval (one small read, not one per page), and ends as canceled with its counts so far.
 * Stopping there leaves nothing half-written: every write is an idempotent upsert by alternate key and the pages
 * already read are drained before the run ends, so the next run continues without duplicates.
 */
import { w365_providerconnection_statecode } from "../schema";
import type { Clock } from "../shared/clock";
import { SyncError } from "./errors";
import type { RunRowLink } from "./itemClaim";

/** How often a running sync reads its run row for a cancel request (the progress writes' own interval). */
export const CANCEL_CHECK_INTERVAL_MS = 5_000;

export type CancelReason = "requested" | "deactivated";

/** The run was asked to stop (an admin's Cancel, or the connector was deactivated). */
export class RunCanceledError extends SyncError {
  constructor(
    readonly reason: CancelReason,
    message: string,
  ) {
    super("SYNC_RUN_CANCELED", message);
  }
}

export interface CancelWatchOptions {
  runId: string;
  connectionId: string;
  connectionName: string;
  /** Minimum time between two reads; 0 reads at every check. */
  intervalMs?: number;
  /**
   * The run's link to its row (./itemClaim.ts): the check reads through it (the same read also refreshes the
   * fenced writes' ETag and judges the claim), and judges for free what its reads and writes already showed.
   */
  row: RunRowLink;
}

/**
 * One run's watch for a cancel request. Sticky: once canceled, every later check throws without a request.
 * Any read of the row the run made for another reason (the start, a fenced write's
 * re-read after a 412) counts as a check, and a cancel stamp a write's answer showed stops the run at once.
 */
export class CancelWatch {
  private lastCheck: number;
  private judged = 0;
  private canceled?: RunCanceledError;

  constructor(
    private readonly clock: Clock,
    private readonly o: CancelWatchOptions,
  ) {
    this.lastCheck = clock.now();
  }

  /** Throws RunCanceledError when the run should stop; reads the run row only when the interval has passed or `force`. */
  async check(force = false): Promise<void> {
    if (this.canceled) throw this.canceled;
    const link = this.o.row;
    // What the run's own reads and writes already showed, judged without a request.
    if (link.cancelRequestedOn) this.stopIf("requested");
    const now = this.clock.now();
    const interval = this.o.intervalMs ?? CANCEL_CHECK_INTERVAL_MS;
    const seen = link.latestSince(this.judged);
    if (seen) {
      this.judged = seen.seq;
      this.lastCheck = Math.max(this.lastCheck, seen.at);
      this.stopIf(cancelReason(seen.row));
      // A read the run made since the last check (its start's, a fenced write's re-read) is this check, forced or not.
      if (now - seen.at <= interval) return;
    }
    if (!force && now - this.lastCheck < interval) return;
    this.lastCheck = now;
    // One request: the run row's cancel stamp with its connector's state (and the claim judged, the ETag kept).
    await link.read();
    const read = link.latestSince(this.judged);
    if (read) this.judged = read.seq;
    this.stopIf(cancelReason(read?.row));
  }

  private stopIf(reason: CancelReason | undefined): void {
    if (!reason) return;
    this.canceled = new RunCanceledError(reason, canceledMessage(reason, this.o.connectionName));
    throw this.canceled;
  }
}

/** Why a run row read with its connector says to stop, if it does. A missing run row or connector also stops it. */
export function cancelReason(
  row: { w365_cancelrequestedon?: string | null; w365_connection?: { statecode?: number | null } | null } | undefined,
): CancelReason | undefined {
  if (!row) return "requested";
  if (row.w365_cancelrequestedon) return "requested";
  if (row.w365_connection === null) return "deactivated"; // the connector was deleted under the run
  const state = row.w365_connection?.statecode;
  if (state !== undefined && state !== null && Number(state) !== w365_providerconnection_statecode.Active) return "deactivated";
  return undefined;
}

export function canceledMessage(reason: CancelReason, connectionName: string): string {
  return reason === "requested"
    ? "Canceled by an admin. Rows written before the cancel are kept; the next sync continues from there."
    : `Stopped: the connector "${connectionName}" is deactivated. Activate it to sync again.`;
}
