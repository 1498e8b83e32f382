/** Subscriptions that vanish from Ion are flagged on their rows (w365_missingsince), never deleted. */
import { MappingStatus, runSync } from "../../../src/sync";
import { all, startWorld, type World } from "../../support/world";

type Row = Record<string, unknown>;
const SUB = "w365_providersubscriptions";

describe("subscriptions missing from Ion", () => {
  let w: World;
  let mappedCustomers: Row[];
  beforeAll(async () => {
    w = await startWorld({ seed: 41, customers: 12, subscriptionsPerCustomer: 2 });
    w.deps.ion = { customerPageSize: 5, subscriptionPageLimit: 5 };
    expect((await runSync(w.deps, { connectionId: w.connectionId, kind: "all", trigger: "cli" })).status).toBe("succeeded");
    const withSubscriptions = new Set(w.ion.control.subscriptions().map((x) => x.customerId));
    mappedCustomers = (
      await all<Row>(w.dv, "w365_provideraccounts", `w365_mappingstatus eq ${MappingStatus.Mapped}`, [
        "w365_provideraccountid",
        "w365_ioncustomerid",
        "_w365_account_value",
      ])
    )
      .filter((r) => withSubscriptions.has(String(r.w365_ioncustomerid)))
      .sort((a, b) => String(a.w365_ioncustomerid).localeCompare(String(b.w365_ioncustomerid)));
    expect(mappedCustomers.length).toBeGreaterThanOrEqual(3);
  });
  afterAll(async () => {
    await w?.close();
  });

  const rowsOf = (customerId: string) =>
    all<Row>(w.dv, SUB, `w365_ioncustomerid eq '${customerId}'`, [
      "w365_providersubscriptionid",
      "w365_ionsubscriptionid",
      "w365_missingsince",
      "w365_quantity",
    ]);
  const flagged = async () =>
    (await all<Row>(w.dv, SUB, "w365_missingsince ne null", ["w365_ionsubscriptionid"]))
      .map((r) => String(r.w365_ionsubscriptionid))
      .sort();

  it("a read of Ion that fails part-way flags nothing", async () => {
    const victim = String(mappedCustomers[0]!.w365_ioncustomerid);
    const before = await rowsOf(victim);
    expect(before.length).toBeGreaterThan(0);
    w.ion.control.removeCustomer(victim, "delete");
    w.ion.control.setFaults({ rules: [{ path: "/subscriptions$", afterRequests: 1, kind: "status", status: 500 }] });
    const failed = await runSync(
      { ...w.deps, ion: { ...w.deps.ion, retry: { maxAttempts: 1 } } },
      { connectionId: w.connectionId, kind: "subscriptions", trigger: "schedule" },
    );
    w.ion.control.setFaults(undefined);
    expect(failed.status).toBe("failed");
    expect(await flagged()).toStrictEqual([]);
  });

  it("a completed read flags the rows Ion no longer returns, once, and keeps them", async () => {
    const victim = String(mappedCustomers[0]!.w365_ioncustomerid);
    const rows = await rowsOf(victim);
    const s = await runSync(w.deps, { connectionId: w.connectionId, kind: "subscriptions", trigger: "schedule" });
    expect(s.status).toBe("succeeded");
    expect(s.counts["missing-subscription"]).toBe(rows.length);
    expect(s.message).toContain(`, ${rows.length} no longer in Ion`);
    expect(await flagged()).toStrictEqual(rows.map((r) => String(r.w365_ionsubscriptionid)).sort());
    const report = s.report as { entries: { action: string; key: string }[] };
    expect(
      report.entries
        .filter((e) => e.action === "missing")
        .map((e) => e.key)
        .sort(),
    ).toStrictEqual(rows.map((r) => String(r.w365_ionsubscriptionid)).sort());
    // Next run: still flagged, nothing written, nothing reported again.
    const firstFlag = (await rowsOf(victim))[0]!.w365_missingsince;
    w.emu.resetStats();
    const again = await runSync(w.deps, { connectionId: w.connectionId, kind: "subscriptions", trigger: "schedule" });
    expect(again.updated).toBe(0);
    expect(again.counts["missing-subscription"] ?? 0).toBe(0);
    expect(w.emu.stats().writes).toBe(3); // run create + finish + connector stamp
    const kept = await rowsOf(victim);
    expect(kept).toHaveLength(rows.length);
    expect(kept[0]!.w365_missingsince).toBe(firstFlag);
  });

  it("clears the flag when the subscription comes back (one customer's run flags and clears too)", async () => {
    const owner = mappedCustomers[1]!;
    const customerId = String(owner.w365_ioncustomerid);
    const providerAccountId = String(owner.w365_provideraccountid);
    const ghostId = "987654321";
    // A row whose subscription Ion does not have (yet): flagged by a run scoped to its customer.
    await w.dv.create(SUB, {
      w365_name: "Ghost subscription",
      w365_ionsubscriptionid: ghostId,
      w365_ioncustomerid: customerId,
      w365_quantity: 3,
      w365_status: "active",
      "w365_connection@odata.bind": `/w365_providerconnections(${w.connectionId})`,
      "w365_provideraccount@odata.bind": `/w365_provideraccounts(${providerAccountId})`,
    });
    const scoped = await runSync(w.deps, { connectionId: w.connectionId, kind: "subscriptions", trigger: "manual", providerAccountId });
    expect(scoped.status).toBe("succeeded");
    expect(scoped.counts["missing-subscription"]).toBe(1);
    expect((await flagged()).includes(ghostId)).toBe(true);

    w.ion.control.addSubscription(customerId, { id: ghostId, quantity: 7 });
    const back = await runSync(w.deps, { connectionId: w.connectionId, kind: "subscriptions", trigger: "schedule" });
    expect(back.status).toBe("succeeded");
    expect((await flagged()).includes(ghostId)).toBe(false);
    const [ghost] = (await rowsOf(customerId)).filter((r) => r.w365_ionsubscriptionid === ghostId);
    expect(ghost).toMatchObject({ w365_quantity: 7, w365_missingsince: null });
    const report = back.report as { entries: { action: string; key: string; message?: string }[] };
    expect(report.entries.find((e) => e.key === ghostId && e.action === "updated")).toMatchObject({
      action: "updated",
      message: "returned by StreamOne Ion again",
    });
  });
});
