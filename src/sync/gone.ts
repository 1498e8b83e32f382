/**
 * "No longer in Ion", confirmed. Ion pages customers and subscriptions by position (an offset, or a page
 * token standing for one): a record deleted while a run is between two page reads moves every later record
 * one place up, so one that still exists slips past the page boundary and is on no page the run read.
 * A stored row missing from the pages is therefore flagged only when a direct read of it says it is gone
 * (404); one request per newly missing row, none for rows that were listed or are already flagged.
 */
import { IonNotFoundError } from "../ion";
import { ensureError } from "../shared/errors";
import { mapPool } from "../shared/pool";
import type { SyncContext } from "./context";
import type { RunRecorder } from "./runs";

/** Direct reads in flight at once (the Ion client caps its own concurrency too). */
export const CONFIRM_CONCURRENCY = 4;

/** Report count: rows absent from the pages that a direct read still found in Ion (not flagged). */
export const FOUND_ON_DIRECT_READ = "missing-not-confirmed";
/** Report count: rows absent from the pages whose direct read failed (not flagged this run, looked at again next run). */
export const MISSING_UNCONFIRMED = "missing-check-failed";

export interface GoneCandidate {
  key: string;
  name?: string;
  /** Reads the record directly from Ion (throws IonNotFoundError when Ion no longer has it); absent: no way to ask, taken as gone. */
  read?: () => Promise<unknown>;
}

/** The rows Ion confirms are gone; the others are reported and left as they are. */
export async function confirmGone<Row>(
  ctx: SyncContext,
  run: RunRecorder,
  rows: readonly Row[],
  describe: (row: Row) => GoneCandidate,
): Promise<Row[]> {
  const verdicts = await mapPool(rows, CONFIRM_CONCURRENCY, async (row) => {
    const c = describe(row);
    if (!c.read) return true;
    try {
      await c.read();
      run.report.count(FOUND_ON_DIRECT_READ);
      ctx.logger.info("listed on no page, but Ion still has it: not flagged missing", { key: c.key });
      return false;
    } catch (error) {
      if (error instanceof IonNotFoundError) return true;
      run.report.count(MISSING_UNCONFIRMED);
      ctx.logger.warn("could not confirm with Ion that a record is gone; not flagged this run", {
        key: c.key,
        error: ensureError(error).message,
      });
      return false;
    }
  });
  return rows.filter((_, i) => verdicts[i]);
}
