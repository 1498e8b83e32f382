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
  // Keys in code-unit order (what sort() does for strings); one string built in a loop: this runs for
  // every Ion row on every sync (issue 8), so no intermediate entry arrays.
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).sort();
  let out = "{";
  for (const k of keys) {
    const v = obj[k];
    if (v === undefined) continue;
    if (out.length > 1) out += ",";
    out += `${JSON.stringify(k)}:${stableStringify(v)}`;
  }
  return `${out}}`;
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
