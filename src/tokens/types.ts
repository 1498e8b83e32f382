/** Token state and the store contract the single-flight manager rotates through (README.md). */

export interface TokenState {
  refreshToken: string;
  accessToken?: string;
  /** epoch ms */
  accessTokenExpiresAt?: number;
  /** epoch ms */
  refreshTokenExpiresAt?: number;
}

/** What a holder of the refresh lease may do. */
export interface TokenLease {
  /** The freshest stored state, read when the lease was taken. */
  readonly fresh: TokenState;
  /**
   * Extends the lease so it covers an exchange taking up to `exchangeMs` plus the store's own save;
   * throws TokenLeaseTooShortError (nothing was presented) when this process cannot hold it that long.
   */
  holdFor(exchangeMs: number): Promise<void>;
}

export interface TokenStore {
  /** Identifies the connector across stores of one process (the journal's key). */
  readonly key: string;
  /** Current persisted state (may be slightly stale). */
  load(): Promise<TokenState>;
  /** Who holds the lease when this store does (a lease kept after a failed save names it). */
  readonly holderId?: string;
  /**
   * Runs `work` under the connector's exclusive refresh lease (across processes for a shared store).
   * `inheritFrom`: a holder of this process that kept the lease for an unsaved rotation; taken over at once.
   */
  withRefreshLease<T>(work: (lease: TokenLease) => Promise<T>, o?: { inheritFrom?: string }): Promise<T>;
  /**
   * Saves `next` only while the store still holds `from`, the refresh token it was rotated from, whoever
   * holds the lease (a holder that has not exchanged yet re-reads before it presents). Resolves when the
   * store holds `next`; TokenRotationConflictError when it holds a third token (new credentials pasted).
   */
  save(from: string, next: TokenState): Promise<void>;
}
