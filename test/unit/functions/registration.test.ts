/**
 * The app's entry point: every function is indexed from one reading of the settings, even when one is
 * missing, and each call then answers with an error naming it (registration is skipped in test mode,
 * where @azure/functions prints the name of every function it would register).
 */
import { HttpRequest, InvocationContext, type Timer } from "@azure/functions";

type Entry = typeof import("../../../functions/index");

describe("functions/index.ts", () => {
  const saved = { ...process.env };
  let warn: jest.SpyInstance;
  beforeEach(() => {
    warn = jest.spyOn(console, "warn").mockImplementation(() => undefined);
    process.env.DATAVERSE_URL = "https://contoso.crm.dynamics.com";
    process.env.DATAVERSE_TOKEN = "token-for-registration-test";
    process.env.WEBHOOK_KEY = "registration-test-key-0123";
  });
  afterEach(() => {
    warn.mockRestore();
    process.env = { ...saved };
  });

  const load = async (): Promise<Entry> => {
    let entry: Entry | undefined;
    await jest.isolateModulesAsync(async () => {
      entry = await import("../../../functions/index");
    });
    return entry as Entry;
  };
  const registered = () => warn.mock.calls.map((c) => String(c[0])).join("\n");
  const context = (functionName: string) => new InvocationContext({ invocationId: "inv-1", functionName, logHandler: () => undefined });
  const timer: Timer = { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: "", next: "", lastUpdated: "" } };

  it("registers every function with valid settings", async () => {
    await load();
    for (const name of ["dataverseWebhook", "syncWorker", "scheduledSync", "tokenKeepAlive"]) expect(registered()).toContain(`"${name}"`);
  });

  it("still registers every function without WEBHOOK_KEY, and every call names the missing setting", async () => {
    delete process.env.WEBHOOK_KEY;
    const { functions } = await load();
    for (const name of ["dataverseWebhook", "syncWorker", "scheduledSync", "tokenKeepAlive"]) expect(registered()).toContain(`"${name}"`);

    const request = new HttpRequest({ method: "POST", url: "http://127.0.0.1/api/dataverse/webhook", body: { string: "{}" } });
    const res = await functions.dataverseWebhook(request, context("dataverseWebhook"));
    expect(res.status).toBe(500);
    expect(JSON.stringify(res.jsonBody)).toMatch(/WEBHOOK_KEY is required/);
    await expect(functions.syncWorker({}, context("syncWorker"))).rejects.toThrow(/WEBHOOK_KEY is required/);
    await expect(functions.scheduledSync(timer, context("scheduledSync"))).rejects.toThrow(/WEBHOOK_KEY is required/);
    await expect(functions.tokenKeepAlive(timer, context("tokenKeepAlive"))).rejects.toThrow(/WEBHOOK_KEY is required/);
  });

  it("registers the timers on their default schedules when a schedule setting is bad, and names it on each call", async () => {
    process.env.SYNC_SCHEDULE = "every night";
    const { functions } = await load();
    expect(registered()).toContain(`"scheduledSync"`);
    await expect(functions.scheduledSync(timer, context("scheduledSync"))).rejects.toThrow(/SYNC_SCHEDULE/);
  });
});
