/** Pins docs/platform/ion-api.md §4.2 (subscriptions read), §5 (offset paging) and §8 quirks 4, 5, 10, 17. */
import { type IonSimulator, startIonSimulator } from "../../../../sandbox/ion";
import { accessToken, call, v3 } from "../../../support/ionSimulator";

describe("Ion simulator subscriptions (§4.2)", () => {
  let sim: IonSimulator;
  let token: string;
  beforeAll(async () => {
    sim = await startIonSimulator({ customers: 40, subscriptionsPerCustomer: 3 });
    token = await accessToken(sim);
  });
  afterAll(async () => {
    await sim.close();
  });

  it("lists account-wide with pagination.limit (default 100) / offset and paginationResponse.totalSize", async () => {
    const total = sim.control.subscriptions().length;
    expect(total).toBe(120);
    const first = await call(sim, "GET", v3(sim, "/subscriptions"), { token });
    expect(first.status).toBe(200);
    expect(first.body.items).toHaveLength(100);
    expect(first.body.paginationResponse).toStrictEqual({ totalSize: 120 });
    expect(first.body.totalCount).toBe("120");
    const ids = new Set<string>();
    for (let offset = 0; ; offset += 25) {
      const r = await call(sim, "GET", v3(sim, `/subscriptions?pagination.limit=25&pagination.offset=${offset}`), { token });
      if (r.body.items.length === 0) break;
      for (const s of r.body.items) ids.add(s.id);
    }
    expect(ids.size).toBe(120);
  });

  it("filters by customerId and by upper-case status while returning lower-case statuses", async () => {
    const customer = sim.control.customers().find((c) => sim.control.subscriptions().filter((s) => s.customerId === c.id).length >= 2)!;
    const r = await call(sim, "GET", v3(sim, `/subscriptions?customerId=${customer.id}`), { token });
    const expected = sim.control
      .subscriptions()
      .filter((s) => s.customerId === customer.id)
      .map((s) => s.id);
    expect(r.body.items.map((s: { id: string }) => s.id)).toStrictEqual(expected);
    expect(r.body.paginationResponse.totalSize).toBe(expected.length);
    const active = await call(sim, "GET", v3(sim, "/subscriptions?subscriptionStatus=ACTIVE&pagination.limit=1000"), { token });
    expect(active.body.items.length).toBe(sim.control.subscriptions().filter((s) => s.status === "active").length);
    for (const s of active.body.items) expect(s.subscriptionStatus).toBe("active");
    const snake = await call(sim, "GET", v3(sim, "/subscriptions?subscription_status=SUSPENDED&pagination.limit=1000"), { token });
    expect(snake.body.paginationResponse.totalSize).toBe(sim.control.subscriptions().filter((s) => s.status === "suspended").length);
    const bad = await call(sim, "GET", v3(sim, "/subscriptions?subscriptionStatus=HAPPY"), { token });
    expect(bad.status).toBe(400);
  });

  it("renders Ion's field shapes: string ids and licence counts, renew status, ccpProductInfo, money fields", async () => {
    const r = await call(sim, "GET", v3(sim, "/subscriptions?pagination.limit=1"), { token });
    const s = r.body.items[0];
    const sim0 = sim.control.subscriptions()[0]!;
    expect(s).toMatchObject({
      id: sim0.id,
      customerId: sim0.customerId,
      subscriptionId: sim0.subscriptionId,
      subscriptionTotalLicenses: String(sim0.quantity),
      subscriptionStatus: sim0.status,
      subscriptionRenewStatus: sim0.autoRenew ? "ENABLED" : "DISABLED",
      autoRenew: sim0.autoRenew,
      unitType: "Licenses",
      resourceType: "AZURE::Subscription",
      ccpProductInfo: {
        productId: sim0.ccpProductId,
        skuId: sim0.ccpSkuId,
        planId: sim0.ccpPlanId,
        productDisplayName: expect.any(String),
        skuDisplayName: expect.any(String),
        planDisplayName: expect.any(String),
      },
      currency: "USD",
      billingCurrency: "USD",
    });
    expect(typeof s.subscriptionTotalLicenses).toBe("string");
    expect(["P1M", "P1Y"]).toContain(s.subscriptionBillingTerm);
    expect(["monthly", "annual"]).toContain(s.subscriptionBillingCycle);
    expect(s.total).toBeCloseTo(s.price * Number(s.subscriptionTotalLicenses), 3);
    expect(s.activityLogs).toBeUndefined();
  });

  it("detail accepts the internal id or the provider subscriptionId and carries activityLogs", async () => {
    const sub = sim.control.subscriptions()[4]!;
    const byId = await call(sim, "GET", v3(sim, `/customers/${sub.customerId}/subscriptions/${sub.id}?refresh=true`), { token });
    expect(byId.status).toBe(200);
    expect(byId.body.activityLogs.items.length).toBeGreaterThanOrEqual(1);
    expect(byId.body.activityLogs.totalCount).toBe(String(byId.body.activityLogs.items.length));
    const byGuid = await call(sim, "GET", v3(sim, `/customers/${sub.customerId}/subscriptions/${sub.subscriptionId}`), { token });
    expect(byGuid.body.id).toBe(sub.id);
    const other = sim.control.customers().find((c) => c.id !== sub.customerId)!;
    const wrongCustomer = await call(sim, "GET", v3(sim, `/customers/${other.id}/subscriptions/${sub.id}`), { token });
    expect(wrongCustomer.status).toBe(404);
    expect(wrongCustomer.body.message).toBe(`Subscription ${sub.id} not found`);
  });

  it("renders the seeded history: created first, renewals, and the status change of a suspended subscription", async () => {
    const suspended = sim.control.subscriptions().find((s) => s.status === "suspended" && s.activity.length === 0)!;
    const r = await call(sim, "GET", v3(sim, `/customers/${suspended.customerId}/subscriptions/${suspended.id}`), { token });
    const items = r.body.activityLogs.items as Array<{ id: string; actionType: string; actionDate: string; subscriptionStatus: string }>;
    expect(items.at(-1)!.actionType).toBe("Subscription Created");
    expect(items.some((a) => a.actionType === "Subscription Updated" && a.subscriptionStatus === "suspended")).toBe(true);
    const dates = items.map((a) => Date.parse(a.actionDate));
    expect([...dates].sort((a, b) => b - a)).toStrictEqual(dates);
    for (const a of items) expect(a.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/);
    const again = await call(sim, "GET", v3(sim, `/customers/${suspended.customerId}/subscriptions/${suspended.id}`), { token });
    expect(again.body.activityLogs).toStrictEqual(r.body.activityLogs);
  });

  it("has no customer-path subscription list (404)", async () => {
    const c = sim.control.customers()[0]!;
    const r = await call(sim, "GET", v3(sim, `/customers/${c.id}/subscriptions`), { token });
    expect(r.status).toBe(404);
  });

  it("a portal edit changes quantity/status/renewal, bumps lastUpdatedDate and adds an activity log entry", async () => {
    const sub = sim.control.subscriptions().find((s) => s.status === "active")!;
    const before = await call(sim, "GET", v3(sim, `/customers/${sub.customerId}/subscriptions/${sub.id}`), { token });
    sim.control.advanceClock(5_000);
    sim.control.updateSubscription(sub.id, { quantity: 77, autoRenew: false, status: "suspended" });
    const after = await call(sim, "GET", v3(sim, `/customers/${sub.customerId}/subscriptions/${sub.id}`), { token });
    expect(after.body.subscriptionTotalLicenses).toBe("77");
    expect(after.body.subscriptionStatus).toBe("suspended");
    expect(after.body.subscriptionRenewStatus).toBe("DISABLED");
    expect(Date.parse(after.body.lastUpdatedDate)).toBeGreaterThan(Date.parse(before.body.lastUpdatedDate));
    expect(after.body.activityLogs.items).toHaveLength(before.body.activityLogs.items.length + 1);
    expect(after.body.activityLogs.items[0].actionDetails).toContain("New Quantity: 77");
  });

  it("sorts by lastUpdatedDate DESC so a poller sees the newest change first", async () => {
    const sub = sim.control.subscriptions()[9]!;
    sim.control.advanceClock(60_000);
    sim.control.updateSubscription(sub.id, { quantity: sub.quantity + 1 });
    const r = await call(
      sim,
      "GET",
      v3(sim, "/subscriptions?pagination.sortBy=lastUpdatedDate&pagination.sortOrder=DESC&pagination.limit=3"),
      { token },
    );
    expect(r.body.items[0].id).toBe(sub.id);
    const dates = r.body.items.map((s: { lastUpdatedDate: string }) => Date.parse(s.lastUpdatedDate));
    expect([...dates].sort((a, b) => b - a)).toStrictEqual(dates);
    const badSort = await call(sim, "GET", v3(sim, "/subscriptions?pagination.sortBy=colour"), { token });
    expect(badSort.status).toBe(400);
  });

  it("filters by start date range (fixed and relative) on the simulated clock", async () => {
    const now = sim.control.now();
    const from = new Date(now - 30 * 86_400_000).toISOString().slice(0, 10);
    const to = new Date(now).toISOString().slice(0, 10);
    const r = await call(
      sim,
      "GET",
      v3(
        sim,
        `/subscriptions?pagination.limit=1000&startDateRange.fixedDateRange.startDate=${from}&startDateRange.fixedDateRange.endDate=${to}`,
      ),
      { token },
    );
    const lo = Date.parse(`${from}T00:00:00Z`);
    const hi = Date.parse(`${to}T00:00:00Z`) + 86_400_000;
    const expected = sim.control.subscriptions().filter((s) => s.termStart >= lo && s.termStart < hi).length;
    expect(r.body.paginationResponse.totalSize).toBe(expected);
    expect(expected).toBeGreaterThan(0);
    const ytd = await call(sim, "GET", v3(sim, "/subscriptions?pagination.limit=1000&start_date_range.relative_date_range=YEAR_TO_DATE"), {
      token,
    });
    const jan1 = Date.UTC(new Date(now).getUTCFullYear(), 0, 1);
    expect(ytd.body.paginationResponse.totalSize).toBe(
      sim.control.subscriptions().filter((s) => s.termStart >= jan1 && s.termStart <= now).length,
    );
  });

  it("renews terms when the clock passes their end (auto-renew on) and expires them otherwise", async () => {
    const local = await startIonSimulator({ customers: 6, subscriptionsPerCustomer: 2 });
    try {
      const customer = local.control.customers()[0]!;
      const renewing = local.control.addSubscription(customer.id, { autoRenew: true });
      const ending = local.control.addSubscription(customer.id, { autoRenew: false });
      const oldEnd = renewing.termEnd;
      local.control.advanceClock(400 * 86_400_000);
      expect(local.control.getSubscription(renewing.id)!.termStart).toBeGreaterThanOrEqual(oldEnd);
      expect(local.control.getSubscription(renewing.id)!.status).toBe("active");
      expect(local.control.getSubscription(renewing.id)!.activity[0]!.actionType).toBe("Subscription Renewed");
      expect(local.control.getSubscription(ending.id)!.status).toBe("expired");
    } finally {
      await local.close();
    }
  });
});
