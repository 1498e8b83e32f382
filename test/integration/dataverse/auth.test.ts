import { DataverseClient } from "../../../src/dataverse";
import { createTokenSource, MsalTokenSource, scopeFor, TOKEN_REFRESH_MARGIN_MS } from "../../../src/dataverse/auth";
import { DataverseAuthError } from "../../../src/dataverse/errors";
import { memoryLogger } from "../../../src/shared/logger";
import { forgetSecrets, redact } from "../../../src/shared/redact";
import { errorReply, FakeDataverse, fakeTime, startFakeDataverse } from "../../support/httpStubs";

const TENANT = "0a0b0c0d-1111-2222-3333-444455556666";
const CLIENT_ID = "9f8e7d6c-aaaa-bbbb-cccc-ddddeeeeffff";
const SECRET = "client~secret~value~that~must~never~show";

afterEach(() => forgetSecrets());

describe("MSAL client credentials", () => {
  it("uses the environment origin + /.default as scope", () => {
    expect(scopeFor("https://contoso.crm4.dynamics.com/")).toBe("https://contoso.crm4.dynamics.com/.default");
    expect(scopeFor("https://contoso.crm.dynamics.com/api/data/v9.2/")).toBe("https://contoso.crm.dynamics.com/.default");
  });

  it("offline, fails with a DataverseAuthError naming tenant and client id but never the secret", async () => {
    const time = fakeTime();
    const logger = memoryLogger();
    const c = new DataverseClient({
      url: "https://contoso.crm.dynamics.com",
      auth: { kind: "msal", tenantId: TENANT, clientId: CLIENT_ID, clientSecret: SECRET },
      sleep: time.sleep,
      logger,
      retry: { maxAttempts: 2 },
    });
    const error = (await c.whoAmI().catch((e: unknown) => e)) as DataverseAuthError;
    expect(error).toBeInstanceOf(DataverseAuthError);
    expect(error.message).toContain(TENANT);
    expect(error.message).toContain(CLIENT_ID);
    expect(error.dataverseCode).toBe("network_error");
    expect(error.hint).toMatch(/reach Microsoft Entra ID/);
    const all = [error.message, error.userMessage, JSON.stringify(error.toJSON()), ...logger.lines].join("\n");
    expect(all).not.toContain(SECRET);
    expect(redact(`x ${SECRET} y`)).toBe("x [REDACTED] y"); // the secret was registered
    expect(c.stats().requests).toBe(0); // nothing reached Dataverse without a token
    expect(time.sleeps).toHaveLength(1); // an Entra outage is retried like a network error
  });

  it("names the missing setting when a credential part is empty", () => {
    expect(() =>
      createTokenSource({ kind: "msal", tenantId: TENANT, clientId: "", clientSecret: SECRET }, "https://x.crm.dynamics.com"),
    ).toThrow(/clientId/);
  });

  it("caches the token until five minutes before expiry and shares one request between concurrent callers", async () => {
    const time = fakeTime(0);
    let calls = 0;
    const scopes: string[] = [];
    const source = new MsalTokenSource(
      { kind: "msal", tenantId: TENANT, clientId: CLIENT_ID, clientSecret: SECRET },
      "https://o.crm.dynamics.com/.default",
      time.clock,
      async (scope) => {
        scopes.push(scope);
        calls++;
        return { accessToken: `access-token-number-${calls}`, expiresOn: new Date(time.now() + 60 * 60_000) };
      },
    );
    const [a, b] = await Promise.all([source.getToken(), source.getToken()]);
    expect([a, b]).toStrictEqual(["access-token-number-1", "access-token-number-1"]);
    expect(calls).toBe(1);
    await time.sleep(60 * 60_000 - TOKEN_REFRESH_MARGIN_MS - 1);
    await expect(source.getToken()).resolves.toBe("access-token-number-1");
    await time.sleep(1);
    await expect(source.getToken()).resolves.toBe("access-token-number-2");
    source.invalidate();
    await expect(source.getToken()).resolves.toBe("access-token-number-3");
    expect(scopes).toStrictEqual(Array(3).fill("https://o.crm.dynamics.com/.default"));
    expect(redact("Bearer-less access-token-number-2")).toBe("Bearer-less [REDACTED]");
  });

  it("reports a refused credential (invalid_client) as a non-retryable DataverseAuthError", async () => {
    const source = new MsalTokenSource(
      { kind: "msal", tenantId: TENANT, clientId: CLIENT_ID, clientSecret: SECRET },
      "s",
      undefined,
      async () => {
        throw Object.assign(new Error(`AADSTS7000215: Invalid client secret provided.`), { errorCode: "invalid_client" });
      },
    );
    const error = (await source.getToken().catch((e: unknown) => e)) as DataverseAuthError;
    expect(error).toBeInstanceOf(DataverseAuthError);
    expect(error.retryable).toBe(false);
    expect(error.message).toContain("AADSTS7000215");
    expect(error.hint).toMatch(/AZURE_CLIENT_SECRET/);
  });
});

describe("DataverseClient with MSAL tokens", () => {
  let fake: FakeDataverse;
  beforeEach(async () => {
    fake = await startFakeDataverse(() => ({ status: 500 }));
  });
  afterEach(() => fake.close());

  it("sends the MSAL token and fetches a new one once when Dataverse answers 401", async () => {
    let n = 0;
    fake.setHandler((req) =>
      req.headers.authorization === "Bearer msal-token-2-xyz"
        ? { status: 200, body: { UserId: "u", BusinessUnitId: "b", OrganizationId: "o" } }
        : errorReply(401, "", "expired"),
    );
    const c = new DataverseClient({
      url: fake.url,
      auth: { kind: "msal", tenantId: TENANT, clientId: CLIENT_ID, clientSecret: SECRET },
      acquireToken: async () => ({ accessToken: `msal-token-${++n}-xyz`, expiresOn: new Date(Date.now() + 3_600_000) }),
    });
    await expect(c.whoAmI()).resolves.toMatchObject({ UserId: "u" });
    expect(fake.requests.map((r) => r.headers.authorization)).toStrictEqual(["Bearer msal-token-1-xyz", "Bearer msal-token-2-xyz"]);
    await c.whoAmI();
    expect(n).toBe(2); // cached afterwards
  });
});
