/**
 * Stopping a run on request: an admin's Cancel stamps w365_cancelrequestedon on the run row, and deactivating the
 * connector (statecode Inactive) means "syncs stop" too. The run checks both between pages and between outbound
 * rows, at most once per interval (one small read, not one per page), and ends as canceled with its counts so far.
 * Stopping there leaves nothing half-written: every write is an idempotent upsert by alternate key and the pages
 * already read are drained before the run ends, so the next run continues without duplicates.
 */
import type { DataverseClient } from "../dataverse";
import { w365_providerconnection_statecode } from "../schema";
import type { Clock } from "../shared/clock";
import { SyncError } from "./errors";
import { SETS } from "./schema";

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
}

/** One run's watch for a cancel request. Sticky: once canceled, every later check throws without a request. */
export class CancelWatch {
  private lastCheck: number;
  private canceled?: RunCanceledError;

  constructor(
    private readonly dv: DataverseClient,
    private readonly clock: Clock,
    private readonly o: CancelWatchOptions,
  ) {
    this.lastCheck = clock.now();
  }

  /** Throws RunCanceledError when the run should stop; reads the run row only when the interval has passed or `force`. */
  async check(force = false): Promise<void> {
    if (this.canceled) throw this.canceled;
    const now = this.clock.now();
    if (!force && now - this.lastCheck < (this.o.intervalMs ?? CANCEL_CHECK_INTERVAL_MS)) return;
    this.lastCheck = now;
    // One request: the run row's cancel stamp with its connector's state.
    const row = await this.dv.tryRetrieve<{
      w365_cancelrequestedon?: string | null;
      w365_connection?: { statecode?: number | null } | null;
    }>(SETS.syncRun, this.o.runId, { select: ["w365_cancelrequestedon"], expand: "w365_connection($select=statecode)" });
    const reason = cancelReason(row);
    if (reason) {
      this.canceled = new RunCanceledError(reason, canceledMessage(reason, this.o.connectionName));
      throw this.canceled;
    }
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
