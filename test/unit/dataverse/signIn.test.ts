/** Which Dataverse sign-in the settings choose, and the error naming the setting when they are incomplete or ambiguous. */
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";

import { COMMAND_LINE_AUTH, dataverseAuthFromEnv, dataverseSettingsFromEnv } from "../../../src/dataverse/config";
import { ConfigError } from "../../../src/shared/errors";
import { forgetSecrets, redact } from "../../../src/shared/redact";

const PEM_PATH = path.join(__dirname, "../../support/certificates/app-registration-test.pem");
const PEM = readFileSync(PEM_PATH, "utf8");
const KEY_ONLY = PEM.slice(0, PEM.indexOf("-----BEGIN CERTIFICATE-----"));
const CERT_ONLY = PEM.slice(PEM.indexOf("-----BEGIN CERTIFICATE-----"));
const certificate = new X509Certificate(CERT_ONLY);
const SHA256 = certificate.fingerprint256.replace(/:/g, "").toLowerCase();
const SHA1 = certificate.fingerprint.replace(/:/g, "").toLowerCase();
const TENANT = "0a0b0c0d-1111-2222-3333-444455556666";
const CLIENT = "9f8e7d6c-aaaa-bbbb-cccc-ddddeeeeffff";
const app = { AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: CLIENT };

afterEach(() => forgetSecrets());

const failure = (env: Record<string, string>, o?: Parameters<typeof dataverseAuthFromEnv>[1]) => {
  try {
    dataverseAuthFromEnv(env, o);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error("expected a ConfigError");
};

describe("Dataverse sign-in selection", () => {
  it("chooses managed identity only by name: system-assigned, or user-assigned by AZURE_CLIENT_ID", () => {
    expect(dataverseAuthFromEnv({ DATAVERSE_AUTH: "managed-identity" })).toStrictEqual({ kind: "managedIdentity" });
    expect(dataverseAuthFromEnv({ DATAVERSE_AUTH: "Managed-Identity", AZURE_CLIENT_ID: CLIENT.toUpperCase() })).toStrictEqual({
      kind: "managedIdentity",
      clientId: CLIENT,
    });
    expect(failure({ DATAVERSE_AUTH: "managed-identity", AZURE_CLIENT_ID: "my-identity" })).toMatch(
      /AZURE_CLIENT_ID must be the client id/,
    );
    expect(failure({ DATAVERSE_AUTH: "managed-identity", AZURE_CLIENT_SECRET: "left-over-secret" })).toMatch(
      /managed-identity sign-in was chosen but AZURE_CLIENT_SECRET is set too/,
    );
    expect(failure({ DATAVERSE_AUTH: "msi" })).toMatch(
      /DATAVERSE_AUTH must be one of token, client-secret, client-certificate, managed-identity/,
    );
  });

  it("chooses the client secret from AZURE_CLIENT_SECRET and names what is missing", () => {
    expect(dataverseAuthFromEnv({ ...app, AZURE_CLIENT_SECRET: "client-secret-1" })).toStrictEqual({
      kind: "msal",
      tenantId: TENANT,
      clientId: CLIENT,
      clientSecret: "client-secret-1",
    });
    expect(failure({ AZURE_CLIENT_SECRET: "client-secret-1", AZURE_TENANT_ID: TENANT })).toMatch(
      /AZURE_CLIENT_ID is missing for the client-secret sign-in/,
    );
    expect(failure({ AZURE_TENANT_ID: TENANT })).toMatch(
      /AZURE_CLIENT_ID, AZURE_CLIENT_SECRET are missing.*AZURE_CLIENT_CERTIFICATE_PATH.*managed-identity/,
    );
  });

  it("chooses the certificate from a PEM file, computing the SHA-256 thumbprint from the certificate", () => {
    expect(dataverseAuthFromEnv({ ...app, AZURE_CLIENT_CERTIFICATE_PATH: PEM_PATH })).toMatchObject({
      kind: "certificate",
      tenantId: TENANT,
      clientId: CLIENT,
      thumbprintSha256: SHA256,
      privateKey: expect.stringContaining("-----BEGIN PRIVATE KEY-----"),
    });
    // The private key never shows in an error or a log once read.
    expect(redact(PEM)).not.toContain("PRIVATE KEY-----\n");
  });

  it("takes the same PEM as text (a Key Vault reference resolved by App Service) and checks a given thumbprint", () => {
    expect(dataverseAuthFromEnv({ ...app, AZURE_CLIENT_CERTIFICATE: PEM, AZURE_CLIENT_CERTIFICATE_THUMBPRINT: SHA1 })).toMatchObject({
      thumbprintSha256: SHA256,
    });
    expect(failure({ ...app, AZURE_CLIENT_CERTIFICATE: PEM, AZURE_CLIENT_CERTIFICATE_THUMBPRINT: "ab".repeat(32) })).toMatch(
      /AZURE_CLIENT_CERTIFICATE_THUMBPRINT .* is not the thumbprint of the certificate in AZURE_CLIENT_CERTIFICATE/,
    );
  });

  it("needs the thumbprint setting when the PEM holds the key alone, and uses SHA-1 only when that is what is given", () => {
    expect(failure({ ...app, AZURE_CLIENT_CERTIFICATE: KEY_ONLY })).toMatch(/no certificate: .*AZURE_CLIENT_CERTIFICATE_THUMBPRINT/);
    expect(dataverseAuthFromEnv({ ...app, AZURE_CLIENT_CERTIFICATE: KEY_ONLY, AZURE_CLIENT_CERTIFICATE_THUMBPRINT: SHA1 })).toMatchObject({
      thumbprint: SHA1,
    });
    expect(dataverseAuthFromEnv({ ...app, AZURE_CLIENT_CERTIFICATE: KEY_ONLY, AZURE_CLIENT_CERTIFICATE_THUMBPRINT: SHA256 })).toMatchObject(
      {
        thumbprintSha256: SHA256,
      },
    );
  });

  it("refuses a certificate it cannot use, naming the setting", () => {
    expect(failure({ ...app, AZURE_CLIENT_CERTIFICATE_PATH: "/nonexistent/cert.pem" })).toMatch(
      /AZURE_CLIENT_CERTIFICATE_PATH: cannot read/,
    );
    expect(failure({ ...app, AZURE_CLIENT_CERTIFICATE: CERT_ONLY })).toMatch(
      /AZURE_CLIENT_CERTIFICATE holds no PEM private key.*content type PEM/,
    );
    // A Key Vault certificate stored as PKCS#12 arrives as base64.
    expect(failure({ ...app, AZURE_CLIENT_CERTIFICATE: "MIIKPAIBAzCCCfYGCSqGSIb3DQEHAaCCCecEggnjMIIJ3zCCBg" })).toMatch(/PKCS#12/);
    expect(failure({ ...app, AZURE_CLIENT_CERTIFICATE: PEM, AZURE_CLIENT_CERTIFICATE_PATH: PEM_PATH })).toMatch(
      /Ambiguous certificate: set AZURE_CLIENT_CERTIFICATE_PATH or AZURE_CLIENT_CERTIFICATE/,
    );
    expect(failure({ AZURE_TENANT_ID: TENANT, AZURE_CLIENT_CERTIFICATE_PATH: PEM_PATH })).toMatch(
      /AZURE_CLIENT_ID is missing for the client-certificate/,
    );
  });

  it("refuses settings of two sign-ins at once", () => {
    expect(failure({ ...app, AZURE_CLIENT_SECRET: "client-secret-1", AZURE_CLIENT_CERTIFICATE_PATH: PEM_PATH })).toMatch(
      /AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH belong to different sign-ins \(client-secret, client-certificate\)/,
    );
    expect(
      failure({ ...app, DATAVERSE_AUTH: "client-certificate", AZURE_CLIENT_SECRET: "s", AZURE_CLIENT_CERTIFICATE_PATH: PEM_PATH }),
    ).toMatch(/client-certificate sign-in was chosen but AZURE_CLIENT_SECRET is set too/);
    expect(failure({ DATAVERSE_TOKEN: "token-abcdef", AZURE_CLIENT_ID: CLIENT })).toMatch(/set either DATAVERSE_TOKEN or .* not both/);
  });

  it("says when App Service could not resolve a Key Vault reference", () => {
    const unresolved = "@Microsoft.KeyVault(SecretUri=https://contoso-kv.vault.azure.net/secrets/dataverse/)";
    expect(failure({ ...app, AZURE_CLIENT_SECRET: unresolved })).toMatch(
      /AZURE_CLIENT_SECRET is an unresolved Key Vault reference.*Key Vault Secrets User/,
    );
    expect(failure({ ...app, AZURE_CLIENT_CERTIFICATE: unresolved })).toMatch(
      /AZURE_CLIENT_CERTIFICATE is an unresolved Key Vault reference/,
    );
  });

  it("offers the CLI the token and the client secret only, saying so", () => {
    expect(COMMAND_LINE_AUTH).toStrictEqual(["token", "client-secret"]);
    const url = "https://contoso.crm.dynamics.com";
    expect(() => dataverseSettingsFromEnv({ DATAVERSE_URL: url, DATAVERSE_AUTH: "managed-identity" })).toThrow(
      /managed-identity sign-in, which is not offered here: use token or client-secret/,
    );
    expect(() => dataverseSettingsFromEnv({ DATAVERSE_URL: url, ...app, AZURE_CLIENT_CERTIFICATE_PATH: PEM_PATH })).toThrow(
      /AZURE_CLIENT_CERTIFICATE_PATH asks for the client-certificate sign-in, which is not offered here/,
    );
    expect(() => dataverseSettingsFromEnv({ DATAVERSE_URL: url })).toThrow(
      /No Dataverse credentials: set DATAVERSE_TOKEN; or AZURE_TENANT_ID/,
    );
  });
});
