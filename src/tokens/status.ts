/**
 * The connector status rules of token rotation: what a refused token, an unsaved rotation and its later
 * save do to w365_status and w365_statusmessage. Runs, Verify and the keep-alive all write through these.
 */
import { IonAuthenticationError, REQUEST_NEW_CREDENTIALS_INSTRUCTION } from "../ion";
import { redact } from "../shared/redact";
import { ConnectionStatus } from "../sync/schema";

/** Ion refused the refresh token itself (expired, revoked or already used): only new credentials help. */
export function isRefreshTokenRejected(error: unknown): boolean {
  return error instanceof IonAuthenticationError && error.code === "ION_REFRESH_TOKEN_REJECTED";
}

/**
 * Opening of the connector status message written when a run failed with an IonTokenSaveError (a
 * rotated refresh token that could not be saved). A run or keep-alive that later saves that token looks
 * for exactly this to set the connector back to Connected. It is the error's code in brackets.
 */
export const TOKEN_SAVE_FAILURE_MARKER = "[ION_TOKEN_SAVE_FAILED]";
/** w365_statusmessage holds at most this many characters. */
export const STATUS_MESSAGE_MAX_LENGTH = 2000;

/**
 * Legacy: openings of the two token-save messages that versions before the marker wrote. Accepted so a
 * connector flagged by such a version still recovers, once; drop when no such rows remain.
 */
const LEGACY_TOKEN_SAVE_FAILURE_OPENINGS = [
  "StreamOne Ion issued a new refresh token, but it could not be saved to the connector",
  "A rotated StreamOne Ion refresh token that an earlier run could not save is still waiting to be saved",
] as const;

/** The status message for a failed token save; redacted before the cut (a cut secret is no longer recognised). */
export function tokenSaveFailureStatusMessage(text: string): string {
  return `${TOKEN_SAVE_FAILURE_MARKER} ${redact(text)}`.slice(0, STATUS_MESSAGE_MAX_LENGTH);
}

/** A status message written by `tokenSaveFailureStatusMessage` (or, legacy, by a version before the marker). */
export function isTokenSaveFailureMessage(message: string | undefined): boolean {
  if (!message) return false;
  return message.startsWith(TOKEN_SAVE_FAILURE_MARKER) || LEGACY_TOKEN_SAVE_FAILURE_OPENINGS.some((opening) => message.startsWith(opening));
}

export const RECOVERED_STATUS_MESSAGE =
  "Connected: the rotated refresh token an earlier run could not save has now been saved; syncs work again.";

/**
 * The connector columns to write once a journaled rotation was saved: back to Connected, but only when the
 * unsaved token was what failed it (a connector failed for another reason keeps its status).
 */
export function recoveredConnectorStatus(
  connection: { status?: number; statusMessage?: string },
  recoveredUnsaved: number,
): { w365_status: number; w365_statusmessage: string } | undefined {
  if (recoveredUnsaved === 0) return undefined;
  if (connection.status !== ConnectionStatus.Failed || !isTokenSaveFailureMessage(connection.statusMessage)) return undefined;
  return { w365_status: ConnectionStatus.Connected, w365_statusmessage: RECOVERED_STATUS_MESSAGE };
}

/** The columns to write when Ion refused the refresh token: Credentials expired, and its expiry cleared. */
export function refreshTokenRejectedStatus(): Record<string, unknown> {
  return {
    w365_status: ConnectionStatus.CredentialsExpired,
    w365_statusmessage: `StreamOne Ion rejected the refresh token (expired or already used). ${REQUEST_NEW_CREDENTIALS_INSTRUCTION}`,
    // A refused token's expiry date means nothing any more; the admin's new token brings its own.
    w365_refreshtokenexpireson: null,
  };
}
