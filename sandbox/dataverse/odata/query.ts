/**
 * Parsing of the other OData pieces: key segments, $select, $orderby, $expand, Prefer, and the opaque
 * $skiptoken (docs/platform/dataverse.md 1.2-1.4).
 */
import { badRequest, DataverseHttpError, ErrorCodes } from "../errors";
import { type Literal, tokenize } from "./filter";

export interface KeySegment {
  /** A bare GUID: `set(<guid>)`. */
  id?: string;
  /** Named key values: `set(k1='v',k2=<guid>)`. */
  named?: { name: string; value: Literal }[];
}

/** Parses the inside of `(...)` after an entity set name. */
export function parseKeySegment(inner: string): KeySegment {
  const text = inner;
  const tokens = tokenize(text);
  if (tokens.length === 1 && tokens[0]!.kind === "guid") return { id: String(tokens[0]!.value) };
  const named: { name: string; value: Literal }[] = [];
  let i = 0;
  while (i < tokens.length) {
    const name = tokens[i];
    const eq = tokens[i + 1];
    const val = tokens[i + 2];
    if (!name || name.kind !== "ident" || !eq || eq.kind !== "equals" || !val) {
      throw badRequest(`Bad Request - Error in query syntax: the key segment '(${text})' is not valid.`);
    }
    let value: Literal;
    switch (val.kind) {
      case "string":
        value = { k: "lit", kind: "string", value: String(val.value), pos: val.pos };
        break;
      case "guid":
        value = { k: "lit", kind: "guid", value: String(val.value), pos: val.pos };
        break;
      case "number":
        value = { k: "lit", kind: "number", value: Number(val.value), pos: val.pos };
        break;
      case "datetime":
      case "date":
        value = { k: "lit", kind: val.kind, value: String(val.value), pos: val.pos };
        break;
      case "ident":
        if (val.text === "true" || val.text === "false") {
          value = { k: "lit", kind: "boolean", value: val.text === "true", pos: val.pos };
          break;
        }
        throw badRequest(`Bad Request - Error in query syntax: the key value '${val.text}' is not valid.`);
      default:
        throw badRequest(`Bad Request - Error in query syntax: the key segment '(${text})' is not valid.`);
    }
    named.push({ name: name.text, value });
    i += 3;
    if (i < tokens.length) {
      if (tokens[i]!.kind !== "comma") throw badRequest(`Bad Request - Error in query syntax: the key segment '(${text})' is not valid.`);
      i++;
    }
  }
  if (named.length === 0) throw badRequest(`Bad Request - Error in query syntax: empty key segment.`);
  return { named };
}

/** Splits on a separator at parenthesis depth 0, ignoring separators inside quotes. */
export function splitTopLevel(text: string, sep: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote = false;
  let cur = "";
  for (const ch of text) {
    if (ch === "'") quote = !quote;
    if (!quote) {
      if (ch === "(") depth++;
      else if (ch === ")") depth--;
      else if (ch === sep && depth === 0) {
        out.push(cur);
        cur = "";
        continue;
      }
    }
    cur += ch;
  }
  if (cur.trim() !== "" || out.length > 0) out.push(cur);
  return out.map((s) => s.trim()).filter((s) => s !== "");
}

export function parseSelect(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const cols = splitTopLevel(text, ",");
  return cols.length === 0 ? undefined : cols;
}

export interface OrderBy {
  path: string[];
  desc: boolean;
}

export function parseOrderBy(text: string | undefined): OrderBy[] {
  if (!text) return [];
  return splitTopLevel(text, ",").map((part) => {
    const m = /^([A-Za-z_][A-Za-z0-9_./]*)(\s+(asc|desc))?$/i.exec(part);
    if (!m) throw badRequest(`Syntax error in $orderby at '${part}'.`);
    return { path: m[1]!.split("/"), desc: (m[3] ?? "").toLowerCase() === "desc" };
  });
}

export interface ExpandItem {
  nav: string;
  select?: string[];
  filter?: string;
  orderby?: string;
  top?: number;
  expand?: ExpandItem[];
}

export function parseExpand(text: string | undefined): ExpandItem[] {
  if (!text) return [];
  return splitTopLevel(text, ",").map((part) => {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(\((.*)\))?$/s.exec(part);
    if (!m) throw badRequest(`Syntax error in $expand at '${part}'.`);
    const item: ExpandItem = { nav: m[1]! };
    if (m[3] !== undefined) {
      for (const opt of splitTopLevel(m[3], ";")) {
        const eq = opt.indexOf("=");
        const key = opt.slice(0, eq).trim().toLowerCase();
        const value = opt.slice(eq + 1);
        if (key === "$select") item.select = parseSelect(value);
        else if (key === "$filter") item.filter = value;
        else if (key === "$orderby") item.orderby = value;
        else if (key === "$top") item.top = Number(value);
        else if (key === "$expand") item.expand = parseExpand(value);
        else throw badRequest(`The query option '${key}' is not supported inside $expand.`);
      }
    }
    return item;
  });
}

export interface Preferences {
  maxPageSize?: number;
  returnRepresentation: boolean;
  includeAnnotations?: string[];
  continueOnError: boolean;
}

export function parsePrefer(headers: (string | undefined)[]): Preferences {
  const prefs: Preferences = { returnRepresentation: false, continueOnError: false };
  for (const header of headers) {
    if (!header) continue;
    for (const raw of splitPreferHeader(header)) {
      const [k, ...rest] = raw.split("=");
      const key = (k ?? "").trim().toLowerCase();
      const value = rest.join("=").trim().replace(/^"|"$/g, "");
      if (key === "odata.maxpagesize") {
        const n = Number(value);
        if (Number.isInteger(n) && n > 0) prefs.maxPageSize = n;
      } else if (key === "return" && value.toLowerCase() === "representation") prefs.returnRepresentation = true;
      else if (key === "odata.include-annotations")
        prefs.includeAnnotations = value
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean);
      else if (key === "odata.continue-on-error") prefs.continueOnError = true;
    }
  }
  return prefs;
}

function splitPreferHeader(header: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quote = false;
  for (const ch of header) {
    if (ch === '"') quote = !quote;
    if (ch === "," && !quote) {
      out.push(cur.trim());
      cur = "";
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

/** Does `Prefer: odata.include-annotations` ask for this annotation? Supports `*` and `Ns.*` wildcards. */
export function wantsAnnotation(prefs: Preferences, annotation: string): boolean {
  if (!prefs.includeAnnotations) return false;
  return prefs.includeAnnotations.some((p) => {
    if (p === "*") return true;
    if (p.startsWith("-")) return false;
    if (p.endsWith(".*")) return annotation.startsWith(p.slice(0, -1));
    return p === annotation;
  });
}

/** Keyset cursor: the last row's order-by values plus its primary key. Opaque to clients. */
export interface SkipCursor {
  page: number;
  values: unknown[];
  id: string;
}

export function encodeSkipToken(cursor: SkipCursor): string {
  const cookie = Buffer.from(JSON.stringify([cursor.values, cursor.id]), "utf8").toString("base64url");
  // Shaped like Dataverse's paging cookie so clients that log it see something familiar.
  return `<cookie pagenumber="${cursor.page}" pagingcookie="${cookie}" istracking="False" />`;
}

export function decodeSkipToken(token: string): SkipCursor {
  const m = /pagenumber="(\d+)"\s+pagingcookie="([A-Za-z0-9_-]*)"/.exec(token);
  if (!m)
    throw new DataverseHttpError(
      400,
      ErrorCodes.ODataBadRequest,
      "The $skiptoken value is not valid. Use the @odata.nextLink exactly as returned.",
    );
  try {
    const [values, id] = JSON.parse(Buffer.from(m[2]!, "base64url").toString("utf8")) as [unknown[], string];
    if (!Array.isArray(values) || typeof id !== "string") throw new Error("shape");
    return { page: Number(m[1]), values, id };
  } catch {
    throw new DataverseHttpError(
      400,
      ErrorCodes.ODataBadRequest,
      "The $skiptoken value is not valid. Use the @odata.nextLink exactly as returned.",
    );
  }
}
