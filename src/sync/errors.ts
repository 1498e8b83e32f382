import { ConnectorError, ConnectorErrorOptions } from "../shared/errors";

/** Errors of the sync engine itself (Ion and Dataverse errors keep their own types). */
export class SyncError extends ConnectorError {
  constructor(code: string, message: string, options: ConnectorErrorOptions = {}) {
    super(code, message, options);
  }
}

/** The connector named by the caller does not exist or is ambiguous; the message lists the available ones. */
export class ConnectionNotFoundError extends SyncError {
  constructor(message: string, options: ConnectorErrorOptions = {}) {
    super("SYNC_CONNECTION_NOT_FOUND", message, options);
  }
}

/** The connector is missing something the work needs (Account ID, refresh token...). */
export class ConnectionConfigError extends SyncError {
  constructor(message: string, options: ConnectorErrorOptions = {}) {
    super("SYNC_CONNECTION_CONFIG", message, options);
  }
}

/** The token lease could not be taken in time (another process held it too long). */
export class TokenLeaseTimeoutError extends SyncError {
  constructor(message: string, options: ConnectorErrorOptions = {}) {
    super("SYNC_TOKEN_LEASE_TIMEOUT", message, { retryable: true, ...options });
  }
}

/** The token lease was lost before the rotated token was saved. */
export class TokenLeaseLostError extends SyncError {
  constructor(message: string, options: ConnectorErrorOptions = {}) {
    super("SYNC_TOKEN_LEASE_LOST", message, options);
  }
}

/** A record given to a mapping or outbound action does not exist. */
export class RecordNotFoundError extends SyncError {
  constructor(message: string, options: ConnectorErrorOptions = {}) {
    super("SYNC_RECORD_NOT_FOUND", message, options);
  }
}

/** A run given by id cannot be continued (finished already, other connector...). */
export class RunStateError extends SyncError {
  constructor(message: string, options: ConnectorErrorOptions = {}) {
    super("SYNC_RUN_STATE", message, options);
  }
}
