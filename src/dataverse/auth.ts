/**
 * Bearer tokens for Dataverse: a static token (the emulator's, or DATAVERSE_TOKEN), a caller-supplied
 * function, or Microsoft Entra ID through MSAL (scope `<environment url>/.default`): client secret,
 * certificate, or the Azure resource's managed identity, cached until shortly before expiry. Every
 * token, client secret and private key is registered as a secret the moment it is seen.
 */
import { ConfidentialClientApplication, ManagedIdentityApplication } from "@azure/msal-node";

import { Clock, systemClock } from "../shared/clock";
import { ensureError } from "../shared/errors";
import { redact, registerSecret } from "../shared/redact";
import { DataverseAuthError } from "./errors";

/** Client credentials with a secret (MSAL ConfidentialClientApplication). */
export interface ClientSecretAuth {
  kind: "msal";
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** Microsoft Entra authority host (AZURE_AUTHORITY_HOST); default https://login.microsoftonline.com. */
  authorityHost?: string;
}

/**
 * Client credentials with a certificate: MSAL signs a client assertion with the private key and names
 * the certificate by its thumbprint (SHA-256 preferred; SHA-1 only where the certificate is not at hand).
 */
export interface ClientCertificateAuth {
  kind: "certificate";
  tenantId: string;
  clientId: string;
  /** PEM (PKCS#8, unencrypted) private key. */
  privateKey: string;
  /** Hex SHA-256 thumbprint of the certificate uploaded to the app registration. */
  thumbprintSha256?: string;
  /** Hex SHA-1 thumbprint, when only that is known. */
  thumbprint?: string;
  authorityHost?: string;
}

/** The Azure resource's managed identity (MSAL ManagedIdentityApplication): system-assigned, or user-assigned by client id. */
export interface ManagedIdentityAuth {
  kind: "managedIdentity";
  /** Client id of a user-assigned identity; absent = the system-assigned identity. */
  clientId?: string;
}

export type EntraAuth = ClientSecretAuth | ClientCertificateAuth | ManagedIdentityAuth;

export type DataverseAuth = { kind: "static"; token: string } | EntraAuth | { kind: "provider"; getToken: () => Promise<string> };

export interface TokenSource {
  /** A bearer token; cached where the source allows. */
  getToken(): Promise<string>;
  /** Drops a cached token after Dataverse answered 401, so the next call fetches a fresh one. */
  invalidate(): void;
  /** Whether invalidate() can yield a different token (false for a static token). */
  readonly canRefresh: boolean;
}

/** What an MSAL token call returns that we use. */
export interface AcquiredToken {
  accessToken: string;
  expiresOn: Date | null;
}

/** `forceRefresh`: skip MSAL's own cache (Dataverse refused the cached token with 401). */
export type AcquireToken = (scope: string, o?: { forceRefresh?: boolean }) => Promise<AcquiredToken>;

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
    case "certificate":
    case "managedIdentity":
      return new MsalTokenSource(auth, scopeFor(environmentUrl), clock, acquire);
  }
}

/** The settings an operator checks for each sign-in, named in errors. */
const SETTINGS_HINT: Record<EntraAuth["kind"], string> = {
  msal: "Check AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (is the secret expired?) and the app registration.",
  certificate:
    "Check AZURE_TENANT_ID, AZURE_CLIENT_ID and that this certificate (same thumbprint) is uploaded to the app registration's Certificates & secrets and not expired.",
  managedIdentity:
    "Check that the Function App's identity is on (Identity blade), that AZURE_CLIENT_ID is the client id of the user-assigned identity when one is used, and that the Dataverse environment has an application user for that identity's application id.",
};

function describeIdentity(auth: EntraAuth): string {
  if (auth.kind === "managedIdentity")
    return auth.clientId ? `the user-assigned managed identity with client id ${auth.clientId}` : "the system-assigned managed identity";
  return `tenant ${auth.tenantId} and client id ${auth.clientId}`;
}

function requireParts(auth: EntraAuth): void {
  const parts: [string, string | undefined][] = [];
  if (auth.kind !== "managedIdentity") parts.push(["tenantId", auth.tenantId], ["clientId", auth.clientId]);
  if (auth.kind === "msal") parts.push(["clientSecret", auth.clientSecret]);
  if (auth.kind === "certificate")
    parts.push(["privateKey", auth.privateKey], ["thumbprintSha256 or thumbprint", auth.thumbprintSha256 ?? auth.thumbprint]);
  for (const [name, value] of parts) {
    if (!value)
      throw new DataverseAuthError(`The Dataverse sign-in needs ${name}. ${SETTINGS_HINT[auth.kind]}`, {
        statusCode: undefined,
      });
  }
}

/**
 * Tokens from Microsoft Entra ID through MSAL (client secret, certificate or managed identity), cached
 * until TOKEN_REFRESH_MARGIN_MS before expiry; after invalidate() the next token skips MSAL's own cache.
 */
export class MsalTokenSource implements TokenSource {
  readonly canRefresh = true;
  private cached?: { token: string; refreshAt: number };
  private inflight?: Promise<string>;
  private forceRefresh = false;
  private readonly acquire: AcquireToken;

  constructor(
    private readonly auth: EntraAuth,
    private readonly scope: string,
    private readonly clock: Clock = systemClock,
    acquire?: AcquireToken,
  ) {
    requireParts(auth);
    if (auth.kind === "msal") registerSecret(auth.clientSecret);
    if (auth.kind === "certificate") registerSecret(auth.privateKey);
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
    // MSAL caches the refused token too: the next request must go to Entra ID (or the identity endpoint).
    this.forceRefresh = true;
  }

  private async fetchToken(): Promise<string> {
    let result: AcquiredToken;
    const forceRefresh = this.forceRefresh;
    try {
      result = await this.acquire(this.scope, forceRefresh ? { forceRefresh } : undefined);
    } catch (error) {
      const msalCode = (error as { errorCode?: unknown })?.errorCode;
      const detail = redact(ensureError(error).message);
      const network = msalCode === "network_error" || /network|ENOTFOUND|ECONNREFUSED|fetch failed/i.test(detail);
      const where =
        this.auth.kind === "managedIdentity"
          ? "the managed identity endpoint (managed identity works only inside Azure)"
          : "Microsoft Entra ID (login.microsoftonline.com)";
      throw new DataverseAuthError(
        `Could not get a Dataverse token from Microsoft Entra ID for ${describeIdentity(this.auth)}: ${detail}`,
        {
          statusCode: undefined,
          retryable: network,
          dataverseCode: typeof msalCode === "string" ? msalCode : undefined,
          hint: network ? `Check that this machine can reach ${where} and try again.` : SETTINGS_HINT[this.auth.kind],
          cause: error,
        },
      );
    }
    if (!result.accessToken)
      throw new DataverseAuthError(`Microsoft Entra ID returned no access token for ${describeIdentity(this.auth)}.`, {
        statusCode: undefined,
      });
    registerSecret(result.accessToken);
    if (forceRefresh) this.forceRefresh = false;
    const now = this.clock.now();
    const expiresAt = result.expiresOn ? result.expiresOn.getTime() : now + 60 * 60_000;
    // A token with less than the margin left is used once and refreshed next time.
    this.cached = { token: result.accessToken, refreshAt: Math.max(now, expiresAt - TOKEN_REFRESH_MARGIN_MS) };
    return result.accessToken;
  }
}

// MSAL's own logging is off: it would print correlation data we already carry in our logs.
const QUIET = { loggerOptions: { loggerCallback: () => undefined, piiLoggingEnabled: false } };

function msalAcquire(auth: EntraAuth): AcquireToken {
  if (auth.kind === "managedIdentity") {
    // MSAL finds the platform's identity endpoint itself (App Service / Functions: IDENTITY_ENDPOINT + IDENTITY_HEADER; VMs: IMDS).
    const app = new ManagedIdentityApplication({
      ...(auth.clientId ? { managedIdentityIdParams: { userAssignedClientId: auth.clientId } } : {}),
      system: QUIET,
    });
    return async (scope, o) => {
      const result = await app.acquireToken({ resource: scope, ...(o?.forceRefresh ? { forceRefresh: true } : {}) });
      return { accessToken: result.accessToken, expiresOn: result.expiresOn };
    };
  }
  const host = (auth.authorityHost ?? DEFAULT_AUTHORITY_HOST).replace(/\/+$/, "");
  const credential =
    auth.kind === "msal"
      ? { clientSecret: auth.clientSecret }
      : {
          clientCertificate: {
            privateKey: auth.privateKey,
            ...(auth.thumbprintSha256 ? { thumbprintSha256: auth.thumbprintSha256 } : { thumbprint: auth.thumbprint ?? "" }),
          },
        };
  const app = new ConfidentialClientApplication({
    auth: {
      clientId: auth.clientId,
      authority: `${host}/${auth.tenantId}`,
      // Another cloud's (or a test's) authority host is trusted as given instead of checked against Microsoft's instance list.
      ...(host === DEFAULT_AUTHORITY_HOST ? {} : { knownAuthorities: [new URL(host).host] }),
      ...credential,
    },
    system: QUIET,
  });
  return async (scope, o) => {
    const result = await app.acquireTokenByClientCredential({ scopes: [scope], ...(o?.forceRefresh ? { skipCache: true } : {}) });
    if (!result) throw new DataverseAuthError("MSAL returned no token result.");
    return { accessToken: result.accessToken, expiresOn: result.expiresOn };
  };
}
