import { runSync, runVerify } from "../../../src/sync";
import { all, startWorld, type World } from "../../support/world";

type Row = Record<string, unknown>;
const SUB = "w365_providersubscriptions";

// The solution's outbound webhook step fires on updates that carry a request column (changed or not).
// The sync's own inbound updates must not carry them unless their value changes.
describe("inbound updates set off no outbound webhook", () => {
  let w: World;
  beforeAll(async () => {
    w = await startWorld({ seed: 11, customers: 20, subscriptionsPerCustomer: 2 });
    await runVerify(w.deps, { connectionId: w.connectionId, trigger: "cli" });
    await runSync(w.deps, { connectionId: w.connectionId, kind: "all", trigger: "cli" });
  });
  afterAll(async () => {
    await w?.close();
  });

  const synced = async () =>
    all<Row>(w.dv, SUB, undefined, [
      "w365_ionsubscriptionid",
      "w365_quantity",
      "w365_autorenew",
      "w365_requestedautorenew",
      "w365_lastsyncedautorenew",
    ]);

  it("a quantity change in Ion updates the row without touching the request columns", async () => {
    const rows = await synced();
    const target = w.ion.control.getSubscription(String(rows[0]!.w365_ionsubscriptionid))!;
    w.ion.control.updateSubscription(target.id, { quantity: target.quantity + 2 });
    w.emu.resetStats();
    const s = await runSync(w.deps, { connectionId: w.connectionId, kind: "subscriptions", trigger: "schedule" });
    expect(s.updated).toBe(1);
    expect(w.emu.stats().webhooksSent).toBe(0);
    const after = (await synced()).find((r) => r.w365_ionsubscriptionid === target.id)!;
    expect(after.w365_quantity).toBe(target.quantity);
  });

  it("an auto-renew change in Ion still moves the 'no request' value along with the last synced one", async () => {
    const rows = await synced();
    const row = rows[1]!;
    const target = w.ion.control.getSubscription(String(row.w365_ionsubscriptionid))!;
    w.ion.control.updateSubscription(target.id, { autoRenew: !target.autoRenew });
    const s = await runSync(w.deps, { connectionId: w.connectionId, kind: "subscriptions", trigger: "schedule" });
    expect(s.updated).toBe(1);
    const after = (await synced()).find((r) => r.w365_ionsubscriptionid === target.id)!;
    expect(after.w365_autorenew).toBe(!row.w365_autorenew);
    expect(after.w365_requestedautorenew).toBe(after.w365_autorenew);
    expect(after.w365_lastsyncedautorenew).toBe(after.w365_autorenew);
  });
});
