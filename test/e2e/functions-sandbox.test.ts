/**
 * The functions app's contract (README.md, docs/operator.md), on the assembled sandbox: webhooks arrive at
 * POST <functionsUrl>/api/dataverse/webhook with the key in ?code= or x-functions-key; without the
 * right key the answer is 401 and no work is done. With it, a bound custom API call on the emulator
 * reaches the handlers (the sandbox's host learns its organization from WhoAmI).
 */
import { type Sandbox, startSandbox } from "../../sandbox";
import { DataverseClient } from "../../src/dataverse";
import { connectionRow } from "../support/world";

jest.setTimeout(60_000);

describe("functions app in the sandbox", () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox({ customers: 2, subscriptionsPerCustomer: 1, admin: false, seedAccounts: false });
  });
  afterAll(async () => {
    await sandbox?.close();
  });

  const webhookUrl = () => `${sandbox.functionsUrl}/api/dataverse/webhook`;

  it("answers 401 without the key or with a wrong key, and does no work", async () => {
    const before = sandbox.emulator.stats().requests;
    const body = JSON.stringify({ MessageName: "w365_SyncProviderAccounts" });
    for (const url of [webhookUrl(), `${webhookUrl()}?code=wrong`]) {
      const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
      expect(res.status).toBe(401);
    }
    const res = await fetch(webhookUrl(), { method: "POST", headers: { "x-functions-key": "wrong" }, body });
    expect(res.status).toBe(401);
    expect(sandbox.emulator.stats().requests).toBe(before);
  });

  it("accepts the key as ?code= and as x-functions-key (a malformed body is then a 400, not a 401)", async () => {
    const viaQuery = await fetch(`${webhookUrl()}?code=${encodeURIComponent(sandbox.functionsKey)}`, { method: "POST", body: "{}" });
    const viaHeader = await fetch(webhookUrl(), { method: "POST", headers: { "x-functions-key": sandbox.functionsKey }, body: "{}" });
    expect([viaQuery.status, viaHeader.status]).toStrictEqual([400, 400]);
  });

  it("runs Verify Connectivity when the custom API is called on the emulator", async () => {
    const ion = sandbox.ion;
    if (!ion) throw new Error("the sandbox has no Ion simulator");
    const dv = new DataverseClient({ url: sandbox.dataverseUrl, auth: { kind: "static", token: sandbox.dataverseToken } });
    const id = await dv.create("w365_providerconnections", connectionRow(ion, { ionUrl: sandbox.ionUrl, name: "Sandbox connector" }));
    await dv.executeAction("w365_VerifyConnectivity", {}, { entitySet: "w365_providerconnections", id });
    await sandbox.whenIdle();
    const row = await dv.retrieve<Record<string, unknown>>("w365_providerconnections", id, { select: ["w365_status"] });
    expect(row.w365_status).toBe(365000001);
  });
});
