import { MappingStatus, mapProviderAccount, runOutboundForSubscription, runSync, runVerify, SyncState } from "../../../src/sync";
import { all, startWorld, type World } from "../../support/world";

type Row = Record<string, unknown>;
const SUB = "w365_providersubscriptions";

describe("subscriptions, outbound orders, conflicts, dry runs", () => {
  let w: World;
  const processOnSleep = { on: true };
  beforeAll(async () => {
    w = await startWorld({ seed: 5, customers: 30, subscriptionsPerCustomer: 2 });
    // Order tracking "waits" by letting Ion process its pending orders (manual mode, no wall clock).
    w.deps.sleep = async () => {
      if (processOnSleep.on) w.ion.control.processOrders();
    };
    await runVerify(w.deps, { connectionId: w.connectionId, trigger: "cli" });
    await runSync(w.deps, { connectionId: w.connectionId, kind: "accounts", trigger: "cli" });
  });
  afterAll(async () => {
    await w?.close();
  });

  const mappedCustomerIds = async () =>
    new Set(
      (await all<Row>(w.dv, "w365_provideraccounts", `w365_mappingstatus eq ${MappingStatus.Mapped}`, ["w365_ioncustomerid"])).map((r) =>
        String(r.w365_ioncustomerid),
      ),
    );
  const subRow = (id: string) =>
    w.dv.retrieve<Row>(SUB, id, {
      select: [
        "w365_quantity",
        "w365_status",
        "w365_syncstate",
        "w365_syncmessage",
        "w365_requestedquantity",
        "w365_requestedstatus",
        "w365_lastsyncedquantity",
        "w365_lastorderid",
        "w365_orderreference",
        "w365_ionsubscriptionid",
      ],
    });
  const used = new Set<string>();
  // A fresh active, in-sync row each time (distinct rows keep the tests independent).
  const pickRow = async (_n = 0) => {
    const rows = await all<Row>(w.dv, SUB, `w365_status eq 'active' and w365_syncstate eq ${SyncState.InSync}`, [
      "w365_providersubscriptionid",
      "w365_ionsubscriptionid",
      "w365_quantity",
    ]);
    const row = rows
      .sort((a, b) => String(a.w365_ionsubscriptionid).localeCompare(String(b.w365_ionsubscriptionid)))
      .find(
        (r) =>
          !used.has(String(r.w365_providersubscriptionid)) && w.ion.control.getSubscription(String(r.w365_ionsubscriptionid)) !== undefined,
      )!;
    used.add(String(row.w365_providersubscriptionid));
    return row;
  };

  it("syncs the subscriptions of mapped customers, linked to provider account and account, and skips the rest", async () => {
    const mapped = await mappedCustomerIds();
    const expected = w.ion.control.subscriptions().filter((s) => mapped.has(s.customerId));
    const s = await runSync(w.deps, { connectionId: w.connectionId, kind: "subscriptions", trigger: "cli" });
    expect(s.status).toBe("succeeded");
    expect(s.created).toBe(expected.length);
    expect(s.counts["skipped-unmapped"]).toBe(w.ion.control.subscriptions().length - expected.length);
    const rows = await all<Row>(w.dv, SUB, undefined, [
      "w365_ionsubscriptionid",
      "_w365_provideraccount_value",
      "_w365_account_value",
      "w365_quantity",
      "w365_lastsyncedquantity",
      "w365_syncstate",
    ]);
    expect(rows).toHaveLength(expected.length);
    for (const r of rows) {
      expect(r._w365_provideraccount_value).toBeTruthy();
      expect(r._w365_account_value).toBeTruthy();
      expect(r.w365_lastsyncedquantity).toBe(r.w365_quantity);
    }
  });

  it("after a change in Ion writes exactly the changed rows and reports the change made outside Work 365", async () => {
    const row = await pickRow(0);
    const sim = w.ion.control.getSubscription(String(row.w365_ionsubscriptionid))!;
    const q0 = sim.quantity;
    w.ion.control.updateSubscription(sim.id, { quantity: q0 + 3 });
    w.emu.resetStats();
    const s = await runSync(w.deps, { connectionId: w.connectionId, kind: "subscriptions", trigger: "schedule" });
    expect(s.updated).toBe(1);
    expect(w.emu.stats().writes).toBe(5); // the row + its customer's subscriptions digest + run create/finish + connector stamp
    const report = s.report as { entries: { action: string; before?: Row; after?: Row; key: string }[] };
    expect(report.entries.find((e) => e.action === "external-change")).toMatchObject({
      key: sim.id,
      before: { quantity: q0 },
      after: { quantity: q0 + 3 },
    });
  });

  it("a customer that disappears from Ion is flagged, not deleted", async () => {
    const victim = w.ion.control.customers()[1]!;
    w.ion.control.removeCustomer(victim.id, "delete");
    await runSync(w.deps, { connectionId: w.connectionId, kind: "accounts", trigger: "cli" });
    const [row] = await all<Row>(w.dv, "w365_provideraccounts", `w365_ioncustomerid eq '${victim.id}'`, [
      "w365_missingsince",
      "w365_ionstatus",
    ]);
    expect(row!.w365_ionstatus).toBe("missing");
    expect(row!.w365_missingsince).toBeTruthy();
  });

  it("places an admin's quantity change in Ion exactly once, then clears the request", async () => {
    const row = await pickRow(1);
    const id = String(row.w365_providersubscriptionid);
    const target = Number(row.w365_quantity) + 2;
    const ordersBefore = w.ion.control.orders().length;
    await w.dv.update(SUB, id, { w365_requestedquantity: target, w365_syncstate: SyncState.ChangeRequested });
    processOnSleep.on = false; // the order stays pending: the next run must find it, not place another
    const first = await runOutboundForSubscription(w.deps, { subscriptionId: id, trigger: "webhook" });
    expect(first.outcome).toBe("pending");
    expect((await subRow(id)).w365_syncstate).toBe(SyncState.SentToIon);
    processOnSleep.on = true;
    const second = await runSync(w.deps, { connectionId: w.connectionId, kind: "outbound", trigger: "schedule" });
    expect(second.status).toBe("succeeded");
    expect(w.ion.control.orders().length).toBe(ordersBefore + 1);
    const after = await subRow(id);
    expect(after).toMatchObject({
      w365_quantity: target,
      w365_lastsyncedquantity: target,
      w365_syncstate: SyncState.InSync,
      w365_lastorderid: first.orderId,
    });
    expect(after.w365_requestedquantity ?? null).toBeNull();
    // The connector's own clear triggers nothing, and the inbound sync sees no change.
    const echo = await runOutboundForSubscription(w.deps, { subscriptionId: id, trigger: "webhook" });
    expect(echo.outcome).toBe("none");
    const inbound = await runSync(w.deps, { connectionId: w.connectionId, kind: "subscriptions", trigger: "cli" });
    // The only writes: flagging the subscriptions of the customer removed from Ion above.
    expect(inbound.updated).toBe(inbound.counts["missing-subscription"] ?? 0);
    expect((inbound.report as { entries: { key: string }[] }).entries.some((e) => e.key === after.w365_ionsubscriptionid)).toBe(false);
    expect(w.ion.control.orders().length).toBe(ordersBefore + 1);
  });

  it("flags a conflict when Ion changed since the last sync and the admin asked for something else", async () => {
    const row = await pickRow(2);
    const id = String(row.w365_providersubscriptionid);
    const q = Number(row.w365_quantity);
    w.ion.control.updateSubscription(String(row.w365_ionsubscriptionid), { quantity: q + 5 });
    const ordersBefore = w.ion.control.orders().length;
    await w.dv.update(SUB, id, { w365_requestedquantity: q + 1 });
    const r = await runOutboundForSubscription(w.deps, { subscriptionId: id, trigger: "webhook" });
    expect(r.outcome).toBe("conflict");
    const after = await subRow(id);
    expect(after.w365_syncstate).toBe(SyncState.Conflict);
    expect(String(after.w365_syncmessage)).toContain(`Ion now has ${q + 5} (was ${q} at the last sync), you requested ${q + 1}`);
    expect(w.ion.control.orders().length).toBe(ordersBefore);
    // A scheduled run leaves it for the admin; saving the request again applies it over Ion's value.
    await runSync(w.deps, { connectionId: w.connectionId, kind: "outbound", trigger: "schedule" });
    expect(w.ion.control.orders().length).toBe(ordersBefore);
    const again = await runOutboundForSubscription(w.deps, { subscriptionId: id, trigger: "webhook" });
    expect(again.outcome).toBe("applied");
    expect(w.ion.control.getSubscription(String(row.w365_ionsubscriptionid))!.quantity).toBe(q + 1);
  });

  it("refuses a cancellation after the cancellation window", async () => {
    const row = await pickRow(3);
    const id = String(row.w365_providersubscriptionid);
    w.ion.control.updateSubscription(String(row.w365_ionsubscriptionid), {
      cancellationAllowedUntilDate: new Date(w.ion.control.now() - 86_400_000).toISOString(),
    });
    const ordersBefore = w.ion.control.orders().length;
    await w.dv.update(SUB, id, { w365_requestedstatus: "deleted" });
    const r = await runOutboundForSubscription(w.deps, { subscriptionId: id, trigger: "webhook" });
    expect(r.outcome).toBe("refused");
    const after = await subRow(id);
    expect(after.w365_syncstate).toBe(SyncState.Error);
    expect(String(after.w365_syncmessage)).toMatch(/^Cancellation refused: the cancellation window ended on \d{4}-\d\d-\d\d/);
    expect(w.ion.control.orders().length).toBe(ordersBefore);
  });

  it("a dry run computes the plan and writes nothing but its run row", async () => {
    const row = await pickRow(4);
    const id = String(row.w365_providersubscriptionid);
    await w.dv.update(SUB, id, { w365_requestedquantity: Number(row.w365_quantity) + 1 });
    w.ion.control.addCustomer({ customerOrganization: "Brand New Dry Run Ltd" });
    const ordersBefore = w.ion.control.orders().length;
    w.emu.resetStats();
    const s = await runSync(w.deps, { connectionId: w.connectionId, kind: "all", trigger: "cli", dryRun: true });
    expect(s.dryRun).toBe(true);
    expect(w.emu.stats().writes).toBe(2); // run row create + finish
    expect(w.ion.control.orders().length).toBe(ordersBefore);
    const report = s.report as { entries: { action: string; name?: string }[] };
    expect(report.entries.some((e) => e.action === "would-create" && e.name === "Brand New Dry Run Ltd")).toBe(true);
    expect(report.entries.some((e) => e.action === "would-send")).toBe(true);
    const [run] = await all<Row>(w.dv, "w365_syncruns", `w365_syncrunid eq ${s.runId}`, ["w365_dryrun", "w365_report", "w365_status"]);
    expect(run).toMatchObject({ w365_dryrun: true, w365_status: "succeeded" });
    expect(JSON.parse(String(run!.w365_report)).dryRun).toBe(true);
  });

  it("create-new-account offers likely duplicates instead of creating, unless forced", async () => {
    const rows = await all<Row>(w.dv, "w365_provideraccounts", `w365_mappingstatus eq ${MappingStatus.Suggested}`, [
      "w365_provideraccountid",
    ]);
    const pa = String(rows[0]!.w365_provideraccountid);
    const dup = await mapProviderAccount(w.deps, { providerAccountId: pa, action: "create" });
    expect(dup.outcome).toBe("duplicates-found");
    expect(dup.candidates!.length).toBeGreaterThan(0);
    const created = await mapProviderAccount(w.deps, { providerAccountId: pa, action: "create", force: true });
    expect(created.outcome).toBe("created");
    const after = await w.dv.retrieve<Row>("w365_provideraccounts", pa, { select: ["w365_mappingstatus", "_w365_account_value"] });
    expect(after).toMatchObject({ w365_mappingstatus: MappingStatus.Mapped, _w365_account_value: created.accountId });
  });

  // Last: it removes a customer from Ion.
  it("refuses a change to a subscription that is no longer in Ion, with a clear message and no order", async () => {
    const row = await pickRow(5);
    const id = String(row.w365_providersubscriptionid);
    const { w365_ioncustomerid } = await w.dv.retrieve<Row>(SUB, id, { select: ["w365_ioncustomerid"] });
    w.ion.control.removeCustomer(String(w365_ioncustomerid));
    const ordersBefore = w.ion.control.orders().length;
    await w.dv.update(SUB, id, { w365_requestedquantity: Number(row.w365_quantity) + 1 });
    const r = await runOutboundForSubscription(w.deps, { subscriptionId: id, trigger: "webhook" });
    expect(r.outcome).toBe("refused");
    const after = await subRow(id);
    expect(after.w365_syncstate).toBe(SyncState.Error);
    expect(String(after.w365_syncmessage)).toMatch(/no longer in StreamOne Ion/);
    expect(w.ion.control.orders().length).toBe(ordersBefore);
  });
});
