/** Refresh-token rotation, in one place: see README.md. */
export type { DataverseTokenStoreOptions, TokenRow } from "./dataverseStore";
export {
  connectorKey,
  DataverseTokenStore,
  DEFAULT_EXCHANGE_TIMEOUT_MS,
  DEFAULT_LEASE_MARGIN_MS,
  DEFAULT_SAVE_RETRY_AFTER_CAP_MS,
  defaultHolderId,
  leaseHolderOf,
  MAX_LEASE_CHECKS_PER_HOLDER,
  TOKEN_COLUMNS,
} from "./dataverseStore";
export { TokenLeaseLostError, TokenLeaseTimeoutError, TokenLeaseTooShortError, TokenRotationConflictError } from "./errors";
export {
  ACCESS_TOKEN_LIFETIME_MS,
  ASSUMED_REFRESH_TOKEN_LIFETIME_MS,
  exchangeRefreshToken,
  stateFromTokenResponse,
  TOKEN_ENDPOINT,
} from "./exchange";
export type { UnsavedRotation } from "./journal";
export { PROCESS_ROTATION_JOURNAL, RotationJournal } from "./journal";
export type { TokenManagerOptions } from "./manager";
export { DEFAULT_REFRESH_SKEW_MS, TokenManager } from "./manager";
export { MemoryTokenStore } from "./memoryStore";
export {
  isRefreshTokenRejected,
  isTokenSaveFailureMessage,
  RECOVERED_STATUS_MESSAGE,
  recoveredConnectorStatus,
  refreshTokenRejectedStatus,
  STATUS_MESSAGE_MAX_LENGTH,
  TOKEN_SAVE_FAILURE_MARKER,
  tokenSaveFailureStatusMessage,
} from "./status";
export type { TokenLease, TokenState, TokenStore } from "./types";
