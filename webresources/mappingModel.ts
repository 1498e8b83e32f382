// The provider account mapping page's data: reading Ion customers and accounts, filters, strong suggestions and
// likely duplicates. Pure functions plus a small data-access object over RecordsApi / ExecuteCustomApi.

import { customApiNames, logicalNames, type w365_provideraccountColumn } from "../src/schema";
import { type ExecuteCustomApi, PROVIDER_ACCOUNT_TARGET } from "../ui-shared/customApi";
import {
  type MappingStatusKey,
  mappingStatusKey,
  mappingStatusLabel,
  odataString,
  type RecordsApi,
  type Row,
  text,
} from "../ui-shared/records";

export type MappingFilter = MappingStatusKey | "all";
export const MAPPING_FILTERS: readonly MappingFilter[] = ["unmapped", "suggested", "mapped", "ignored", "all"];
export const FILTER_LABELS: Readonly<Record<MappingFilter, string>> = {
  unmapped: mappingStatusLabel("unmapped"),
  suggested: mappingStatusLabel("suggested"),
  mapped: mappingStatusLabel("mapped"),
  ignored: mappingStatusLabel("ignored"),
  all: "All",
};

/**
 * Default bar for "strong" suggestions, which the bulk accept maps after one confirm. The sync engine already maps
 * on its own at 0.9 with a clear margin over the runner-up, so what is left as Suggested scores below that or has a
 * close runner-up: 0.8 keeps the bulk accept useful, and the admin can raise it (STRONG_SUGGESTION_CHOICES).
 */
export const STRONG_SUGGESTION_SCORE = 0.8;
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
/** Requested from the solution; the page works without it (then only Mapped rows name an account). */
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

const TRAILING_LEGAL_SUFFIX =
  /[\s,]+(inc|incorporated|llc|ltd|limited|plc|gmbh|ag|sa|sas|srl|bv|nv|pty|co|corp|corporation|company|group|holdings)\.?$/i;

/**
 * The distinctive part of a company name for a "contains" search: trailing legal suffixes go ("Contoso Ltd." →
 * "Contoso", "Acme Holdings Ltd" → "Acme"), inner punctuation stays, because the account is likely spelled with it
 * too ("Dare, Stoltenberg & Aufderhar Co." → "Dare, Stoltenberg & Aufderhar").
 */
export function coreName(name: string): string {
  let core = name.trim().replace(/\s+/g, " ");
  for (let previous = ""; previous !== core;) {
    previous = core;
    core = core.replace(TRAILING_LEGAL_SUFFIX, "").replace(/[\s,.]+$/, "");
  }
  return core || name.trim();
}

/** OData filter for accounts that may be the same organization as the Ion customer. */
export function duplicateFilter(row: ProviderAccountView): string {
  const parts = [`contains(name,${odataString(coreName(row.name))})`];
  if (row.domain) parts.push(`w365_primarydomain eq ${odataString(row.domain.toLowerCase())}`);
  if (row.tenantId) parts.push(`w365_microsofttenantid eq ${odataString(row.tenantId.toLowerCase())}`);
  return parts.join(" or ");
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

const ACCOUNT_SELECT = "accountid,name,w365_primarydomain,w365_microsofttenantid,address1_city";

function toAccountRef(row: Row): AccountRef {
  return {
    id: text(row.accountid),
    name: text(row.name),
    domain: text(row.w365_primarydomain) || undefined,
    tenantId: text(row.w365_microsofttenantid) || undefined,
    city: text(row.address1_city) || undefined,
  };
}

export type MapAction = "map" | "create" | "ignore" | "unmap";

/** Reads and changes provider account mappings. Every change goes through the w365_MapProviderAccount custom API. */
export class MappingData {
  private suggestedColumnAvailable = true;

  constructor(
    private readonly records: RecordsApi,
    private readonly execute: ExecuteCustomApi,
    private readonly pageSize: number = PAGE_SIZE,
    /** Told the running row count after each page, so the page can say how far loading has got. */
    private readonly onPage?: (rowsSoFar: number) => void,
  ) {}

  async listProviderAccounts(connectionId?: string): Promise<ProviderAccountView[]> {
    const filter = connectionId ? `&$filter=_w365_connection_value eq ${connectionId.replace(/[{}]/g, "")}` : "";
    const query = (withSuggested: boolean): string =>
      `?$select=${[...PROVIDER_ACCOUNT_SELECT, ...(withSuggested ? [SUGGESTED_ACCOUNT_COLUMN] : [])].join(",")}${filter}&$orderby=w365_name asc`;
    let rows: Row[];
    try {
      rows = await this.readAll(query(this.suggestedColumnAvailable));
    } catch (error) {
      if (!this.suggestedColumnAvailable) throw error;
      // The suggested-account lookup is optional in the schema: retry without it.
      this.suggestedColumnAvailable = false;
      rows = await this.readAll(query(false));
    }
    const views = rows.map(toProviderAccountView);
    return this.withAccountNames(views);
  }

  async connectorName(connectionId: string): Promise<string> {
    const row = await this.records.retrieveRecord(logicalNames.w365_providerconnection, connectionId, "?$select=w365_name");
    return text(row.w365_name);
  }

  async getProviderAccount(id: string): Promise<ProviderAccountView> {
    const columns = [...PROVIDER_ACCOUNT_SELECT, ...(this.suggestedColumnAvailable ? [SUGGESTED_ACCOUNT_COLUMN] : [])];
    const row = await this.records.retrieveRecord(logicalNames.w365_provideraccount, id, `?$select=${columns.join(",")}`);
    const [view] = await this.withAccountNames([toProviderAccountView({ w365_provideraccountid: id, ...row })]);
    return view as ProviderAccountView;
  }

  async searchAccounts(query: string): Promise<AccountRef[]> {
    if (!query.trim()) return [];
    const result = await this.records.retrieveMultipleRecords(
      logicalNames.account,
      `?$select=${ACCOUNT_SELECT}&$filter=${encodeURIComponent(accountSearchFilter(query))}&$orderby=name asc&$top=25`,
    );
    return result.entities.map(toAccountRef);
  }

  /** Accounts that may already be this customer; shown before Create new account, which then needs a confirm. */
  async findLikelyDuplicates(row: ProviderAccountView): Promise<AccountRef[]> {
    const result = await this.records.retrieveMultipleRecords(
      logicalNames.account,
      `?$select=${ACCOUNT_SELECT}&$filter=${encodeURIComponent(duplicateFilter(row))}&$top=10`,
    );
    const found = result.entities.map(toAccountRef);
    if (row.suggestedAccountId && !found.some((a) => a.id === row.suggestedAccountId)) {
      found.unshift({ id: row.suggestedAccountId, name: row.suggestedAccountName ?? row.suggestedAccountId });
    }
    return found;
  }

  async apply(row: ProviderAccountView, action: MapAction, accountId?: string): Promise<Record<string, unknown>> {
    return this.execute({
      name: customApiNames.w365_MapProviderAccount,
      target: PROVIDER_ACCOUNT_TARGET(row.id),
      parameters: {
        Action: { type: "String", value: action },
        AccountId: { type: "Guid", value: action === "map" ? accountId : undefined },
        CreateNew: { type: "Boolean", value: action === "create" ? true : undefined },
      },
    });
  }

  /**
   * Reads every page. Xrm.WebApi / context.webAPI return at most `maxPageSize` rows and a nextLink; the next page is
   * requested with the query part of that link, unchanged, and the same page size (Dataverse's paging rules).
   */
  private async readAll(query: string): Promise<Row[]> {
    const rows: Row[] = [];
    let options: string | undefined = query;
    for (let page = 0; options !== undefined; page++) {
      if (page >= MAX_PAGES) throw new Error(`Stopped after ${MAX_PAGES} pages of provider accounts.`);
      const result: { entities: Row[]; nextLink?: string } = await this.records.retrieveMultipleRecords(
        logicalNames.w365_provideraccount,
        options,
        this.pageSize,
      );
      rows.push(...result.entities);
      this.onPage?.(rows.length);
      options = result.nextLink ? nextLinkQuery(result.nextLink) : undefined;
    }
    return rows;
  }

  /** Fills account names when the Web API did not return formatted values (one query per 50 ids). */
  private async withAccountNames(views: ProviderAccountView[]): Promise<ProviderAccountView[]> {
    const missing = new Set<string>();
    for (const v of views) {
      if (v.accountId && !v.accountName) missing.add(v.accountId);
      if (v.suggestedAccountId && !v.suggestedAccountName) missing.add(v.suggestedAccountId);
    }
    if (missing.size === 0) return views;
    const names = new Map<string, string>();
    const ids = [...missing];
    for (let i = 0; i < ids.length; i += 50) {
      const chunk = ids.slice(i, i + 50);
      const filter = chunk.map((id) => `accountid eq ${id}`).join(" or ");
      const result = await this.records.retrieveMultipleRecords(logicalNames.account, `?$select=accountid,name&$filter=${filter}`);
      for (const row of result.entities) names.set(text(row.accountid).toLowerCase(), text(row.name));
    }
    return views.map((v) => ({
      ...v,
      accountName: v.accountName ?? (v.accountId ? names.get(v.accountId.toLowerCase()) : undefined),
      suggestedAccountName: v.suggestedAccountName ?? (v.suggestedAccountId ? names.get(v.suggestedAccountId.toLowerCase()) : undefined),
    }));
  }
}
