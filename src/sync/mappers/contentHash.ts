import { createHash } from "node:crypto";

/**
 * Stable JSON: object keys sorted, `undefined` members dropped, numbers normalised (-0 → 0), so two
 * rows with the same content always give the same text whatever order their columns were built in.
 */
export function stableStringify(value: unknown): string {
  if (value === undefined) return "null";
  if (value === null || typeof value !== "object") {
    if (typeof value === "number") return Number.isFinite(value) ? JSON.stringify(value === 0 ? 0 : value) : "null";
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(",")}]`;
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(",")}}`;
}

/**
 * Content hash of a mapped row, stored in w365_contenthash: a row is written only when the hash of what
 * it would become differs from the stored one (issue 8: zero writes when nothing changed). Versioned so
 * a mapper change forces one rewrite instead of silently keeping stale rows.
 */
export const HASH_VERSION = "v1";

export function contentHash(row: Record<string, unknown>): string {
  return `${HASH_VERSION}:${createHash("sha256").update(stableStringify(row)).digest("base64url").slice(0, 32)}`;
}
