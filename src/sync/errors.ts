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

// Token rotation errors live with rotation (src/tokens); re-exported for the engine's callers.
export { TokenLeaseLostError, TokenLeaseTimeoutError, TokenLeaseTooShortError } from "../tokens/errors";
