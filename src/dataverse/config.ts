/**
 * Dataverse target and sign-in from environment variables / app settings: `DATAVERSE_URL` (or an
 * explicit url), then one sign-in: a bearer token (`DATAVERSE_TOKEN`, what the emulator takes), client
 * secret, client certificate, or managed identity (README.md in this folder lists the settings). The
 * functions app offers all four; the CLI (`dataverseSettingsFromEnv`) the token and the client secret.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";

import { ConfigError, ensureError } from "../shared/errors";
import { GUID_PATTERN } from "../shared/guid";
import { registerSecret } from "../shared/redact";
import type { ClientCertificateAuth, DataverseAuth } from "./auth";
import { parseEnvironmentUrl } from "./client";

export interface DataverseConnectionSettings {
  url: string;
  auth: DataverseAuth;
}

export function dataverseSettingsFromEnv(
  env: Record<string, string | undefined> = process.env,
  urlOverride?: string,
  allow: readonly DataverseAuthChoice[] = COMMAND_LINE_AUTH,
): DataverseConnectionSettings {
  const url = (urlOverride ?? env.DATAVERSE_URL ?? "").trim();
  if (!url) throw new ConfigError("DATAVERSE_URL is not set: give the Dataverse environment URL (or --dataverse <url>).");
  try {
    parseEnvironmentUrl(url);
  } catch (error) {
    throw new ConfigError(`DATAVERSE_URL is not a valid URL: "${url}".`, { cause: error });
  }
  return { url, auth: dataverseAuthFromEnv(env, { allow }) };
}

/** The Dataverse sign-in the environment names (never a token provider function). */
export type DataverseEnvAuth = Exclude<DataverseAuth, { kind: "provider" }>;

/** The values of DATAVERSE_AUTH, one per sign-in. */
export const DATAVERSE_AUTH_CHOICES = ["token", "client-secret", "client-certificate", "managed-identity"] as const;
export type DataverseAuthChoice = (typeof DATAVERSE_AUTH_CHOICES)[number];

/** Where an operator runs a command (the CLI): no managed identity there, and pac needs a client secret. */
export const COMMAND_LINE_AUTH: readonly DataverseAuthChoice[] = ["token", "client-secret"];

/** The settings that point at one sign-in; seeing those of two sign-ins at once is ambiguous. */
const EVIDENCE: Record<DataverseAuthChoice, readonly string[]> = {
  token: ["DATAVERSE_TOKEN"],
  "client-secret": ["AZURE_CLIENT_SECRET"],
  "client-certificate": ["AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_CLIENT_CERTIFICATE", "AZURE_CLIENT_CERTIFICATE_THUMBPRINT"],
  "managed-identity": [],
};
const APP_REGISTRATION = ["AZURE_TENANT_ID", "AZURE_CLIENT_ID"] as const;
const SECRET_SETTINGS = ["DATAVERSE_TOKEN", "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE"] as const;
const KEY_VAULT_REFERENCE = /^@Microsoft\.KeyVault\(/i;

export interface DataverseAuthOptions {
  /** The sign-ins this application offers (default: all). */
  allow?: readonly DataverseAuthChoice[];
  /** Reads AZURE_CLIENT_CERTIFICATE_PATH (default: the file system). */
  readFile?: (path: string) => string;
}

/**
 * Chooses the Dataverse sign-in from the settings, validated once (blank counts as unset):
 * `DATAVERSE_AUTH` names it (`token`, `client-secret`, `client-certificate`, `managed-identity`), or,
 * without it, the settings present decide: `DATAVERSE_TOKEN` → token; `AZURE_CLIENT_SECRET` → client
 * secret; `AZURE_CLIENT_CERTIFICATE_PATH` / `AZURE_CLIENT_CERTIFICATE` → certificate (managed identity
 * has no setting of its own, so it is only ever chosen by name). Settings of two sign-ins, a missing
 * part, or a sign-in this application does not offer is a ConfigError naming the settings. Secrets are
 * registered for redaction before anything can echo them.
 */
export function dataverseAuthFromEnv(env: Record<string, string | undefined>, options: DataverseAuthOptions = {}): DataverseEnvAuth {
  const read = (name: string) => env[name]?.trim() || undefined;
  for (const name of SECRET_SETTINGS) registerSecret(read(name));
  const allow = options.allow ?? DATAVERSE_AUTH_CHOICES;
  for (const name of SECRET_SETTINGS) {
    // App Service leaves the reference text in place when it cannot resolve it.
    if (KEY_VAULT_REFERENCE.test(read(name) ?? ""))
      throw new ConfigError(
        `${name} is an unresolved Key Vault reference: the Function App could not read the secret. Give the app's managed identity the "Key Vault Secrets User" role on the vault (or a Get access policy for secrets) and check the reference's status under Environment variables in the portal.`,
      );
  }
  const present = (names: readonly string[]) => names.filter((n) => read(n) !== undefined);
  const choice = chooseSignIn(read("DATAVERSE_AUTH"), present, allow);
  const others = DATAVERSE_AUTH_CHOICES.filter((c) => c !== choice).flatMap((c) => present(EVIDENCE[c]));
  if (others.length > 0) {
    const stray = choice === "token" ? [...others, ...present(APP_REGISTRATION)] : others;
    throw new ConfigError(
      `Ambiguous Dataverse credentials: the ${choice} sign-in was chosen but ${stray.join(", ")} ${stray.length === 1 ? "is" : "are"} set too. Remove the settings of the sign-in you do not use (a leftover credential would keep working after you meant to retire it).`,
    );
  }
  if (choice === "token") {
    const appRegistration = present(APP_REGISTRATION);
    if (appRegistration.length > 0)
      throw new ConfigError(
        `Ambiguous Dataverse credentials: set either DATAVERSE_TOKEN or the app registration's AZURE_TENANT_ID/AZURE_CLIENT_ID with a secret or certificate, not both (found DATAVERSE_TOKEN and ${appRegistration.join(", ")}).`,
      );
    const token = read("DATAVERSE_TOKEN");
    if (!token) throw new ConfigError("DATAVERSE_AUTH=token needs DATAVERSE_TOKEN (a bearer token for the environment).");
    return { kind: "static", token };
  }
  if (choice === "managed-identity") {
    const clientId = read("AZURE_CLIENT_ID");
    if (clientId !== undefined && !GUID_PATTERN.test(clientId))
      throw new ConfigError(
        `AZURE_CLIENT_ID must be the client id (a GUID) of the user-assigned managed identity (got "${clientId}"); leave it unset for the system-assigned identity.`,
      );
    return clientId ? { kind: "managedIdentity", clientId: clientId.toLowerCase() } : { kind: "managedIdentity" };
  }
  const authorityHost = read("AZURE_AUTHORITY_HOST");
  if (authorityHost !== undefined && !/^https:\/\/[^/]+\/?$/i.test(authorityHost))
    throw new ConfigError(
      `AZURE_AUTHORITY_HOST must be an https origin such as https://login.microsoftonline.us (got "${authorityHost}").`,
    );
  const required = choice === "client-secret" ? [...APP_REGISTRATION, "AZURE_CLIENT_SECRET"] : [...APP_REGISTRATION];
  const missing = required.filter((name) => read(name) === undefined);
  if (missing.length > 0) {
    const alternatives = choice === "client-secret" && !read("DATAVERSE_AUTH") ? alternativesTo(allow) : "";
    throw new ConfigError(
      `Incomplete Dataverse credentials: ${missing.join(", ")} ${missing.length === 1 ? "is" : "are"} missing for the ${choice} sign-in.${alternatives}`,
    );
  }
  const registration = {
    tenantId: read("AZURE_TENANT_ID")!,
    clientId: read("AZURE_CLIENT_ID")!,
    ...(authorityHost ? { authorityHost } : {}),
  };
  if (choice === "client-secret") return { kind: "msal", ...registration, clientSecret: read("AZURE_CLIENT_SECRET")! };
  return { kind: "certificate", ...registration, ...certificateFromEnv(read, options.readFile ?? ((path) => readFileSync(path, "utf8"))) };
}

function chooseSignIn(
  named: string | undefined,
  present: (names: readonly string[]) => string[],
  allow: readonly DataverseAuthChoice[],
): DataverseAuthChoice {
  const offered = (choice: DataverseAuthChoice, source: string): DataverseAuthChoice => {
    if (allow.includes(choice)) return choice;
    throw new ConfigError(
      `${source} asks for the ${choice} sign-in, which is not offered here: use ${allow.join(" or ")} (see DATAVERSE_AUTH in the documentation).`,
    );
  };
  if (named !== undefined) {
    const choice = DATAVERSE_AUTH_CHOICES.find((c) => c === named.toLowerCase());
    if (!choice) throw new ConfigError(`DATAVERSE_AUTH must be one of ${DATAVERSE_AUTH_CHOICES.join(", ")} (got "${named}").`);
    return offered(choice, `DATAVERSE_AUTH=${choice}`);
  }
  const seen = DATAVERSE_AUTH_CHOICES.filter((c) => present(EVIDENCE[c]).length > 0);
  if (seen.length > 1) {
    const settings = seen.flatMap((c) => present(EVIDENCE[c]));
    throw new ConfigError(
      `Ambiguous Dataverse credentials: ${settings.join(", ")} belong to different sign-ins (${seen.join(", ")}). Keep the settings of one, or name it in DATAVERSE_AUTH.`,
    );
  }
  const [only] = seen;
  if (only) return offered(only, present(EVIDENCE[only]).join(", "));
  // Only the app registration's ids (or nothing): the historic default, client secret, names what is missing.
  if (present(APP_REGISTRATION).length > 0 && allow.includes("client-secret")) return "client-secret";
  throw new ConfigError(`No Dataverse credentials: set ${describeChoices(allow)}.`);
}

function describeChoices(allow: readonly DataverseAuthChoice[]): string {
  const text: Record<DataverseAuthChoice, string> = {
    token: "DATAVERSE_TOKEN",
    "client-secret":
      "AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (the app registration of the integration's application user)",
    "client-certificate": "AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_CERTIFICATE_PATH or AZURE_CLIENT_CERTIFICATE",
    "managed-identity": "DATAVERSE_AUTH=managed-identity (with AZURE_CLIENT_ID for a user-assigned identity)",
  };
  return allow.map((c) => text[c]).join("; or ");
}

function alternativesTo(allow: readonly DataverseAuthChoice[]): string {
  const more = allow.filter((c) => c === "client-certificate" || c === "managed-identity");
  return more.length > 0 ? ` (Or set ${describeChoices(more)}.)` : "";
}

/**
 * The certificate sign-in's key and thumbprint from AZURE_CLIENT_CERTIFICATE_PATH (a PEM file) or
 * AZURE_CLIENT_CERTIFICATE (PEM text, e.g. a Key Vault reference to a certificate stored with content
 * type PEM). The PEM holds the private key and, normally, the certificate, whose SHA-256 thumbprint is
 * computed here; AZURE_CLIENT_CERTIFICATE_THUMBPRINT is needed only without the certificate, and must
 * match it otherwise.
 */
function certificateFromEnv(
  read: (name: string) => string | undefined,
  readFile: (path: string) => string,
): Pick<ClientCertificateAuth, "privateKey" | "thumbprintSha256" | "thumbprint"> {
  const path = read("AZURE_CLIENT_CERTIFICATE_PATH");
  const inline = read("AZURE_CLIENT_CERTIFICATE");
  if (path && inline)
    throw new ConfigError("Ambiguous certificate: set AZURE_CLIENT_CERTIFICATE_PATH or AZURE_CLIENT_CERTIFICATE (PEM text), not both.");
  let pem: string;
  let source: string;
  if (path) {
    source = "AZURE_CLIENT_CERTIFICATE_PATH";
    try {
      pem = readFile(path);
    } catch (error) {
      throw new ConfigError(`AZURE_CLIENT_CERTIFICATE_PATH: cannot read "${path}" (${ensureError(error).message}).`, { cause: error });
    }
  } else if (inline) {
    source = "AZURE_CLIENT_CERTIFICATE";
    pem = inline;
  } else {
    throw new ConfigError(
      "Incomplete Dataverse credentials: the client-certificate sign-in needs AZURE_CLIENT_CERTIFICATE_PATH (a PEM file with the private key and the certificate) or AZURE_CLIENT_CERTIFICATE (the same PEM text, e.g. from a Key Vault reference).",
    );
  }
  registerSecret(pem);
  if (!/-----BEGIN (RSA |EC |ENCRYPTED )?PRIVATE KEY-----/.test(pem)) {
    throw new ConfigError(
      `${source} holds no PEM private key. Give a PEM with "-----BEGIN PRIVATE KEY-----" and the certificate; a Key Vault certificate must be stored with content type PEM (application/x-pem-file), not PKCS#12.`,
    );
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (error) {
    throw new ConfigError(
      `${source}: the private key cannot be read (${ensureError(error).message}); an encrypted key is not supported, export it unencrypted.`,
      {
        cause: error,
      },
    );
  }
  const privateKey = key.export({ type: "pkcs8", format: "pem" }).toString();
  registerSecret(privateKey);
  const certificateBlock = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem)?.[0];
  const given = read("AZURE_CLIENT_CERTIFICATE_THUMBPRINT")?.replace(/[:\s]/g, "").toLowerCase();
  if (given !== undefined && !/^([0-9a-f]{40}|[0-9a-f]{64})$/.test(given))
    throw new ConfigError(
      "AZURE_CLIENT_CERTIFICATE_THUMBPRINT must be the certificate's SHA-256 (64 hex digits) or SHA-1 (40 hex digits) thumbprint.",
    );
  if (!certificateBlock) {
    if (!given)
      throw new ConfigError(
        `${source} holds a private key but no certificate: add the certificate to the PEM, or set AZURE_CLIENT_CERTIFICATE_THUMBPRINT to the thumbprint shown on the app registration.`,
      );
    return given.length === 64 ? { privateKey, thumbprintSha256: given } : { privateKey, thumbprint: given };
  }
  const certificate = new X509Certificate(certificateBlock);
  if (!certificate.checkPrivateKey(key))
    throw new ConfigError(`${source}: the private key does not belong to the certificate in the same PEM.`);
  const sha256 = certificate.fingerprint256.replace(/:/g, "").toLowerCase();
  const sha1 = certificate.fingerprint.replace(/:/g, "").toLowerCase();
  if (given !== undefined && given !== sha256 && given !== sha1)
    throw new ConfigError(
      `AZURE_CLIENT_CERTIFICATE_THUMBPRINT (${given}) is not the thumbprint of the certificate in ${source} (SHA-256 ${sha256}, SHA-1 ${sha1}).`,
    );
  return { privateKey, thumbprintSha256: sha256 };
}
