/**
 * Minimal, deterministic XML writing and tolerant reading for solution files.
 * Writing uses a tiny element tree so output is byte-stable (fixed attribute order, 2-space indent, LF);
 * reading uses fast-xml-parser with FormXml/FetchXml/LayoutXml kept as raw text so they survive a round trip.
 */
import { createHash } from "node:crypto";

import { XMLParser } from "fast-xml-parser";

import { ConnectorError, ensureError } from "../shared/errors";

export class SolutionFormatError extends ConnectorError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super("SOLUTION_FORMAT", message, options);
  }
}

export type XmlAttrValue = string | number | boolean | undefined | null;
export interface XmlElement {
  name: string;
  attrs: [string, XmlAttrValue][];
  children: XmlChild[];
}
/** A raw child is inserted verbatim (already-serialized XML such as FormXml). */
export interface XmlRaw {
  raw: string;
}
export type XmlChild = XmlElement | XmlRaw | string;

/** Build an element; attributes with undefined/null values are omitted. */
export function el(name: string, attrs: Record<string, XmlAttrValue> | null = null, ...children: (XmlChild | XmlChild[] | undefined | null | false)[]): XmlElement {
  const flat: XmlChild[] = [];
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) flat.push(...c);
    else flat.push(c);
  }
  return { name, attrs: attrs ? Object.entries(attrs) : [], children: flat };
}

/** `<name>text</name>`, omitted when value is undefined. */
export function textEl(name: string, value: XmlAttrValue): XmlElement | undefined {
  if (value === undefined || value === null) return undefined;
  return el(name, null, String(typeof value === "boolean" ? (value ? 1 : 0) : value));
}

export function raw(text: string): XmlRaw {
  return { raw: text };
}

export function escapeXml(value: string, attribute = false): string {
  let out = value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  if (attribute) out = out.replace(/"/g, "&quot;").replace(/\n/g, "&#10;").replace(/\r/g, "&#13;").replace(/\t/g, "&#9;");
  return out;
}

function attrText(v: XmlAttrValue): string {
  if (typeof v === "boolean") return v ? "1" : "0";
  return String(v);
}

function serialize(node: XmlElement, indent: string, out: string[]): void {
  const attrs = node.attrs
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => ` ${k}="${escapeXml(attrText(v), true)}"`)
    .join("");
  if (node.children.length === 0) {
    out.push(`${indent}<${node.name}${attrs} />`);
    return;
  }
  const onlyText = node.children.every((c) => typeof c === "string");
  if (onlyText) {
    out.push(`${indent}<${node.name}${attrs}>${escapeXml((node.children as string[]).join(""))}</${node.name}>`);
    return;
  }
  out.push(`${indent}<${node.name}${attrs}>`);
  for (const c of node.children) {
    if (typeof c === "string") out.push(`${indent}  ${escapeXml(c)}`);
    else if ("raw" in c) out.push(`${indent}  ${c.raw}`);
    else serialize(c, indent + "  ", out);
  }
  out.push(`${indent}</${node.name}>`);
}

/** Serialize a document with an XML declaration (UTF-8, LF line endings, trailing newline). */
export function toXmlDocument(root: XmlElement, declaration = true): string {
  const out: string[] = [];
  if (declaration) out.push('<?xml version="1.0" encoding="utf-8"?>');
  serialize(root, "", out);
  return out.join("\n") + "\n";
}

/** Elements that may repeat anywhere in solution XML: always parsed as arrays. */
const ARRAY_ELEMENTS = new Set([
  "Entity",
  "attribute",
  "EntityKey",
  "AttributeName",
  "option",
  "label",
  "displayname",
  "Description",
  "LocalizedName",
  "LocalizedCollectionName",
  "systemform",
  "savedquery",
  "forms",
  "EntityRelationship",
  "Role",
  "RolePrivilege",
  "FieldSecurityProfile",
  "FieldPermission",
  "WebResource",
  "CustomControl",
  "SdkMessageProcessingStep",
  "SdkMessageProcessingStepImage",
  "ServiceEndpoint",
  "RootComponent",
  "MissingDependency",
  "Language",
  "Default",
  "Override",
  "LookupType",
]);

/** Nodes whose inner XML is kept verbatim (they are opaque documents of their own). */
const STOP_NODES = ["*.systemform", "*.fetchxml", "*.layoutxml", "*.RibbonDiffXml"];

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  ignoreDeclaration: true,
  removeNSPrefix: false,
  stopNodes: STOP_NODES,
  processEntities: true,
  htmlEntities: false,
  isArray: (name) => ARRAY_ELEMENTS.has(name),
});

export type XNode = Record<string, unknown>;

/** Parse an XML document; throws SolutionFormatError naming `what` on malformed input. */
export function parseXml(text: string, what: string): XNode {
  const clean = text.replace(/^\uFEFF/, "");
  try {
    const doc = parser.parse(clean, true) as XNode;
    return doc;
  } catch (err) {
    throw new SolutionFormatError(`${what} is not well-formed XML: ${ensureError(err).message}`, { cause: err });
  }
}

/** A child element as an object (first one if repeated); undefined if missing. */
export function child(node: unknown, name: string): XNode | undefined {
  if (!node || typeof node !== "object") return undefined;
  const v = (node as XNode)[name];
  if (Array.isArray(v)) return (v[0] as XNode | undefined) ?? undefined;
  if (v === undefined || v === null) return undefined;
  if (typeof v === "object") return v as XNode;
  return { "#text": v } as XNode;
}

/** Repeated child elements as an array of objects. */
export function children(node: unknown, name: string): XNode[] {
  if (!node || typeof node !== "object") return [];
  const v = (node as XNode)[name];
  if (v === undefined || v === null || v === "") return [];
  const arr = Array.isArray(v) ? v : [v];
  return arr.map((x) => (typeof x === "object" && x !== null ? (x as XNode) : ({ "#text": x } as XNode)));
}

/** Text content of a child element (or of the node itself when name is omitted). */
export function text(node: unknown, name?: string): string | undefined {
  if (node === undefined || node === null) return undefined;
  let v: unknown = name === undefined ? node : (node as XNode)[name];
  if (Array.isArray(v)) v = v[0];
  if (v === undefined || v === null) return undefined;
  if (typeof v === "object") {
    const t = (v as XNode)["#text"];
    if (t === undefined) return (v as XNode)["@_xsi:nil"] !== undefined ? undefined : "";
    return String(t);
  }
  return String(v);
}

export function attr(node: unknown, name: string): string | undefined {
  if (!node || typeof node !== "object") return undefined;
  const v = (node as XNode)[`@_${name}`];
  return v === undefined ? undefined : String(v);
}

export function requireText(node: unknown, name: string, where: string): string {
  const v = text(node, name);
  if (v === undefined || v === "") throw new SolutionFormatError(`${where}: missing <${name}>`);
  return v;
}

export function bool01(v: string | undefined, fallback = false): boolean {
  if (v === undefined || v === "") return fallback;
  return v === "1" || v.toLowerCase() === "true";
}

export function int(v: string | undefined): number | undefined {
  if (v === undefined || v === "") return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** Label element shape used throughout: <label description=".." languagecode="1033" />. */
export function label(description: string): XmlElement {
  return el("label", { description, languagecode: 1033 });
}

/** First 1033 label's description within a container (e.g. displaynames/displayname or labels/label). */
export function firstLabel(container: unknown, itemName: string): string | undefined {
  const items = children(container, itemName);
  const pick = items.find((i) => attr(i, "languagecode") === "1033") ?? items[0];
  return pick ? attr(pick, "description") : undefined;
}

/** Braced, lower-case GUID as Dataverse writes ids in solution files. */
export function bracedGuid(id: string): string {
  return `{${normalizeGuid(id)}}`;
}

export function normalizeGuid(id: string): string {
  return id.replace(/[{}]/g, "").toLowerCase();
}

/**
 * Deterministic GUID (v5-style layout from SHA-1) so generated component ids never change between packs.
 */
export function stableGuid(seed: string): string {
  const h = createHash("sha1").update(`w365:${seed}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
