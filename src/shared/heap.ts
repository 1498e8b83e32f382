import { setFlagsFromString } from "node:v8";

/**
 * How far V8 may grow the heap past the live set after a full collection, in percent (peak RSS).
 *
 * By default V8 lets the old generation grow to up to 4 times what survived the last full collection
 * before it collects again, and more on a machine with memory to spare. A sync streams tens of thousands
 * of rows in 5,000-row pages whose parsed objects die soon after, so its resident memory becomes mostly
 * garbage waiting for that limit: at 10,000 customers x 5 subscriptions the live heap is 40-70 MB and the
 * peak RSS 330-360 MB. Capping the growth at 1.5 times the live set bounds the peak in proportion to what
 * the run really holds (no fixed ceiling: a larger reseller gets a larger heap, never an out-of-memory
 * crash, which `--max-old-space-size` would risk) for a few percent more time in the collector.
 */
export const HEAP_GROWING_PERCENT = 50;

let tuned = false;

/**
 * Sets V8's heap growing factor for this process (the CLI and the functions app call it first thing).
 * The flag is read at every full collection, so setting it at run time takes effect from the next one.
 * An operator who passes `--heap-growing-percent` on the command line keeps their value.
 */
export function tuneHeapGrowth(percent = HEAP_GROWING_PERCENT, execArgv: readonly string[] = process.execArgv): boolean {
  if (tuned || execArgv.some((a) => a.startsWith("--heap-growing-percent") || a.startsWith("--heap_growing_percent"))) return false;
  if (!Number.isInteger(percent) || percent < 1)
    throw new RangeError(`Heap growing percent must be a whole number of at least 1, got ${percent}.`);
  setFlagsFromString(`--heap-growing-percent=${percent}`);
  tuned = true;
  return true;
}
