/**
 * GUIDs as Dataverse and Ion write them (8-4-4-4-12 hex digits, any case). One definition for the
 * clients, the webhook parser, the functions app, the CLI and the solution validator.
 */
import { ValidationError } from "./errors";

const HEX_GUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";

/** A bare GUID, any case. */
export const GUID_PATTERN = new RegExp(`^${HEX_GUID}$`);
/** A GUID, optionally in braces as the SDK, solution XML and admins' copies write it; group 1 is the bare GUID. */
export const BRACED_GUID_PATTERN = new RegExp(`^\\{?(${HEX_GUID})\\}?$`);
/** Dataverse's "no record" id (unbound messages, empty lookups). */
export const EMPTY_GUID = "00000000-0000-0000-0000-000000000000";

/** True for a GUID with or without braces (surrounding white space ignored). */
export function isGuid(value: unknown): value is string {
  return typeof value === "string" && BRACED_GUID_PATTERN.test(value.trim());
}

/** Lower-case GUID without braces; throws ValidationError when `value` is not a GUID. */
export function normalizeGuid(value: string, what = "id"): string {
  const m = BRACED_GUID_PATTERN.exec(value.trim());
  if (!m || !m[1]) throw new ValidationError(`${what} must be a GUID, got "${value}"`, { field: what });
  return m[1].toLowerCase();
}
