import { ConnectionStatus, runVerify } from "../../../src/sync";
import { startWorld, type World } from "../../support/world";

/** Verify compares the connector's Country and Currency Code with the customers and subscriptions the simulator returns (US, USD). */
describe("verify checks Country and Currency Code against Ion", () => {
  let w: World;
  beforeAll(async () => {
    w = await startWorld({ customers: 3, subscriptionsPerCustomer: 1, crmAccounts: false });
  });
  afterAll(async () => {
    await w?.close();
  });

  const verifyWith = async (values: { w365_country: string; w365_currencycode: string }) => {
    await w.dv.update("w365_providerconnections", w.connectionId, values);
    return runVerify(w.deps, { connectionId: w.connectionId, trigger: "cli" });
  };

  it("stays Connected without a warning when they match what Ion reports", async () => {
    const r = await verifyWith({ w365_country: "US", w365_currencycode: "USD" });
    expect(r.status).toBe(ConnectionStatus.Connected);
    expect(r.message).not.toContain("Warning");
  });

  it("warns on the connector when Ion bills in another currency and every customer is in another country", async () => {
    const r = await verifyWith({ w365_country: "DE", w365_currencycode: "EUR" });
    expect(r.status).toBe(ConnectionStatus.Connected);
    expect(r.message).toContain(
      "Warning: StreamOne Ion bills this account's subscriptions in USD, but the connector's Currency Code is EUR: set the Currency Code to USD.",
    );
    expect(r.message).toContain("Every customer StreamOne Ion returned is in US, but the connector's Country is DE");
    const row = await w.dv.retrieve<Record<string, unknown>>("w365_providerconnections", w.connectionId, {
      select: ["w365_statusmessage"],
    });
    expect(String(row.w365_statusmessage)).toContain("Currency Code is EUR");
  });
});
