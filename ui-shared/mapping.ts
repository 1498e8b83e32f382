// The mapping view's model: Ion customers as the view shows them, filters, search, sorting, strong suggestions,
// the engine's likely duplicates and bulk runs. Framework-free (no React, no Web API calls of its own), so the PCF
// control's mapping view and its data access (services/mappingService.ts) share one copy.

import type { w365_provideraccountColumn } from "../src/schema";
import type { LikelyDuplicate } from "../src/sync/matching/duplicates";
import { AUTO_MAP_THRESHOLD } from "../src/sync/matching/thresholds";
import type { MapAction } from "../src/sync/vocabulary";
import { type MappingStatusKey, mappingStatusKey, odataString, type Row, text } from "./records";

export type MappingFilter = MappingStatusKey | "all";
export const MAPPING_FILTERS: readonly MappingFilter[] = ["unmapped", "suggested", "mapped", "ignored", "all"];

/**
 * Default bar for "strong" suggestions in the bulk accept: the engine's own auto-map score. What is still Suggested
 * at or above it was held back only because a runner-up came close, so the admin reviews each pair before it runs.
 */
export const STRONG_SUGGESTION_SCORE = AUTO_MAP_THRESHOLD;
export const STRONG_SUGGESTION_CHOICES: readonly number[] = [0.95, 0.9, 0.8, 0.7];
/** Rows per Web API page (Dataverse's maximum); later pages are followed through @odata.nextLink. */
export const PAGE_SIZE = 5000;
/** Safety stop for a runaway nextLink chain (a connector with more Ion customers than this is not realistic). */
export const MAX_PAGES = 200;

export interface AccountRef {
  readonly id: string;
  readonly name: string;
  readonly domain?: string;
  readonly tenantId?: string;
  readonly city?: string;
}

export interface ProviderAccountView {
  readonly id: string;
  readonly name: string;
  readonly customerId: string;
  readonly contactName: string;
  readonly contactEmail: string;
  readonly domain: string;
  readonly tenantId: string;
  readonly status: MappingStatusKey;
  /** 0..1, undefined when no candidate was scored. */
  readonly score?: number;
  readonly reason: string;
  readonly accountId?: string;
  readonly accountName?: string;
  readonly suggestedAccountId?: string;
  readonly suggestedAccountName?: string;
  readonly connectionId?: string;
}

export const PROVIDER_ACCOUNT_SELECT = [
  "w365_provideraccountid",
  "w365_name",
  "w365_ioncustomerid",
  "w365_contactname",
  "w365_contactemail",
  "w365_domain",
  "w365_tenantid",
  "w365_mappingstatus",
  "w365_matchscore",
  "w365_matchreason",
  "_w365_account_value",
  "_w365_connection_value",
] satisfies w365_provideraccountColumn[];
/** Requested from the solution; the view works without it (then only Mapped rows name an account). */
export const SUGGESTED_ACCOUNT_COLUMN: w365_provideraccountColumn = "_w365_suggestedaccount_value";

const FORMATTED = "@OData.Community.Display.V1.FormattedValue";

export function toProviderAccountView(row: Row): ProviderAccountView {
  const score =
    row.w365_matchscore === null || row.w365_matchscore === undefined || row.w365_matchscore === ""
      ? undefined
      : Number(row.w365_matchscore);
  const optional = (value: unknown): string | undefined => (text(value) ? text(value) : undefined);
  return {
    id: text(row.w365_provideraccountid),
    name: text(row.w365_name),
    customerId: text(row.w365_ioncustomerid),
    contactName: text(row.w365_contactname),
    contactEmail: text(row.w365_contactemail),
    domain: text(row.w365_domain),
    tenantId: text(row.w365_tenantid),
    status: mappingStatusKey(row.w365_mappingstatus),
    score: score !== undefined && Number.isFinite(score) ? score : undefined,
    reason: text(row.w365_matchreason),
    accountId: optional(row._w365_account_value),
    accountName: optional(row[`_w365_account_value${FORMATTED}`]),
    suggestedAccountId: optional(row[SUGGESTED_ACCOUNT_COLUMN]),
    suggestedAccountName: optional(row[`${SUGGESTED_ACCOUNT_COLUMN}${FORMATTED}`]),
    connectionId: optional(row._w365_connection_value),
  };
}

export function filterRows(rows: readonly ProviderAccountView[], filter: MappingFilter, search = ""): ProviderAccountView[] {
  const q = search.trim().toLowerCase();
  return rows.filter((row) => {
    if (filter !== "all" && row.status !== filter) return false;
    if (!q) return true;
    return [
      row.name,
      row.customerId,
      row.contactName,
      row.contactEmail,
      row.domain,
      row.tenantId,
      row.accountName ?? "",
      row.suggestedAccountName ?? "",
    ].some((value) => value.toLowerCase().includes(q));
  });
}

export function countByStatus(rows: readonly ProviderAccountView[]): Record<MappingFilter, number> {
  const counts: Record<MappingFilter, number> = { unmapped: 0, suggested: 0, mapped: 0, ignored: 0, all: rows.length };
  for (const row of rows) counts[row.status] += 1;
  return counts;
}

/** Suggested rows whose candidate account is known and scored at or above the threshold. */
export function strongSuggestions(rows: readonly ProviderAccountView[], threshold = STRONG_SUGGESTION_SCORE): ProviderAccountView[] {
  return rows.filter((row) => row.status === "suggested" && row.suggestedAccountId && (row.score ?? 0) >= threshold);
}

export function formatScore(score: number | undefined): string {
  return score === undefined ? "" : `${Math.round(score * 100)}%`;
}

/** The query part of an @odata.nextLink ("?$select=…&$skiptoken=…"), which Xrm.WebApi takes as `options`. */
export function nextLinkQuery(nextLink: string): string {
  const at = nextLink.indexOf("?");
  if (at < 0) throw new Error("The next page link has no query.");
  return nextLink.slice(at);
}

export function accountSearchFilter(query: string): string {
  const q = query.trim();
  const parts = [`contains(name,${odataString(q)})`];
  if (/^[a-z0-9.-]+\.[a-z]{2,}$/i.test(q)) parts.push(`w365_primarydomain eq ${odataString(q.toLowerCase())}`);
  return parts.join(" or ");
}

export const ACCOUNT_SELECT = "accountid,name,w365_primarydomain,w365_microsofttenantid,address1_city";

export function toAccountRef(row: Row): AccountRef {
  return {
    id: text(row.accountid),
    name: text(row.name),
    domain: text(row.w365_primarydomain) || undefined,
    tenantId: text(row.w365_microsofttenantid) || undefined,
    city: text(row.address1_city) || undefined,
  };
}

export type { MapAction } from "../src/sync/vocabulary";

export type { LikelyDuplicate };

/** What one change came to: done, sent but not yet visible on the row, or refused by the duplicate check. */
export type ApplyResult =
  | { readonly kind: "done" | "pending"; readonly row: ProviderAccountView }
  | { readonly kind: "duplicates"; readonly duplicates: readonly LikelyDuplicate[] };

/** Whether a row shows the outcome of an action (mapped to the account asked for, ignored, open again). */
export const EXPECTED: Readonly<Record<MapAction, (row: ProviderAccountView, accountId?: string) => boolean>> = {
  map: (row, accountId) => row.status === "mapped" && (!accountId || row.accountId?.toLowerCase() === accountId.toLowerCase()),
  create: (row) => row.status === "mapped" && Boolean(row.accountId),
  ignore: (row) => row.status === "ignored",
  unmap: (row) => row.status === "unmapped" || row.status === "suggested",
};

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export type SortKey = "name" | "status" | "account" | "score";
export type SortDirection = "ascending" | "descending";

const STATUS_ORDER: Readonly<Record<MappingStatusKey, number>> = { suggested: 0, unmapped: 1, mapped: 2, ignored: 3 };

/** The account a row shows: the mapped one, or for an open row its suggestion. */
export function shownAccountName(row: ProviderAccountView): string {
  if (row.status === "mapped") return row.accountName ?? row.accountId ?? "";
  return row.status !== "ignored" ? (row.suggestedAccountName ?? row.suggestedAccountId ?? "") : "";
}

/** Stable sort by one column; rows without a value (no score, no account) go last in either direction. */
export function sortRows(rows: readonly ProviderAccountView[], key: SortKey, direction: SortDirection): ProviderAccountView[] {
  const sign = direction === "ascending" ? 1 : -1;
  const collator = new Intl.Collator(undefined, { sensitivity: "base", numeric: true });
  const value = (row: ProviderAccountView): string | number | undefined => {
    switch (key) {
      case "name":
        return row.name;
      case "status":
        return STATUS_ORDER[row.status];
      case "account":
        return shownAccountName(row) || undefined;
      case "score":
        return row.score;
    }
  };
  return rows
    .map((row, index) => ({ row, index, v: value(row) }))
    .sort((a, b) => {
      if (a.v === undefined || b.v === undefined) return a.v === b.v ? a.index - b.index : a.v === undefined ? 1 : -1;
      const c = typeof a.v === "number" && typeof b.v === "number" ? a.v - b.v : collator.compare(String(a.v), String(b.v));
      return c !== 0 ? c * sign : a.index - b.index;
    })
    .map((x) => x.row);
}

/** Which bulk actions apply to a row: map to its suggestion, ignore, create new (open rows only). */
export function canBulk(row: ProviderAccountView, action: "map" | "ignore" | "create"): boolean {
  if (action === "map") return row.status === "suggested" && Boolean(row.suggestedAccountId);
  return row.status === "unmapped" || row.status === "suggested";
}

/** A bulk action: map to the suggested account, ignore, or create a new account (the engine's duplicate check on). */
export type BulkAction = "map" | "ignore" | "create";

/** One row's result, as data: the view words it through its resources (`bulkResultText`). */
export type BulkResult =
  | { readonly id: string; readonly outcome: "done"; readonly accountName?: string }
  | { readonly id: string; readonly outcome: "pending" }
  | { readonly id: string; readonly outcome: "duplicates"; readonly duplicates: readonly LikelyDuplicate[] }
  | { readonly id: string; readonly outcome: "failed"; readonly error: string };

export interface BulkProgress {
  readonly total: number;
  readonly done: number;
  readonly failed: number;
  /** Rows the run did not reach because it was stopped. */
  readonly notStarted: number;
  readonly cancelled: boolean;
  readonly finished: boolean;
}

/** The resource keys the bulk texts are worded with; the PCF control's resx has each (its localizer fits `MappingText`). */
type MappingTextKey =
  | `Map_Summary_${BulkAction}`
  | "Map_Summary_Running"
  | "Map_Summary_Finished"
  | "Map_Summary_Stopped"
  | "Map_Result_Ignored"
  | "Map_Result_MappedTo"
  | "Map_TheAccount"
  | "Map_Result_Pending"
  | "Map_Result_Duplicates"
  | "Map_Result_Duplicate";
/** Looks a key up and fills its `{0}`-style placeholders. */
type MappingText = (key: MappingTextKey, ...args: readonly (string | number)[]) => string;

/** "12 of 40 mapped, 1 failed" (and, once stopped, how many were not started). */
export function bulkSummary(action: BulkAction, p: BulkProgress, t: MappingText): string {
  const head = t(`Map_Summary_${action}`, p.done, p.total, p.failed);
  if (p.cancelled && p.finished) return t("Map_Summary_Stopped", head, p.notStarted);
  return p.finished ? t("Map_Summary_Finished", head) : t("Map_Summary_Running", head);
}

/** One row's result as the review list shows it. */
export function bulkResultText(action: BulkAction, result: BulkResult, t: MappingText): string {
  switch (result.outcome) {
    case "done":
      return action === "ignore" ? t("Map_Result_Ignored") : t("Map_Result_MappedTo", result.accountName ?? t("Map_TheAccount"));
    case "pending":
      return t("Map_Result_Pending");
    case "duplicates":
      return t(
        "Map_Result_Duplicates",
        result.duplicates.map((d) => t("Map_Result_Duplicate", d.accountName, formatScore(d.score))).join(", "),
      );
    case "failed":
      return result.error;
  }
}

/**
 * Runs the rows one at a time (each change is a custom API call that Dataverse runs inline), reporting each row's
 * result as it lands. `cancelled` is checked before each row, so a stop lets the call in flight finish and starts
 * no other.
 */
export async function runBulk(
  rows: readonly ProviderAccountView[],
  apply: (row: ProviderAccountView) => Promise<ApplyResult>,
  onResult: (result: BulkResult, progress: BulkProgress, updated?: ProviderAccountView) => void,
  cancelled: () => boolean,
): Promise<BulkProgress> {
  let done = 0;
  let failed = 0;
  let index = 0;
  const progress = (finished: boolean): BulkProgress => ({
    total: rows.length,
    done,
    failed,
    notStarted: rows.length - index,
    cancelled: cancelled(),
    finished,
  });
  for (; index < rows.length;) {
    if (cancelled()) break;
    const row = rows[index] as ProviderAccountView;
    let result: BulkResult;
    let updated: ProviderAccountView | undefined;
    try {
      const outcome = await apply(row);
      if (outcome.kind === "duplicates") {
        failed += 1;
        result = { id: row.id, outcome: "duplicates", duplicates: outcome.duplicates };
      } else {
        updated = outcome.row;
        if (outcome.kind === "done") done += 1;
        else failed += 1;
        result =
          outcome.kind === "done" ? { id: row.id, outcome: "done", accountName: updated.accountName } : { id: row.id, outcome: "pending" };
      }
    } catch (error) {
      failed += 1;
      result = { id: row.id, outcome: "failed", error: errorMessage(error) };
    }
    index += 1;
    onResult(result, progress(false), updated);
  }
  return progress(true);
}
