import type { DataverseClient } from "../dataverse";
import { IonClient, IonClientOptions, IonTransport } from "../ion";
import { Clock, systemClock } from "../shared/clock";
import { Logger, silentLogger } from "../shared/logger";
import { registerSecret } from "../shared/redact";
import { sleep as realSleep } from "../shared/retry";
import {
  DataverseTokenStore,
  DataverseTokenStoreOptions,
  defaultHolderId,
  RotationJournal,
  TOKEN_COLUMNS,
  TokenManager,
  TokenRow,
} from "../tokens";
import { ConnectionConfigError, ConnectionNotFoundError } from "./errors";
import { CONNECTION_COLUMNS, SETS } from "./schema";

// The connector status rules of token rotation live in src/tokens; re-exported for the engine's callers.
export {
  isRefreshTokenRejected,
  isTokenSaveFailureMessage,
  STATUS_MESSAGE_MAX_LENGTH,
  TOKEN_SAVE_FAILURE_MARKER,
  tokenSaveFailureStatusMessage,
} from "../tokens";

export const DEFAULT_ION_BASE_URL = "https://ion.tdsynnex.com";
/** Parallel Ion requests per sync (docs/platform/ion-api.md §6 suggests 4-8; no rate limit is documented). */
export const DEFAULT_ION_CONCURRENCY = 8;

/** Test-only injection points; production leaves them unset. */
export interface SyncHooks {
  /** Called after each page (Ion page of customers/subscriptions) is fully processed and checkpointed. */
  afterPage?: (info: { phase: string; page: number }) => void | Promise<void>;
  /** Called before each Ion order is placed. */
  beforeOrder?: (info: { subscriptionId: string; referenceId: string }) => void | Promise<void>;
}

export interface SyncDeps {
  dataverse: DataverseClient;
  logger?: Logger;
  clock?: Clock;
  ionHttpHooks?: { onRequest?: IonClientOptions["onRequest"]; onThrottleWait?: (info: { delayMs: number; connectionId: string }) => void };
  /** Process id for token leases and run ownership. */
  holderId?: string;
  /** Waits (order tracking, lease backoff); injected by tests. */
  sleep?: (ms: number) => Promise<void>;
  hooks?: SyncHooks;
  /** Ion client tuning (page sizes, concurrency, retries, per-request timeout for API and token calls). */
  ion?: {
    maxConcurrency?: number;
    customerPageSize?: number;
    subscriptionPageLimit?: number;
    retry?: IonClientOptions["retry"];
    timeoutMs?: number;
  };
  /** How often a running sync reads its run row for a cancel request (default CANCEL_CHECK_INTERVAL_MS, 5 s). */
  cancelCheckMs?: number;
  /** Dataverse write tuning: operations per $batch (default and maximum 1,000, src/sync/writer.ts). */
  writes?: { batchSize?: number };
  /** The process's journal of rotated tokens not yet saved (default: src/tokens PROCESS_ROTATION_JOURNAL). */
  rotations?: RotationJournal;
  /**
   * The Dataverse client of one connector's work, when the application keeps one per connector (the functions
   * app's lanes): work that learns its connector only from a row it reads (an outbound change) continues on it.
   */
  dataverseFor?: (connectionId: string) => DataverseClient;
  /**
   * One Ion transport per Ion account, shared by every run of this process (the functions app): Ion's limits
   * are per account, so a connector's runs and token exchanges share one concurrency cap and one Retry-After
   * pause, and no other connector's. Absent: each run makes its own.
   */
  ionTransports?: IonTransports;
  /** Token lease sizing besides the token call's timeout (ion.timeoutMs): the save's Retry-After cap, the margin. */
  tokenLease?: Pick<DataverseTokenStoreOptions, "saveRetryAfterCapMs" | "leaseMarginMs">;
}

/** The Ion transports of a process, one per Ion account (base URL + Account ID), made on first use. */
export class IonTransports {
  private readonly byAccount = new Map<string, IonTransport>();

  get(connection: Pick<ConnectionRecord, "ionBaseUrl" | "ionAccountId">, make: () => IonTransport): IonTransport {
    const key = `${connection.ionBaseUrl.replace(/\/+$/, "").toLowerCase()}|${connection.ionAccountId.trim()}`;
    let transport = this.byAccount.get(key);
    if (!transport) {
      transport = make();
      this.byAccount.set(key, transport);
    }
    return transport;
  }

  /** Each account's transport, for counters. */
  entries(): [string, IonTransport][] {
    return [...this.byAccount.entries()];
  }
}

/** A w365_providerconnection row as the engine uses it (secrets are never logged). */
export interface ConnectionRecord {
  id: string;
  name: string;
  /** False when the connector is deactivated (statecode 1): it places no orders. */
  active: boolean;
  ionAccountId: string;
  ionBaseUrl: string;
  apiKey?: string;
  apiSecret?: string;
  country?: string;
  currencyCode?: string;
  status?: number;
  statusMessage?: string;
  lastVerifiedOn?: string;
  refreshTokenExpiresOn?: string;
  refreshTokenSavedOn?: string;
  lastSyncOn?: string;
  lastSyncStatus?: string;
  /** Connector-level sync state (JSON in w365_checkpoint), e.g. when accounts were last synced. */
  checkpoint?: string;
  /** Token columns read with the row (secured; never logged), handed to the token store once. */
  tokenRow?: TokenRow;
}

export function connectionFromRow(row: Record<string, unknown>): ConnectionRecord {
  const s = (k: string) => (typeof row[k] === "string" && (row[k] as string) !== "" ? (row[k] as string) : undefined);
  const apiSecret = s("w365_apisecret");
  registerSecret(apiSecret);
  return {
    id: String(row.w365_providerconnectionid),
    name: s("w365_name") ?? "StreamOne Ion",
    active: row.statecode === undefined || row.statecode === null || Number(row.statecode) === 0,
    ionAccountId: s("w365_ionaccountid") ?? "",
    ionBaseUrl: s("w365_ionbaseurl") ?? DEFAULT_ION_BASE_URL,
    apiKey: s("w365_apikey"),
    apiSecret,
    country: s("w365_country"),
    currencyCode: s("w365_currencycode"),
    status: typeof row.w365_status === "number" ? row.w365_status : undefined,
    statusMessage: s("w365_statusmessage"),
    lastVerifiedOn: s("w365_lastverifiedon"),
    refreshTokenExpiresOn: s("w365_refreshtokenexpireson"),
    refreshTokenSavedOn: s("w365_refreshtokensavedon"),
    lastSyncOn: s("w365_lastsyncon"),
    lastSyncStatus: s("w365_lastsyncstatus"),
    checkpoint: s("w365_checkpoint"),
  };
}

/** The connector columns with its token columns: one request serves the run and the first token load. */
export const CONNECTION_WITH_TOKEN_COLUMNS: readonly string[] = [...new Set<string>([...CONNECTION_COLUMNS, ...TOKEN_COLUMNS])];

/** A connector row read with CONNECTION_WITH_TOKEN_COLUMNS; the token columns go to the token store once. */
export function connectionWithTokensFromRow(row: Record<string, unknown>): ConnectionRecord {
  return { ...connectionFromRow(row), tokenRow: row as TokenRow };
}

/** The connector row, with its token columns. */
export async function loadConnection(dv: DataverseClient, connectionId: string): Promise<ConnectionRecord> {
  const row = await dv.tryRetrieve<Record<string, unknown>>(SETS.connection, connectionId, { select: [...CONNECTION_WITH_TOKEN_COLUMNS] });
  if (!row) throw new ConnectionNotFoundError(`StreamOne Ion connector ${connectionId} was not found.`);
  return connectionWithTokensFromRow(row);
}

/** Everything a runner needs for one connector: clients, clock, logger, ids. */
export interface SyncContext {
  deps: SyncDeps;
  dv: DataverseClient;
  connection: ConnectionRecord;
  ion: IonClient;
  tokens: TokenManager;
  store: DataverseTokenStore;
  clock: Clock;
  logger: Logger;
  holderId: string;
  sleep: (ms: number) => Promise<void>;
}

export function makeContext(deps: SyncDeps, connection: ConnectionRecord): SyncContext {
  if (!connection.ionAccountId) {
    throw new ConnectionConfigError(
      `Connector "${connection.name}" has no Account ID: copy it from the Ion portal → Settings → Account Information.`,
    );
  }
  const clock = deps.clock ?? systemClock;
  const logger = (deps.logger ?? silentLogger).child({ connection: connection.id });
  const holderId = deps.holderId ?? defaultHolderId();
  const sleep = deps.sleep ?? realSleep;
  // One transport for the connector's Ion calls and its token exchanges: one retry policy, one limit.
  const make = () =>
    new IonTransport({
      logger,
      clock,
      sleep,
      // Cloud-profile reads of a first sync dominate its time; 8 is the top of the 4-8 range docs/platform/ion-api.md §6 suggests.
      maxConcurrency: deps.ion?.maxConcurrency ?? DEFAULT_ION_CONCURRENCY,
      retry: deps.ion?.retry,
      timeoutMs: deps.ion?.timeoutMs,
      onRequest: deps.ionHttpHooks?.onRequest,
      ...(deps.ionHttpHooks?.onThrottleWait
        ? { onThrottleWait: (i: { delayMs: number }) => deps.ionHttpHooks?.onThrottleWait?.({ ...i, connectionId: connection.id }) }
        : {}),
    });
  const transport = deps.ionTransports ? deps.ionTransports.get(connection, make) : make();
  const store = new DataverseTokenStore(deps.dataverse, connection.id, {
    holderId,
    clock,
    sleep,
    preloaded: connection.tokenRow,
    exchangeTimeoutMs: transport.timeoutMs,
    ...deps.tokenLease,
  });
  const tokens = new TokenManager({ baseUrl: connection.ionBaseUrl, store, transport, journal: deps.rotations, clock, logger });
  const ion = new IonClient({
    baseUrl: connection.ionBaseUrl,
    accountId: connection.ionAccountId,
    tokens,
    transport,
    apiKey: connection.apiKey,
    apiSecret: connection.apiSecret,
  });
  return { deps, dv: deps.dataverse, connection, ion, tokens, store, clock, logger, holderId, sleep };
}
