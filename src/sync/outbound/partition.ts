/**
 * How a fanned-out outbound phase splits its pending rows between branch items (pure). Rows are independent
 * (each is claimed by its own If-Match write on the row), so any split is safe; ranges of row ids keep the split
 * stable for a branch that re-reads its rows later: every id falls in exactly one range, whatever rows are
 * pending by then. Ids are compared as lower-case strings, not in Dataverse's GUID order, so the branch filters
 * its rows itself after one query of the pending rows. A server-side range (`w365_providersubscriptionid ge … and
 * lt …`) would not select the same rows: Dataverse keeps ids as SQL Server uniqueidentifier values, which compare
 * the last six bytes first, not the text ("Comparing GUID and uniqueidentifier values",
 * https://learn.microsoft.com/dotnet/framework/data/adonet/sql/comparing-guid-and-uniqueidentifier-values), while
 * the emulator compares the text; ranges in that order would need the emulator to follow it and the ranges of runs
 * already fanned out to keep their meaning.
 */

/** A range of row ids: `from` (inclusive) to `to` (exclusive), either end open when absent. */
export interface IdRange {
  from?: string;
  to?: string;
}

/** How many branches `pending` rows get: none (one item does them) up to the threshold, else one per `threshold` rows, at most `max`. */
export function branchCount(pending: number, o: { rows: number; branches: number }): number {
  if (o.branches < 2 || pending <= o.rows) return 0;
  return Math.min(o.branches, Math.ceil(pending / o.rows));
}

/** Splits the ids into `n` ranges of near-equal counts, covering every possible id (first and last ends open). */
export function splitIds(ids: string[], n: number): IdRange[] {
  const sorted = [...new Set(ids.map((id) => id.toLowerCase()))].sort();
  const parts = Math.max(1, Math.min(n, sorted.length));
  const ranges: IdRange[] = [];
  for (let k = 0; k < parts; k++) {
    const from = k === 0 ? undefined : sorted[Math.floor((k * sorted.length) / parts)];
    const to = k === parts - 1 ? undefined : sorted[Math.floor(((k + 1) * sorted.length) / parts)];
    ranges.push({ ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) });
  }
  return ranges;
}

/** Whether a row id is in the range and after `last` (the last row an earlier turn of the branch finished). */
export function inRange(id: string, range: IdRange & { last?: string }): boolean {
  const key = id.toLowerCase();
  if (range.from !== undefined && key < range.from) return false;
  if (range.to !== undefined && key >= range.to) return false;
  return range.last === undefined || key > range.last;
}
