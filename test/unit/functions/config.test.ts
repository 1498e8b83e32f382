import { DEFAULT_SYNC_SCHEDULE, loadConfig } from "../../../functions/config";
import { ConfigError } from "../../../src/shared/errors";
import { redact } from "../../../src/shared/redact";

const base = {
  DATAVERSE_URL: "https://contoso.crm.dynamics.com/",
  DATAVERSE_TOKEN: "static-token-123456",
  WEBHOOK_KEY: "0123456789abcdef-key",
};

describe("loadConfig", () => {
  it("applies named defaults", () => {
    const c = loadConfig(base);
    expect(c).toMatchObject({
      dataverseUrl: "https://contoso.crm.dynamics.com",
      dataverseAuth: { kind: "static", token: "static-token-123456" },
      syncSchedule: DEFAULT_SYNC_SCHEDULE,
      keepAliveSchedule: "0 30 1 * * *",
      staleSyncHours: 48,
      maxBodyBytes: 1048576,
      replayWindowMinutes: 1440,
    });
  });

  it("uses MSAL client credentials when all three settings are present", () => {
    const { DATAVERSE_TOKEN: _t, ...rest } = base;
    const c = loadConfig({ ...rest, AZURE_TENANT_ID: "t", AZURE_CLIENT_ID: "c", AZURE_CLIENT_SECRET: "client-secret-value" });
    expect(c.dataverseAuth).toStrictEqual({ kind: "msal", tenantId: "t", clientId: "c", clientSecret: "client-secret-value" });
    expect(redact("client-secret-value")).toBe("[REDACTED]");
  });

  it.each([
    [{ ...base, DATAVERSE_URL: undefined }, /DATAVERSE_URL is required/],
    [{ ...base, DATAVERSE_URL: "contoso" }, /DATAVERSE_URL must be a URL/],
    [{ ...base, WEBHOOK_KEY: "short" }, /WEBHOOK_KEY must be at least 16 characters/],
    [{ ...base, WEBHOOK_KEY: undefined }, /WEBHOOK_KEY is required/],
    [{ ...base, SYNC_SCHEDULE: "0 2 * * *" }, /SYNC_SCHEDULE .*needs 6 fields/],
    [{ ...base, KEEPALIVE_SCHEDULE: "0 61 1 * * *" }, /KEEPALIVE_SCHEDULE .*minute value "61"/],
    [{ ...base, STALE_SYNC_HOURS: "soon" }, /STALE_SYNC_HOURS must be a positive number/],
    [{ ...base, INTEGRATION_USER_ID: "me" }, /INTEGRATION_USER_ID must be a GUID/],
    [{ ...base, DATAVERSE_ORGANIZATION: "contoso" }, /DATAVERSE_ORGANIZATION is no longer read: deliveries are checked by OrganizationId/],
    [{ ...base, AZURE_CLIENT_ID: "c" }, /Ambiguous Dataverse credentials/],
    [
      { DATAVERSE_URL: base.DATAVERSE_URL, WEBHOOK_KEY: base.WEBHOOK_KEY, AZURE_TENANT_ID: "t" },
      /AZURE_CLIENT_ID, AZURE_CLIENT_SECRET are missing/,
    ],
    [{ DATAVERSE_URL: base.DATAVERSE_URL, WEBHOOK_KEY: base.WEBHOOK_KEY }, /No Dataverse credentials/],
  ])("names the bad setting (%#)", (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it("never echoes a secret in its errors", () => {
    const env = { ...base, WEBHOOK_KEY: "wk-secret-999", DATAVERSE_TOKEN: "tok-secret-999", AZURE_CLIENT_SECRET: "sec-secret-999" };
    let caught: unknown;
    try {
      loadConfig(env);
    } catch (error) {
      caught = error;
    }
    // The refusal itself is asserted, so a loadConfig that stopped throwing fails here instead of passing.
    expect(caught).toBeInstanceOf(ConfigError);
    const error = caught as ConfigError;
    expect(error.message).toMatch(/WEBHOOK_KEY must be at least 16 characters/);
    expect(`${String(error)} ${JSON.stringify(error)} ${error.userMessage}`).not.toMatch(/secret-999/);
  });

  it("registers its own webhook only when asked, at the URL Azure gives it or the one set, and says what is missing", () => {
    expect(loadConfig(base).registerWebhook).toBeUndefined();
    expect(
      loadConfig({ ...base, DATAVERSE_REGISTER_WEBHOOK: "true", WEBSITE_HOSTNAME: "contoso-ion.azurewebsites.net" }).registerWebhook,
    ).toStrictEqual({
      functionsUrl: "https://contoso-ion.azurewebsites.net",
    });
    expect(
      loadConfig({
        ...base,
        DATAVERSE_REGISTER_WEBHOOK: "true",
        WEBSITE_HOSTNAME: "x.azurewebsites.net",
        FUNCTIONS_BASE_URL: "https://ion.contoso.com/",
      }).registerWebhook,
    ).toStrictEqual({ functionsUrl: "https://ion.contoso.com" });
    expect(() => loadConfig({ ...base, DATAVERSE_REGISTER_WEBHOOK: "true" })).toThrow(/FUNCTIONS_BASE_URL nor WEBSITE_HOSTNAME/);
    expect(() => loadConfig({ ...base, DATAVERSE_REGISTER_WEBHOOK: "yes" })).toThrow(
      /DATAVERSE_REGISTER_WEBHOOK must be "true" or "false"/,
    );
  });
});
