// What a connector has done and holds, as the admin reads it in the app: its sync runs (with each run's per-record
// report), its provider accounts and its provider subscriptions. Queries over the RecordsApi plus pure row mapping,
// shared by the PCF control and the web resources.

import { w365_providersubscription_w365_syncstate } from "../src/schema";
import { normalizeGuid } from "../src/shared/guid";
import { pendingAutoRenew } from "../src/sync/outbound/policy";
import {
  date,
  MAPPING_STATUS,
  type MappingStatusKey,
  mappingStatusKey,
  type RecordsApi,
  type Row,
  SYNC_RUN_SELECT,
  type SyncRunView,
  text,
  toSyncRunView,
} from "./records";

/** w365_providersubscription.w365_syncstate. */
export const SYNC_STATE = {
  inSync: w365_providersubscription_w365_syncstate.InSync,
  changeRequested: w365_providersubscription_w365_syncstate.ChangeRequested,
  sentToIon: w365_providersubscription_w365_syncstate.SentToIon,
  conflict: w365_providersubscription_w365_syncstate.Conflict,
  error: w365_providersubscription_w365_syncstate.Error,
} as const;

export type SyncStateKey = keyof typeof SYNC_STATE;

export function syncStateKey(value: unknown): SyncStateKey {
  const n = Number(value);
  for (const [key, code] of Object.entries(SYNC_STATE)) if (code === n) return key as SyncStateKey;
  return "inSync";
}

/** A run as the history lists it: the run view plus what started it and how long it took. */
export interface RunHistoryEntry extends SyncRunView {
  readonly trigger: string;
  readonly dryRun: boolean;
  readonly durationMs?: number;
}

export const RUN_HISTORY_SELECT = [...SYNC_RUN_SELECT, "w365_trigger", "w365_dryrun", "w365_durationms"] as const;

export function toRunHistoryEntry(row: Row): RunHistoryEntry {
  const run = toSyncRunView(row);
  const duration = Number(row.w365_durationms);
  const fromTimes = run.startedOn && run.finishedOn ? run.finishedOn.getTime() - run.startedOn.getTime() : undefined;
  return {
    ...run,
    trigger: text(row.w365_trigger),
    dryRun: row.w365_dryrun === true,
    durationMs: Number.isFinite(duration) && row.w365_durationms !== null && row.w365_durationms !== undefined ? duration : fromTimes,
  };
}

/**
 * A connector's runs, newest first (the connector's sync history). Dataverse keeps times to the second, so runs
 * started within one second are ordered by row version: the one created or changed last comes first.
 */
export async function listRuns(api: RecordsApi, connectionId: string, top = 50): Promise<RunHistoryEntry[]> {
  const result = await api.retrieveMultipleRecords(
    "w365_syncrun",
    `?$select=${RUN_HISTORY_SELECT.join(",")}&$filter=_w365_connection_value eq ${normalizeGuid(connectionId, "connector id")}` +
      `&$orderby=w365_startedon desc,versionnumber desc&$top=${Math.max(1, Math.min(500, Math.floor(top)))}`,
  );
  return result.entities.map(toRunHistoryEntry);
}

/**
 * The newest run of each connector that is still queued or running and was updated recently enough to be alive:
 * after a reload or in another tab a running sync shows as running, not as the previous run's outcome.
 */
export async function activeRuns(
  api: RecordsApi,
  connectionIds: readonly string[],
  options: { now?: () => number; staleAfterMs?: number } = {},
): Promise<Map<string, RunHistoryEntry>> {
  const found = new Map<string, RunHistoryEntry>();
  if (connectionIds.length === 0) return found;
  const now = (options.now ?? Date.now)();
  const staleAfter = options.staleAfterMs ?? DEFAULT_STALE_RUN_MS;
  const result = await api.retrieveMultipleRecords(
    "w365_syncrun",
    `?$select=${[...RUN_HISTORY_SELECT, "_w365_connection_value", "modifiedon"].join(",")}` +
      `&$filter=(w365_status eq 'running' or w365_status eq 'queued')&$orderby=w365_startedon desc&$top=200`,
  );
  const wanted = new Set(connectionIds.map((id) => id.toLowerCase()));
  for (const row of result.entities) {
    const connection = text(row._w365_connection_value).toLowerCase();
    if (!wanted.has(connection) || found.has(connection)) continue;
    const touched = date(row.modifiedon) ?? date(row.w365_startedon);
    if (touched && now - touched.getTime() > staleAfter) continue;
    found.set(connection, toRunHistoryEntry(row));
  }
  return found;
}

/** Matches the Functions app's STALE_RUN_MINUTES default: an older queued/running run is treated as dead. */
export const DEFAULT_STALE_RUN_MS = 30 * 60 * 1000;

/** One record's outcome in a run's report (w365_report), as the history shows it. */
export interface RunReportEntry {
  readonly entity: string;
  readonly key: string;
  readonly name: string;
  readonly action: string;
  readonly message: string;
  readonly changes: readonly { readonly column: string; readonly before: string; readonly after: string }[];
}

export interface RunReportView {
  readonly counts: Readonly<Record<string, number>>;
  readonly entries: readonly RunReportEntry[];
  readonly omittedEntries: number;
  readonly errors: readonly string[];
}

export async function readRunReport(api: RecordsApi, runId: string): Promise<RunReportView> {
  const row = await api.retrieveRecord("w365_syncrun", runId, "?$select=w365_report");
  return parseRunReport(row.w365_report);
}

/** Tolerates an absent, truncated or foreign report: the history still shows the run's counts. */
export function parseRunReport(value: unknown): RunReportView {
  const empty: RunReportView = { counts: {}, entries: [], omittedEntries: 0, errors: [] };
  if (typeof value !== "string" || !value.trim()) return empty;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return { ...empty, errors: ["The run's report could not be read."] };
  }
  if (!parsed || typeof parsed !== "object") return empty;
  const report = parsed as Record<string, unknown>;
  const counts: Record<string, number> = {};
  if (report.counts && typeof report.counts === "object") {
    for (const [k, v] of Object.entries(report.counts as Record<string, unknown>)) if (typeof v === "number") counts[k] = v;
  }
  const entries = Array.isArray(report.entries) ? report.entries.map(toReportEntry).filter((e): e is RunReportEntry => !!e) : [];
  const omitted = typeof report.omittedEntries === "number" ? report.omittedEntries : 0;
  const errors = Array.isArray(report.errors) ? report.errors.filter((e): e is string => typeof e === "string") : [];
  return { counts, entries, omittedEntries: omitted, errors };
}

function toReportEntry(value: unknown): RunReportEntry | undefined {
  if (!value || typeof value !== "object") return undefined;
  const e = value as Record<string, unknown>;
  const before = (e.before && typeof e.before === "object" ? e.before : {}) as Record<string, unknown>;
  const after = (e.after && typeof e.after === "object" ? e.after : {}) as Record<string, unknown>;
  const columns = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  const error = e.error && typeof e.error === "object" ? (e.error as Record<string, unknown>) : undefined;
  return {
    entity: text(e.entity),
    key: text(e.key),
    name: text(e.name),
    action: text(e.action),
    message: text(e.message) || (error ? text(error.message) : ""),
    changes: columns
      .map((column) => ({ column, before: show(before[column]), after: show(after[column]) }))
      .filter((c) => c.before !== c.after),
  };
}

function show(value: unknown): string {
  if (value === null || value === undefined) return "";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

/** An Ion customer as the connector's provider accounts list shows it. */
export interface ProviderAccountView {
  readonly id: string;
  readonly name: string;
  readonly ionCustomerId: string;
  readonly mappingStatus: MappingStatusKey;
  readonly accountName: string;
  readonly matchReason: string;
  readonly modifiedOn?: Date;
}

export const PROVIDER_ACCOUNT_SELECT = [
  "w365_provideraccountid",
  "w365_name",
  "w365_ioncustomerid",
  "w365_mappingstatus",
  "w365_matchreason",
  "_w365_account_value",
  "modifiedon",
] as const;

export function toProviderAccountView(row: Row): ProviderAccountView {
  return {
    id: text(row.w365_provideraccountid),
    name: text(row.w365_name),
    ionCustomerId: text(row.w365_ioncustomerid),
    mappingStatus: mappingStatusKey(row.w365_mappingstatus),
    accountName: text(row["_w365_account_value@OData.Community.Display.V1.FormattedValue"]),
    matchReason: text(row.w365_matchreason),
    modifiedOn: date(row.modifiedon),
  };
}

/** An Ion subscription as the connector's provider subscriptions list shows it, with the admin's pending request. */
export interface ProviderSubscriptionView {
  readonly id: string;
  readonly name: string;
  readonly productName: string;
  readonly providerAccountName: string;
  readonly quantity?: number;
  readonly status: string;
  readonly autoRenew?: boolean;
  readonly requestedQuantity?: number;
  readonly requestedStatus: string;
  readonly requestedAutoRenew?: boolean;
  readonly syncState: SyncStateKey;
  readonly syncMessage: string;
  readonly lastOrderId: string;
  readonly modifiedOn?: Date;
}

export const PROVIDER_SUBSCRIPTION_SELECT = [
  "w365_providersubscriptionid",
  "w365_name",
  "w365_productname",
  "_w365_provideraccount_value",
  "w365_quantity",
  "w365_status",
  "w365_autorenew",
  "w365_requestedquantity",
  "w365_requestedstatus",
  "w365_requestedautorenew",
  "w365_lastsyncedautorenew",
  "w365_syncstate",
  "w365_syncmessage",
  "w365_lastorderid",
  "modifiedon",
] as const;

export function toProviderSubscriptionView(row: Row): ProviderSubscriptionView {
  return {
    id: text(row.w365_providersubscriptionid),
    name: text(row.w365_name),
    productName: text(row.w365_productname),
    providerAccountName: text(row["_w365_provideraccount_value@OData.Community.Display.V1.FormattedValue"]),
    quantity: optionalNumber(row.w365_quantity),
    status: text(row.w365_status),
    autoRenew: typeof row.w365_autorenew === "boolean" ? row.w365_autorenew : undefined,
    requestedQuantity: optionalNumber(row.w365_requestedquantity),
    requestedStatus: text(row.w365_requestedstatus),
    // A yes/no column is never empty (the engine writes requested = last synced): only a differing value is a request,
    // by the same rule the outbound sync applies.
    requestedAutoRenew: pendingAutoRenew({
      w365_requestedautorenew: typeof row.w365_requestedautorenew === "boolean" ? row.w365_requestedautorenew : null,
      w365_lastsyncedautorenew: typeof row.w365_lastsyncedautorenew === "boolean" ? row.w365_lastsyncedautorenew : null,
      w365_autorenew: typeof row.w365_autorenew === "boolean" ? row.w365_autorenew : null,
    }),
    syncState: syncStateKey(row.w365_syncstate),
    syncMessage: text(row.w365_syncmessage),
    lastOrderId: text(row.w365_lastorderid),
    modifiedOn: date(row.modifiedon),
  };
}

/** Whether the admin has asked Ion for a change on this subscription that Ion has not applied yet. */
export function hasRequestedChange(s: ProviderSubscriptionView): boolean {
  return s.requestedQuantity !== undefined || s.requestedStatus !== "" || s.requestedAutoRenew !== undefined;
}

export type AccountFilter = "all" | MappingStatusKey;
export type SubscriptionFilter = "all" | "requested" | SyncStateKey;

export interface Page<T> {
  readonly items: readonly T[];
  /** True when more rows match than were read; the list says so instead of pretending it is complete. */
  readonly more: boolean;
}

export const RECORDS_PAGE_SIZE = 200;

export async function listProviderAccounts(
  api: RecordsApi,
  connectionId: string,
  filter: AccountFilter = "all",
  pageSize = RECORDS_PAGE_SIZE,
): Promise<Page<ProviderAccountView>> {
  const clauses = [`_w365_connection_value eq ${normalizeGuid(connectionId, "connector id")}`];
  if (filter !== "all") clauses.push(`w365_mappingstatus eq ${MAPPING_STATUS[filter]}`);
  const result = await api.retrieveMultipleRecords(
    "w365_provideraccount",
    `?$select=${PROVIDER_ACCOUNT_SELECT.join(",")}&$filter=${clauses.join(" and ")}&$orderby=w365_name asc&$top=${pageSize + 1}`,
  );
  return { items: result.entities.slice(0, pageSize).map(toProviderAccountView), more: result.entities.length > pageSize };
}

/**
 * `pendingAutoRenew` as a filter: the requested auto-renew differs from the last synced one or, never synced, from the
 * current one (written with literals: the yes/no column always holds a value, so "ne null" would match every row).
 */
const differs = (a: string, b: string): string => `((${a} eq true and ${b} eq false) or (${a} eq false and ${b} eq true))`;
const AUTO_RENEW_REQUESTED =
  `(${differs("w365_requestedautorenew", "w365_lastsyncedautorenew")} or ` +
  `(w365_lastsyncedautorenew eq null and ${differs("w365_requestedautorenew", "w365_autorenew")}))`;

export async function listProviderSubscriptions(
  api: RecordsApi,
  connectionId: string,
  filter: SubscriptionFilter = "all",
  pageSize = RECORDS_PAGE_SIZE,
): Promise<Page<ProviderSubscriptionView>> {
  const clauses = [`_w365_connection_value eq ${normalizeGuid(connectionId, "connector id")}`];
  if (filter === "requested") {
    clauses.push(`(w365_requestedquantity ne null or w365_requestedstatus ne null or ${AUTO_RENEW_REQUESTED})`);
  } else if (filter !== "all") {
    clauses.push(`w365_syncstate eq ${SYNC_STATE[filter]}`);
  }
  const result = await api.retrieveMultipleRecords(
    "w365_providersubscription",
    `?$select=${PROVIDER_SUBSCRIPTION_SELECT.join(",")}&$filter=${clauses.join(" and ")}&$orderby=w365_name asc&$top=${pageSize + 1}`,
  );
  return { items: result.entities.slice(0, pageSize).map(toProviderSubscriptionView), more: result.entities.length > pageSize };
}

function optionalNumber(value: unknown): number | undefined {
  if (value === null || value === undefined || value === "") return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}
