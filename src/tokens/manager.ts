/**
 * The single-flight token manager, one per connector per process. Ion's refresh token is single-use
 * and rotates on every exchange, so: callers in this process share one exchange; the exchange runs under
 * the store's lease, extended first to cover the worst exchange plus save; the rotated token is saved
 * before its access token reaches any caller; a rotation that could not be saved goes to the injected
 * journal and is saved under the next lease instead of presenting the used token again.
 */
import { IonTokenSaveError, IonTransport, REQUEST_NEW_CREDENTIALS_INSTRUCTION } from "../ion";
import type { AccessTokenSource } from "../ion/http";
import { Clock, systemClock } from "../shared/clock";
import { ensureError } from "../shared/errors";
import { Logger, silentLogger } from "../shared/logger";
import { registerSecret } from "../shared/redact";
import { TokenLeaseLostError, TokenRotationConflictError } from "./errors";
import { exchangeRefreshToken } from "./exchange";
import { PROCESS_ROTATION_JOURNAL, RotationJournal } from "./journal";
import type { TokenLease, TokenState, TokenStore } from "./types";

export const DEFAULT_REFRESH_SKEW_MS = 5 * 60_000;

export interface TokenManagerOptions {
  baseUrl: string;
  store: TokenStore;
  /** The Ion transport the exchange goes through (shared with the IonClient in the product). */
  transport?: IonTransport;
  journal?: RotationJournal;
  clock?: Clock;
  logger?: Logger;
  /** Refresh this long before the access token expires. Default 5 minutes. */
  refreshSkewMs?: number;
}

interface RefreshRequest {
  /** Exchange even if the stored access token still looks valid (after Ion refused it). */
  force: boolean;
  /** The access token Ion just refused: a different valid one in the store is good to use. */
  rejectedAccessToken?: string;
  /** Exchange unconditionally (Verify Connectivity, keep-alive). */
  always: boolean;
}

export class TokenManager implements AccessTokenSource {
  readonly journal: RotationJournal;
  readonly transport: IonTransport;
  private readonly baseUrl: string;
  private readonly store: TokenStore;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly skewMs: number;
  private cached?: TokenState;
  private inflight?: Promise<TokenState>;
  private initialLoad?: Promise<TokenState>;
  /** Token exchanges sent by this manager (tests and bench read it). */
  exchanges = 0;
  /** Journaled rotations this manager saved (the connector may go back to Connected). */
  recoveredUnsaved = 0;

  constructor(options: TokenManagerOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.store = options.store;
    this.transport = options.transport ?? new IonTransport({ clock: options.clock, logger: options.logger });
    this.journal = options.journal ?? PROCESS_ROTATION_JOURNAL;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.skewMs = options.refreshSkewMs ?? DEFAULT_REFRESH_SKEW_MS;
  }

  /** A valid access token: cached until `refreshSkewMs` before expiry, else refreshed (single flight). */
  async getAccessToken(): Promise<string> {
    if (this.cached && this.usable(this.cached)) return this.cached.accessToken as string;
    if (!this.cached) {
      // One read of the stored state for callers that start together (a run's phases start at once).
      const loaded = await (this.initialLoad ??= this.store.load().catch((error: unknown) => {
        this.initialLoad = undefined; // a failed read is tried again by the next caller
        throw error;
      }));
      registerState(loaded);
      if (this.usable(loaded) && !this.journal.has(this.store.key)) {
        this.cached = loaded;
        return loaded.accessToken as string;
      }
    }
    return (await this.refresh({ force: false, always: false })).accessToken as string;
  }

  /** After Ion refused a session: a new access token, unless another caller already replaced the refused one. */
  async forceRefresh(rejectedAccessToken?: string): Promise<string> {
    const rejected = rejectedAccessToken ?? this.cached?.accessToken;
    if (this.cached?.accessToken && rejected && this.cached.accessToken !== rejected && this.usable(this.cached))
      return this.cached.accessToken;
    return (await this.refresh({ force: true, rejectedAccessToken: rejected, always: false })).accessToken as string;
  }

  /** Exchange + save unconditionally; returns the new state (Verify Connectivity and the daily keep-alive). */
  async rotate(): Promise<TokenState> {
    if (this.inflight) await this.inflight.catch(() => undefined);
    return this.refresh({ force: true, always: true });
  }

  /** True while this process holds a rotation of this connector that is not saved yet. */
  hasUnsavedRotation(): boolean {
    return this.journal.has(this.store.key);
  }

  /** The last state this manager saw (never log secrets from it). */
  snapshot(): TokenState | undefined {
    return this.cached ? { ...this.cached } : undefined;
  }

  private usable(state: TokenState): boolean {
    return !!state.accessToken && state.accessTokenExpiresAt !== undefined && state.accessTokenExpiresAt - this.skewMs > this.clock.now();
  }

  private refresh(request: RefreshRequest): Promise<TokenState> {
    // Single flight: every caller in this process joins the exchange already running.
    if (this.inflight && !request.always) return this.inflight;
    const run = this.refreshUnderLease(request).finally(() => {
      if (this.inflight === run) this.inflight = undefined;
    });
    this.inflight = run;
    return run;
  }

  private async refreshUnderLease(request: RefreshRequest): Promise<TokenState> {
    try {
      return await this.refreshOnce(request);
    } catch (error) {
      // The row's token changed under our lease (a late save of another holder landed): nothing was
      // presented; start again from the new token, under a new lease.
      if (!(error instanceof TokenLeaseLostError)) throw error;
      this.logger.info("the token lease was lost before the exchange; starting again from the stored token");
      return this.refreshOnce(request);
    }
  }

  private async refreshOnce(request: RefreshRequest): Promise<TokenState> {
    const inheritFrom = this.journal.get(this.store.key)?.leaseHolder;
    const state = await this.store.withRefreshLease(
      async (lease) => {
        registerState(lease.fresh);
        const fresh = await this.saveJournaled(lease.fresh);
        if (!request.always && this.usable(fresh)) {
          // Another process (or an earlier call) rotated while we waited for the lease.
          const replaced = request.rejectedAccessToken === undefined || fresh.accessToken !== request.rejectedAccessToken;
          if (!request.force || replaced) return fresh;
        }
        return this.exchangeAndSave(lease, fresh.refreshToken);
      },
      { inheritFrom },
    );
    registerState(state);
    this.cached = state;
    return state;
  }

  /**
   * A rotation this process could not save earlier: if the store still holds the token it came from,
   * save it now and continue from it (its refresh token is the unused one); if the store moved on
   * (saved after all, or new credentials), forget it.
   */
  private async saveJournaled(fresh: TokenState): Promise<TokenState> {
    const pending = this.journal.get(this.store.key);
    if (!pending) return fresh;
    if (pending.from !== fresh.refreshToken) {
      this.journal.forget(this.store.key);
      return fresh;
    }
    try {
      await this.store.save(pending.from, pending.next);
    } catch (error) {
      if (error instanceof TokenRotationConflictError) {
        this.journal.forget(this.store.key);
        throw error;
      }
      // This lease is now the one kept for the save: the next lease of this process takes it over.
      this.journal.record(this.store.key, { ...pending, leaseHolder: this.store.holderId });
      throw new IonTokenSaveError(
        `A rotated StreamOne Ion refresh token that an earlier run could not save is still waiting to be saved, and saving it failed again (${ensureError(error).message}). ` +
          "This process keeps it in memory and tries again on its next call.",
        { cause: ensureError(error) },
      );
    }
    this.journal.forget(this.store.key);
    this.recoveredUnsaved++;
    this.logger.info("saved a rotated Ion refresh token that an earlier run could not save");
    return pending.next;
  }

  private async exchangeAndSave(lease: TokenLease, presenting: string): Promise<TokenState> {
    // Extended first: a holder that cannot keep the lease for the whole exchange and save presents nothing.
    await lease.holdFor(this.transport.timeoutMs);
    this.exchanges++;
    const next = await exchangeRefreshToken(this.transport, this.baseUrl, presenting, () => this.clock.now());
    try {
      await this.store.save(presenting, next);
    } catch (error) {
      if (error instanceof TokenRotationConflictError) throw error;
      this.journal.record(this.store.key, { from: presenting, next, leaseHolder: this.store.holderId });
      const e = ensureError(error);
      this.logger.warn("saving the rotated Ion refresh token failed; it is kept to be saved on the next call", { error: e.message });
      throw new IonTokenSaveError(
        `StreamOne Ion issued a new refresh token, but it could not be saved to the connector (${e.message}). ` +
          "The previous refresh token is now used up. This process keeps the new token in memory and saves it on its next call; " +
          `if the service restarts first, the connector stops working: ${REQUEST_NEW_CREDENTIALS_INSTRUCTION}`,
        { cause: e },
      );
    }
    return next;
  }
}

function registerState(state: TokenState): void {
  registerSecret(state.refreshToken);
  registerSecret(state.accessToken);
}
