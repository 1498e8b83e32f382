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

export function dataverseSettingsFromEnv(
  env: Record<string, string | undefined> = process.env,
  urlOverride?: string,
): DataverseConnectionSettings {
  const url = (urlOverride ?? env.DATAVERSE_URL ?? "").trim();
  if (!url) throw new ConfigError("DATAVERSE_URL is not set: give the Dataverse environment URL (or --dataverse <url>).");
  try {
    parseEnvironmentUrl(url);
  } catch (error) {
    throw new ConfigError(`DATAVERSE_URL is not a valid URL: "${url}".`, { cause: error });
  }
  return { url, auth: dataverseAuthFromEnv(env) };
}

/** The Dataverse sign-in the environment names: exactly one of a bearer token or complete MSAL client credentials. */
export type DataverseEnvAuth = Extract<DataverseAuth, { kind: "static" } | { kind: "msal" }>;

const MSAL_SETTINGS = ["AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"] as const;

/**
 * Chooses the Dataverse credentials from DATAVERSE_TOKEN or AZURE_TENANT_ID + AZURE_CLIENT_ID +
 * AZURE_CLIENT_SECRET (blank counts as unset). Both, neither or a partial MSAL set is a ConfigError
 * naming the settings; secrets are registered before anything can echo them.
 */
export function dataverseAuthFromEnv(env: Record<string, string | undefined>): DataverseEnvAuth {
  const read = (name: string) => env[name]?.trim() || undefined;
  const token = read("DATAVERSE_TOKEN");
  registerSecret(token);
  registerSecret(read("AZURE_CLIENT_SECRET"));
  const given = MSAL_SETTINGS.filter((name) => read(name) !== undefined);
  if (token && given.length > 0) {
    throw new ConfigError(
      `Ambiguous Dataverse credentials: set either DATAVERSE_TOKEN or AZURE_TENANT_ID/AZURE_CLIENT_ID/AZURE_CLIENT_SECRET, not both (found DATAVERSE_TOKEN and ${given.join(", ")}).`,
    );
  }
  if (token) return { kind: "static", token };
  if (given.length === 0) {
    throw new ConfigError(
      "No Dataverse credentials: set DATAVERSE_TOKEN, or AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (the app registration of the integration's application user).",
    );
  }
  const missing = MSAL_SETTINGS.filter((name) => read(name) === undefined);
  if (missing.length > 0)
    throw new ConfigError(`Incomplete Dataverse credentials: ${missing.join(", ")} ${missing.length === 1 ? "is" : "are"} missing.`);
  return {
    kind: "msal",
    tenantId: read("AZURE_TENANT_ID")!,
    clientId: read("AZURE_CLIENT_ID")!,
    clientSecret: read("AZURE_CLIENT_SECRET")!,
  };
}
