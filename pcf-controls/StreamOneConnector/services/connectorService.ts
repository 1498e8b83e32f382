/// <reference types="powerapps-component-framework" />
// Data access for the control: connectors over context.webAPI, custom APIs through the injected executor.
// Components receive a ConnectorService and never touch context.webAPI, fetch or Xrm directly.

import { logicalNames } from "../../../src/schema";
import { ConnectorError } from "../../../src/shared/errors";
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
  type RecordsApi,
  type SyncRunView,
  toConnectorView,
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
  };
}
