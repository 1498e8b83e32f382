/// <reference types="powerapps-component-framework" />
// Data access for the control: connectors over context.webAPI, custom APIs through the injected executor.
// Components receive a ConnectorService and never touch context.webAPI, fetch or Xrm directly.

import { logicalNames, w365_providerconnection_statecode, w365_providerconnection_statuscode } from "../../../src/schema";
import { ConnectorError } from "../../../src/shared/errors";
import { normalizeGuid } from "../../../src/shared/guid";
import type { ExecuteCustomApi } from "../../../ui-shared/customApi";
import {
  type AccountFilter,
  activeRuns,
  listProviderAccounts,
  listProviderSubscriptions,
  listRuns,
  type Page,
  type ProviderAccountView,
  type ProviderSubscriptionView,
  readRunReport,
  type RunHistoryEntry,
  type RunReportView,
  type SubscriptionFilter,
} from "../../../ui-shared/history";
import {
  followRunById,
  followSyncRun,
  type PollOptions,
  startSync,
  type SyncApiName,
  verifyConnector,
  type VerifyOutcome,
} from "../../../ui-shared/operations";
import {
  CONNECTOR_COLUMNS_SELECT,
  type ConnectorClash,
  type ConnectorView,
  findConnectorClash,
  isDuplicateKeyError,
  isTerminal,
  type RecordsApi,
  SYNC_RUN_SELECT,
  type SyncRunView,
  toConnectorView,
  toSyncRunView,
} from "../../../ui-shared/records";
import { type NormalizedConnector, toConnectorRecord } from "../../../ui-shared/validation";

export interface ConnectorService {
  listConnectors(): Promise<ConnectorView[]>;
  getConnector(id: string): Promise<ConnectorView>;
  /**
   * Creates or updates; returns the connector id. Secrets are written only when present in `value`. Throws
   * ConnectorClashError when another connector already has the Ion Account ID or the name.
   */
  saveConnector(value: NormalizedConnector, existingId?: string): Promise<string>;
  verify(id: string, options?: PollOptions): Promise<VerifyOutcome>;
  /** Starts the sync and follows its run row until it ends, reporting every change. */
  runSync(id: string, api: SyncApiName, onUpdate: (run: SyncRunView | undefined) => void, options?: PollOptions): Promise<SyncRunView>;
  /** Follows a run that was started elsewhere (another tab, the schedule, before a reload) until it ends. */
  followRun(run: RunHistoryEntry, onUpdate: (run: SyncRunView | undefined) => void, options?: PollOptions): Promise<SyncRunView>;
  /** The newest live (queued or running) run of each connector, by lower-case connector id. */
  activeRuns(connectorIds: readonly string[]): Promise<Map<string, RunHistoryEntry>>;
  runHistory(connectorId: string): Promise<RunHistoryEntry[]>;
  runReport(runId: string): Promise<RunReportView>;
  providerAccounts(connectorId: string, filter: AccountFilter): Promise<Page<ProviderAccountView>>;
  providerSubscriptions(connectorId: string, filter: SubscriptionFilter): Promise<Page<ProviderSubscriptionView>>;
  /** False when the host cannot delete records (the UI then offers no Delete). */
  readonly canDelete: boolean;
  /** Deactivates (statecode Inactive) or activates the connector; its rows stay either way. */
  setActive(id: string, active: boolean): Promise<void>;
  /** What deleting the connector would do, counted from its rows now (the dialog says it before the admin confirms). */
  deleteImpact(id: string): Promise<DeleteImpact>;
  /** Deletes the connector; ConnectorHasRowsError when Dataverse refuses because rows still point to it. */
  deleteConnector(id: string): Promise<void>;
  /** Asks a queued or running sync to stop; says when it had already finished. */
  cancelRun(runId: string): Promise<CancelOutcome>;
}

/** Rows counted up to one page (5,000); `more` says there are more than that. */
export interface RowCount {
  readonly count: number;
  readonly more: boolean;
}

/**
 * The solution's delete rules for a connector (solution/Other/Relationships/w365_providerconnection.xml): provider
 * accounts and provider subscriptions are Restrict (Dataverse refuses the delete while any exists), sync runs are
 * RemoveLink (they stay in the history without a connector). Work 365 accounts are only referenced by provider
 * accounts, so deleting a connector never changes them.
 */
export interface DeleteImpact {
  readonly providerAccounts: RowCount;
  readonly providerSubscriptions: RowCount;
  /** Distinct Work 365 accounts its provider accounts are mapped to (untouched by a delete). */
  readonly mappedAccounts: RowCount;
  readonly syncRuns: RowCount;
  /** False while provider accounts or subscriptions point to it: Dataverse would refuse the delete. */
  readonly deletable: boolean;
}

export type CancelOutcome =
  /** The run was running: the engine stops at its next check between pages. */
  | { readonly outcome: "requested"; readonly run: SyncRunView }
  /** The run was still queued: it is canceled before any work (a worker that takes it anyway stops at once). */
  | { readonly outcome: "canceled"; readonly run: SyncRunView }
  /** Nothing to cancel: the run had already ended with this status. */
  | { readonly outcome: "finished"; readonly run: SyncRunView };

/** Dataverse refused the delete: provider accounts or subscriptions point to the connector (Restrict, 0x80040227). */
export class ConnectorHasRowsError extends ConnectorError {
  constructor(name: string) {
    super(
      "CONNECTOR_HAS_ROWS",
      `"${name}" was not deleted: provider accounts or provider subscriptions point to it (a sync may have added them since the dialog opened). Deactivate it instead.`,
    );
  }
}

const PAGE = 5000;

/** The delete refusal Dataverse gives when a Restrict relationship still has rows (CannotDeleteDueToAssociation). */
function isRestrictRefusal(error: unknown): boolean {
  const e = (error ?? {}) as { code?: unknown; errorCode?: unknown; message?: unknown };
  // Xrm.WebApi and context.webAPI give the code as a signed number (-2147220953); the Web API body as hex text.
  const code = typeof e.errorCode === "number" ? (e.errorCode >>> 0).toString(16) : String(e.errorCode ?? e.code ?? "").toLowerCase();
  return code.includes("80040227") || /associated with another object/i.test(String(e.message ?? ""));
}

/** A save refused because another connector already has this Ion Account ID or name; says which one. */
export class ConnectorClashError extends ConnectorError {
  constructor(readonly clash: ConnectorClash) {
    super(
      "CONNECTOR_EXISTS",
      clash.field === "accountId"
        ? `Connector "${clash.existing.name}" already connects Ion account ${clash.existing.accountId}. Each Ion account has one connector: edit that one instead.`
        : `Another connector is already named "${clash.existing.name}". Choose a name that tells them apart.`,
    );
  }
}

export interface ConnectorServiceDeps {
  readonly records: RecordsApi;
  readonly executeCustomApi: ExecuteCustomApi;
  readonly now?: () => Date;
  readonly pollIntervalMs?: number;
  /** Ion host written on new connectors (w365_ionbaseurl); undefined keeps the column default, https://ion.tdsynnex.com. */
  readonly ionBaseUrl?: string;
}

export function createConnectorService(deps: ConnectorServiceDeps): ConnectorService {
  const now = deps.now ?? (() => new Date());
  const withInterval = (options?: PollOptions): PollOptions => ({ intervalMs: deps.pollIntervalMs, ...options });

  const writeConnector = async (value: NormalizedConnector, existingId?: string): Promise<string> => {
    const record = toConnectorRecord(value, now());
    if (existingId) {
      await deps.records.updateRecord(logicalNames.w365_providerconnection, existingId, record);
      return existingId;
    }
    const baseUrl = deps.ionBaseUrl?.trim();
    const created = await deps.records.createRecord(
      logicalNames.w365_providerconnection,
      baseUrl ? { ...record, w365_ionbaseurl: baseUrl } : record,
    );
    return created.id;
  };

  return {
    async listConnectors() {
      const result = await deps.records.retrieveMultipleRecords(
        logicalNames.w365_providerconnection,
        `?$select=${CONNECTOR_COLUMNS_SELECT.join(",")}&$orderby=w365_name asc`,
      );
      return result.entities.map(toConnectorView);
    },
    async getConnector(id) {
      const row = await deps.records.retrieveRecord(
        logicalNames.w365_providerconnection,
        id,
        `?$select=${CONNECTOR_COLUMNS_SELECT.join(",")}`,
      );
      return toConnectorView({ w365_providerconnectionid: id, ...row });
    },
    async saveConnector(value, existingId) {
      const clash = await findConnectorClash(deps.records, value, existingId);
      if (clash) throw new ConnectorClashError(clash);
      try {
        return await writeConnector(value, existingId);
      } catch (error) {
        // Another admin (or an import) saved the same Account ID between the check and the write: name that connector.
        if (!isDuplicateKeyError(error)) throw error;
        const late = await findConnectorClash(deps.records, value, existingId).catch(() => undefined);
        throw late ? new ConnectorClashError(late) : error;
      }
    },
    verify: (id, options) => verifyConnector(deps.records, deps.executeCustomApi, id, withInterval(options)),
    async runSync(id, api, onUpdate, options) {
      const { requestId } = await startSync(deps.executeCustomApi, id, api);
      return followSyncRun(deps.records, requestId, onUpdate, withInterval(options));
    },
    followRun: (run, onUpdate, options) => followRunById(deps.records, run.id, onUpdate, withInterval(options)),
    activeRuns: (ids) => activeRuns(deps.records, ids, { now: () => now().getTime() }),
    runHistory: (id) => listRuns(deps.records, id),
    runReport: (runId) => readRunReport(deps.records, runId),
    providerAccounts: (id, filter) => listProviderAccounts(deps.records, id, filter),
    providerSubscriptions: (id, filter) => listProviderSubscriptions(deps.records, id, filter),
    canDelete: deps.records.deleteRecord !== undefined,
    async setActive(id, active) {
      await deps.records.updateRecord(logicalNames.w365_providerconnection, id, {
        statecode: active ? w365_providerconnection_statecode.Active : w365_providerconnection_statecode.Inactive,
        statuscode: active ? w365_providerconnection_statuscode.Active : w365_providerconnection_statuscode.Inactive,
      });
    },
    async deleteImpact(id) {
      const filter = `_w365_connection_value eq ${normalizeGuid(id, "connector id")}`;
      const read = (table: string, select: string) =>
        deps.records.retrieveMultipleRecords(table, `?$select=${select}&$filter=${filter}`, PAGE);
      const [accounts, subscriptions, runs] = await Promise.all([
        read(logicalNames.w365_provideraccount, "w365_provideraccountid,_w365_account_value"),
        read(logicalNames.w365_providersubscription, "w365_providersubscriptionid"),
        read(logicalNames.w365_syncrun, "w365_syncrunid"),
      ]);
      const counted = (r: { entities: unknown[]; nextLink?: string }): RowCount => ({
        count: r.entities.length,
        more: Boolean(r.nextLink),
      });
      const mapped = new Set(accounts.entities.map((a) => a._w365_account_value).filter((v) => typeof v === "string" && v !== ""));
      const providerAccounts = counted(accounts);
      const providerSubscriptions = counted(subscriptions);
      return {
        providerAccounts,
        providerSubscriptions,
        mappedAccounts: { count: mapped.size, more: providerAccounts.more },
        syncRuns: counted(runs),
        deletable: providerAccounts.count === 0 && providerSubscriptions.count === 0,
      };
    },
    async deleteConnector(id) {
      if (!deps.records.deleteRecord) throw new ConnectorError("DELETE_UNAVAILABLE", "This host cannot delete records.");
      try {
        await deps.records.deleteRecord(logicalNames.w365_providerconnection, id);
      } catch (error) {
        if (!isRestrictRefusal(error)) throw error;
        const name = await this.getConnector(id).then(
          (c) => c.name,
          () => id,
        );
        throw new ConnectorHasRowsError(name);
      }
    },
    async cancelRun(runId) {
      const read = async (): Promise<SyncRunView> =>
        toSyncRunView({
          w365_syncrunid: runId,
          ...(await deps.records.retrieveRecord(logicalNames.w365_syncrun, runId, `?$select=${SYNC_RUN_SELECT.join(",")}`)),
        });
      const run = await read();
      if (isTerminal(run)) return { outcome: "finished", run };
      const stamp = now().toISOString();
      // Only the cancel stamp is written while the engine runs: it never writes that column, so no write of
      // either side is lost. A queued run is also marked canceled; a worker that takes it anyway sees the stamp
      // at its first check and ends it canceled again.
      if (run.status === "queued") {
        await deps.records.updateRecord(logicalNames.w365_syncrun, runId, {
          w365_cancelrequestedon: stamp,
          w365_status: "canceled",
          w365_finishedon: stamp,
          w365_message: "Canceled by an admin before it started.",
        });
      } else {
        await deps.records.updateRecord(logicalNames.w365_syncrun, runId, { w365_cancelrequestedon: stamp });
      }
      // The run may have ended between the read and the write: then the stamp changes nothing, and the run's own status tells.
      const after = await read();
      if (isTerminal(after) && after.status !== "canceled") return { outcome: "finished", run: after };
      return { outcome: run.status === "queued" ? "canceled" : "requested", run: after };
    },
  };
}
