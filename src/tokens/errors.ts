/** Typed errors of token rotation (codes kept from when rotation lived in the sync engine). */
import { ConnectorError, ConnectorErrorOptions } from "../shared/errors";

/** The token lease could not be taken in time (another process held it too long). */
export class TokenLeaseTimeoutError extends ConnectorError {
  constructor(message: string, options: ConnectorErrorOptions = {}) {
    super("SYNC_TOKEN_LEASE_TIMEOUT", message, { retryable: true, ...options });
  }
}

/** The token lease was lost before the exchange (another holder took over, or the token changed under it). */
export class TokenLeaseLostError extends ConnectorError {
  constructor(message: string, options: ConnectorErrorOptions = {}) {
    super("SYNC_TOKEN_LEASE_LOST", message, { retryable: true, ...options });
  }
}

/** The lease could not be held for a whole exchange plus save: nothing was presented to Ion. */
export class TokenLeaseTooShortError extends ConnectorError {
  constructor(message: string, options: ConnectorErrorOptions = {}) {
    super("SYNC_TOKEN_LEASE_TOO_SHORT", message, { retryable: true, ...options });
  }
}

/** A rotated token was to be saved, but the store holds neither the token it came from nor it. */
export class TokenRotationConflictError extends ConnectorError {
  constructor(message: string, options: ConnectorErrorOptions = {}) {
    super("SYNC_TOKEN_ROTATION_CONFLICT", message, options);
  }
}
