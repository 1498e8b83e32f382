/**
 * Bearer tokens for Dataverse: a static token (the emulator's, or DATAVERSE_TOKEN), a caller-supplied
 * function, or MSAL client credentials (scope `<environment url>/.default`) cached until shortly before
 * expiry. Every token and the client secret are registered as secrets the moment they are seen.
 */
import { ConfidentialClientApplication } from "@azure/msal-node";

import { Clock, systemClock } from "../shared/clock";
import { ensureError } from "../shared/errors";
import { redact, registerSecret } from "../shared/redact";
import { DataverseAuthError } from "./errors";

export type DataverseAuth =
  | { kind: "static"; token: string }
  | { kind: "msal"; tenantId: string; clientId: string; clientSecret: string; authorityHost?: string }
  | { kind: "provider"; getToken: () => Promise<string> };

export interface TokenSource {
  /** A bearer token; cached where the source allows. */
  getToken(): Promise<string>;
  /** Drops a cached token after Dataverse answered 401, so the next call fetches a fresh one. */
  invalidate(): void;
  /** Whether invalidate() can yield a different token (false for a static token). */
  readonly canRefresh: boolean;
}

/** What an MSAL client-credentials call returns that we use. */
export interface AcquiredToken {
  accessToken: string;
  expiresOn: Date | null;
}

export type AcquireToken = (scope: string) => Promise<AcquiredToken>;

/** Refresh this long before expiry so an in-flight request never carries a token that expires mid-way. */
export const TOKEN_REFRESH_MARGIN_MS = 5 * 60_000;
const DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com";

export function scopeFor(environmentUrl: string): string {
  return `${new URL(environmentUrl).origin}/.default`;
}

export function createTokenSource(
  auth: DataverseAuth,
  environmentUrl: string,
  clock: Clock = systemClock,
  acquire?: AcquireToken,
): TokenSource {
  switch (auth.kind) {
    case "static": {
      if (!auth.token) throw new DataverseAuthError("No Dataverse token was given (DATAVERSE_TOKEN is empty).", { statusCode: undefined });
      registerSecret(auth.token);
      return { getToken: async () => auth.token, invalidate: () => undefined, canRefresh: false };
    }
    case "provider":
      return {
        getToken: async () => {
          let token: string;
          try {
            token = await auth.getToken();
          } catch (error) {
            throw new DataverseAuthError(`Could not get a Dataverse token from the token provider: ${redact(ensureError(error).message)}`, {
              statusCode: undefined,
              cause: error,
            });
          }
          registerSecret(token);
          return token;
        },
        invalidate: () => undefined,
        canRefresh: true,
      };
    case "msal":
      return new MsalTokenSource(auth, scopeFor(environmentUrl), clock, acquire);
  }
}

/** Client-credentials tokens from Microsoft Entra ID, cached until TOKEN_REFRESH_MARGIN_MS before expiry. */
export class MsalTokenSource implements TokenSource {
  readonly canRefresh = true;
  private cached?: { token: string; refreshAt: number };
  private inflight?: Promise<string>;
  private readonly acquire: AcquireToken;

  constructor(
    private readonly auth: { tenantId: string; clientId: string; clientSecret: string; authorityHost?: string },
    private readonly scope: string,
    private readonly clock: Clock = systemClock,
    acquire?: AcquireToken,
  ) {
    for (const [name, value] of [
      ["tenantId", auth.tenantId],
      ["clientId", auth.clientId],
      ["clientSecret", auth.clientSecret],
    ] as const) {
      if (!value)
        throw new DataverseAuthError(`MSAL client credentials need ${name} (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET).`, {
          statusCode: undefined,
        });
    }
    registerSecret(auth.clientSecret);
    this.acquire = acquire ?? msalAcquire(auth);
  }

  async getToken(): Promise<string> {
    if (this.cached && this.clock.now() < this.cached.refreshAt) return this.cached.token;
    // Concurrent callers share one token request.
    this.inflight ??= this.fetchToken().finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  invalidate(): void {
    this.cached = undefined;
  }

  private async fetchToken(): Promise<string> {
    let result: AcquiredToken;
    try {
      result = await this.acquire(this.scope);
    } catch (error) {
      const msalCode = (error as { errorCode?: unknown })?.errorCode;
      const detail = redact(ensureError(error).message);
      const network = msalCode === "network_error" || /network|ENOTFOUND|ECONNREFUSED|fetch failed/i.test(detail);
      throw new DataverseAuthError(
        `Could not get a Dataverse token from Microsoft Entra ID for tenant ${this.auth.tenantId} and client id ${this.auth.clientId}: ${detail}`,
        {
          statusCode: undefined,
          retryable: network,
          dataverseCode: typeof msalCode === "string" ? msalCode : undefined,
          hint: network
            ? "Check that this machine can reach Microsoft Entra ID (login.microsoftonline.com) and try again."
            : "Check AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (is the secret expired?) and the app registration.",
          cause: error,
        },
      );
    }
    if (!result.accessToken)
      throw new DataverseAuthError(`Microsoft Entra ID returned no access token for client id ${this.auth.clientId}.`, {
        statusCode: undefined,
      });
    registerSecret(result.accessToken);
    const now = this.clock.now();
    const expiresAt = result.expiresOn ? result.expiresOn.getTime() : now + 60 * 60_000;
    // A token with less than the margin left is used once and refreshed next time.
    this.cached = { token: result.accessToken, refreshAt: Math.max(now, expiresAt - TOKEN_REFRESH_MARGIN_MS) };
    return result.accessToken;
  }
}

function msalAcquire(auth: { tenantId: string; clientId: string; clientSecret: string; authorityHost?: string }): AcquireToken {
  const host = (auth.authorityHost ?? DEFAULT_AUTHORITY_HOST).replace(/\/+$/, "");
  const app = new ConfidentialClientApplication({
    auth: { clientId: auth.clientId, authority: `${host}/${auth.tenantId}`, clientSecret: auth.clientSecret },
    // MSAL's own logging is off: it would print correlation data we already carry in our logs.
    system: { loggerOptions: { loggerCallback: () => undefined, piiLoggingEnabled: false } },
  });
  return async (scope) => {
    const result = await app.acquireTokenByClientCredential({ scopes: [scope] });
    if (!result) throw new DataverseAuthError("MSAL returned no token result.");
    return { accessToken: result.accessToken, expiresOn: result.expiresOn };
  };
}
