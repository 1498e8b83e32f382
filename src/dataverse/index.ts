/** Public surface of the server-side Dataverse client (see README.md in this folder). */
export { ConcurrencyLimiter } from "../shared/limiter";
export type {
  AcquiredToken,
  AcquireToken,
  ClientCertificateAuth,
  ClientSecretAuth,
  DataverseAuth,
  EntraAuth,
  ManagedIdentityAuth,
  TokenSource,
} from "./auth";
export { createTokenSource, MsalTokenSource, scopeFor, TOKEN_REFRESH_MARGIN_MS } from "./auth";
export { cutRuns, MAX_BATCH_SIZE } from "./batch";
export type {
  BatchMethod,
  BatchOperation,
  BatchOptions,
  BatchResult,
  DataverseClientOptions,
  DataverseStats,
  LaneOptions,
  QueryOptions,
  QueryPage,
  RequestInfo,
} from "./client";
export type { CurrentOrganization } from "./client";
export {
  DataverseClient,
  DEFAULT_API_VERSION,
  DEFAULT_MAX_CONCURRENCY,
  DEFAULT_TIMEOUT_MS,
  MAX_IDENTITY_CONCURRENCY,
  MAX_PAGE_SIZE,
  parseEnvironmentUrl,
  preferHeader,
  queryString,
} from "./client";
export type { DataverseAuthChoice, DataverseAuthOptions, DataverseConnectionSettings, DataverseEnvAuth } from "./config";
export { COMMAND_LINE_AUTH, DATAVERSE_AUTH_CHOICES, dataverseAuthFromEnv, dataverseSettingsFromEnv } from "./config";
export {
  DATAVERSE_CODES,
  DataverseApiError,
  DataverseAuthError,
  DataverseConcurrencyError,
  DataverseDuplicateKeyError,
  dataverseErrorFrom,
  DataverseNetworkError,
  DataverseNotExecutedError,
  DataverseNotFoundError,
  DataversePrivilegeError,
  DataverseServerError,
  DataverseThrottledError,
  DataverseValidationError,
} from "./errors";
export type { RecordKey } from "./keys";
export { bindRef, formatKey, idFromEntityIdHeader, isGuid, normalizeGuid, odataLiteral, odataString, recordPath } from "./keys";
