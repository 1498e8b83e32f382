/// <reference types="powerapps-component-framework" />
// Data access for the control: connectors over context.webAPI, custom APIs through the injected executor.
// Components receive a ConnectorService and never touch context.webAPI, fetch or Xrm directly.

import {
  entitySets,
  logicalNames,
  w365_providerconnection_statecode,
  w365_providerconnection_statuscode,
  w365_providersubscription_w365_syncstate,
} from "../../../src/schema";
import { ConnectorError } from "../../../src/shared/errors";
import { normalizeGuid } from "../../../src/shared/guid";
import {
  type ChangeSetWrite,
  DELETES_PER_CHANGESET,
  type SendBatch,
  sendChangeSet,
  type WriteRefusal,
  type WriteResult,
} from "../../../ui-shared/batchDelete";
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
  /** False when the host cannot send $batch requests (the dialog then offers no "Delete connector and its provider records"). */
  readonly canDeleteWithRows: boolean;
  /**
   * Deactivates the connector, deletes its provider subscriptions, then its provider accounts, in $batch requests, then
   * the connector. Resumable: called again after an interruption it deletes what is left. Stops with
   * ConnectorReactivatedError when the connector is activated again meanwhile: every change set of deletes carries a
   * conditional write of the connector as last seen inactive, so no row is deleted after an activation. Rows deleted
   * by someone else meanwhile count as gone. Work 365 rows are never touched.
   */
  deleteWithProviderRows(id: string, onProgress: (progress: DeleteProgress) => void | Promise<void>): Promise<void>;
  /**
   * Asks a queued or running sync to stop; says when it had already finished. A queued run is marked canceled only if
   * it is still as read (If-Match): taken by a worker meanwhile it gets the cancel request, finished it is reported so.
   */
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
  /** Provider subscriptions whose order is still with Ion (Sync State "Sent to Ion"): Ion completes them whatever happens here. */
  readonly sentToIon: RowCount;
  /** False while provider accounts or subscriptions point to it: Dataverse would refuse the delete. */
  readonly deletable: boolean;
}

/** One step of deleteWithProviderRows, reported as it is done; `deleted` counts rows this call has deleted so far. */
export type DeleteProgress =
  | { readonly step: "deactivated" }
  | { readonly step: "subscriptions"; readonly deleted: number }
  | { readonly step: "accounts"; readonly deleted: number }
  | { readonly step: "connector" };

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

/** The connector was activated again (another tab, another admin) while its provider records were being deleted. */
export class ConnectorReactivatedError extends ConnectorError {
  constructor(name: string) {
    super(
      "CONNECTOR_REACTIVATED",
      `The delete of "${name}" stopped: the connector was activated again (in another tab or by another admin) while its provider records were being deleted. What was deleted stays deleted; nothing more was deleted. Open Delete again to see what is left.`,
    );
  }
}

/** Rows kept reappearing: a sync was still writing for this connector after several rounds. */
export class ConnectorStillWritingError extends ConnectorError {
  constructor(name: string) {
    super(
      "CONNECTOR_STILL_WRITING",
      `"${name}" was not deleted yet: a sync still running for it kept adding provider records. It stops at its next check; open Delete again in a minute to finish.`,
      { retryable: true },
    );
  }
}

/** Dataverse refused deleting some rows (for example a missing privilege); nothing after them was attempted. */
export class ProviderRowsNotDeletedError extends ConnectorError {
  constructor(what: string, detail: string, status: number) {
    super("PROVIDER_ROWS_NOT_DELETED", `Dataverse refused to delete ${what}: ${detail}`, { statusCode: status });
  }
}

const PAGE = 5000;
/** Rounds of "delete what is there, then the connector" before giving up on a sync that keeps writing. */
const DELETE_ROUNDS = 5;
/** Change sets in a row whose guard found the connector written (still inactive) before the delete gives up. */
const GUARD_ATTEMPTS = 5;

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
  /** Sends $batch requests (same-origin fetch in the browser); absent = no delete of provider records from here. */
  readonly sendBatch?: SendBatch;
  /** Web API root the batch parts are addressed to (default /api/data/v9.2). */
  readonly webApiPath?: string;
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
      const [accounts, subscriptions, runs, sent] = await Promise.all([
        read(logicalNames.w365_provideraccount, "w365_provideraccountid,_w365_account_value"),
        read(logicalNames.w365_providersubscription, "w365_providersubscriptionid"),
        read(logicalNames.w365_syncrun, "w365_syncrunid"),
        deps.records.retrieveMultipleRecords(
          logicalNames.w365_providersubscription,
          `?$select=w365_providersubscriptionid&$filter=${filter} and w365_syncstate eq ${w365_providersubscription_w365_syncstate.SentToIon}`,
          PAGE,
        ),
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
        sentToIon: counted(sent),
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
    canDeleteWithRows: deps.records.deleteRecord !== undefined && deps.sendBatch !== undefined,
    async deleteWithProviderRows(id, onProgress) {
      const send = deps.sendBatch;
      if (!send) throw new ConnectorError("DELETE_UNAVAILABLE", "This host cannot delete provider records.");
      const connectorId = normalizeGuid(id, "connector id");
      const filter = `_w365_connection_value eq ${connectorId}`;
      const readConnector = () =>
        deps.records.retrieveRecord(logicalNames.w365_providerconnection, connectorId, "?$select=w365_name,statecode");
      const first = await readConnector();
      const name = String(first.w365_name ?? connectorId);
      // Deactivated first: no scheduled or manual sync and no order starts from here on, and a running sync stops at
      // its next check. A sync that had passed its check may still write one page: the rounds below delete it too.
      await this.setActive(connectorId, false);
      await onProgress({ step: "deactivated" });
      /** Reads the connector; stops the delete when someone activated it again. Answers its ETag. */
      const stillInactive = async (): Promise<string> => {
        const row = await readConnector();
        if (Number(row.statecode) === w365_providerconnection_statecode.Active) throw new ConnectorReactivatedError(name);
        const etag = row["@odata.etag"];
        // Without the row's ETag no write could tell a connector activated meanwhile: refuse, never "*".
        if (!etag) throw new Error(`The connector ${name} was read without its version (@odata.etag); the delete stops here.`);
        return String(etag);
      };
      /** The connector's version when last seen inactive: every change set below is guarded by it. */
      let inactiveEtag = await stillInactive();
      const guard = (): ChangeSetWrite => ({
        method: "PATCH",
        entitySet: entitySets.w365_providerconnection,
        id: connectorId,
        ifMatch: inactiveEtag,
        // Writes the state it already has (If-Match proves it): nothing changes but its version, answered back.
        body: {
          statecode: w365_providerconnection_statecode.Inactive,
          statuscode: w365_providerconnection_statuscode.Inactive,
        },
        select: ["statecode"],
      });
      const deleted = { subscriptions: 0, accounts: 0 };
      const deleteAll = async (step: "subscriptions" | "accounts", table: string, idColumn: string): Promise<void> => {
        for (let moved = 0; ;) {
          const page = await deps.records.retrieveMultipleRecords(table, `?$select=${idColumn}&$filter=${filter}`, DELETES_PER_CHANGESET);
          if (page.entities.length === 0) return;
          const entitySet = entitySets[table as keyof typeof entitySets];
          // One change set: the guard, then the deletes. The guard fails (412) when the connector changed since it was
          // last seen inactive (another admin activated it), and then not one of these rows is deleted.
          const [guarded, ...results] = await sendChangeSet(
            send,
            [guard(), ...page.entities.map((row): ChangeSetWrite => ({ method: "DELETE", entitySet, id: String(row[idColumn]) }))],
            deps.webApiPath,
          );
          if (guarded?.kind === "failed" && (guarded.status === 412 || guarded.status === 404)) {
            // Changed: activated again (stops here), or written while inactive (a token save, another tab's delete):
            // then the fresh version guards the next change set. A row written to constantly ends the attempt. (A 404
            // told of no write in particular: the read says whether the connector is still there.)
            if (++moved > GUARD_ATTEMPTS) throw new ConnectorStillWritingError(name);
            inactiveEtag = await stillInactive();
            continue;
          }
          moved = 0;
          if (guarded?.kind === "done") {
            if (!guarded.etag) throw new Error(`Dataverse answered the guard on ${name} without its new version; the delete stops here.`);
            inactiveEtag = guarded.etag;
            deleted[step] += results.filter((r) => r.kind === "done").length;
            await onProgress({ step, deleted: deleted[step] });
            continue;
          }
          // Rolled back. A row deleted meanwhile by someone else (404) is gone: the next page reads the rest again and
          // the delete goes on. Any other refusal stops here, with nothing of this change set done.
          const refusal = [guarded, ...results].map(refusalIn).find((r) => r !== undefined && r.status !== 404);
          if (refusal) throw new ProviderRowsNotDeletedError(`provider ${step} of "${name}"`, refusal.message, refusal.status);
          if (guarded?.kind !== "rolledBack")
            throw new ProviderRowsNotDeletedError(`provider ${step} of "${name}"`, "Dataverse did not run the request.", 0);
        }
      };
      for (let round = 0; round < DELETE_ROUNDS; round++) {
        inactiveEtag = await stillInactive();
        await deleteAll("subscriptions", logicalNames.w365_providersubscription, "w365_providersubscriptionid");
        await deleteAll("accounts", logicalNames.w365_provideraccount, "w365_provideraccountid");
        // The connector goes only as it was when last seen inactive (If-Match): activated again since, or written by a
        // sync meanwhile, the delete answers 412 and the next round looks again.
        const [outcome] = await sendChangeSet(
          send,
          [{ method: "DELETE", entitySet: entitySets.w365_providerconnection, id: connectorId, ifMatch: inactiveEtag }],
          deps.webApiPath,
        );
        if (outcome?.kind === "done" || (outcome?.kind === "failed" && outcome.status === 404)) {
          await onProgress({ step: "connector" });
          return;
        }
        if (outcome?.kind === "failed" && outcome.status !== 412 && !isRestrictRefusal({ code: outcome.code, message: outcome.message })) {
          throw new ProviderRowsNotDeletedError(`"${name}"`, outcome.message, outcome.status);
        }
      }
      throw new ConnectorStillWritingError(name);
    },
    async cancelRun(runId) {
      const read = async (): Promise<{ run: SyncRunView; etag?: string }> => {
        const row = await deps.records.retrieveRecord(logicalNames.w365_syncrun, runId, `?$select=${SYNC_RUN_SELECT.join(",")}`);
        const etag = row["@odata.etag"];
        return { run: toSyncRunView({ w365_syncrunid: runId, ...row }), ...(etag ? { etag: String(etag) } : {}) };
      };
      /** Stamps the cancel request: the engine never writes that column, so no write of either side is lost. */
      const requestCancel = async (stamp: string): Promise<CancelOutcome> => {
        await deps.records.updateRecord(logicalNames.w365_syncrun, runId, { w365_cancelrequestedon: stamp });
        // The run may have ended between the read and the write: then the stamp changes nothing, and its own status tells.
        const { run: after } = await read();
        if (isTerminal(after) && after.status !== "canceled") return { outcome: "finished", run: after };
        return { outcome: "requested", run: after };
      };
      const { run, etag } = await read();
      if (isTerminal(run)) return { outcome: "finished", run };
      const stamp = now().toISOString();
      // A running run gets the request; the engine stops at its next check.
      if (run.status !== "queued") return requestCancel(stamp);
      // A queued run is marked canceled at once, but only as it was read (If-Match): a worker may take it or even finish
      // it between the read and this write, and then "canceled" would be a lie in the history. context.webAPI sends no
      // If-Match, so this goes as a one-write change set over the page's same-origin fetch.
      if (!deps.sendBatch || !etag) return requestCancel(stamp);
      const [written] = await sendChangeSet(
        deps.sendBatch,
        [
          {
            method: "PATCH",
            entitySet: entitySets.w365_syncrun,
            id: runId,
            ifMatch: etag,
            body: {
              w365_cancelrequestedon: stamp,
              w365_status: "canceled",
              w365_finishedon: stamp,
              w365_message: "Canceled by an admin before it started.",
            },
            select: ["w365_status"],
          },
        ],
        deps.webApiPath,
      );
      if (written?.kind === "done") return { outcome: "canceled", run: (await read()).run };
      if (written?.kind === "failed" && written.status === 412) {
        // The run moved on meanwhile: finished (nothing to cancel, say how it ended) or taken by a worker (ask it to stop).
        const moved = await read();
        if (isTerminal(moved.run)) return { outcome: "finished", run: moved.run };
        return requestCancel(stamp);
      }
      const refusal = written ? refusalIn(written) : undefined;
      throw new ConnectorError("CANCEL_FAILED", refusal?.message ?? "Dataverse did not run the cancel.", { statusCode: refusal?.status });
    },
  };
}

/** The refusal a change-set write reports: its own, or the one that rolled it back. */
function refusalIn(result: WriteResult | undefined): WriteRefusal | undefined {
  if (result?.kind === "failed") return result;
  if (result?.kind === "rolledBack") return result.cause;
  return undefined;
}
