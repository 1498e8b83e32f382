/// <reference types="powerapps-component-framework" />
// Data access for the control: connectors over context.webAPI, custom APIs through the injected executor.
// Components receive a ConnectorService and never touch context.webAPI, fetch or Xrm directly.

import { logicalNames } from "../../../src/schema";
import type { ExecuteCustomApi } from "../../../ui-shared/customApi";
import {
  followSyncRun,
  type PollOptions,
  startSync,
  type SyncApiName,
  verifyConnector,
  type VerifyOutcome,
} from "../../../ui-shared/operations";
import {
  CONNECTOR_COLUMNS_SELECT,
  type ConnectorView,
  type RecordsApi,
  type SyncRunView,
  toConnectorView,
} from "../../../ui-shared/records";
import { type NormalizedConnector, toConnectorRecord } from "../../../ui-shared/validation";

export interface ConnectorService {
  listConnectors(): Promise<ConnectorView[]>;
  getConnector(id: string): Promise<ConnectorView>;
  /** Creates or updates; returns the connector id. Secrets are written only when present in `value`. */
  saveConnector(value: NormalizedConnector, existingId?: string): Promise<string>;
  verify(id: string, options?: PollOptions): Promise<VerifyOutcome>;
  /** Starts the sync and follows its run row until it ends, reporting every change. */
  runSync(id: string, api: SyncApiName, onUpdate: (run: SyncRunView | undefined) => void, options?: PollOptions): Promise<SyncRunView>;
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
    },
    verify: (id, options) => verifyConnector(deps.records, deps.executeCustomApi, id, withInterval(options)),
    async runSync(id, api, onUpdate, options) {
      const { requestId } = await startSync(deps.executeCustomApi, id, api);
      return followSyncRun(deps.records, requestId, onUpdate, withInterval(options));
    },
  };
}
