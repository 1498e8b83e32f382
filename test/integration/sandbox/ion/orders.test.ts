/** Pins docs/platform/ion-api.md §4.3 (changes are orders), §4.4 (orders) and §6 (order validation body, idempotency). */
import { CATALOG, type IonSimulator, type SimSubscription, startIonSimulator } from "../../../../sandbox/ion";
import { accessToken, call, v3 } from "../../../support/ionSimulator";

const DAY = 86_400_000;

function updateBody(s: SimSubscription, quantity: number, attributes: Array<{ name: string; value: string }>, referenceId?: string) {
  return {
    ...(referenceId ? { referenceId } : {}),
    displayName: "Microsoft NCE",
    orderItems: [
      {
        productId: s.ccpProductId,
        skuId: s.ccpSkuId,
        planId: s.ccpPlanId,
        action: "UPDATE",
        quantity,
        resourceId: s.subscriptionId,
        attributes: [{ name: "operations", value: "updatesubscription" }, ...attributes],
      },
    ],
  };
}

describe("Ion simulator orders (§4.3, §4.4)", () => {
  let sim: IonSimulator;
  let token: string;
  beforeEach(async () => {
    sim = await startIonSimulator({ customers: 12, subscriptionsPerCustomer: 3, orderProcessing: { mode: "manual" } });
    token = await accessToken(sim);
  });
  afterEach(async () => {
    await sim.close();
  });

  const activeSub = () =>
    sim.control.subscriptions().find((s) => s.status === "active" && s.billingTerm === "P1Y" && !s.ccpProductId.startsWith("MSAZURE"))!;
  const orders = (s: SimSubscription) => v3(sim, `/customers/${s.customerId}/orders`);

  it("UPDATE with a new total quantity returns 200 NEW; the subscription changes only when the order completes", async () => {
    const s = activeSub();
    const before = s.quantity;
    const r = await call(sim, "POST", orders(s), { token, body: updateBody(s, before + 5, []) });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      status: "NEW",
      customerId: s.customerId,
      accountId: sim.accountId,
      orderId: expect.any(String),
      name: `accounts/${sim.accountId}/customers/${s.customerId}/orders/${r.body.orderId}`,
    });
    expect(r.body.orderItems[0]).toMatchObject({ action: "UPDATE", resourceId: s.subscriptionId, quantity: before + 5 });
    expect(sim.control.getSubscription(s.id)!.quantity).toBe(before);
    expect(sim.control.processOrders({ step: true })).toBe(1);
    const mid = await call(sim, "GET", `${orders(s)}/${r.body.orderId}`, { token });
    expect(mid.body.status).toBe("IN_PROGRESS");
    sim.control.processOrders();
    const done = await call(sim, "GET", `${orders(s)}/${r.body.orderId}`, { token });
    expect(done.body.status).toBe("COMPLETED");
    const sub = await call(sim, "GET", v3(sim, `/customers/${s.customerId}/subscriptions/${s.id}`), { token });
    expect(sub.body.subscriptionTotalLicenses).toBe(String(before + 5));
    expect(sub.body.activityLogs.items[0]).toMatchObject({
      actionType: "Subscription Updated",
      actionDetails: expect.stringContaining(`New Quantity: ${before + 5}`),
    });
  });

  it("renewalSetting auto-off/auto-on toggles autoRenew and subscriptionRenewStatus", async () => {
    const s = activeSub();
    await call(sim, "POST", orders(s), {
      token,
      body: updateBody(s, s.quantity, [{ name: "renewalSetting", value: s.autoRenew ? "auto-off" : "auto-on" }]),
    });
    const was = s.autoRenew;
    sim.control.processOrders();
    const sub = await call(sim, "GET", v3(sim, `/customers/${s.customerId}/subscriptions/${s.subscriptionId}`), { token });
    expect(sub.body.autoRenew).toBe(!was);
    expect(sub.body.subscriptionRenewStatus).toBe(was ? "DISABLED" : "ENABLED");
  });

  it("statusUpdate suspended/active suspends and reactivates; deleted cancels (CANCELLED spelling) inside the window", async () => {
    const s = activeSub();
    await call(sim, "POST", orders(s), { token, body: updateBody(s, s.quantity, [{ name: "statusUpdate", value: "suspended" }]) });
    sim.control.processOrders();
    expect(sim.control.getSubscription(s.id)!.status).toBe("suspended");
    await call(sim, "POST", orders(s), { token, body: updateBody(s, s.quantity, [{ name: "statusUpdate", value: "active" }]) });
    sim.control.processOrders();
    expect(sim.control.getSubscription(s.id)!.status).toBe("active");
    sim.control.updateSubscription(s.id, { cancellationAllowedUntilDate: new Date(sim.control.now() + DAY).toISOString() });
    await call(sim, "POST", orders(s), { token, body: updateBody(s, s.quantity, [{ name: "statusUpdate", value: "deleted" }]) });
    sim.control.processOrders();
    const sub = await call(sim, "GET", v3(sim, `/customers/${s.customerId}/subscriptions/${s.id}`), { token });
    expect(sub.body.subscriptionStatus).toBe("cancelled");
  });

  it("refuses deletion after cancellationAllowedUntilDate with 400 and a message naming the date", async () => {
    const s = activeSub();
    sim.control.updateSubscription(s.id, { cancellationAllowedUntilDate: new Date(sim.control.now() - DAY).toISOString() });
    const r = await call(sim, "POST", orders(s), { token, body: updateBody(s, s.quantity, [{ name: "statusUpdate", value: "deleted" }]) });
    expect(r.status).toBe(400);
    expect(r.body.error).toBe("INVALID_ARGUMENT");
    expect(r.body.message).toContain("cancellationAllowedUntilDate");
    expect(r.body.message).toContain(new Date(sim.control.now() - DAY).toISOString());
    expect(sim.control.orders()).toHaveLength(0);
  });

  it("an order placed inside the window but processed after it closes ends in ERROR and leaves the subscription alone", async () => {
    const s = activeSub();
    sim.control.updateSubscription(s.id, { cancellationAllowedUntilDate: new Date(sim.control.now() + 60_000).toISOString() });
    const r = await call(sim, "POST", orders(s), { token, body: updateBody(s, s.quantity, [{ name: "statusUpdate", value: "deleted" }]) });
    expect(r.status).toBe(200);
    sim.control.advanceClock(120_000);
    sim.control.processOrders();
    const o = await call(sim, "GET", `${orders(s)}/${r.body.orderId}`, { token });
    expect(o.body.status).toBe("ERROR");
    expect(o.body.errors[0].detail).toContain("cancellationAllowedUntilDate");
    expect(sim.control.getSubscription(s.id)!.status).toBe("active");
  });

  it("validation errors use the code:3 body with COMM-VL-001..004", async () => {
    const s = activeSub();
    const cases: Array<[unknown, string]> = [
      [
        {
          orderItems: [
            { action: "UPDATE", skuId: s.ccpSkuId, planId: s.ccpPlanId, quantity: 1, resourceId: s.subscriptionId, attributes: [] },
          ],
        },
        "COMM-VL-001",
      ],
      [{ orderItems: [{ ...updateBody(s, 1, []).orderItems[0], action: "RENEW" }] }, "COMM-VL-002"],
      [{ orderItems: [{ ...updateBody(s, 1, []).orderItems[0], resourceId: undefined }] }, "COMM-VL-003"],
      [
        {
          orderItems: [
            {
              productId: s.ccpProductId,
              skuId: s.ccpSkuId,
              planId: s.ccpPlanId,
              action: "CREATE",
              quantity: 2,
              providerName: "AZURE",
              attributes: [],
            },
          ],
        },
        "COMM-VL-004",
      ],
      [{}, "COMM-VL-001"],
    ];
    for (const [body, code] of cases) {
      const r = await call(sim, "POST", orders(s), { token, body });
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({
        error: "BAD_REQUEST: Invalid provisioning data",
        message: "BAD_REQUEST: Invalid provisioning data",
        code: 3,
      });
      expect(r.body.details[0]["@type"]).toBe("type.googleapis.com/v3orberrors.ErrorBody");
      expect(r.body.details[0].errors.map((e: { code: string }) => e.code)).toContain(code);
    }
    const unknownPlan = await call(sim, "POST", orders(s), {
      token,
      body: { orderItems: [{ ...updateBody(s, 1, []).orderItems[0], planId: "Nope-n0" }] },
    });
    expect(unknownPlan.status).toBe(400);
    expect(unknownPlan.body.details[0].errors[0].detail).toContain("not in the catalog");
    expect(sim.control.orders()).toHaveLength(0);
  });

  it("accepts quantity as a numeric string and the operations value in any case; ignores unknown fields", async () => {
    const s = activeSub();
    const body = updateBody(s, 3, []);
    (body.orderItems[0] as Record<string, unknown>).quantity = "3";
    body.orderItems[0]!.attributes[0]!.value = "updateSubscription";
    (body as Record<string, unknown>).somethingNew = true;
    const r = await call(sim, "POST", orders(s), { token, body });
    expect(r.status).toBe(200);
    expect(r.body.orderItems[0].quantity).toBe(3);
  });

  it("UPDATE of an unknown resourceId is 404; of a cancelled subscription 412", async () => {
    const s = activeSub();
    const missing = await call(sim, "POST", orders(s), {
      token,
      body: { orderItems: [{ ...updateBody(s, 1, []).orderItems[0], resourceId: "00000000-0000-0000-0000-000000000000" }] },
    });
    expect(missing.status).toBe(404);
    sim.control.updateSubscription(s.id, { status: "cancelled" });
    const cancelled = await call(sim, "POST", orders(s), { token, body: updateBody(s, 1, []) });
    expect(cancelled.status).toBe(412);
    expect(cancelled.body.error).toBe("FAILED_PRECONDITION");
  });

  it("CREATE with domainName provisions a new subscription with a new provider GUID on completion", async () => {
    const customer = sim.control.customers()[0]!;
    const before = sim.control.subscriptions().filter((x) => x.customerId === customer.id).length;
    const sku = CATALOG.find((p) => p.id === "Office365NCE--nce")!.skus.find((k) => k.displayName === "Office 365 E3")!;
    const plan = sku.plans.find((p) => p.billingTerm === "P1Y" && p.billingCycle === "monthly")!;
    const r = await call(sim, "POST", v3(sim, `/customers/${customer.id}/orders`), {
      token,
      body: {
        referenceId: "w365-create-1",
        orderItems: [
          {
            productId: "Office365NCE--nce",
            skuId: sku.id,
            planId: plan.id,
            action: "CREATE",
            quantity: 4,
            providerName: "AZURE",
            attributes: [
              { name: "domainName", value: "contoso2026" },
              { name: "renewalSetting", value: "auto-off" },
            ],
          },
        ],
      },
    });
    expect(r.status).toBe(200);
    expect(r.body.orderItems[0].resourceId).toBeUndefined();
    sim.control.processOrders();
    const done = await call(sim, "GET", v3(sim, `/customers/${customer.id}/orders/${r.body.orderId}`), { token });
    expect(done.body.status).toBe("COMPLETED");
    const guid = done.body.orderItems[0].resourceId;
    expect(guid).toMatch(/^[0-9a-f-]{36}$/);
    const created = sim.control.getSubscription(guid)!;
    expect(created).toMatchObject({
      customerId: customer.id,
      quantity: 4,
      autoRenew: false,
      status: "active",
      ccpSkuId: sku.id,
      ccpPlanId: plan.id,
      billingTerm: "P1Y",
      billingCycle: "monthly",
    });
    expect(sim.control.subscriptions().filter((x) => x.customerId === customer.id)).toHaveLength(before + 1);
  });

  it("a first CREATE for a customer without a tenant provisions one and returns the admin userName/password on the item", async () => {
    const customer = sim.control.addCustomer({ cloudProfiles: [] });
    const sku = CATALOG.find((p) => p.id === "Microsoft365NCE--nce")!.skus[0]!;
    const r = await call(sim, "POST", v3(sim, `/customers/${customer.id}/orders`), {
      token,
      body: {
        orderItems: [
          {
            productId: "Microsoft365NCE--nce",
            skuId: sku.id,
            planId: sku.plans[0]!.id,
            action: "CREATE",
            quantity: 1,
            providerName: "AZURE",
            attributes: [{ name: "domainName", value: "NewTenant2026" }],
          },
        ],
      },
    });
    sim.control.processOrders();
    const done = await call(sim, "GET", v3(sim, `/customers/${customer.id}/orders/${r.body.orderId}`), { token });
    const attrs = Object.fromEntries(done.body.orderItems[0].attributes.map((a: { name: string; value: string }) => [a.name, a.value]));
    expect(attrs.userName).toBe("admin@newtenant2026.onmicrosoft.com");
    expect(attrs.password).toEqual(expect.any(String));
    const profiles = await call(sim, "GET", v3(sim, `/customers/${customer.id}/cloudProfiles`), { token });
    expect(profiles.body.customerCloudProfiles[0].customerDomain).toBe("newtenant2026.onmicrosoft.com");
  });

  it("cancel (:cancel) works only for NEW orders and sets CANCELED (one L); completed orders get 412", async () => {
    const s = activeSub();
    const a = await call(sim, "POST", orders(s), { token, body: updateBody(s, 9, []) });
    const cancelled = await call(sim, "POST", `${orders(s)}/${a.body.orderId}:cancel`, { token });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe("CANCELED");
    expect(sim.control.processOrders()).toBe(0);
    expect(sim.control.getSubscription(s.id)!.quantity).not.toBe(9);
    const b = await call(sim, "POST", orders(s), { token, body: updateBody(s, 9, []) });
    sim.control.processOrders();
    const late = await call(sim, "POST", `${orders(s)}/${b.body.orderId}:cancel`, { token });
    expect(late.status).toBe(412);
    expect(late.body.error).toBe("FAILED_PRECONDITION");
  });

  it("lists customer and account orders with pageSize/pageToken/status; account list sorts by createTime DESC", async () => {
    const s = activeSub();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      sim.control.advanceClock(1000);
      ids.push((await call(sim, "POST", orders(s), { token, body: updateBody(s, i + 1, [], `ref-${i}`) })).body.orderId);
    }
    const noSize = await call(sim, "GET", orders(s), { token });
    expect(noSize.status).toBe(400);
    const page1 = await call(sim, "GET", `${orders(s)}?pageSize=3`, { token });
    const page2 = await call(sim, "GET", `${orders(s)}?pageSize=3&pageToken=${page1.body.nextPageToken}`, { token });
    expect([...page1.body.orders, ...page2.body.orders].map((o: { orderId: string }) => o.orderId)).toStrictEqual(ids);
    expect(page2.body.nextPageToken).toBe("");
    const account = await call(sim, "GET", v3(sim, "/orders?pageSize=10"), { token });
    expect(account.body.orders.map((o: { orderId: string }) => o.orderId)).toStrictEqual([...ids].reverse());
    sim.control.processOrders();
    const completed = await call(sim, "GET", v3(sim, "/orders?pageSize=10&status=COMPLETED&sortOrder=ASC"), { token });
    expect(completed.body.orders.map((o: { orderId: string }) => o.orderId)).toStrictEqual(ids);
    expect(completed.body.orders.map((o: { referenceId: string }) => o.referenceId)).toStrictEqual([
      "ref-0",
      "ref-1",
      "ref-2",
      "ref-3",
      "ref-4",
    ]);
  });

  it("does not de-duplicate referenceId by default; rejectDuplicateReferenceId answers 409 ALREADY_EXISTS", async () => {
    const s = activeSub();
    expect((await call(sim, "POST", orders(s), { token, body: updateBody(s, 2, [], "same") })).status).toBe(200);
    expect((await call(sim, "POST", orders(s), { token, body: updateBody(s, 2, [], "same") })).status).toBe(200);
    const strict = await startIonSimulator({ customers: 3, subscriptionsPerCustomer: 2, rejectDuplicateReferenceId: true });
    try {
      const t = await accessToken(strict);
      const sub = strict.control.subscriptions().find((x) => x.status === "active")!;
      const path = v3(strict, `/customers/${sub.customerId}/orders`);
      expect((await call(strict, "POST", path, { token: t, body: updateBody(sub, 2, [], "same") })).status).toBe(200);
      const dup = await call(strict, "POST", path, { token: t, body: updateBody(sub, 2, [], "same") });
      expect(dup.status).toBe(409);
      expect(dup.body.error).toBe("ALREADY_EXISTS");
    } finally {
      await strict.close();
    }
  });

  it("failNextOrder makes the next order end in ERROR with the given errors", async () => {
    const s = activeSub();
    sim.control.failNextOrder([{ code: "MS-PC-400", detail: "Partner Center rejected the change" }]);
    const r = await call(sim, "POST", orders(s), { token, body: updateBody(s, 50, []) });
    sim.control.processOrders();
    const o = await call(sim, "GET", `${orders(s)}/${r.body.orderId}`, { token });
    expect(o.body.status).toBe("ERROR");
    expect(o.body.errors).toStrictEqual([{ code: "MS-PC-400", detail: "Partner Center rejected the change" }]);
    expect(sim.control.getSubscription(s.id)!.quantity).not.toBe(50);
  });

  it("auto mode completes orders after the delay on the simulated clock (no real waiting needed)", async () => {
    const auto = await startIonSimulator({ customers: 3, subscriptionsPerCustomer: 2, orderProcessing: { mode: "auto", delayMs: 60_000 } });
    try {
      const t = await accessToken(auto);
      const sub = auto.control.subscriptions().find((x) => x.status === "active")!;
      const path = v3(auto, `/customers/${sub.customerId}/orders`);
      const r = await call(auto, "POST", path, { token: t, body: updateBody(sub, sub.quantity + 1, []) });
      expect((await call(auto, "GET", `${path}/${r.body.orderId}`, { token: t })).body.status).toBe("NEW");
      auto.control.advanceClock(30_000);
      expect((await call(auto, "GET", `${path}/${r.body.orderId}`, { token: t })).body.status).toBe("IN_PROGRESS");
      auto.control.advanceClock(30_000);
      expect((await call(auto, "GET", `${path}/${r.body.orderId}`, { token: t })).body.status).toBe("COMPLETED");
      expect(auto.control.getSubscription(sub.id)!.quantity).toBe(sub.quantity);
    } finally {
      await auto.close();
    }
  });
});
