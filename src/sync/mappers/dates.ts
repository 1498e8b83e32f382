/** Date helpers shared by the mappers: Ion sends RFC 3339 strings, Dataverse takes ISO strings. */

/**
 * ISO 8601 UTC timestamp at whole seconds (Dataverse date-times have no milliseconds, so a value read
 * back must equal what was written), or null when absent/unparsable (null clears the column).
 */
export function toIsoOrNull(value: string | number | Date | undefined | null): string | null {
  if (value === undefined || value === null || value === "") return null;
  const ms = value instanceof Date ? value.getTime() : typeof value === "number" ? value : Date.parse(value);
  if (Number.isNaN(ms)) return null;
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/** Epoch ms of an ISO/Dataverse date string, or undefined. */
export function toEpochMs(value: unknown): number | undefined {
  if (typeof value !== "string" || value === "") return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Same instant? Dataverse may return a date without milliseconds, so compare by time, not text. */
export function sameInstant(a: unknown, b: unknown): boolean {
  const x = toEpochMs(a);
  const y = toEpochMs(b);
  if (x === undefined || y === undefined) return x === y;
  return Math.floor(x / 1000) === Math.floor(y / 1000);
}
