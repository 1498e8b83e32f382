/**
 * The floor: the fewest Dataverse requests any sync of the same data could make. Pure.
 *
 * - every data set the run must read, paged at 5,000 rows (an empty set still costs one request);
 * - every row whose content really changed, written in $batch requests of 1,000;
 * - the run's own minimum bookkeeping: read the connector, create the w365_syncrun row, finish it
 *   (the contract requires each sync to record a run; without these three no sync can run).
 */

/** Dataverse's maximum page size (Prefer: odata.maxpagesize). */
export const FLOOR_PAGE_SIZE = 5000;
/** Dataverse's maximum $batch size. */
export const FLOOR_BATCH_SIZE = 1000;
/** Connector read + run row create + run row finish. */
export const FLOOR_BOOKKEEPING_REQUESTS = 3;

export interface FloorInput {
  /** Rows in each data set the run must read (entity set → rows). */
  reads: Record<string, number>;
  /** Rows whose content changed (all tables together: one $batch may carry several tables). */
  changedRows: number;
  /** Defaults to FLOOR_BOOKKEEPING_REQUESTS. */
  bookkeeping?: number;
}

export interface Floor {
  requests: number;
  readRequests: number;
  writeRequests: number;
  bookkeepingRequests: number;
  /** Pages per data set. */
  pages: Record<string, number>;
}

export function pagesFor(rows: number, pageSize = FLOOR_PAGE_SIZE): number {
  return Math.max(1, Math.ceil(Math.max(0, rows) / pageSize));
}

export function computeFloor(input: FloorInput): Floor {
  const pages: Record<string, number> = {};
  let readRequests = 0;
  for (const [set, rows] of Object.entries(input.reads)) {
    pages[set] = pagesFor(rows);
    readRequests += pages[set]!;
  }
  const writeRequests = Math.ceil(Math.max(0, input.changedRows) / FLOOR_BATCH_SIZE);
  const bookkeepingRequests = input.bookkeeping ?? FLOOR_BOOKKEEPING_REQUESTS;
  return { requests: readRequests + writeRequests + bookkeepingRequests, readRequests, writeRequests, bookkeepingRequests, pages };
}

/**
 * The data sets a run must read. Provider accounts and provider subscriptions always (change detection
 * needs the stored state); existing accounts only when some customer needs matching (a new customer, or a
 * changed one that is not yet Mapped or Ignored and whose change touches what matching reads).
 */
export function requiredReads(o: {
  providerAccounts: number;
  providerSubscriptions: number;
  accounts: number;
  matchingNeeded: boolean;
}): Record<string, number> {
  const reads: Record<string, number> = { w365_provideraccounts: o.providerAccounts, w365_providersubscriptions: o.providerSubscriptions };
  if (o.matchingNeeded) reads.accounts = o.accounts;
  return reads;
}
