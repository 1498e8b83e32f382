/**
 * Opaque page tokens for token-paged lists (docs/platform/ion-api.md §5): base64url JSON of the offset plus a hash of
 * the list and its filters, so a token replayed with other filters is refused (INFERRED, Google AIP).
 */
import { createHash } from "node:crypto";

import { SimApiError } from "./errors";

export function filterHash(list: string, filters: Record<string, unknown>): string {
  const keys = Object.keys(filters).sort();
  const canonical = JSON.stringify([list, keys.map((k) => [k, filters[k]])]);
  return createHash("sha256").update(canonical).digest("base64url").slice(0, 16);
}

export function encodePageToken(offset: number, hash: string): string {
  return Buffer.from(JSON.stringify({ o: offset, f: hash }), "utf8").toString("base64url");
}

/** The offset a token points at; throws INVALID_ARGUMENT when it is malformed or bound to other filters. */
export function decodePageToken(token: string, hash: string): number {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw new SimApiError("INVALID_ARGUMENT", "invalid page token");
  }
  const p = parsed as { o?: unknown; f?: unknown };
  if (!parsed || typeof parsed !== "object" || typeof p.o !== "number" || !Number.isInteger(p.o) || p.o < 0 || typeof p.f !== "string") {
    throw new SimApiError("INVALID_ARGUMENT", "invalid page token");
  }
  if (p.f !== hash) throw new SimApiError("INVALID_ARGUMENT", "page token does not match the request: filters changed between pages");
  return p.o;
}

/**
 * Reads pageSize/pageToken (§5: at least one is required), caps the size and slices `items`.
 * Returns the page and the next token ("" on the last page).
 */
export function tokenPage<T>(
  items: readonly T[],
  query: { pageSize?: string; pageToken?: string },
  hash: string,
  maxPageSize: number,
  defaultPageSize = 100,
): { page: T[]; nextPageToken: string } {
  const hasSize = query.pageSize !== undefined && query.pageSize !== "";
  const hasToken = query.pageToken !== undefined && query.pageToken !== "";
  if (!hasSize && !hasToken) {
    throw new SimApiError("INVALID_REQUEST", "At least one of page_size and page_token must be present");
  }
  let size = defaultPageSize;
  if (hasSize) {
    size = Number(query.pageSize);
    if (!Number.isInteger(size) || size < 0) throw new SimApiError("INVALID_ARGUMENT", `invalid value for pageSize: '${query.pageSize}'`);
    if (size === 0) size = defaultPageSize;
  }
  size = Math.min(size, maxPageSize);
  const offset = hasToken ? decodePageToken(query.pageToken as string, hash) : 0;
  const page = items.slice(offset, offset + size);
  const next = offset + size < items.length ? encodePageToken(offset + size, hash) : "";
  return { page, nextPageToken: next };
}
