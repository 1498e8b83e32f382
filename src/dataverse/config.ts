/**
 * Dataverse target and credentials from environment variables (DESIGN.md section 4):
 * `DATAVERSE_URL` (or an explicit url), then either `DATAVERSE_TOKEN` (a bearer token, what the emulator
 * takes) or `AZURE_TENANT_ID` + `AZURE_CLIENT_ID` + `AZURE_CLIENT_SECRET` (MSAL client credentials).
 */
import { ConfigError } from "../shared/errors";
import { registerSecret } from "../shared/redact";
import { DataverseAuth } from "./auth";
import { parseEnvironmentUrl } from "./client";

export interface DataverseConnectionSettings {
  url: string;
  auth: DataverseAuth;
}

export function dataverseSettingsFromEnv(env: Record<string, string | undefined> = process.env, urlOverride?: string): DataverseConnectionSettings {
  const url = (urlOverride ?? env.DATAVERSE_URL ?? "").trim();
  if (!url) throw new ConfigError("DATAVERSE_URL is not set: give the Dataverse environment URL (or --dataverse <url>).");
  try {
    parseEnvironmentUrl(url);
  } catch (error) {
    throw new ConfigError(`DATAVERSE_URL is not a valid URL: "${url}".`, { cause: error });
  }
  const token = env.DATAVERSE_TOKEN?.trim();
  const msal = { tenantId: env.AZURE_TENANT_ID?.trim(), clientId: env.AZURE_CLIENT_ID?.trim(), clientSecret: env.AZURE_CLIENT_SECRET?.trim() };
  registerSecret(token);
  registerSecret(msal.clientSecret);
  const anyMsal = Boolean(msal.tenantId || msal.clientId || msal.clientSecret);
  if (token && anyMsal) {
    throw new ConfigError("Both DATAVERSE_TOKEN and AZURE_TENANT_ID/AZURE_CLIENT_ID/AZURE_CLIENT_SECRET are set: keep only one way to sign in to Dataverse.");
  }
  if (token) return { url, auth: { kind: "static", token } };
  if (!anyMsal) {
    throw new ConfigError("No Dataverse credentials: set DATAVERSE_TOKEN, or AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET.");
  }
  const missing = (["AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"] as const).filter((name, i) => ![msal.tenantId, msal.clientId, msal.clientSecret][i]);
  if (missing.length) throw new ConfigError(`Dataverse client credentials are incomplete: ${missing.join(", ")} not set.`);
  return { url, auth: { kind: "msal", tenantId: msal.tenantId!, clientId: msal.clientId!, clientSecret: msal.clientSecret! } };
}
