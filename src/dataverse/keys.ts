/**
 * Record addressing and OData literals: `set(<guid>)`, alternate keys `set(k1='v',k2=5)`, lookups inside
 * keys and `@odata.bind` references. Pure functions, no I/O.
 */
import { ValidationError } from "../shared/errors";
import { BRACED_GUID_PATTERN as GUID, isGuid, normalizeGuid } from "../shared/guid";

export { isGuid, normalizeGuid };

/**
 * A record key: a GUID, or an alternate key as column → value.
 * Strings are quoted ('' escaped), numbers and booleans are written bare. A lookup column inside an
 * alternate key is written with its read-side name `_<lookup>_value` and a GUID value, which goes into
 * the URL unquoted exactly as Microsoft documents (`/accounts(_primarycontactid_value=<guid>)`), e.g.
 * `{ _w365_connection_value: connectionId, w365_ioncustomerid: "123" }`.
 */
export type RecordKey = string | Record<string, string | number | boolean>;

const LOOKUP_KEY_NAME = /^_[A-Za-z0-9_]+_value$/;
const COLUMN_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** An OData string literal: quoted, single quotes doubled. Use it when composing $filter text. */
export function odataString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** An OData literal for $filter: strings quoted, GUIDs/numbers/booleans bare, null as null, dates as ISO. */
export function odataLiteral(value: string | number | boolean | null | Date): string {
  if (value === null) return "null";
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new ValidationError(`Cannot write ${value} as an OData number`);
    return String(value);
  }
  if (typeof value === "boolean") return value ? "true" : "false";
  return odataString(value);
}

/** The parenthesised key segment, already URL-safe: `(<guid>)` or `(k1='v',k2=5)`. */
export function formatKey(key: RecordKey): string {
  if (typeof key === "string") return `(${normalizeGuid(key, "record id")})`;
  const entries = Object.entries(key);
  if (entries.length === 0) throw new ValidationError("An alternate key needs at least one column");
  const parts = entries.map(([name, value]) => {
    if (!COLUMN_NAME.test(name)) throw new ValidationError(`"${name}" is not a valid key column name`, { field: name });
    if (LOOKUP_KEY_NAME.test(name)) {
      if (typeof value !== "string") throw new ValidationError(`Lookup key ${name} needs a GUID value`, { field: name });
      return `${name}=${normalizeGuid(value, name)}`;
    }
    if (typeof value === "string") return `${name}=${encodeKeyString(value)}`;
    if (typeof value === "number") {
      if (!Number.isFinite(value)) throw new ValidationError(`Key ${name} must be a finite number`, { field: name });
      return `${name}=${value}`;
    }
    return `${name}=${value ? "true" : "false"}`;
  });
  return `(${parts.join(",")})`;
}

/** Quote + URL-encode a key string: `'` doubled, everything that could break the URL percent-encoded. */
function encodeKeyString(value: string): string {
  // encodeURIComponent leaves ' ( ) * ! unescaped; parentheses and quotes are legal inside the quoted literal.
  return `'${encodeURIComponent(value.replace(/'/g, "''"))}'`;
}

/** `/w365_providerconnections(<guid>)`: the value of a `<nav>@odata.bind` property. */
export function bindRef(entitySet: string, key: RecordKey): string {
  return `/${entitySet}${formatKey(key)}`;
}

/** The record path `set(key)`; a Content-ID reference (`$1`) is passed through unchanged. */
export function recordPath(entitySet: string, key?: RecordKey): string {
  if (key === undefined) return entitySet;
  return `${entitySet}${formatKey(key)}`;
}

/** GUID from an `OData-EntityId` / `Location` header (`…/accounts(<guid>)`); undefined for key-form ids. */
export function idFromEntityIdHeader(header: string | null | undefined): string | undefined {
  if (!header) return undefined;
  const m = /\(([^()]*)\)\s*$/.exec(header.trim());
  const inner = m?.[1];
  if (!inner) return undefined;
  const direct = GUID.exec(inner);
  if (direct?.[1]) return direct[1].toLowerCase();
  // `accounts(accountid=<guid>)` is also a legal form.
  const named = /^[A-Za-z0-9_]+=([0-9a-fA-F-]{36})$/.exec(inner);
  return named?.[1] && GUID.test(named[1]) ? named[1].toLowerCase() : undefined;
}
