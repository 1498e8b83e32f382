/**
 * Verify Connectivity: rotate the refresh token (the rotated one is saved to the row before use), read
 * v3 with the bearer token (customers pageSize=1), ask Ion how long the refresh token lives
 * (/oauth/validateAccess), check v1 with the API Key/Secret (v1 invoices). Ion answers 403 both for a
 * dead session and for a wrong Account ID: the client refreshes the session once on a 403, so a 403 that
 * survives a newly issued access token is the Account ID, and one that a new token cured is reported as a
 * dead session. Writes status, message, last verified and refresh-token expiry on the connector, and a
 * w365_syncrun (kind verify).
 */
import {
  IonApiError,
  IonAuthenticationError,
  IonNetworkError,
  IonPermissionError,
  IonTokenSaveError,
  IonV1AuthError,
  REQUEST_NEW_CREDENTIALS_INSTRUCTION,
} from "../ion";
import { ensureError } from "../shared/errors";
import { redact } from "../shared/redact";
import { isRefreshTokenRejected, STATUS_MESSAGE_MAX_LENGTH, tokenSaveFailureStatusMessage } from "../tokens";
import { statusLabel } from "./connection";
import { loadConnection, makeContext, SyncDeps } from "./context";
import { RunRecorder } from "./runs";
import { ConnectionStatus, SETS } from "./schema";
import type { Trigger } from "./types";
import { checkConnectorLocale, readIonLocaleEvidence, withLocaleWarning } from "./verifyLocale";
import { TECHNICAL_DETAIL_MARKER } from "./vocabulary";

export interface VerifyCheck {
  name: "refresh token" | "account id (v3)" | "api key and secret (v1)";
  ok: boolean;
  message: string;
}

export interface VerifyResult {
  ok: boolean;
  connectionId: string;
  status: number;
  statusLabel: string;
  message: string;
  checks: VerifyCheck[];
  refreshTokenExpiresOn?: string;
  runId: string;
}

/** Pure: connector status and the admin's message from the three checks. */
export function verifyOutcome(
  checks: VerifyCheck[],
  o: { tokenRejected: boolean; refreshTokenExpiresOn?: string },
): { status: number; message: string } {
  const failed = checks.filter((c) => !c.ok);
  if (failed.length === 0) {
    const until = o.refreshTokenExpiresOn
      ? ` The refresh token is valid until ${o.refreshTokenExpiresOn.slice(0, 10)} and is renewed automatically every day.`
      : "";
    return {
      status: ConnectionStatus.Connected,
      message: `Connected: refresh token rotated and saved, v3 API read OK, v1 API Key and Secret accepted.${until}`,
    };
  }
  const status = o.tokenRejected ? ConnectionStatus.CredentialsExpired : ConnectionStatus.Failed;
  return { status, message: failed.map((c) => c.message).join(" ") };
}

export async function runVerify(deps: SyncDeps, o: { connectionId: string; trigger: Trigger; requestId?: string }): Promise<VerifyResult> {
  const connection = await loadConnection(deps.dataverse, o.connectionId);
  const ctx = makeContext(deps, connection);
  const run = await RunRecorder.begin(ctx.dv, ctx.clock, {
    connectionId: connection.id,
    connectionName: connection.name,
    kind: "verify",
    trigger: o.trigger,
    dryRun: false,
    requestId: o.requestId,
    holderId: ctx.holderId,
  });
  const checks: VerifyCheck[] = [];
  let tokenRejected = false;
  /** Ion refused the refresh token itself: its stored expiry is cleared (it no longer means anything). */
  let refreshTokenRefused = false;
  let tokenSaveFailed = false;
  let refreshTokenExpiresOn: string | undefined;
  let refreshTokenExpiryFromIon = false;
  let tokenOk = false;
  try {
    const stored = await ctx.store.load();
    if (!stored.refreshToken) {
      tokenRejected = true;
      checks.push({
        name: "refresh token",
        ok: false,
        message: `The connector has no Refresh Token (or the integration user cannot read the secured column: check its field security profile). ${REQUEST_NEW_CREDENTIALS_INSTRUCTION}`,
      });
    } else {
      const state = await ctx.tokens.rotate();
      tokenOk = true;
      refreshTokenExpiresOn = state.refreshTokenExpiresAt ? new Date(state.refreshTokenExpiresAt).toISOString() : undefined;
      checks.push({ name: "refresh token", ok: true, message: "Refresh token exchanged; the rotated token was saved." });
    }
  } catch (error) {
    const e = ensureError(error);
    if (error instanceof IonAuthenticationError) {
      tokenRejected = true;
      refreshTokenRefused = isRefreshTokenRejected(error);
      checks.push({
        name: "refresh token",
        ok: false,
        message: `The Refresh Token was rejected by StreamOne Ion (expired or already used). ${REQUEST_NEW_CREDENTIALS_INSTRUCTION}`,
      });
    } else if (error instanceof IonTokenSaveError) {
      tokenSaveFailed = true;
      checks.push({ name: "refresh token", ok: false, message: e.message });
    } else if (error instanceof IonNetworkError) {
      checks.push({
        name: "refresh token",
        ok: false,
        message: `StreamOne Ion could not be reached: check the network or try again later. ${TECHNICAL_DETAIL_MARKER}${connection.ionBaseUrl} (${e.message})`,
      });
    } else {
      checks.push({ name: "refresh token", ok: false, message: `The token exchange failed: ${e.message}` });
    }
  }
  if (tokenOk) {
    const exchangesBefore = ctx.tokens.exchanges;
    try {
      for await (const page of ctx.ion.customers.listPages({ pageSize: 1 })) {
        void page;
        break;
      }
      const sessionRenewed = ctx.tokens.exchanges > exchangesBefore;
      checks.push({
        name: "account id (v3)",
        ok: true,
        message: sessionRenewed
          ? `Account ID ${connection.ionAccountId} accepted (Ion refused the first session with 403 PERMISSION_DENIED; a newly issued access token was accepted, so the Account ID is right).`
          : `Account ID ${connection.ionAccountId} accepted.`,
      });
    } catch (error) {
      if (error instanceof IonPermissionError) {
        checks.push({
          name: "account id (v3)",
          ok: false,
          message: `The Account ID ${connection.ionAccountId} does not match these credentials (Ion answered 403 PERMISSION_DENIED to a newly issued access token, so the session is not the cause): copy the Account ID from the Ion portal → Settings → Account Information.`,
        });
      } else if (error instanceof IonAuthenticationError) {
        tokenRejected = true;
        checks.push({
          name: "account id (v3)",
          ok: false,
          message: `StreamOne Ion rejected the access token. ${REQUEST_NEW_CREDENTIALS_INSTRUCTION}`,
        });
      } else {
        checks.push({
          name: "account id (v3)",
          ok: false,
          message: `Reading customers from the v3 API failed: ${ensureError(error).message}`,
        });
      }
    }
  }
  if (tokenOk) {
    // Ion says how long the refresh token lives here; the figure stored with the rotation is otherwise assumed.
    try {
      const left = await ctx.ion.validateAccess();
      refreshTokenExpiresOn = new Date(ctx.clock.now() + left.refreshExpiresInS * 1000).toISOString();
      refreshTokenExpiryFromIon = true;
    } catch (error) {
      ctx.logger.warn("Ion's validateAccess did not answer; the refresh-token expiry stays the assumed one", {
        error: ensureError(error).message,
      });
    }
  }
  try {
    await ctx.ion.checkV1(connection.apiKey, connection.apiSecret);
    checks.push({ name: "api key and secret (v1)", ok: true, message: "API Key and Secret accepted." });
  } catch (error) {
    if (error instanceof IonV1AuthError) {
      checks.push({
        name: "api key and secret (v1)",
        ok: false,
        message: `The API Key or API Secret is wrong (${error.message}) Generate new API keys on the Ion portal's Account Information page and paste both into the connector.`,
      });
    } else {
      checks.push({
        name: "api key and secret (v1)",
        ok: false,
        message: `The v1 API check failed: ${error instanceof IonApiError ? error.message : ensureError(error).message}`,
      });
    }
  }
  // Country and Currency Code against what Ion reports (a warning on the message; read only when Ion answered).
  const locale = checks.every((c) => c.ok) ? checkConnectorLocale(connection, await readIonLocaleEvidence(ctx.ion)) : undefined;
  const outcome = withLocaleWarning(verifyOutcome(checks, { tokenRejected, refreshTokenExpiresOn }), locale);
  const nowIso = new Date(ctx.clock.now()).toISOString();
  // Marked only when the unsaved token is the one problem: a later run that saves it then sets the connector
  // back to Connected, which must not hide another failed check (a wrong API key, say).
  const onlyTokenSaveFailed = tokenSaveFailed && checks.filter((c) => !c.ok).length === 1;
  const message = onlyTokenSaveFailed
    ? tokenSaveFailureStatusMessage(outcome.message)
    : redact(outcome.message).slice(0, STATUS_MESSAGE_MAX_LENGTH);
  await ctx.dv.update(SETS.connection, connection.id, {
    w365_status: outcome.status,
    w365_statusmessage: message,
    w365_lastverifiedon: nowIso,
    ...(refreshTokenRefused ? { w365_refreshtokenexpireson: null } : {}),
    ...(refreshTokenExpiryFromIon ? { w365_refreshtokenexpireson: refreshTokenExpiresOn } : {}),
  });
  for (const c of checks) run.report.add({ entity: "connection", key: c.name, action: c.ok ? "unchanged" : "failed", message: c.message });
  const ok = checks.every((c) => c.ok);
  await run.finish(ok ? "succeeded" : "failed", message);
  ctx.logger.info("verify finished", { ok, status: statusLabel(outcome.status) });
  return {
    ok,
    connectionId: connection.id,
    status: outcome.status,
    statusLabel: statusLabel(outcome.status),
    message,
    checks,
    refreshTokenExpiresOn,
    runId: run.runId,
  };
}
