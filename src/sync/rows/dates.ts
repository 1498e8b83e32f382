/** Date helpers shared by the mappers: Ion sends RFC 3339 strings, Dataverse takes ISO strings. */

/**
 * ISO 8601 UTC timestamp at whole seconds (Dataverse date-times have no milliseconds, so a value read
 * back must equal what was written), or null when absent/unparsable (null clears the column).
 */
export function toIsoOrNull(value: string | number | Date | undefined | null): string | null {
  if (value === undefined || value === null || value === "") return null;
  // Ion's own form needs no Date round trip (five dates per subscription, every sync).
  if (typeof value === "string") {
    const canonical = canonicalUtcSeconds(value);
    if (canonical !== undefined) return canonical;
  }
  const ms = value instanceof Date ? value.getTime() : typeof value === "number" ? value : Date.parse(value);
  if (Number.isNaN(ms)) return null;
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const ZERO = 48;

/** Two ASCII digits at `at` as a number, or -1. */
function twoDigits(text: string, at: number): number {
  const a = text.charCodeAt(at) - ZERO;
  const b = text.charCodeAt(at + 1) - ZERO;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/**
 * `YYYY-MM-DDTHH:MM:SSZ` or `YYYY-MM-DDTHH:MM:SS.sssZ` naming a real instant → the whole-second form,
 * which is exactly what the Date round trip of toIsoOrNull returns for it (flooring to the second only
 * drops the fraction, even before 1970). Anything else (24:00, 30 February, offsets, other fraction
 * lengths, extended years) → undefined, for the Date path to decide.
 */
function canonicalUtcSeconds(text: string): string | undefined {
  const length = text.length;
  if (length !== 20 && length !== 24) return undefined;
  if (text.charCodeAt(length - 1) !== 90 /* Z */) return undefined;
  if (
    text.charCodeAt(4) !== 45 ||
    text.charCodeAt(7) !== 45 ||
    text.charCodeAt(10) !== 84 ||
    text.charCodeAt(13) !== 58 ||
    text.charCodeAt(16) !== 58
  )
    return undefined;
  if (length === 24 && (text.charCodeAt(19) !== 46 /* . */ || twoDigits(text, 20) < 0 || twoDigits(text, 21) < 0)) return undefined;
  const century = twoDigits(text, 0);
  const yearInCentury = twoDigits(text, 2);
  const month = twoDigits(text, 5);
  const day = twoDigits(text, 8);
  if (century < 0 || yearInCentury < 0 || month < 1 || month > 12 || day < 1) return undefined;
  if (
    twoDigits(text, 11) < 0 ||
    twoDigits(text, 11) > 23 ||
    twoDigits(text, 14) < 0 ||
    twoDigits(text, 14) > 59 ||
    twoDigits(text, 17) < 0 ||
    twoDigits(text, 17) > 59
  )
    return undefined;
  const year = century * 100 + yearInCentury;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > DAYS_IN_MONTH[month - 1]! + (month === 2 && leap ? 1 : 0)) return undefined;
  return length === 20 ? text : `${text.slice(0, 19)}Z`;
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
