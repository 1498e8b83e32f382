/**
 * Ion's two paging styles (docs/platform/ion-api.md §5) as async generators over pages:
 * token paging (customers, orders, products) and offset paging (subscriptions).
 */
import { IonResponseError } from "./errors";

export interface TokenPage<T> {
  items: T[];
  nextPageToken?: string;
}

/** Follows nextPageToken until it is empty or absent; a token seen before means a server loop. */
export async function* tokenPages<T>(
  fetchPage: (pageToken: string | undefined) => Promise<TokenPage<T>>,
  endpoint: string,
): AsyncGenerator<T[]> {
  const seen = new Set<string>();
  let token: string | undefined;
  for (;;) {
    const page = await fetchPage(token);
    yield page.items;
    const next = page.nextPageToken;
    if (!next) return;
    if (seen.has(next)) {
      throw new IonResponseError(
        "ION_PAGING_LOOP",
        `StreamOne Ion ${endpoint} returned a page token it had already returned; stopping to avoid an endless loop.`,
        { endpoint },
      );
    }
    seen.add(next);
    token = next;
  }
}

export interface OffsetPage<T> {
  items: T[];
  totalSize?: number;
}

/**
 * Pages by offset/limit. With a `totalSize` the walk continues until offset reaches it (a server that
 * caps `limit` below ours still gets read completely); without one it stops at the first short page.
 * An empty page always stops.
 */
export async function* offsetPages<T>(
  fetchPage: (offset: number, limit: number) => Promise<OffsetPage<T>>,
  limit: number,
): AsyncGenerator<T[]> {
  let offset = 0;
  for (;;) {
    const page = await fetchPage(offset, limit);
    if (page.items.length === 0) return;
    yield page.items;
    offset += page.items.length;
    if (page.totalSize !== undefined) {
      if (offset >= page.totalSize) return;
    } else if (page.items.length < limit) return;
  }
}

/** Flattens pages into items. */
export async function* flatten<T>(pages: AsyncIterable<T[]>): AsyncGenerator<T> {
  for await (const page of pages) for (const item of page) yield item;
}

/** Collects an async iterable (for callers that want an array). */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
