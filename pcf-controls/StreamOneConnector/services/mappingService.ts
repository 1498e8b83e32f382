// The mapping view's data access: reading every page of a connector's Ion customers, account search, and each
// change through the w365_MapProviderAccount custom API, over RecordsApi / ExecuteCustomApi (context.webAPI, and
// Xrm.WebApi.online.execute or a same-origin fetch for the custom API), the same Web API calls as production.
import { customApiNames, logicalNames } from "../../../src/schema";
import { normalizeGuid } from "../../../src/shared/guid";
import { parseLikelyDuplicates } from "../../../src/sync/matching/duplicates";
import { type ExecuteCustomApi, PROVIDER_ACCOUNT_TARGET } from "../../../ui-shared/customApi";
import {
  ACCOUNT_SELECT,
  type AccountRef,
  accountSearchFilter,
  type ApplyResult,
  errorMessage,
  EXPECTED,
  type MapAction,
  MAX_PAGES,
  nextLinkQuery,
  PAGE_SIZE,
  PROVIDER_ACCOUNT_SELECT,
  type ProviderAccountView,
  SUGGESTED_ACCOUNT_COLUMN,
  toAccountRef,
  toProviderAccountView,
} from "../../../ui-shared/mapping";
import { type RecordsApi, type Row, text } from "../../../ui-shared/records";

/** Reads and changes provider account mappings. Every change goes through the w365_MapProviderAccount custom API. */
export class MappingData {
  private suggestedColumnAvailable = true;

  constructor(
    private readonly records: RecordsApi,
    private readonly execute: ExecuteCustomApi,
    private readonly pageSize: number = PAGE_SIZE,
    /** Told the running row count after each page, so the view can say how far loading has got. */
    private readonly onPage?: (rowsSoFar: number) => void,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    /** Extra reads, 500 ms apart, while a row does not yet show the outcome of a change. */
    private readonly settleReads = 60,
  ) {}

  async listProviderAccounts(connectionId?: string): Promise<ProviderAccountView[]> {
    const filter = connectionId ? `&$filter=_w365_connection_value eq ${normalizeGuid(connectionId, "connector id")}` : "";
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

  /**
   * One change through w365_MapProviderAccount, then the row as the handler left it. A "create" without `force` runs
   * the engine's duplicate check first: when it finds likely existing accounts nothing is created and they come back
   * as `duplicates` (with `force`, Force=true creates the account anyway).
   */
  async apply(row: ProviderAccountView, action: MapAction, options: { accountId?: string; force?: boolean } = {}): Promise<ApplyResult> {
    try {
      await this.execute({
        name: customApiNames.w365_MapProviderAccount,
        target: PROVIDER_ACCOUNT_TARGET(row.id),
        parameters: {
          Action: { type: "String", value: action },
          AccountId: { type: "Guid", value: action === "map" ? options.accountId : undefined },
          CreateNew: { type: "Boolean", value: action === "create" ? true : undefined },
          Force: { type: "Boolean", value: action === "create" && options.force ? true : undefined },
        },
      });
    } catch (error) {
      const duplicates = action === "create" ? parseLikelyDuplicates(errorMessage(error), row.name) : undefined;
      if (duplicates) return { kind: "duplicates", duplicates };
      throw error;
    }
    const updated = await this.waitForOutcome(row, action, options.accountId);
    return { kind: EXPECTED[action](updated, options.accountId) ? "done" : "pending", row: updated };
  }

  /** Re-reads the row until it shows the action's outcome (the step runs inline, so this is normally the first read). */
  private async waitForOutcome(row: ProviderAccountView, action: MapAction, accountId?: string): Promise<ProviderAccountView> {
    let current = await this.getProviderAccount(row.id);
    for (let i = 0; i < this.settleReads && !EXPECTED[action](current, accountId); i++) {
      await this.sleep(500);
      current = await this.getProviderAccount(row.id);
    }
    return current;
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

/** A MappingData for one view: `onPage` hears the running row count while every page is read. */
export type MappingServiceFactory = (onPage?: (rowsSoFar: number) => void) => MappingData;

export function createMappingService(deps: { records: RecordsApi; execute: ExecuteCustomApi }): MappingServiceFactory {
  return (onPage) => new MappingData(deps.records, deps.execute, PAGE_SIZE, onPage);
}
