/** Runs `fn` over `items` with at most `limit` in flight; results keep the input order. */
export async function mapPool<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  });
  await Promise.all(workers);
  return out;
}

/** A read-ahead whose consumer can widen it while it waits on something other than the items. */
export interface ReadAhead<T> extends AsyncIterable<T> {
  /**
   * While `wait` is pending, keeps up to `depth` items fetched ahead (instead of the usual depth): a cursor
   * chain keeps going while its consumer waits on another read. Returns `wait`.
   */
  whileWaiting<W>(wait: Promise<W>, depth: number): Promise<W>;
}

/**
 * Iterates `source` while always keeping the next item's fetch in flight: the next Ion page downloads
 * while the current one is processed and written. Starts fetching at once (before the first `next()`),
 * so callers can overlap the first page with their own reads. `depth` items are kept fetched ahead (default
 * one): for a chain of cursor pages, where each page can only be asked for once the one before answered,
 * a deeper buffer keeps the chain going while the consumer is slower for a page or two.
 */
export function readAhead<T>(source: AsyncIterable<T>, depth = 1): ReadAhead<T> {
  const waits: number[] = [];
  const reader = bufferedReader(source, () => Math.max(1, depth, ...waits));
  return {
    [Symbol.asyncIterator]: () => reader.iterator,
    whileWaiting<W>(wait: Promise<W>, waitDepth: number): Promise<W> {
      waits.push(waitDepth);
      reader.top();
      const done = () => {
        waits.splice(waits.indexOf(waitDepth), 1);
      };
      wait.then(done, done);
      return wait;
    },
  };
}

/**
 * Like `readAhead`, but while `until` is pending keeps up to `early` items fetched ahead instead of one: the
 * caller cannot start on the items yet (it waits for the stored rows to compare them with), so the reads
 * it will need next overlap that wait. Once `until` settles it reads `later` ahead (default one, as `readAhead`
 * does). Items are fetched one after another, never concurrently.
 */
export function readAheadUntil<T>(source: AsyncIterable<T>, until: Promise<unknown>, early: number, later = 1): AsyncIterable<T> {
  let settled = false;
  until.then(
    () => (settled = true),
    () => (settled = true),
  );
  const reader = bufferedReader(source, () => (settled ? Math.max(1, later) : Math.max(1, early, later)));
  return { [Symbol.asyncIterator]: () => reader.iterator };
}

/** The buffer behind the read-aheads: fetches items one after another while fewer than `depth()` are buffered. */
function bufferedReader<T>(source: AsyncIterable<T>, depth: () => number): { iterator: AsyncIterator<T>; top: () => void } {
  const it = source[Symbol.asyncIterator]();
  const queue: Promise<IteratorResult<T>>[] = [];
  let chain: Promise<unknown> = Promise.resolve();
  let ended = false;
  let closed = false;
  const top = () => {
    while (!ended && !closed && queue.length < depth()) {
      const next = chain.then(() => (ended || closed ? ({ done: true, value: undefined } as IteratorResult<T>) : it.next()));
      chain = next.then(
        (r) => {
          if (r.done) ended = true;
          else top();
        },
        () => {
          ended = true;
        },
      );
      // A rejection is handled when the consumer reaches it.
      next.catch(() => undefined);
      queue.push(next);
    }
  };
  top();
  const iterator: AsyncIterator<T> = {
    async next(): Promise<IteratorResult<T>> {
      top();
      const head = queue.shift();
      if (!head) return { done: true, value: undefined };
      const current = await head;
      if (current.done) {
        queue.length = 0;
        return current;
      }
      top();
      return current;
    },
    async return(): Promise<IteratorResult<T>> {
      closed = true;
      queue.length = 0;
      await it.return?.();
      return { done: true, value: undefined };
    },
  };
  return { iterator, top };
}

/**
 * For a long synchronous loop (matching a page of customers, comparing a page of subscriptions): returns a
 * promise to await when the loop has held the thread longer than `sliceMs` since its last turn, else
 * undefined. Awaiting it lets the event loop take the answers of requests in flight and send the next ones,
 * so a CPU-bound page does not leave Ion's and Dataverse's slots idle until it ends.
 */
export function eventLoopSlicer(sliceMs = 10): () => Promise<void> | undefined {
  let turn = performance.now();
  return () => {
    const now = performance.now();
    if (now - turn < sliceMs) return undefined;
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        turn = performance.now();
        resolve();
      }),
    );
  };
}
