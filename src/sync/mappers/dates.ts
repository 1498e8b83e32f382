/** Date helpers shared by the mappers: Ion sends RFC 3339 strings, Dataverse takes ISO strings. */

/** ISO 8601 UTC timestamp, or null when absent/unparsable (null clears the column on write). */
export function toIsoOrNull(value: string | number | Date | undefined | null): string | null {
  if (value === undefined || value === null || value === "") return null;
  const ms = value instanceof Date ? value.getTime() : typeof value === "number" ? value : Date.parse(value);
  if (Number.isNaN(ms)) return null;
  return new Date(ms).toISOString();
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
  return x === y;
}
