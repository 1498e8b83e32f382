// Typed views over the Dataverse rows the admin UI reads, and the narrow data-access interface both the PCF control
// (context.webAPI) and the web resources (Xrm.WebApi) satisfy. Pure mapping: no I/O here.

import {
  choiceLabel,
  w365_provideraccount_w365_mappingstatus,
  w365_provideraccount_w365_mappingstatusLabels,
  w365_providerconnection_statecode,
  w365_providerconnection_w365_status,
  type w365_providerconnectionColumn,
  type w365_syncrunColumn,
} from "../src/schema";

export type Row = Record<string, unknown>;

/** The subset of context.webAPI / Xrm.WebApi the UI uses (logical names, OData query strings). */
export interface RecordsApi {
  retrieveMultipleRecords(
    entityLogicalName: string,
    options?: string,
    maxPageSize?: number,
  ): Promise<{ entities: Row[]; nextLink?: string }>;
  retrieveRecord(entityLogicalName: string, id: string, options?: string): Promise<Row>;
  createRecord(entityLogicalName: string, data: Row): Promise<{ id: string; entityType?: string }>;
  updateRecord(entityLogicalName: string, id: string, data: Row): Promise<unknown>;
  /** Absent on hosts that cannot delete (then the UI offers no Delete). */
  deleteRecord?(entityLogicalName: string, id: string): Promise<unknown>;
}

/**
 * What context.webAPI (PCF) and Xrm.WebApi (forms, command bar, HTML web resources) both offer, typed loosely enough
 * that either fits; recordsApiFrom narrows it to RecordsApi.
 */
export interface ODataWebApi {
  retrieveMultipleRecords(
    entityLogicalName: string,
    options?: string,
    maxPageSize?: number,
  ): Thenable<{ entities: unknown[]; nextLink?: string }>;
  retrieveRecord(entityLogicalName: string, id: string, options?: string): Thenable<unknown>;
  createRecord(entityLogicalName: string, data: Row): Thenable<{ id: string; entityType?: string }>;
  updateRecord(entityLogicalName: string, id: string, data: Row): Thenable<unknown>;
  deleteRecord?(entityLogicalName: string, id: string): Thenable<unknown>;
}

/** Xrm.WebApi returns its own Xrm.Async.PromiseLike, which the global PromiseLike does not accept. */
interface Thenable<T> {
  then(onFulfilled: (value: T) => unknown, onRejected: (reason: unknown) => unknown): unknown;
}

export function recordsApiFrom(webApi: ODataWebApi): RecordsApi {
  return {
    retrieveMultipleRecords: async (name, options, maxPageSize) => {
      const result = await webApi.retrieveMultipleRecords(name, options, maxPageSize);
      return { entities: result.entities as Row[], nextLink: result.nextLink };
    },
    retrieveRecord: async (name, id, options) => (await webApi.retrieveRecord(name, id, options)) as Row,
    createRecord: async (name, data) => {
      const ref = await webApi.createRecord(name, data);
      return { id: ref.id, entityType: ref.entityType };
    },
    updateRecord: async (name, id, data) => webApi.updateRecord(name, id, data),
    ...(webApi.deleteRecord ? { deleteRecord: async (name: string, id: string) => webApi.deleteRecord!(name, id) } : {}),
  };
}

/** Connection status values (generated from the solution) under the keys the UI's strings use. */
export const CONNECTOR_STATUS = {
  notVerified: w365_providerconnection_w365_status.NotVerified,
  connected: w365_providerconnection_w365_status.Connected,
  failed: w365_providerconnection_w365_status.Failed,
  credentialsExpired: w365_providerconnection_w365_status.CredentialsExpired,
} as const;

export type ConnectorStatusKey = keyof typeof CONNECTOR_STATUS;

/** The key whose choice value is `value` (a number or its text), or `fallback` for any other value. */
function choiceKey<K extends string>(choices: Record<K, number>, value: unknown, fallback: K): K {
  const n = Number(value);
  return (Object.keys(choices) as K[]).find((k) => choices[k] === n) ?? fallback;
}

export function connectorStatusKey(value: unknown): ConnectorStatusKey {
  return choiceKey(CONNECTOR_STATUS, value, "notVerified");
}

export const CONNECTOR_COLUMNS_SELECT = [
  "w365_providerconnectionid",
  "w365_name",
  "w365_apikey",
  "w365_ionaccountid",
  "w365_country",
  "w365_currencycode",
  "w365_status",
  "w365_statusmessage",
  "w365_lastverifiedon",
  "w365_refreshtokenexpireson",
  "w365_lastsyncon",
  "w365_lastsyncstatus",
  "w365_refreshtokensavedon",
  "w365_apisecretsavedon",
  "statecode",
] as const satisfies readonly w365_providerconnectionColumn[];

export interface ConnectorView {
  readonly id: string;
  readonly name: string;
  readonly apiKey: string;
  readonly accountId: string;
  readonly country: string;
  readonly currencyCode: string;
  readonly status: ConnectorStatusKey;
  readonly statusMessage: string;
  readonly lastVerifiedOn?: Date;
  readonly refreshTokenExpiresOn?: Date;
  readonly lastSyncOn?: Date;
  readonly lastSyncStatus: string;
  readonly refreshTokenSavedOn?: Date;
  readonly apiSecretSavedOn?: Date;
  /** False when deactivated (statecode Inactive): no syncs, no orders; its rows stay. */
  readonly active: boolean;
}

export function toConnectorView(row: Row): ConnectorView {
  return {
    id: text(row.w365_providerconnectionid),
    name: text(row.w365_name),
    apiKey: text(row.w365_apikey),
    accountId: text(row.w365_ionaccountid),
    country: text(row.w365_country),
    currencyCode: text(row.w365_currencycode),
    status: connectorStatusKey(row.w365_status),
    statusMessage: text(row.w365_statusmessage),
    lastVerifiedOn: date(row.w365_lastverifiedon),
    refreshTokenExpiresOn: date(row.w365_refreshtokenexpireson),
    lastSyncOn: date(row.w365_lastsyncon),
    lastSyncStatus: text(row.w365_lastsyncstatus),
    refreshTokenSavedOn: date(row.w365_refreshtokensavedon),
    apiSecretSavedOn: date(row.w365_apisecretsavedon),
    active: row.statecode === undefined || row.statecode === null || Number(row.statecode) === w365_providerconnection_statecode.Active,
  };
}

export type SyncRunStatus = "queued" | "running" | "succeeded" | "partial" | "failed" | "canceled";
export const TERMINAL_RUN_STATUSES: readonly SyncRunStatus[] = ["succeeded", "partial", "failed", "canceled"];
const RUN_STATUSES: readonly string[] = ["queued", "running", ...TERMINAL_RUN_STATUSES];

export interface RunProgress {
  readonly done?: number;
  readonly total?: number;
  readonly phase?: string;
  /** What the engine said, for plain-text progress ("accounts: 400 Ion customers read"). */
  readonly text?: string;
}

export interface SyncRunView {
  readonly id: string;
  readonly kind: string;
  readonly status: SyncRunStatus;
  readonly requestId: string;
  readonly created: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly failed: number;
  readonly message: string;
  readonly progress?: RunProgress;
  readonly startedOn?: Date;
  readonly finishedOn?: Date;
  /** An admin asked to cancel the run (the engine stops at its next check between pages). */
  readonly cancelRequestedOn?: Date;
}

export const SYNC_RUN_SELECT = [
  "w365_syncrunid",
  "w365_kind",
  "w365_status",
  "w365_requestid",
  "w365_created",
  "w365_updated",
  "w365_unchanged",
  "w365_failed",
  "w365_progress",
  "w365_message",
  "w365_startedon",
  "w365_finishedon",
  "w365_cancelrequestedon",
] as const satisfies readonly w365_syncrunColumn[];

export function toSyncRunView(row: Row): SyncRunView {
  const status = text(row.w365_status).toLowerCase();
  return {
    id: text(row.w365_syncrunid),
    kind: text(row.w365_kind),
    status: (RUN_STATUSES.includes(status) ? status : "running") as SyncRunStatus,
    requestId: text(row.w365_requestid),
    created: count(row.w365_created),
    updated: count(row.w365_updated),
    unchanged: count(row.w365_unchanged),
    failed: count(row.w365_failed),
    message: text(row.w365_message),
    progress: parseProgress(row.w365_progress),
    startedOn: date(row.w365_startedon),
    finishedOn: date(row.w365_finishedon),
    cancelRequestedOn: date(row.w365_cancelrequestedon),
  };
}

export function isTerminal(run: SyncRunView): boolean {
  return TERMINAL_RUN_STATUSES.includes(run.status);
}

/** Engine progress words that say nothing beyond the run's status. */
const STATUS_ONLY_PROGRESS = new Set(["started", "finished", "queued"]);

/**
 * w365_progress as the sync engine writes it: plain text such as "accounts: 400 Ion customers read" or
 * "outbound: 3 of 10 requests" (phase before the colon, "N of M" as done/total), or JSON {done,total,phase}.
 * Tolerates other spellings and junk.
 */
export function parseProgress(value: unknown): RunProgress | undefined {
  if (typeof value !== "string" || !value.trim()) return undefined;
  const trimmed = value.trim();
  if (!trimmed.startsWith("{")) return parseProgressText(trimmed);
  try {
    const parsed = JSON.parse(trimmed) as Record<string, unknown>;
    if (!parsed || typeof parsed !== "object") return undefined;
    const done = firstNumber(parsed.done, parsed.processed, parsed.completed, parsed.current);
    const total = firstNumber(parsed.total, parsed.count, parsed.expected);
    const phase = typeof parsed.phase === "string" ? parsed.phase : typeof parsed.stage === "string" ? parsed.stage : undefined;
    if (done === undefined && total === undefined && phase === undefined) return undefined;
    return { ...(done !== undefined ? { done } : {}), ...(total !== undefined ? { total } : {}), ...(phase ? { phase } : {}) };
  } catch {
    return undefined;
  }
}

function parseProgressText(value: string): RunProgress | undefined {
  if (STATUS_ONLY_PROGRESS.has(value.toLowerCase())) return undefined;
  const colon = /^([a-z][a-z ]*):\s*(.+)$/i.exec(value);
  const phase = colon?.[1]?.trim();
  const detail = (colon?.[2] ?? value).trim();
  const ofTotal = /(\d+)\s+of\s+(\d+)/i.exec(detail);
  return {
    ...(ofTotal ? { done: Number(ofTotal[1]), total: Number(ofTotal[2]) } : {}),
    ...(phase ? { phase } : {}),
    text: detail,
  };
}

/** Mapping status values (generated from the solution) under the keys the mapping page uses. */
export const MAPPING_STATUS = {
  unmapped: w365_provideraccount_w365_mappingstatus.Unmapped,
  suggested: w365_provideraccount_w365_mappingstatus.Suggested,
  mapped: w365_provideraccount_w365_mappingstatus.Mapped,
  ignored: w365_provideraccount_w365_mappingstatus.Ignored,
} as const;

export type MappingStatusKey = keyof typeof MAPPING_STATUS;

/** A mapping status as the solution labels it (Unmapped, Suggested, Mapped, Ignored). */
export function mappingStatusLabel(key: MappingStatusKey): string {
  return choiceLabel(w365_provideraccount_w365_mappingstatusLabels, MAPPING_STATUS[key]) ?? key;
}

export function mappingStatusKey(value: unknown): MappingStatusKey {
  return choiceKey(MAPPING_STATUS, value, "unmapped");
}

export function text(value: unknown): string {
  return value === null || value === undefined ? "" : String(value);
}

function count(value: unknown): number {
  const n = Number(value);
  return Number.isFinite(n) ? n : 0;
}

function firstNumber(...values: unknown[]): number | undefined {
  for (const v of values) {
    const n = typeof v === "string" && v.trim() ? Number(v) : typeof v === "number" ? v : NaN;
    if (Number.isFinite(n)) return n;
  }
  return undefined;
}

export function date(value: unknown): Date | undefined {
  if (value === null || value === undefined || value === "") return undefined;
  const d = new Date(String(value));
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** OData string literal: single quotes doubled. */
export function odataString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** Another connector that already uses the name or the Ion Account ID being saved. */
export interface ConnectorClash {
  readonly field: "accountId" | "name";
  readonly existing: { readonly id: string; readonly name: string; readonly accountId: string };
}

/**
 * One connector per Ion account, and names that tell connectors apart. Dataverse itself refuses a second connector
 * for an Account ID (the alternate key); asking first lets the form name the connector that already has it.
 */
export async function findConnectorClash(
  api: RecordsApi,
  value: { readonly name: string; readonly accountId: string },
  excludeId?: string,
): Promise<ConnectorClash | undefined> {
  const result = await api.retrieveMultipleRecords(
    "w365_providerconnection",
    `?$select=w365_providerconnectionid,w365_name,w365_ionaccountid` +
      `&$filter=w365_ionaccountid eq ${odataString(value.accountId)} or w365_name eq ${odataString(value.name)}`,
  );
  const others = result.entities
    .map((row) => ({ id: text(row.w365_providerconnectionid), name: text(row.w365_name), accountId: text(row.w365_ionaccountid) }))
    .filter((c) => !excludeId || c.id.toLowerCase() !== excludeId.toLowerCase());
  const sameAccount = others.find((c) => c.accountId === value.accountId);
  if (sameAccount) return { field: "accountId", existing: sameAccount };
  const sameName = others.find((c) => c.name.trim().toLowerCase() === value.name.trim().toLowerCase());
  return sameName ? { field: "name", existing: sameName } : undefined;
}

/** Dataverse's answer when a create or update would duplicate an alternate key (DuplicateRecordEntityKey, DuplicateRecord). */
export function isDuplicateKeyError(error: unknown): boolean {
  const e = (error ?? {}) as { code?: unknown; errorCode?: unknown; message?: unknown };
  const code = typeof e.code === "string" ? e.code.toLowerCase() : typeof e.errorCode === "number" ? (e.errorCode >>> 0).toString(16) : "";
  return (
    code.includes("80060892") ||
    code.includes("80040237") ||
    /matching key values already exists|cannot insert duplicate key|requires that this set of attributes contains unique values/i.test(
      String(e.message ?? ""),
    )
  );
}
