import type { DataverseClient } from "../dataverse";
import { IonAuthenticationError, IonClient, IonClientOptions, TokenManager } from "../ion";
import { Clock, systemClock } from "../shared/clock";
import { Logger, silentLogger } from "../shared/logger";
import { redact, registerSecret } from "../shared/redact";
import { sleep as realSleep } from "../shared/retry";
import { ConnectionConfigError, ConnectionNotFoundError } from "./errors";
import { CONNECTION_COLUMNS, SETS } from "./schema";
import { DataverseTokenStore, defaultHolderId, TOKEN_COLUMNS, TokenRow } from "./tokenStore";

export const DEFAULT_ION_BASE_URL = "https://ion.tdsynnex.com";
/** Parallel Ion requests per sync (ion-api.md §6 suggests 4-8; no rate limit is documented). */
export const DEFAULT_ION_CONCURRENCY = 8;

/** Ion refused the refresh token itself (expired, revoked or already used): only new credentials help. */
export function isRefreshTokenRejected(error: unknown): boolean {
  return error instanceof IonAuthenticationError && error.code === "ION_REFRESH_TOKEN_REJECTED";
}

/**
 * Opening of the connector status message written when a run failed with an IonTokenSaveError (a
 * rotated refresh token that could not be saved). A run that later saves that token looks for exactly
 * this to set the connector back to Connected, so the wording after it may change freely. It is the
 * error's code in brackets: admins see it as is, at the start of the message.
 */
export const TOKEN_SAVE_FAILURE_MARKER = "[ION_TOKEN_SAVE_FAILED]";
/** w365_statusmessage holds at most this many characters. */
export const STATUS_MESSAGE_MAX_LENGTH = 2000;

/**
 * Legacy: openings of the two token-save messages that versions before the marker wrote (as the whole
 * status message, or as its first part after a failed verify). Accepted so a connector flagged by such
 * a version still recovers, once (the recovery overwrites the message); drop when no such rows remain.
 */
const LEGACY_TOKEN_SAVE_FAILURE_OPENINGS = [
  "StreamOne Ion issued a new refresh token, but it could not be saved to the connector",
  "A rotated StreamOne Ion refresh token that an earlier run could not save is still waiting to be saved",
] as const;

/**
 * The status message for a run that failed because a rotated refresh token could not be saved. `text` is
 * redacted here, before the cut to the column's length (a secret cut in two would no longer be recognised).
 */
export function tokenSaveFailureStatusMessage(text: string): string {
  return `${TOKEN_SAVE_FAILURE_MARKER} ${redact(text)}`.slice(0, STATUS_MESSAGE_MAX_LENGTH);
}

/** A status message written by `tokenSaveFailureStatusMessage` (or, legacy, by a version before the marker). */
export function isTokenSaveFailureMessage(message: string | undefined): boolean {
  if (!message) return false;
  return message.startsWith(TOKEN_SAVE_FAILURE_MARKER) || LEGACY_TOKEN_SAVE_FAILURE_OPENINGS.some((opening) => message.startsWith(opening));
}

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
  ionHttpHooks?: { onRequest?: IonClientOptions["onRequest"] };
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
  /** Dataverse write tuning: operations per $batch (default and maximum 1,000, src/sync/writer.ts). */
  writes?: { batchSize?: number };
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
  const store = new DataverseTokenStore(deps.dataverse, connection.id, { holderId, clock, sleep, preloaded: connection.tokenRow });
  const timeoutMs = deps.ion?.timeoutMs;
  const tokens = new TokenManager({ baseUrl: connection.ionBaseUrl, store, clock, logger, sleep, timeoutMs });
  const ion = new IonClient({
    baseUrl: connection.ionBaseUrl,
    accountId: connection.ionAccountId,
    tokens,
    apiKey: connection.apiKey,
    apiSecret: connection.apiSecret,
    logger,
    clock,
    sleep,
    // Cloud-profile reads of a first sync dominate its time; 8 is the top of ion-api.md's suggested 4-8.
    maxConcurrency: deps.ion?.maxConcurrency ?? DEFAULT_ION_CONCURRENCY,
    retry: deps.ion?.retry,
    timeoutMs,
    onRequest: deps.ionHttpHooks?.onRequest,
  });
  return { deps, dv: deps.dataverse, connection, ion, tokens, store, clock, logger, holderId, sleep };
}
