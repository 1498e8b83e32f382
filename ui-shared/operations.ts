// Verify and sync as the admin UI runs them: start through the custom API, then follow the outcome the webhook
// handlers write to records (a custom API answered by a webhook cannot return data), until it ends.

import { customApiNames, logicalNames } from "../src/schema";
import { ConnectorError } from "../src/shared/errors";
import { CONNECTOR_TARGET, type ExecuteCustomApi, newRequestId } from "./customApi";
import {
  CONNECTOR_COLUMNS_SELECT,
  type ConnectorView,
  isTerminal,
  odataString,
  type RecordsApi,
  SYNC_RUN_SELECT,
  type SyncRunView,
  toConnectorView,
  toSyncRunView,
} from "./records";

export const SYNC_PROVIDER_ACCOUNTS = customApiNames.w365_SyncProviderAccounts;
export const SYNC_SUBSCRIPTIONS = customApiNames.w365_SyncSubscriptions;
export type SyncApiName = typeof SYNC_PROVIDER_ACCOUNTS | typeof SYNC_SUBSCRIPTIONS;

/** How long the UI follows a run before telling the admin it is still going (the run itself is not stopped). */
export const DEFAULT_RUN_TIMEOUT_MS = 15 * 60 * 1000;
export const DEFAULT_VERIFY_TIMEOUT_MS = 2 * 60 * 1000;
export const DEFAULT_POLL_INTERVAL_MS = 1500;

export interface PollOptions {
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
  readonly intervalMs?: number;
  readonly timeoutMs?: number;
  /** Lets the UI stop following (unmount, navigation). */
  readonly signal?: { readonly aborted: boolean };
}

export class RunTimeoutError extends ConnectorError {
  constructor(what: string, requestId?: string) {
    super("RUN_TIMEOUT", `${what} is still running. It continues in the background; its result will appear in the list.`, {
      retryable: true,
      requestId,
    });
  }
}

export class PollAbortedError extends ConnectorError {
  constructor() {
    super("POLL_ABORTED", "Stopped following the run.");
  }
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function readConnector(api: RecordsApi, id: string): Promise<ConnectorView> {
  const row = await api.retrieveRecord(logicalNames.w365_providerconnection, id, `?$select=${CONNECTOR_COLUMNS_SELECT.join(",")}`);
  return toConnectorView({ w365_providerconnectionid: id, ...row });
}

export async function findSyncRun(api: RecordsApi, requestId: string): Promise<SyncRunView | undefined> {
  const result = await api.retrieveMultipleRecords(
    logicalNames.w365_syncrun,
    `?$select=${SYNC_RUN_SELECT.join(",")}&$filter=w365_requestid eq ${odataString(requestId)}&$orderby=createdon desc&$top=1`,
  );
  const row = result.entities[0];
  return row ? toSyncRunView(row) : undefined;
}

export interface StartedRun {
  readonly requestId: string;
}

/** Starts a sync with a fresh RequestId; the run row carries that id so its progress can be followed. */
export async function startSync(
  execute: ExecuteCustomApi,
  connectionId: string,
  api: SyncApiName,
  options: { dryRun?: boolean; providerAccountId?: string; requestId?: string } = {},
): Promise<StartedRun> {
  const requestId = options.requestId ?? newRequestId();
  await execute({
    name: api,
    target: CONNECTOR_TARGET(connectionId),
    parameters: {
      RequestId: { type: "String", value: requestId },
      DryRun: { type: "Boolean", value: options.dryRun },
      ...(api === SYNC_SUBSCRIPTIONS ? { ProviderAccountId: { type: "Guid" as const, value: options.providerAccountId } } : {}),
    },
  });
  return { requestId };
}

/** Polls the w365_syncrun row for a RequestId until it reaches a terminal status, reporting each change. */
export function followSyncRun(
  api: RecordsApi,
  requestId: string,
  onUpdate: (run: SyncRunView | undefined) => void,
  options: PollOptions = {},
): Promise<SyncRunView> {
  return followRun(() => findSyncRun(api, requestId), onUpdate, options, requestId);
}

/** The same for a run known by its row id: one started elsewhere (the schedule, another tab, before a reload). */
export function followRunById(
  api: RecordsApi,
  runId: string,
  onUpdate: (run: SyncRunView | undefined) => void,
  options: PollOptions = {},
): Promise<SyncRunView> {
  return followRun(
    async () =>
      toSyncRunView({
        w365_syncrunid: runId,
        ...(await api.retrieveRecord("w365_syncrun", runId, `?$select=${SYNC_RUN_SELECT.join(",")}`)),
      }),
    onUpdate,
    options,
  );
}

async function followRun(
  read: () => Promise<SyncRunView | undefined>,
  onUpdate: (run: SyncRunView | undefined) => void,
  options: PollOptions,
  requestId?: string,
): Promise<SyncRunView> {
  const sleep = options.sleep ?? defaultSleep;
  const now = options.now ?? Date.now;
  const interval = options.intervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  const deadline = now() + (options.timeoutMs ?? DEFAULT_RUN_TIMEOUT_MS);
  let last = "";
  for (;;) {
    if (options.signal?.aborted) throw new PollAbortedError();
    const run = await read();
    const fingerprint = JSON.stringify(run ?? null);
    if (fingerprint !== last) {
      last = fingerprint;
      onUpdate(run);
    }
    if (run && isTerminal(run)) return run;
    if (now() >= deadline) throw new RunTimeoutError("The sync", requestId);
    await sleep(interval);
  }
}

export interface VerifyOutcome {
  readonly connector: ConnectorView;
  /** False when the verification had not finished within the timeout (the list shows it when it lands). */
  readonly finished: boolean;
}

/**
 * Verify Connectivity: call the custom API, then re-read the connector until its last-verified time moves past the
 * value it had before the call (the verify handler stamps it on success and on failure).
 */
export async function verifyConnector(
  api: RecordsApi,
  execute: ExecuteCustomApi,
  connectionId: string,
  options: PollOptions = {},
): Promise<VerifyOutcome> {
  const sleep = options.sleep ?? defaultSleep;
  const now = options.now ?? Date.now;
  const before = await readConnector(api, connectionId);
  const beforeStamp = before.lastVerifiedOn?.getTime() ?? 0;
  await execute({ name: customApiNames.w365_VerifyConnectivity, target: CONNECTOR_TARGET(connectionId) });
  const deadline = now() + (options.timeoutMs ?? DEFAULT_VERIFY_TIMEOUT_MS);
  for (;;) {
    if (options.signal?.aborted) throw new PollAbortedError();
    const current = await readConnector(api, connectionId);
    const stamp = current.lastVerifiedOn?.getTime() ?? 0;
    if (stamp > beforeStamp) return { connector: current, finished: true };
    if (now() >= deadline) return { connector: current, finished: false };
    await sleep(options.intervalMs ?? DEFAULT_POLL_INTERVAL_MS);
  }
}
