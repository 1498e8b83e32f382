import { dataverseSettingsFromEnv } from "../../../src/dataverse";
import { ConfigError } from "../../../src/shared/errors";
import { forgetSecrets, redact } from "../../../src/shared/redact";

afterEach(() => forgetSecrets());

describe("dataverseSettingsFromEnv", () => {
  it("uses DATAVERSE_TOKEN as a static bearer token and registers it as a secret", () => {
    const s = dataverseSettingsFromEnv({ DATAVERSE_URL: "http://127.0.0.1:5555", DATAVERSE_TOKEN: "emulator-token-xyz" });
    expect(s).toStrictEqual({ url: "http://127.0.0.1:5555", auth: { kind: "static", token: "emulator-token-xyz" } });
    expect(redact("emulator-token-xyz")).toBe("[REDACTED]");
  });

  it("uses MSAL client credentials, and an explicit url wins over DATAVERSE_URL", () => {
    const s = dataverseSettingsFromEnv(
      { DATAVERSE_URL: "https://a.crm.dynamics.com", AZURE_TENANT_ID: "t", AZURE_CLIENT_ID: "c", AZURE_CLIENT_SECRET: "client-secret-1" },
      "https://b.crm.dynamics.com",
    );
    expect(s).toStrictEqual({
      url: "https://b.crm.dynamics.com",
      auth: { kind: "msal", tenantId: "t", clientId: "c", clientSecret: "client-secret-1" },
    });
  });

  it("names what is missing, invalid or ambiguous", () => {
    expect(() => dataverseSettingsFromEnv({})).toThrow(/DATAVERSE_URL is not set/);
    expect(() => dataverseSettingsFromEnv({ DATAVERSE_URL: "nope" })).toThrow(/not a valid URL/);
    expect(() => dataverseSettingsFromEnv({ DATAVERSE_URL: "https://a.crm.dynamics.com" })).toThrow(/No Dataverse credentials/);
    expect(() => dataverseSettingsFromEnv({ DATAVERSE_URL: "https://a.crm.dynamics.com", AZURE_TENANT_ID: "t" })).toThrow(
      /AZURE_CLIENT_ID, AZURE_CLIENT_SECRET are missing/,
    );
    expect(() =>
      dataverseSettingsFromEnv({ DATAVERSE_URL: "https://a.crm.dynamics.com", DATAVERSE_TOKEN: "tok-123456", AZURE_CLIENT_ID: "c" }),
    ).toThrow(ConfigError);
  });
});
