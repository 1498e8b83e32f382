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

/**
 * Iterates `source` while always keeping the next item's fetch in flight: the next Ion page downloads
 * while the current one is processed and written. Starts fetching at once (before the first `next()`),
 * so callers can overlap the first page with their own reads.
 */
export function readAhead<T>(source: AsyncIterable<T>): AsyncIterable<T> {
  const it = source[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<T>> | undefined = it.next();
  // A rejection is handled when the consumer reaches it; avoid an unhandled-rejection warning meanwhile.
  pending.catch(() => undefined);
  return {
    [Symbol.asyncIterator]() {
      return {
        async next(): Promise<IteratorResult<T>> {
          if (!pending) return { done: true, value: undefined };
          const current = await pending;
          if (current.done) {
            pending = undefined;
            return current;
          }
          pending = it.next();
          pending.catch(() => undefined);
          return current;
        },
        async return(): Promise<IteratorResult<T>> {
          pending = undefined;
          await it.return?.();
          return { done: true, value: undefined };
        },
      };
    },
  };
}
