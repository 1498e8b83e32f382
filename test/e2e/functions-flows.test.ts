/**
 * The custom API and table-event paths end to end through HTTP: the emulator fires the webhook
 * steps at the local functions host, the handlers run the real engine against the emulator and the
 * Ion simulator, and the rows appear.
 */
import { all, createConnection, type FunctionsWorld, startFunctionsWorld, startSolutionEmulator } from "../support/world";

jest.setTimeout(60_000);

describe("functions app end to end", () => {
  let world: FunctionsWorld;
  let connectionId: string;

  beforeAll(async () => {
    world = await startFunctionsWorld({ customers: 3, subscriptionsPerCustomer: 1 });
    connectionId = await createConnection(world);
    await world.idle();
  });
  afterAll(async () => {
    await world?.close();
  });

  it("verifies new credentials when the connector is created (async Create step)", async () => {
    const connection = await world.dv.retrieve<Record<string, unknown>>("w365_providerconnections", connectionId, {
      select: ["w365_status", "w365_statusmessage"],
    });
    expect(connection.w365_status).toBe(365000001);
  });

  it("w365_VerifyConnectivity fires the webhook and the connector gets its status and a verify run", async () => {
    await world.admin.update("w365_providerconnections", connectionId, { w365_status: 365000000, w365_statusmessage: "reset by test" });
    await world.admin.executeAction("w365_VerifyConnectivity", {}, { entitySet: "w365_providerconnections", id: connectionId });
    await world.idle();
    const connection = await world.dv.retrieve<Record<string, unknown>>("w365_providerconnections", connectionId, {
      select: ["w365_status", "w365_lastverifiedon"],
    });
    expect(connection.w365_status).toBe(365000001);
    expect(connection.w365_lastverifiedon).toBeTruthy();
    // One verify for the Create step, one for the call: the connector's own token rotations (Update of
    // w365_refreshtoken by the integration user) were ignored, so no verify loop.
    const runs = await all(world.dv, "w365_syncruns", `_w365_connection_value eq ${connectionId} and w365_kind eq 'verify'`);
    expect(runs).toHaveLength(2);
  });

  it("w365_SyncProviderAccounts with a RequestId produces a run carrying it and provider account rows", async () => {
    await world.admin.executeAction(
      "w365_SyncProviderAccounts",
      { RequestId: "e2e-request-1" },
      { entitySet: "w365_providerconnections", id: connectionId },
    );
    await world.idle();
    const runs = await all<Record<string, unknown>>(world.dv, "w365_syncruns", `w365_requestid eq 'e2e-request-1'`);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ w365_kind: "accounts", w365_status: "succeeded", w365_trigger: "manual" });
    const accounts = await all(world.dv, "w365_provideraccounts", `_w365_connection_value eq ${connectionId}`);
    expect(accounts).toHaveLength(3);
  });

  it("refuses a second identical sync while one is queued, with a clear message", async () => {
    const runId = "0c1d2e3f-0000-4000-8000-000000000001";
    await world.dv.create("w365_syncruns", {
      w365_syncrunid: runId,
      w365_name: "held by test",
      "w365_connection@odata.bind": `/w365_providerconnections(${connectionId})`,
      w365_kind: "accounts",
      w365_trigger: "manual",
      w365_status: "running",
      w365_dryrun: false,
      w365_startedon: new Date().toISOString(),
    });
    await expect(
      world.admin.executeAction(
        "w365_SyncProviderAccounts",
        { RequestId: "e2e-blocked" },
        { entitySet: "w365_providerconnections", id: connectionId },
      ),
    ).rejects.toThrow(/already running/);
    await world.dv.update("w365_syncruns", runId, { w365_status: "failed" });
    expect(await all(world.dv, "w365_syncruns", `w365_requestid eq 'e2e-blocked'`)).toHaveLength(0);
  });

  it("lets only one of two racing identical sync calls start", async () => {
    const calls = ["race-a", "race-b"].map((RequestId) =>
      world.admin
        .executeAction("w365_SyncProviderAccounts", { RequestId }, { entitySet: "w365_providerconnections", id: connectionId })
        .then(
          () => "started",
          (e: Error) => e.message,
        ),
    );
    const outcomes = await Promise.all(calls);
    await world.idle();
    expect(outcomes.filter((o) => o === "started")).toHaveLength(1);
    expect(outcomes.find((o) => o !== "started")).toMatch(/A accounts sync is already (queued|running)/);
    const runs = await all(world.dv, "w365_syncruns", `w365_requestid eq 'race-a' or w365_requestid eq 'race-b'`);
    expect(runs).toHaveLength(1);
  });

  it("a dry run records its plan on the run and writes nothing else", async () => {
    const before = await all(world.dv, "w365_provideraccounts", `_w365_connection_value eq ${connectionId}`);
    world.ion.control.addCustomer({});
    await world.admin.executeAction(
      "w365_SyncProviderAccounts",
      { DryRun: true, RequestId: "e2e-dry" },
      { entitySet: "w365_providerconnections", id: connectionId },
    );
    await world.idle();
    const [run] = await all<Record<string, unknown>>(world.dv, "w365_syncruns", `w365_requestid eq 'e2e-dry'`);
    expect(run).toMatchObject({ w365_dryrun: true, w365_status: "succeeded" });
    expect(run?.w365_created).toBe(1);
    expect(await all(world.dv, "w365_provideraccounts", `_w365_connection_value eq ${connectionId}`)).toHaveLength(before.length);
  });

  it("maps provider accounts through w365_MapProviderAccount, then syncs subscriptions", async () => {
    const accounts = await all<Record<string, unknown>>(world.dv, "w365_provideraccounts", `_w365_connection_value eq ${connectionId}`);
    for (const a of accounts) {
      if (a.w365_mappingstatus === 365000002) continue;
      await world.admin.executeAction(
        "w365_MapProviderAccount",
        { CreateNew: true },
        { entitySet: "w365_provideraccounts", id: String(a.w365_provideraccountid) },
      );
    }
    await world.idle();
    const mapped = await all(
      world.dv,
      "w365_provideraccounts",
      `_w365_connection_value eq ${connectionId} and w365_mappingstatus eq 365000002`,
    );
    expect(mapped).toHaveLength(accounts.length);
    await world.admin.executeAction(
      "w365_SyncSubscriptions",
      { RequestId: "e2e-subs" },
      { entitySet: "w365_providerconnections", id: connectionId },
    );
    await world.idle();
    const runs = await all<Record<string, unknown>>(world.dv, "w365_syncruns", `w365_requestid eq 'e2e-subs'`);
    expect(runs[0]).toMatchObject({ w365_kind: "subscriptions", w365_status: "succeeded" });
    const mappedCustomers = new Set(accounts.map((a) => String(a.w365_ioncustomerid)));
    const expected = world.ion.control.subscriptions().filter((s) => mappedCustomers.has(String(s.customerId)));
    expect(expected.length).toBeGreaterThan(0);
    expect(await all(world.dv, "w365_providersubscriptions", `_w365_connection_value eq ${connectionId}`)).toHaveLength(expected.length);
  });

  it("setting w365_requestedquantity places exactly one Ion order and clears the request", async () => {
    const [sub] = await all<Record<string, unknown>>(world.dv, "w365_providersubscriptions", `_w365_connection_value eq ${connectionId}`);
    if (!sub) throw new Error("no subscription synced");
    const ordersBefore = world.ion.control.orders().length;
    const newQuantity = Number(sub.w365_quantity) + 2;
    await world.admin.update("w365_providersubscriptions", String(sub.w365_providersubscriptionid), {
      w365_requestedquantity: newQuantity,
    });
    await world.idle();
    const orders = world.ion.control.orders().slice(ordersBefore);
    expect(orders).toHaveLength(1);
    const after = await world.dv.retrieve<Record<string, unknown>>("w365_providersubscriptions", String(sub.w365_providersubscriptionid), {
      select: ["w365_quantity", "w365_requestedquantity", "w365_syncstate"],
    });
    expect(after).toMatchObject({ w365_quantity: newQuantity, w365_requestedquantity: null, w365_syncstate: 365000000 });
    // The connector's own clear of the request fired the step again: ignored, so still one order.
    await world.idle();
    expect(world.ion.control.orders().slice(ordersBefore)).toHaveLength(1);
  });

  it("refuses webhooks from another organization: the custom API call fails and nothing runs", async () => {
    const { DataverseClient } = await import("../../src/dataverse");
    const other = await startSolutionEmulator({ orgName: "otherorg" });
    try {
      other.setEnvironmentVariable("w365_FunctionsBaseUrl", world.host.url);
      other.setEnvironmentVariable("w365_FunctionsWebhookKey", world.webhookKey);
      const otherAdmin = new DataverseClient({ url: other.url, auth: { kind: "static", token: other.integrationToken } });
      const id = await otherAdmin.create("w365_providerconnections", { w365_name: "Foreign" });
      const before = world.host.stats().workProcessed;
      await expect(
        otherAdmin.executeAction("w365_SyncProviderAccounts", {}, { entitySet: "w365_providerconnections", id }),
      ).rejects.toThrow(/Webhook from organization .* refused: this app serves organization/);
      await other.whenIdle();
      expect(world.host.stats().workProcessed).toBe(before);
      expect(await all(otherAdmin, "w365_syncruns")).toHaveLength(0);
    } finally {
      await other.close();
    }
  });

  it("never logs the webhook key or Ion secrets", () => {
    const text = world.logLines.join("\n");
    for (const secret of [world.webhookKey, world.ion.credentials.apiSecret, world.ion.credentials.refreshToken])
      expect(text).not.toContain(secret);
  });
});
