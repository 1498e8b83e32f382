/**
 * Conversion between Web API JSON, SQLite storage and formatted values, with Dataverse's type and
 * length validation (docs/platform/dataverse.md 1.4, 1.6: 0x80044331 validation errors).
 */
import { GUID_PATTERN } from "../../src/shared/guid";
import type { ColumnDef } from "../../src/solution/model";
import { badRequest, validationError } from "./errors";
import { edmType } from "./schema";

/** Bare GUIDs only: the Web API refuses braces and white space in JSON values and key segments. */
export const isGuid = (v: unknown): v is string => typeof v === "string" && GUID_PATTERN.test(v);

const INT32 = { min: -2147483648, max: 2147483647 };

function cannotConvert(value: unknown, c: ColumnDef): Error {
  const shown = typeof value === "string" ? value : JSON.stringify(value);
  return badRequest(`Cannot convert the literal '${shown}' to the expected type '${edmType(c)}'.`);
}

/** Converts a JSON body value to its stored SQLite value, validating type, length, range and options. */
export function toStorage(entity: string, c: ColumnDef, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (c.type) {
    case "string":
    case "memo": {
      if (typeof value !== "string") throw cannotConvert(value, c);
      const max = c.maxLength ?? (c.type === "memo" ? 1048576 : 4000);
      if (value.length > max) {
        throw validationError(
          `The length of the '${c.logicalName}' attribute of the '${entity}' entity exceeded the maximum allowed length of '${max}'.`,
        );
      }
      return value;
    }
    case "integer":
    case "bigint": {
      if (typeof value !== "number" || !Number.isInteger(value)) throw cannotConvert(value, c);
      checkRange(entity, c, value, c.type === "integer" ? INT32 : { min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER });
      return value;
    }
    case "decimal":
    case "double":
    case "money": {
      const n = typeof value === "string" && value.trim() !== "" && !Number.isNaN(Number(value)) ? Number(value) : value;
      if (typeof n !== "number" || !Number.isFinite(n)) throw cannotConvert(value, c);
      checkRange(entity, c, n, { min: -100000000000, max: 100000000000 });
      const precision = c.precision ?? (c.type === "money" ? 4 : c.type === "decimal" ? 10 : undefined);
      return precision === undefined ? n : Number(n.toFixed(precision));
    }
    case "boolean":
      if (typeof value !== "boolean") throw cannotConvert(value, c);
      return value ? 1 : 0;
    case "datetime": {
      if (typeof value !== "string") throw cannotConvert(value, c);
      const isDateOnly = /^\d{4}-\d{2}-\d{2}$/.test(value);
      const d = new Date(isDateOnly ? `${value}T00:00:00Z` : value);
      if (Number.isNaN(d.getTime()) || !/^\d{4}-\d{2}-\d{2}/.test(value)) throw cannotConvert(value, c);
      if (c.dateFormat === "dateonly") return d.toISOString().slice(0, 10);
      return d.toISOString().replace(/\.\d{3}Z$/, "Z");
    }
    case "picklist":
    case "state":
    case "status": {
      if (typeof value !== "number" || !Number.isInteger(value)) throw cannotConvert(value, c);
      if (c.options && c.options.length > 0 && !c.options.some((o) => o.value === value)) {
        throw validationError(`The value ${value} of '${c.logicalName}' on record of type '${entity}' is outside the valid range.`);
      }
      return value;
    }
    case "primarykey":
    case "uniqueidentifier":
      if (!isGuid(value)) throw cannotConvert(value, c);
      return value.toLowerCase();
    case "lookup":
    case "owner":
      throw badRequest("CRM do not support direct update of Entity Reference properties, Use Navigation properties instead.");
  }
}

function checkRange(entity: string, c: ColumnDef, n: number, dflt: { min: number; max: number }) {
  const min = c.minValue ?? dflt.min;
  const max = c.maxValue ?? dflt.max;
  if (n < min || n > max) {
    throw validationError(
      `The value ${n} of '${c.logicalName}' on record of type '${entity}' is outside the valid range. Accepted range: ${min} to ${max}`,
    );
  }
}

/** Converts a stored value to its Web API JSON value. */
export function fromStorage(c: ColumnDef, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (c.type) {
    case "boolean":
      return value === 1 || value === true;
    case "money":
    case "decimal": {
      const p = c.precision ?? (c.type === "money" ? 4 : 10);
      return Number((value as number).toFixed(p));
    }
    default:
      return value;
  }
}

const pad = (n: number) => String(n).padStart(2, "0");

/** `@OData.Community.Display.V1.FormattedValue` text, as an en-US user in UTC sees it. */
export function formatValue(c: ColumnDef, stored: unknown): string | undefined {
  if (stored === null || stored === undefined) return undefined;
  switch (c.type) {
    case "picklist":
    case "state":
    case "status":
      return c.options?.find((o) => o.value === stored)?.label ?? String(stored);
    case "boolean": {
      const on = stored === 1 || stored === true;
      const labels = c.options && c.options.length === 2 ? c.options : undefined;
      return labels ? (labels.find((o) => o.value === (on ? 1 : 0))?.label ?? (on ? "Yes" : "No")) : on ? "Yes" : "No";
    }
    case "datetime": {
      const s = String(stored);
      const d = new Date(s.length === 10 ? `${s}T00:00:00Z` : s);
      const date = `${d.getUTCMonth() + 1}/${d.getUTCDate()}/${d.getUTCFullYear()}`;
      if (c.dateFormat === "dateonly" || s.length === 10) return date;
      const h = d.getUTCHours();
      return `${date} ${h % 12 === 0 ? 12 : h % 12}:${pad(d.getUTCMinutes())} ${h < 12 ? "AM" : "PM"}`;
    }
    case "money":
      return `$${(stored as number).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
    case "integer":
    case "bigint":
      return (stored as number).toLocaleString("en-US");
    case "decimal":
    case "double":
      return (stored as number).toLocaleString("en-US", {
        maximumFractionDigits: c.precision ?? 10,
        minimumFractionDigits: c.precision ?? 0,
      });
    default:
      return undefined;
  }
}

/** Stored date-time to WCF JSON date (`/Date(ms)/`) as RemoteExecutionContext carries it. */
export function wcfDate(stored: string | number): string {
  const ms = typeof stored === "number" ? stored : new Date(stored.length === 10 ? `${stored}T00:00:00Z` : stored).getTime();
  return `/Date(${ms})/`;
}
