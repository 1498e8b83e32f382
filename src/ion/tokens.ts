/**
 * StreamOne Ion tokens (ion-api.md §2): the refresh token is single-use and rotates on every
 * exchange, so the rotated token is persisted under a cross-process lease BEFORE the new access token
 * reaches any caller, a token is never presented twice by this process, and concurrent callers share
 * one exchange.
 */
import { AxiosInstance } from "axios";

import { Clock, systemClock } from "../shared/clock";
import { ensureError } from "../shared/errors";
import { Logger, silentLogger } from "../shared/logger";
import { registerSecret } from "../shared/redact";
import { backoffMs, DEFAULT_RETRY, NOT_SENT_NETWORK_CODES, sleep as realSleep, withRetry } from "../shared/retry";
import {
  classifyNonIdempotent,
  ionErrorFromResponse,
  IonNetworkError,
  IonResponseError,
  IonTokenSaveError,
  REQUEST_NEW_CREDENTIALS_INSTRUCTION,
} from "./errors";
import { asObject, num, str } from "./parse/common";
import { createIonAxios, parseJsonBody, RawResponse, sendRaw } from "./transport";

export interface TokenState {
  refreshToken: string;
  accessToken?: string;
  /** epoch ms */
  accessTokenExpiresAt?: number;
  /** epoch ms */
  refreshTokenExpiresAt?: number;
}

export interface TokenStore {
  /** Current persisted state (may be slightly stale). */
  load(): Promise<TokenState>;
  /**
   * Exclusive cross-process lease for a refresh. Runs `work` with the freshest persisted state;
   * `commit(next)` persists rotated tokens durably and must throw if the lease was lost (e.g. ETag mismatch).
   */
  withRefreshLease<T>(work: (fresh: TokenState, commit: (next: TokenState) => Promise<void>) => Promise<T>): Promise<T>;
}

/** In-process store: one lease at a time (a promise chain), for tests, the CLI and the demo. */
export class MemoryTokenStore implements TokenStore {
  private state: TokenState;
  private chain: Promise<unknown> = Promise.resolve();
  /** How many commits succeeded; tests read it. */
  commits = 0;

  constructor(initial: TokenState) {
    registerSecret(initial.refreshToken);
    registerSecret(initial.accessToken);
    this.state = { ...initial };
  }

  current(): TokenState {
    return { ...this.state };
  }

  async load(): Promise<TokenState> {
    return this.current();
  }

  withRefreshLease<T>(work: (fresh: TokenState, commit: (next: TokenState) => Promise<void>) => Promise<T>): Promise<T> {
    const run = this.chain.then(async () => {
      let open = true;
      const commit = async (next: TokenState): Promise<void> => {
        if (!open) throw new IonTokenSaveError("The token lease was released before the rotated refresh token was saved.");
        this.state = { ...next };
        this.commits++;
      };
      try {
        return await work(this.current(), commit);
      } finally {
        open = false;
      }
    });
    this.chain = run.catch(() => undefined);
    return run;
  }
}

export const DEFAULT_REFRESH_SKEW_MS = 5 * 60_000;
export const DEFAULT_SAVE_RETRIES = 3;
/** Token requests repeated at most this often, and only when the connection was refused. */
export const TOKEN_EXCHANGE_ATTEMPTS = 3;
/** Ion's refresh-token lifetime (§2.3), used when the token response does not say. */
export const REFRESH_TOKEN_LIFETIME_MS = 32 * 86_400_000;
/** Ion's access-token lifetime when `expires_in` is missing. */
export const ACCESS_TOKEN_LIFETIME_MS = 7200_000;

export interface TokenManagerOptions {
  baseUrl: string;
  store: TokenStore;
  clock?: Clock;
  http?: AxiosInstance;
  logger?: Logger;
  /** Refresh this long before the access token expires. Default 5 minutes. */
  refreshSkewMs?: number;
  /** Extra attempts to persist a rotated token before giving up. Default 3. */
  saveRetries?: number;
  timeoutMs?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

interface RefreshRequest {
  /** Exchange even if the stored access token still looks valid (rotate / keep-alive). */
  force: boolean;
  /** The access token Ion just rejected: a different valid one in the store is good to use. */
  rejectedAccessToken?: string;
}

/** One per connector per process. */
export class TokenManager {
  private readonly baseUrl: string;
  private readonly store: TokenStore;
  private readonly clock: Clock;
  private readonly http: AxiosInstance;
  private readonly logger: Logger;
  private readonly skewMs: number;
  private readonly saveRetries: number;
  private readonly timeoutMs?: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random?: () => number;
  private cached?: TokenState;
  private inflight?: Promise<TokenState>;
  private initialLoad?: Promise<TokenState>;
  /**
   * A rotated state Ion issued but the store refused to save. Kept so the next refresh saves it (or
   * exchanges ITS unused refresh token) instead of presenting the used one again.
   */
  private unsaved?: { from: string; next: TokenState };
  /** Token exchanges performed by this manager (tests and bench read it). */
  exchanges = 0;

  constructor(options: TokenManagerOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.store = options.store;
    this.clock = options.clock ?? systemClock;
    this.http = options.http ?? createIonAxios();
    this.logger = options.logger ?? silentLogger;
    this.skewMs = options.refreshSkewMs ?? DEFAULT_REFRESH_SKEW_MS;
    this.saveRetries = options.saveRetries ?? DEFAULT_SAVE_RETRIES;
    this.timeoutMs = options.timeoutMs;
    this.sleep = options.sleep ?? realSleep;
    this.random = options.random;
  }

  /** A valid access token: cached until `refreshSkewMs` before expiry, else refreshed (single flight). */
  async getAccessToken(): Promise<string> {
    if (this.cached && this.usable(this.cached)) return this.cached.accessToken as string;
    if (!this.cached) {
      // One read of the stored state for callers that start together (a run's phases start at once). Kept
      // until a token is cached: once the refresh below caches one, this branch is never taken again.
      const loaded = await (this.initialLoad ??= this.store.load().catch((error: unknown) => {
        this.initialLoad = undefined; // a failed read is tried again by the next caller
        throw error;
      }));
      registerState(loaded);
      if (this.usable(loaded)) {
        this.cached = loaded;
        return loaded.accessToken as string;
      }
    }
    const state = await this.refresh({ force: false });
    return state.accessToken as string;
  }

  /** After a 401: a new access token, unless another caller/process already replaced the rejected one. */
  async forceRefresh(rejectedAccessToken?: string): Promise<string> {
    const rejected = rejectedAccessToken ?? this.cached?.accessToken;
    if (this.cached?.accessToken && rejected && this.cached.accessToken !== rejected && this.usable(this.cached))
      return this.cached.accessToken;
    const state = await this.refresh({ force: true, rejectedAccessToken: rejected });
    return state.accessToken as string;
  }

  /** Exchange + save unconditionally; returns the new state (Verify Connectivity and the daily keep-alive). */
  async rotate(): Promise<TokenState> {
    // A rotation must really exchange; join an in-flight one first so we never race it.
    if (this.inflight) await this.inflight.catch(() => undefined);
    return this.refresh({ force: true, rejectedAccessToken: undefined }, true);
  }

  /** The last state this manager saw (no secrets should be logged from it). */
  snapshot(): TokenState | undefined {
    return this.cached ? { ...this.cached } : undefined;
  }

  private usable(state: TokenState): boolean {
    return !!state.accessToken && state.accessTokenExpiresAt !== undefined && state.accessTokenExpiresAt - this.skewMs > this.clock.now();
  }

  private refresh(request: RefreshRequest, alwaysExchange = false): Promise<TokenState> {
    // Single flight: every caller in this process joins the exchange already running.
    if (this.inflight && !alwaysExchange) return this.inflight;
    const run = this.refreshUnderLease(request, alwaysExchange).finally(() => {
      if (this.inflight === run) this.inflight = undefined;
    });
    this.inflight = run;
    return run;
  }

  private async refreshUnderLease(request: RefreshRequest, alwaysExchange: boolean): Promise<TokenState> {
    const state = await this.store.withRefreshLease(async (fresh, commit) => {
      registerState(fresh);
      // Another process (or an earlier call) may have rotated while we waited for the lease.
      if (!alwaysExchange && this.usable(fresh)) {
        const rotatedElsewhere = request.rejectedAccessToken === undefined || fresh.accessToken !== request.rejectedAccessToken;
        if (!request.force || rotatedElsewhere) return fresh;
      }
      let presenting = fresh.refreshToken;
      const pending = this.unsaved;
      if (pending && pending.from === fresh.refreshToken) {
        // We hold a rotated state the store never saved; the stored token is used up. Save ours first.
        await this.commitWithRetries(commit, pending.next);
        this.unsaved = undefined;
        if (!alwaysExchange && this.usable(pending.next) && pending.next.accessToken !== request.rejectedAccessToken) return pending.next;
        presenting = pending.next.refreshToken;
      }
      const next = await this.exchange(presenting);
      try {
        await this.commitWithRetries(commit, next);
      } catch (error) {
        this.unsaved = { from: fresh.refreshToken, next };
        throw error;
      }
      return next;
    });
    registerState(state);
    this.cached = state;
    return state;
  }

  private async commitWithRetries(commit: (next: TokenState) => Promise<void>, next: TokenState): Promise<void> {
    let lastError: Error | undefined;
    for (let attempt = 1; attempt <= this.saveRetries + 1; attempt++) {
      try {
        await commit(next);
        return;
      } catch (error) {
        lastError = ensureError(error);
        this.logger.warn("saving the rotated Ion refresh token failed", {
          attempt,
          maxAttempts: this.saveRetries + 1,
          error: lastError.message,
        });
        if (attempt <= this.saveRetries) await this.sleep(backoffMs(attempt, DEFAULT_RETRY, this.random));
      }
    }
    throw new IonTokenSaveError(
      `StreamOne Ion issued a new refresh token, but it could not be saved to the connector (${lastError?.message ?? "unknown error"}). ` +
        "The previous refresh token is now used up. This process keeps the new token in memory and saves it on its next call; " +
        `if the service restarts first, the connector stops working: ${REQUEST_NEW_CREDENTIALS_INSTRUCTION}`,
      { cause: lastError },
    );
  }

  /**
   * POST /oauth/token. Never retried once the request may have reached Ion (a second presentation of a
   * used token is fatal); only connection failures that prove the request was not sent are retried.
   */
  private async exchange(refreshToken: string): Promise<TokenState> {
    registerSecret(refreshToken);
    const endpoint = "POST /oauth/token";
    const form = new URLSearchParams({
      grant_type: "refresh_token",
      refresh_token: refreshToken,
      redirect_uri: "http://localhost/",
    }).toString();
    const attemptExchange = async (): Promise<TokenState> => {
      this.exchanges++;
      let response: RawResponse;
      try {
        response = await sendRaw(this.http, {
          method: "POST",
          url: `${this.baseUrl}/oauth/token`,
          headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
          data: form,
          timeoutMs: this.timeoutMs,
          endpoint,
        });
      } catch (error) {
        if (error instanceof IonNetworkError && NOT_SENT_NETWORK_CODES.has(error.networkCode)) this.exchanges--; // counts only exchanges that may have reached Ion
        throw error;
      }
      const body = parseJsonBody(response.body);
      if (response.status !== 200) throw ionErrorFromResponse(response.status, body ?? response.body, { endpoint, kind: "token" });
      return this.stateFromTokenResponse(body, refreshToken);
    };
    try {
      // Not idempotent: the shared policy repeats only failures that provably never reached Ion.
      return await withRetry(attemptExchange, classifyNonIdempotent, { ...DEFAULT_RETRY, maxAttempts: TOKEN_EXCHANGE_ATTEMPTS }, false, {
        sleep: this.sleep,
        random: this.random,
        onRetry: ({ attempt, maxAttempts, outcome }) =>
          this.logger.warn(`Ion token request could not connect, attempt ${attempt} of ${maxAttempts}`, {
            networkCode: outcome.networkCode,
          }),
      });
    } catch (error) {
      if (error instanceof IonNetworkError && !NOT_SENT_NETWORK_CODES.has(error.networkCode)) {
        throw new IonNetworkError(
          `StreamOne Ion token request got no answer (${error.networkCode}); Ion may have used up the refresh token. ` +
            `If the next attempt reports the refresh token as rejected: ${REQUEST_NEW_CREDENTIALS_INSTRUCTION}`,
          error.networkCode,
          { endpoint },
        );
      }
      throw error;
    }
  }

  private stateFromTokenResponse(body: unknown, presented: string): TokenState {
    const obj = asObject(body);
    const accessToken = str(obj.access_token);
    if (!accessToken)
      throw new IonResponseError("ION_BAD_RESPONSE", "StreamOne Ion's token response has no access_token.", {
        endpoint: "POST /oauth/token",
      });
    const refreshToken = str(obj.refresh_token) ?? presented;
    registerSecret(accessToken);
    registerSecret(refreshToken);
    const now = this.clock.now();
    const expiresInS = num(obj.expires_in);
    const refreshExpiresInS = num(obj.refresh_expires_in);
    return {
      refreshToken,
      accessToken,
      accessTokenExpiresAt: now + (expiresInS !== undefined ? expiresInS * 1000 : ACCESS_TOKEN_LIFETIME_MS),
      refreshTokenExpiresAt: now + (refreshExpiresInS !== undefined ? refreshExpiresInS * 1000 : REFRESH_TOKEN_LIFETIME_MS),
    };
  }
}

function registerState(state: TokenState): void {
  registerSecret(state.refreshToken);
  registerSecret(state.accessToken);
}
