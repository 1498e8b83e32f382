/** The app's entry point: settings are validated at start-up and every function file loads (registration is skipped in test mode). */
describe("functions/index.ts", () => {
  const saved = { ...process.env };
  let warn: jest.SpyInstance;
  beforeEach(() => {
    warn = jest.spyOn(console, "warn").mockImplementation(() => undefined);
  });
  afterEach(() => {
    warn.mockRestore();
    process.env = { ...saved };
  });

  it("loads every function with valid settings", async () => {
    process.env.DATAVERSE_URL = "https://contoso.crm.dynamics.com";
    process.env.DATAVERSE_TOKEN = "token-for-registration-test";
    process.env.WEBHOOK_KEY = "registration-test-key-0123";
    await jest.isolateModulesAsync(async () => {
      await import("../../../functions/index");
    });
    const registered = warn.mock.calls.map((c) => String(c[0])).join("\n");
    for (const name of ["dataverseWebhook", "syncWorker", "scheduledSync", "tokenKeepAlive"]) expect(registered).toContain(`"${name}"`);
  });

  it("fails at start-up naming a bad setting", async () => {
    process.env.DATAVERSE_URL = "https://contoso.crm.dynamics.com";
    process.env.DATAVERSE_TOKEN = "token-for-registration-test";
    delete process.env.WEBHOOK_KEY;
    await expect(jest.isolateModulesAsync(async () => void (await import("../../../functions/index")))).rejects.toThrow(
      /WEBHOOK_KEY is required/,
    );
  });
});
