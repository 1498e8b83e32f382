/**
 * Ion can answer a subscription's details from before an order right after the order completes; the
 * v3 reference exposes `refresh=true` on that read. The simulator, told to, serves the stale copy to a
 * read without it: the row must still show the value the order set.
 */
import { runOutboundForSubscription, runSync, runVerify, SyncState } from "../../../src/sync";
import { all, startWorld, type World } from "../../support/world";

type Row = Record<string, unknown>;
const SUB = "w365_providersubscriptions";

describe("reading a subscription after its order completes", () => {
  let w: World;
  beforeAll(async () => {
    w = await startWorld({ seed: 61, customers: 4, subscriptionsPerCustomer: 1 });
    w.deps.sleep = async () => void w.ion.control.processOrders();
    await runVerify(w.deps, { connectionId: w.connectionId, trigger: "cli" });
    expect((await runSync(w.deps, { connectionId: w.connectionId, kind: "all", trigger: "cli" })).status).toBe("succeeded");
  });
  afterAll(async () => {
    await w?.close();
  });

  it("asks Ion for fresh details (refresh=true), so the row shows the quantity the order set", async () => {
    w.ion.control.setStaleSubscriptionDetails(true);
    const rows = await all<Row>(w.dv, SUB, undefined, [
      "w365_providersubscriptionid",
      "w365_quantity",
      "w365_ionsubscriptionid",
      "w365_status",
    ]);
    // An active one: Ion refuses a quantity change on a suspended subscription (the rows come in no set order).
    const row = rows.find((r) => r.w365_ionsubscriptionid && Number(r.w365_quantity) > 0 && r.w365_status === "active")!;
    const id = String(row.w365_providersubscriptionid);
    const target = Number(row.w365_quantity) + 2;
    await w.dv.update(SUB, id, { w365_requestedquantity: target, w365_syncstate: SyncState.ChangeRequested });
    const result = await runOutboundForSubscription(w.deps, { subscriptionId: id, trigger: "webhook" });
    expect(`${result.outcome}: ${result.message}`).toMatch(/^applied/);
    const after = await w.dv.retrieve<Row>(SUB, id, { select: ["w365_quantity", "w365_syncstate"] });
    expect(after).toMatchObject({ w365_quantity: target, w365_syncstate: SyncState.InSync });
  });
});
