import { redactValue } from "../../shared/redact";

/** Tolerant readers for Ion's JSON: numbers as strings, statuses in any case, ids inside `name`. */

export type Json = Record<string, unknown>;

export function asObject(value: unknown): Json {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Json) : {};
}

export function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** A non-empty string (numbers are stringified); undefined otherwise. */
export function str(value: unknown): string | undefined {
  if (typeof value === "string") return value === "" ? undefined : value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  if (typeof value === "bigint") return value.toString();
  return undefined;
}

/** A finite number from a number or numeric string ("3", " 12.5 "); undefined otherwise. */
export function num(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (typeof value === "string") {
    const t = value.trim();
    if (t === "" || !/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t)) return undefined;
    const n = Number(t);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** A boolean from true/false, "true"/"false", "yes"/"no", "1"/"0", "enabled"/"disabled", "auto-on"/"auto-off". */
export function bool(value: unknown): boolean | undefined {
  if (typeof value === "boolean") return value;
  if (typeof value === "number") return value !== 0;
  if (typeof value === "string") {
    const t = value.trim().toLowerCase();
    if (["true", "yes", "1", "enabled", "on", "auto-on"].includes(t)) return true;
    if (["false", "no", "0", "disabled", "off", "auto-off"].includes(t)) return false;
  }
  return undefined;
}

export function lower(value: unknown): string | undefined {
  const s = str(value);
  return s === undefined ? undefined : s.trim().toLowerCase();
}

export function upper(value: unknown): string | undefined {
  const s = str(value);
  return s === undefined ? undefined : s.trim().toUpperCase();
}

/** The segment after `collection/` in a resource name, e.g. idFromName("accounts/1/customers/7", "customers") = "7". */
export function idFromName(name: string | undefined, collection: string): string | undefined {
  if (!name) return undefined;
  const parts = name.split("/");
  for (let i = parts.length - 2; i >= 0; i--) {
    if (parts[i] === collection) return parts[i + 1] || undefined;
  }
  return undefined;
}

/** Last path segment of a resource name. */
export function lastSegment(name: string | undefined): string | undefined {
  if (!name) return undefined;
  const seg = name.split("/").filter(Boolean).pop();
  return seg || undefined;
}

/** Drops undefined values so normalised objects compare cleanly with toStrictEqual. */
export function compact<T extends object>(value: T): T {
  // for-in over own keys: the same keys in the same order as Object.entries, without its pair arrays.
  const source = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key in source) {
    if (!Object.prototype.hasOwnProperty.call(source, key)) continue;
    const v = source[key];
    if (v !== undefined) out[key] = v;
  }
  return out as T;
}

/**
 * Gives `target` an enumerable `raw` that reads as redactValue(raw), computed once on first read. The
 * sync never reads a customer's `raw`, and redacting 10,000 of them per run cost as much CPU as
 * parsing them; whoever does read it (a report, an error, JSON.stringify) gets the redacted copy.
 */
export function withRedactedRaw<T extends object>(target: T, raw: Json): T & { raw: Json } {
  let redacted: Json | undefined;
  Object.defineProperty(target, "raw", {
    enumerable: true,
    configurable: true,
    get: () => (redacted ??= redactValue(raw)),
    // An assignment leaves a plain value, as it would on the data property this stands for.
    set: (value: unknown) => Object.defineProperty(target, "raw", { value, writable: true, enumerable: true, configurable: true }),
  });
  return target as T & { raw: Json };
}

/** `{<listKey>: [...], nextPageToken}` (customers, orders) → one token-paged page. */
export function tokenPage<T>(value: unknown, listKey: string, parse: (item: unknown) => T): { items: T[]; nextPageToken?: string } {
  const body = asObject(value);
  return { items: asArray(body[listKey]).map(parse), nextPageToken: str(body.nextPageToken) };
}
