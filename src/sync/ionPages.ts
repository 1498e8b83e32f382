/**
 * Ion's subscription list read several pages at a time. Subscriptions are offset-paged (docs/platform/ion-api.md §5):
 * once the first page gives the total, every later page's offset is known, so the pages need not follow
 * one another as token pages must. Pages are yielded in order, at most `concurrency` fetched ahead.
 *
 * Page size: Ion's reference documents `pagination.limit` with a default of 100 and no maximum; community
 * clients ask for 1,000 on other lists. The first page asks for `limit`; a 400 (Ion refusing the size)
 * falls back to `fallbackLimit`, and a server that answers fewer rows than asked (a cap) sets the step.
 */
import type { IonClient } from "../ion";
import { IonValidationError } from "../ion/errors";
import type { OffsetPage } from "../ion/paging";
import type { IonSubscriptionRecord } from "../ion/parse/subscription";
import { DEFAULT_SUBSCRIPTION_PAGE_LIMIT as ION_DEFAULT_SUBSCRIPTION_PAGE_LIMIT } from "../ion/subscriptions";

/** Subscription pages fetched at once (within the Ion client's own concurrency cap). */
export const ION_PAGE_CONCURRENCY = 4;

/**
 * Every Ion subscription of the account, `limit` per page (falling back to Ion's documented 100), several
 * pages at a time: `concurrency` (asked before each page, default ION_PAGE_CONCURRENCY).
 */
export function subscriptionPages(
  ion: IonClient,
  limit: number,
  o: Pick<ParallelPagesOptions, "buffered" | "expected" | "onShape"> & { concurrency?: () => number } = {},
): AsyncIterable<IonSubscriptionRecord[]> {
  return parallelOffsetPages((offset, pageLimit) => ion.subscriptions.recordPage(offset, pageLimit), {
    ...o,
    limit,
    fallbackLimit: ION_DEFAULT_SUBSCRIPTION_PAGE_LIMIT,
    concurrency: o.concurrency ?? ION_PAGE_CONCURRENCY,
  });
}

export interface ParallelPagesOptions {
  limit: number;
  fallbackLimit: number;
  /** Pages in flight at most; a function is asked again before each page. */
  concurrency: number | (() => number);
  /**
   * Pages answered but not yet taken that may wait beside those in flight (default none: a page is asked for
   * only once one is taken). With room here the next pages are asked for as soon as one answers, so a burst of
   * processing (the pages that waited for the stored state) does not leave Ion's slots idle.
   */
  buffered?: () => number;
  /**
   * The list as the last full read found it (page step and total). When its step is the `limit` asked, the
   * pages after the first are asked for beside it, not once it answers (a round trip and Ion's server time
   * earlier): the first page then checks the guess, and pages at offsets it does not confirm are dropped.
   */
  expected?: ListShape;
  /** Called once the first page gives the list's shape (to be kept as the next read's `expected`). */
  onShape?: (shape: ListShape) => void;
}

/** An offset-paged list's shape: the step between page offsets, and the total the server reported. */
export interface ListShape {
  step: number;
  total: number;
}

/**
 * Pure: the offsets a read asks for before its first page answers: 0, then, when the last read's shape has the
 * step asked for, the offsets after it within its total, up to `concurrency` pages in all.
 */
export function openingOffsets(limit: number, expected: ListShape | undefined, concurrency: number): number[] {
  const offsets = [0];
  if (expected && expected.step === limit && Number.isInteger(expected.step) && expected.step > 0)
    for (let offset = expected.step; offset < expected.total && offsets.length < concurrency; offset += expected.step) offsets.push(offset);
  return offsets;
}

export async function* parallelOffsetPages<T>(
  fetchPage: (offset: number, limit: number) => Promise<OffsetPage<T>>,
  o: ParallelPagesOptions,
): AsyncGenerator<T[]> {
  let limit = o.limit;
  const concurrencyNow = () => Math.max(1, typeof o.concurrency === "function" ? o.concurrency() : o.concurrency);
  // Pages asked for beside the first one, on the last read's shape: [offset, answer].
  const guessed: [number, Promise<OffsetPage<T>>][] = [];
  let guessesInFlight = 0;
  // Once the pages ahead are being asked for, a guess that answers frees its slot for the next one.
  let guessSettled = () => undefined as void;
  // The first page is asked for first: it is the one that confirms the others.
  let firstAsked: Promise<OffsetPage<T>> | undefined = fetchPage(0, limit);
  firstAsked.catch(() => undefined);
  for (const offset of openingOffsets(limit, o.expected, concurrencyNow()).slice(1)) {
    const p = fetchPage(offset, limit);
    guessesInFlight++;
    const settled = () => {
      guessesInFlight--;
      guessSettled();
    };
    p.then(settled, settled);
    p.catch(() => undefined);
    guessed.push([offset, p]);
  }
  let first: OffsetPage<T> | undefined;
  try {
    first = await firstAsked;
  } catch (error) {
    if (!(error instanceof IonValidationError) || limit <= o.fallbackLimit) throw error;
    limit = o.fallbackLimit;
    first = await fetchPage(0, limit);
  }
  // A settled promise holds its page as long as it is referenced (memory: see below).
  firstAsked = undefined;
  // Guessed pages are held here only until the first page confirms them (they move into the pages ahead).
  const guesses = guessed.splice(0);
  const total = first.totalSize;
  // A page handed out is let go once the consumer asks for the next one: a generator keeps its variables
  // (even those it no longer reads) while suspended, and would hold a page of 1,000 records meanwhile.
  let items: T[] | undefined = first.items;
  first = undefined;
  const firstCount = items.length;
  if (firstCount === 0) return;
  // A page shorter than asked is the server's cap (or the end): later offsets step by what it gives.
  const step = Math.min(limit, firstCount);
  if (total !== undefined) o.onShape?.({ step, total });
  if (total === undefined) {
    guesses.length = 0;
    // No total: walk one page after another until a short or empty page.
    yield items;
    items = undefined;
    if (firstCount < limit) return;
    for (let offset = step; ; offset += step) {
      items = (await fetchPage(offset, limit)).items;
      const count = items.length;
      if (count === 0) return;
      yield items;
      items = undefined;
      if (count < step) return;
    }
  }
  const offsets: number[] = [];
  for (let offset = step; offset < total; offset += step) offsets.push(offset);
  const ahead: Promise<OffsetPage<T>>[] = [];
  let next = 0;
  // The guesses the first page confirms (same step, within the total) are the first pages ahead; the others
  // are dropped, though still counted in flight until they answer (they hold Ion's slots as much).
  for (const [offset, page] of guesses) {
    if (offsets[next] !== offset) break;
    ahead.push(page);
    next++;
  }
  guesses.length = 0;
  let inFlight = 0;
  let stopped = false;
  const top = () => {
    const concurrency = concurrencyNow();
    const room = concurrency + Math.max(0, o.buffered?.() ?? 0);
    while (!stopped && inFlight + guessesInFlight < concurrency && ahead.length < room && next < offsets.length) {
      inFlight++;
      const p = fetchPage(offsets[next++]!, step);
      const settled = () => {
        inFlight--;
        top();
      };
      p.then(settled, settled);
      // Handled when the consumer reaches it.
      p.catch(() => undefined);
      ahead.push(p);
    }
  };
  guessSettled = top;
  try {
    top();
    yield items;
    items = undefined;
    while (ahead.length > 0) {
      items = (await ahead.shift()!).items;
      top();
      if (items.length === 0) return;
      yield items;
      items = undefined;
    }
  } finally {
    stopped = true;
  }
}
