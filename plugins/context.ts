/**
 * Parser for the RemoteExecutionContext JSON that Dataverse posts to a webhook
 * (docs/platform/dataverse.md section 3). Untrusted input: the zod schema checks the envelope, then a
 * bounded converter turns the DataContract shapes ([{key,value}] collections, `__type`-tagged
 * Entity/EntityReference/OptionSetValue/Money values, WCF `/Date(ms)/` strings) into plain typed
 * values. Every failure is a WebhookPayloadError naming the offending path; nothing here throws
 * anything else, whatever the input (fuzzed in test/plugins/context.fuzz.test.ts).
 */
import { z } from "zod";

import { ConnectorError } from "../src/shared/errors";
import { BRACED_GUID_PATTERN, EMPTY_GUID } from "../src/shared/guid";
import { registerSecret } from "../src/shared/redact";

export class WebhookPayloadError extends ConnectorError {
  constructor(message: string) {
    super("WEBHOOK_PAYLOAD_INVALID", message, { statusCode: 400 });
  }
}

/** A value from InputParameters, OutputParameters or an entity's Attributes, after conversion. */
export type SdkValue =
  | string
  | number
  | boolean
  | null
  | Date
  | SdkEntityReference
  | SdkOptionSetValue
  | SdkMoney
  | SdkEntity
  | SdkEntityCollection
  | SdkUnknownValue
  | SdkValue[];

export interface SdkEntityReference {
  kind: "entityReference";
  logicalName: string;
  id: string;
  name?: string;
}
export interface SdkOptionSetValue {
  kind: "optionSetValue";
  value: number;
}
export interface SdkMoney {
  kind: "money";
  value: number;
}
export interface SdkEntity {
  kind: "entity";
  logicalName: string;
  id: string;
  attributes: Record<string, SdkValue>;
  formattedValues: Record<string, string>;
}
export interface SdkEntityCollection {
  kind: "entityCollection";
  entityName?: string;
  entities: SdkEntity[];
}
/** A `__type` this parser does not model; kept so a handler can still see it was there. */
export interface SdkUnknownValue {
  kind: "unknown";
  type: string;
}

export type PipelineStage = "prevalidation" | "preoperation" | "mainoperation" | "postoperation" | "unknown";

export interface WebhookContext {
  messageName: string;
  primaryEntityName: string;
  /** Lower-case GUID; the empty GUID for unbound (global) messages. */
  primaryEntityId: string;
  secondaryEntityName?: string;
  mode: "sync" | "async";
  stage: PipelineStage;
  stageNumber: number;
  depth: number;
  userId: string;
  initiatingUserId: string;
  businessUnitId?: string;
  organizationId: string;
  organizationName: string;
  correlationId: string;
  requestId?: string;
  operationId?: string;
  operationCreatedOn?: Date;
  isInTransaction?: boolean;
  inputParameters: Record<string, SdkValue>;
  outputParameters: Record<string, SdkValue>;
  preEntityImages: Record<string, SdkEntity>;
  postEntityImages: Record<string, SdkEntity>;
  /** `InputParameters.Target`, when it is an Entity (Create/Update) or an EntityReference (bound custom API, Delete). */
  target?: SdkEntity | SdkEntityReference;
  parentContext?: WebhookContext;
}

export { EMPTY_GUID };
const GUID = BRACED_GUID_PATTERN;
/** WCF JSON date: `/Date(1506384247000)/` or `/Date(1506384247000-0700)/` (the offset does not change the instant). */
const WCF_DATE = /^\/Date\((-?\d{1,15})([+-]\d{4})?\)\/$/;
/** Guards against hostile nesting (ParentContext chains, entities inside entities). */
const MAX_DEPTH = 16;
const MAX_COLLECTION_ITEMS = 5000;
/** Secured columns whose values must never reach a log: registered as secrets the moment they are seen. */
const SECRET_ATTRIBUTES = new Set(["w365_refreshtoken", "w365_apisecret", "w365_accesstoken", "w365_apikey"]);

const guidString = z.string().regex(GUID, "must be a GUID");
const optionalGuid = z.union([guidString, z.null()]).optional();
const keyValueArray = z.array(z.object({ key: z.string(), value: z.unknown() }).loose()).max(MAX_COLLECTION_ITEMS);

/** The envelope. Loose: Dataverse adds keys over time, and unknown keys are not an error. */
const contextSchema = z
  .object({
    MessageName: z.string().min(1).max(200),
    PrimaryEntityName: z.string().max(200),
    PrimaryEntityId: guidString,
    SecondaryEntityName: z.string().max(200).nullish(),
    Mode: z.union([z.literal(0), z.literal(1)]),
    Stage: z.number().int().min(0).max(100),
    Depth: z.number().int().min(0).max(1000),
    UserId: guidString,
    InitiatingUserId: guidString,
    BusinessUnitId: optionalGuid,
    OrganizationId: guidString,
    OrganizationName: z.string().min(1).max(400),
    CorrelationId: guidString,
    RequestId: optionalGuid,
    OperationId: optionalGuid,
    OperationCreatedOn: z.string().max(64).nullish(),
    IsInTransaction: z.boolean().nullish(),
    InputParameters: z.union([keyValueArray, z.null()]).optional(),
    OutputParameters: z.union([keyValueArray, z.null()]).optional(),
    PreEntityImages: z.union([keyValueArray, z.null()]).optional(),
    PostEntityImages: z.union([keyValueArray, z.null()]).optional(),
    ParentContext: z.unknown().optional(),
  })
  .loose();

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.length ? issue.path.map(String).join(".") : "(root)";
  return `${path}: ${issue.message}`;
}

function normaliseGuid(value: string): string {
  return value.replace(/[{}]/g, "").toLowerCase();
}

function blankToUndefined(guid: string | null | undefined): string | undefined {
  if (!guid) return undefined;
  const g = normaliseGuid(guid);
  return g === EMPTY_GUID ? undefined : g;
}

export function parseWcfDate(text: string): Date | undefined {
  const m = WCF_DATE.exec(text);
  if (!m || m[1] === undefined) return undefined;
  const date = new Date(Number(m[1]));
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function stageName(stage: number): PipelineStage {
  switch (stage) {
    case 10:
      return "prevalidation";
    case 20:
      return "preoperation";
    case 30:
      return "mainoperation";
    case 40:
      return "postoperation";
    default:
      return "unknown";
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `Entity:http://schemas.microsoft.com/xrm/2011/Contracts` → `Entity`. */
function typeTag(value: Record<string, unknown>): string | undefined {
  const t = value.__type;
  if (typeof t !== "string") return undefined;
  const colon = t.indexOf(":");
  return colon >= 0 ? t.slice(0, colon) : t;
}

function fail(path: string, message: string): never {
  throw new WebhookPayloadError(`Invalid webhook payload at ${path}: ${message}`);
}

function requireGuid(value: unknown, path: string): string {
  if (typeof value !== "string" || !GUID.test(value)) fail(path, "must be a GUID");
  return normaliseGuid(value);
}

function requireName(value: unknown, path: string): string {
  if (typeof value !== "string" || value.length === 0 || value.length > 200) fail(path, "must be a non-empty logical name");
  return value;
}

function toNumber(value: unknown, path: string): number {
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isFinite(n)) fail(path, "must be a finite number");
  return n;
}

function convertKeyValues(items: unknown, path: string, depth: number): Record<string, SdkValue> {
  const out: Record<string, SdkValue> = {};
  if (items === null || items === undefined) return out;
  if (!Array.isArray(items)) fail(path, "must be an array of {key, value}");
  if (items.length > MAX_COLLECTION_ITEMS) fail(path, `has more than ${MAX_COLLECTION_ITEMS} items`);
  items.forEach((item, i) => {
    if (!isRecord(item) || typeof item.key !== "string") fail(`${path}[${i}]`, "must be {key, value} with a string key");
    const key = item.key;
    if (key === "__proto__" || key === "constructor" || key === "prototype") fail(`${path}[${i}].key`, "is not an allowed name");
    const value = convertValue(item.value, `${path}.${key}`, depth + 1);
    if (SECRET_ATTRIBUTES.has(key.toLowerCase()) && typeof value === "string") registerSecret(value);
    out[key] = value;
  });
  return out;
}

function convertEntity(raw: Record<string, unknown>, path: string, depth: number): SdkEntity {
  const formatted = convertKeyValues(raw.FormattedValues ?? null, `${path}.FormattedValues`, depth);
  const formattedValues: Record<string, string> = {};
  for (const [k, v] of Object.entries(formatted)) if (typeof v === "string") formattedValues[k] = v;
  const id = raw.Id === undefined || raw.Id === null ? EMPTY_GUID : requireGuid(raw.Id, `${path}.Id`);
  return {
    kind: "entity",
    logicalName: requireName(raw.LogicalName, `${path}.LogicalName`),
    id,
    attributes: convertKeyValues(raw.Attributes ?? null, `${path}.Attributes`, depth),
    formattedValues,
  };
}

function convertValue(value: unknown, path: string, depth: number): SdkValue {
  if (depth > MAX_DEPTH) fail(path, `is nested deeper than ${MAX_DEPTH} levels`);
  if (value === null || value === undefined) return null;
  if (typeof value === "boolean") return value;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) fail(path, "must be a finite number");
    return value;
  }
  if (typeof value === "string") return parseWcfDate(value) ?? value;
  if (Array.isArray(value)) {
    if (value.length > MAX_COLLECTION_ITEMS) fail(path, `has more than ${MAX_COLLECTION_ITEMS} items`);
    return value.map((v, i) => convertValue(v, `${path}[${i}]`, depth + 1));
  }
  if (!isRecord(value)) fail(path, "has an unsupported value");
  switch (typeTag(value)) {
    case "Entity":
      return convertEntity(value, path, depth);
    case "EntityReference": {
      const ref: SdkEntityReference = {
        kind: "entityReference",
        logicalName: requireName(value.LogicalName, `${path}.LogicalName`),
        id: requireGuid(value.Id, `${path}.Id`),
      };
      if (typeof value.Name === "string") ref.name = value.Name;
      return ref;
    }
    case "OptionSetValue":
      return { kind: "optionSetValue", value: toNumber(value.Value, `${path}.Value`) };
    case "Money":
      return { kind: "money", value: toNumber(value.Value, `${path}.Value`) };
    case "EntityCollection": {
      const entities = value.Entities;
      if (!Array.isArray(entities)) fail(`${path}.Entities`, "must be an array");
      if (entities.length > MAX_COLLECTION_ITEMS) fail(`${path}.Entities`, `has more than ${MAX_COLLECTION_ITEMS} items`);
      const collection: SdkEntityCollection = {
        kind: "entityCollection",
        entities: entities.map((e, i) => {
          if (!isRecord(e)) fail(`${path}.Entities[${i}]`, "must be an Entity");
          return convertEntity(e, `${path}.Entities[${i}]`, depth + 1);
        }),
      };
      if (typeof value.EntityName === "string") collection.entityName = value.EntityName;
      return collection;
    }
    case undefined:
      // Untagged objects appear for some SDK types; an Entity shape is recognised by its members.
      if (typeof value.LogicalName === "string" && "Attributes" in value) return convertEntity(value, path, depth);
      fail(path, "is an object without a __type");
      break;
    default:
      return { kind: "unknown", type: String(value.__type).slice(0, 200) };
  }
}

function convertImages(items: unknown, path: string): Record<string, SdkEntity> {
  const values = convertKeyValues(items, path, 0);
  const out: Record<string, SdkEntity> = {};
  for (const [alias, v] of Object.entries(values)) {
    if (v === null) continue;
    if (typeof v !== "object" || v instanceof Date || Array.isArray(v) || v.kind !== "entity")
      fail(`${path}.${alias}`, "must be an Entity");
    out[alias] = v;
  }
  return out;
}

function convertContext(raw: unknown, nesting: number): WebhookContext {
  if (nesting > 4) fail("ParentContext", "is nested too deeply");
  const parsed = contextSchema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues.slice(0, 3).map(describeIssue).join("; ");
    const prefix = nesting > 0 ? "ParentContext " : "";
    throw new WebhookPayloadError(`Invalid webhook payload: ${prefix}${first}`);
  }
  const c = parsed.data;
  const inputParameters = convertKeyValues(c.InputParameters, "InputParameters", 0);
  const target = inputParameters.Target;
  const ctx: WebhookContext = {
    messageName: c.MessageName,
    primaryEntityName: c.PrimaryEntityName,
    primaryEntityId: normaliseGuid(c.PrimaryEntityId),
    mode: c.Mode === 0 ? "sync" : "async",
    stage: stageName(c.Stage),
    stageNumber: c.Stage,
    depth: c.Depth,
    userId: normaliseGuid(c.UserId),
    initiatingUserId: normaliseGuid(c.InitiatingUserId),
    organizationId: normaliseGuid(c.OrganizationId),
    organizationName: c.OrganizationName,
    correlationId: normaliseGuid(c.CorrelationId),
    inputParameters,
    outputParameters: convertKeyValues(c.OutputParameters, "OutputParameters", 0),
    preEntityImages: convertImages(c.PreEntityImages, "PreEntityImages"),
    postEntityImages: convertImages(c.PostEntityImages, "PostEntityImages"),
  };
  if (c.SecondaryEntityName) ctx.secondaryEntityName = c.SecondaryEntityName;
  const businessUnitId = blankToUndefined(c.BusinessUnitId);
  if (businessUnitId) ctx.businessUnitId = businessUnitId;
  const requestId = blankToUndefined(c.RequestId);
  if (requestId) ctx.requestId = requestId;
  const operationId = blankToUndefined(c.OperationId);
  if (operationId) ctx.operationId = operationId;
  if (c.OperationCreatedOn) {
    const created = parseWcfDate(c.OperationCreatedOn);
    if (!created) fail("OperationCreatedOn", "must be a WCF date like /Date(1506384247000)/");
    ctx.operationCreatedOn = created;
  }
  if (typeof c.IsInTransaction === "boolean") ctx.isInTransaction = c.IsInTransaction;
  if (target && typeof target === "object" && !(target instanceof Date) && !Array.isArray(target)) {
    if (target.kind === "entity" || target.kind === "entityReference") ctx.target = target;
  }
  if (c.ParentContext !== undefined && c.ParentContext !== null) ctx.parentContext = convertContext(c.ParentContext, nesting + 1);
  return ctx;
}

/** Validates and converts an already JSON-parsed RemoteExecutionContext. Throws WebhookPayloadError only. */
export function parseRemoteExecutionContext(raw: unknown): WebhookContext {
  if (!isRecord(raw)) throw new WebhookPayloadError("Invalid webhook payload: the body must be a JSON object (a RemoteExecutionContext).");
  try {
    return convertContext(raw, 0);
  } catch (error) {
    if (error instanceof WebhookPayloadError) throw error;
    // A RangeError from pathological input must still come out as a clear, typed refusal.
    throw new WebhookPayloadError("Invalid webhook payload: the body could not be read as a RemoteExecutionContext.");
  }
}

/** JSON text → context. A body that is not JSON gets its own message (what the sender must fix differs). */
export function parseWebhookBody(text: string): WebhookContext {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new WebhookPayloadError("Invalid webhook payload: the body is not valid JSON.");
  }
  return parseRemoteExecutionContext(raw);
}

// ---- typed accessors handlers use on parameters and attributes ----

export function getString(values: Record<string, SdkValue>, name: string): string | undefined {
  const v = values[name];
  if (v === null || v === undefined) return undefined;
  if (typeof v !== "string") throw new WebhookPayloadError(`Parameter ${name} must be a string.`);
  return v;
}

export function getBoolean(values: Record<string, SdkValue>, name: string): boolean | undefined {
  const v = values[name];
  if (v === null || v === undefined) return undefined;
  if (typeof v === "boolean") return v;
  if (v === "true" || v === "false") return v === "true";
  throw new WebhookPayloadError(`Parameter ${name} must be a Boolean.`);
}

/** A Guid parameter arrives as a string; an EntityReference is accepted too (its Id). */
export function getGuid(values: Record<string, SdkValue>, name: string): string | undefined {
  const v = values[name];
  if (v === null || v === undefined || v === "") return undefined;
  if (typeof v === "string" && GUID.test(v)) {
    const g = normaliseGuid(v);
    return g === EMPTY_GUID ? undefined : g;
  }
  if (typeof v === "object" && !(v instanceof Date) && !Array.isArray(v) && v.kind === "entityReference") return v.id;
  throw new WebhookPayloadError(`Parameter ${name} must be a GUID.`);
}

/** The record a message is about: the Target reference/entity when present, else PrimaryEntityId. */
export function targetId(ctx: WebhookContext): string | undefined {
  const id = ctx.target && ctx.target.id !== EMPTY_GUID ? ctx.target.id : ctx.primaryEntityId;
  return id === EMPTY_GUID ? undefined : id;
}
