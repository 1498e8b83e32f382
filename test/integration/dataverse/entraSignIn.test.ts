/**
 * The Dataverse sign-ins through msal-node's own classes against local token services (test/support/httpStubs.ts):
 * managed identity (ManagedIdentityApplication, found through IDENTITY_ENDPOINT/IDENTITY_HEADER as on App
 * Service) in this process; client secret and certificate (ConfidentialClientApplication, https authority)
 * in a child process reading the Functions app's settings, trusting the fake authority by NODE_EXTRA_CA_CERTS.
 */
import { spawn } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";

import { loadConfig } from "../../../functions/config";
import { DataverseClient } from "../../../src/dataverse";
import { DataverseAuthError } from "../../../src/dataverse/errors";
import { memoryLogger } from "../../../src/shared/logger";
import { forgetSecrets } from "../../../src/shared/redact";
import { bundleChildScript } from "../../support/childScript";
import {
  errorReply,
  type FakeDataverse,
  type FakeTokenService,
  startFakeDataverse,
  startFakeEntraAuthority,
  startFakeManagedIdentityEndpoint,
} from "../../support/httpStubs";

const ROOT = path.resolve(__dirname, "../../..");
const CERTS = path.join(ROOT, "test/support/certificates");
const TENANT = "0a0b0c0d-1111-2222-3333-444455556666";
const CLIENT_ID = "9f8e7d6c-aaaa-bbbb-cccc-ddddeeeeffff";
const USER_ASSIGNED = "5d6e7f80-1234-4abc-8def-0123456789ab";
const IDENTITY_HEADER = "identity-header-secret-0123456789";
const WEBHOOK_KEY = "webhook-key-for-sign-in-tests-0123";
const WHO = { UserId: "11111111-2222-4333-8444-555555555555", BusinessUnitId: "b", OrganizationId: "8d1c3f0e-5b7a-4c21-9f2e-0a1b2c3d4e5f" };

/** Dataverse answering WhoAmI to the listed bearer tokens and 401 to any other (an expired or foreign token). */
async function dataverseAccepting(tokens: Set<string>): Promise<FakeDataverse> {
  return startFakeDataverse((req) =>
    tokens.has(String(req.headers.authorization).replace(/^Bearer /, ""))
      ? { status: 200, body: WHO }
      : errorReply(401, "", "token refused"),
  );
}

describe("managed identity (App Service endpoint)", () => {
  let endpoint: FakeTokenService;
  let dataverse: FakeDataverse;
  const saved = { endpoint: process.env.IDENTITY_ENDPOINT, header: process.env.IDENTITY_HEADER };
  beforeAll(async () => {
    endpoint = await startFakeManagedIdentityEndpoint({
      identityHeader: IDENTITY_HEADER,
      identities: { "": "system-identity-token", [USER_ASSIGNED]: "user-identity-token" },
    });
    // What App Service sets for a Function App with an identity; MSAL reads them from the process environment.
    process.env.IDENTITY_ENDPOINT = endpoint.url;
    process.env.IDENTITY_HEADER = IDENTITY_HEADER;
    dataverse = await dataverseAccepting(new Set(["system-identity-token-1", "user-identity-token-2"]));
  });
  afterAll(async () => {
    for (const [name, value] of [
      ["IDENTITY_ENDPOINT", saved.endpoint],
      ["IDENTITY_HEADER", saved.header],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    forgetSecrets();
    await dataverse.close();
    await endpoint.close();
  });
  beforeEach(() => {
    endpoint.requests.length = 0;
    dataverse.requests.length = 0;
  });

  const clientFor = (settings: Record<string, string>, logger = memoryLogger()) => {
    const config = loadConfig({ DATAVERSE_URL: dataverse.url, WEBHOOK_KEY, ...settings });
    return new DataverseClient({ url: config.dataverseUrl, auth: config.dataverseAuth, logger, retry: { maxAttempts: 1 } });
  };

  it("signs in with the system-assigned identity for the environment's resource, once per token lifetime", async () => {
    const dv = clientFor({ DATAVERSE_AUTH: "managed-identity" });
    await expect(dv.whoAmI()).resolves.toMatchObject({ UserId: WHO.UserId });
    await dv.whoAmI();
    expect(endpoint.requests).toHaveLength(1);
    expect(endpoint.requests[0]!.query).toStrictEqual({ "api-version": "2019-08-01", resource: dataverse.url });
    expect(dataverse.requests.map((r) => r.headers.authorization)).toStrictEqual(Array(2).fill("Bearer system-identity-token-1"));
  });

  it("asks for the user-assigned identity by client id, and after a 401 gets a new token past MSAL's cache", async () => {
    // Dataverse refuses the first token (say the application user was created a moment too late).
    const dv = clientFor({ DATAVERSE_AUTH: "managed-identity", AZURE_CLIENT_ID: USER_ASSIGNED });
    await expect(dv.whoAmI()).resolves.toMatchObject({ UserId: WHO.UserId });
    expect(endpoint.requests.map((r) => r.query.client_id)).toStrictEqual([USER_ASSIGNED, USER_ASSIGNED]);
    expect(dataverse.requests.map((r) => r.headers.authorization)).toStrictEqual([
      "Bearer user-identity-token-1",
      "Bearer user-identity-token-2",
    ]);
  });

  it("reports an identity the endpoint does not know as a DataverseAuthError naming it, without the identity header", async () => {
    const logger = memoryLogger();
    const unknown = "0f0f0f0f-0000-4000-8000-000000000000";
    const error = (await clientFor({ DATAVERSE_AUTH: "managed-identity", AZURE_CLIENT_ID: unknown }, logger)
      .whoAmI()
      .catch((e: unknown) => e)) as DataverseAuthError;
    expect(error).toBeInstanceOf(DataverseAuthError);
    expect(error.message).toContain(`the user-assigned managed identity with client id ${unknown}`);
    expect(error.retryable).toBe(false);
    expect(error.hint).toMatch(/application user/);
    expect([error.message, error.hint, ...logger.lines].join("\n")).not.toContain(IDENTITY_HEADER);
    expect(dataverse.requests).toHaveLength(0);
  });
});

function signInChild(): string {
  return bundleChildScript(path.join(ROOT, "test/support/signInChild.ts"));
}

function runSignInChild(settings: Record<string, string>): Promise<{ code: number | null; result: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [signInChild()], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? "",
        NODE_PATH: path.join(ROOT, "node_modules"),
        NODE_EXTRA_CA_CERTS: path.join(CERTS, "fake-entra-tls.crt"),
        WEBHOOK_KEY,
        ...settings,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      try {
        resolve({ code, result: JSON.parse(stdout) as Record<string, unknown> });
      } catch {
        reject(new Error(`sign-in child printed no JSON (exit ${code}): ${stdout} ${stderr}`));
      }
    });
  });
}

describe("client secret and certificate (Microsoft Entra authority over TLS)", () => {
  const pemPath = path.join(CERTS, "app-registration-test.pem");
  const certificate = new X509Certificate(readFileSync(pemPath, "utf8"));
  const secret = "client~secret~for~the~fake~authority";
  let authority: FakeTokenService;
  let dataverse: FakeDataverse;
  beforeAll(async () => {
    authority = await startFakeEntraAuthority({
      tls: {
        key: readFileSync(path.join(CERTS, "fake-entra-tls.key"), "utf8"),
        cert: readFileSync(path.join(CERTS, "fake-entra-tls.crt"), "utf8"),
      },
      tenantId: TENANT,
      clientId: CLIENT_ID,
      clientSecret: secret,
      certificate,
    });
    // Tokens are numbered by the authority; Dataverse refuses the first one it is shown.
    dataverse = await dataverseAccepting(new Set(["entra-token-2", "entra-token-3", "entra-token-4"]));
  });
  afterAll(async () => {
    await dataverse.close();
    await authority.close();
  });
  beforeEach(() => {
    authority.requests.length = 0;
    dataverse.requests.length = 0;
  });
  const app = () => ({
    DATAVERSE_URL: dataverse.url,
    AZURE_TENANT_ID: TENANT,
    AZURE_CLIENT_ID: CLIENT_ID,
    AZURE_AUTHORITY_HOST: authority.url,
  });

  it("signs in with the certificate: a client assertion signed by its key, named by its SHA-256 thumbprint; a 401 gets a new token", async () => {
    const { code, result } = await runSignInChild({ ...app(), AZURE_CLIENT_CERTIFICATE_PATH: pemPath });
    expect(result).toMatchObject({ kind: "certificate", first: { UserId: WHO.UserId }, second: { UserId: WHO.UserId } });
    expect(code).toBe(0);
    expect(authority.requests.map((r) => r.form.client_assertion_type)).toStrictEqual(
      Array(2).fill("urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
    );
    expect(authority.requests.every((r) => r.form.scope === `${dataverse.url}/.default` && r.form.client_secret === undefined)).toBe(true);
    // The refused token, then one new token kept for the second call.
    expect(dataverse.requests.map((r) => r.headers.authorization)).toStrictEqual([
      "Bearer entra-token-1",
      "Bearer entra-token-2",
      "Bearer entra-token-2",
    ]);
  });

  it("signs in with the client secret", async () => {
    const { code, result } = await runSignInChild({ ...app(), AZURE_CLIENT_SECRET: secret });
    expect({ code, result }).toMatchObject({ code: 0, result: { kind: "msal", second: { UserId: WHO.UserId } } });
    expect(authority.requests.map((r) => r.form.client_secret)).toStrictEqual([secret, secret]);
  });

  it("reports a certificate the application does not know with Entra's reason and the settings to check", async () => {
    const { code, result } = await runSignInChild({
      ...app(),
      AZURE_CLIENT_CERTIFICATE:
        readFileSync(path.join(CERTS, "fake-entra-tls.key"), "utf8") + readFileSync(path.join(CERTS, "fake-entra-tls.crt"), "utf8"),
    });
    expect(code).toBe(1);
    expect(String(result.error)).toMatch(/tenant .* and client id .*AADSTS700027/);
    expect(dataverse.requests).toHaveLength(0);
  });
});
