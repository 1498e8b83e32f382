import * as crypto from "node:crypto";

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
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  // Mapped rows are flat and built with their keys already sorted (every Ion row is hashed on
  // every sync); for those JSON.stringify writes exactly the text of the general path below.
  if (isSortedFlatPlainObject(obj, keys)) return JSON.stringify(obj);
  // Keys in code-unit order (what sort() does for strings); one string built in a loop, no intermediate
  // entry arrays.
  keys.sort();
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
 * True when JSON.stringify(obj) equals the general path's text: a plain object (no toJSON of a class),
 * keys in code-unit order as Object.keys lists them, and only values JSON.stringify writes the same way
 * (strings, booleans, null, numbers: it too writes -0 as 0 and non-finite as null; undefined members are
 * dropped by both). Anything else (nested values, functions, bigint, symbols) takes the general path.
 */
function isSortedFlatPlainObject(obj: Record<string, unknown>, keys: string[]): boolean {
  const proto: unknown = Object.getPrototypeOf(obj);
  if (proto !== Object.prototype && proto !== null) return false;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (i > 0 && !(keys[i - 1]! < key)) return false;
    const v = obj[key];
    const type = typeof v;
    if (v !== null && type !== "string" && type !== "number" && type !== "boolean" && type !== "undefined") return false;
  }
  return true;
}

/**
 * Content hash of a mapped row, stored in w365_contenthash: a row is written only when the hash of what
 * it would become differs from the stored one (zero writes when nothing changed). Versioned so
 * a mapper change forces one rewrite instead of silently keeping stale rows.
 */
export const HASH_VERSION = "v1";

export function contentHash(row: Record<string, unknown>): string {
  return hashOfText(stableStringify(row));
}

/**
 * `contentHash` of a row its caller builds flat (strings, numbers, booleans, null, undefined) with its keys
 * already in code-unit order: the same text and hash, without checking the keys on every row (the sync hashes
 * every Ion subscription of every run). `subscriptionHashedContent` is such a builder; its hashes are pinned.
 */
export function sortedFlatContentHash(row: Record<string, unknown>): string {
  return hashOfText(JSON.stringify(row));
}

/** The stored form of a content hash: the version, then 32 base64url characters of SHA-256 over the row's text. */
function hashOfText(text: string): string {
  return `${HASH_VERSION}:${sha256Base64Url(text).slice(0, 32)}`;
}

type OneShotHash = (algorithm: string, data: string, outputEncoding: "base64url") => string;
/** crypto.hash (Node ≥ 20.12) skips the Hash object; same digest as createHash, which older Node uses. */
const oneShotHash = (crypto as unknown as { hash?: OneShotHash }).hash;

export function sha256Base64Url(text: string): string {
  return oneShotHash ? oneShotHash("sha256", text, "base64url") : crypto.createHash("sha256").update(text).digest("base64url");
}
