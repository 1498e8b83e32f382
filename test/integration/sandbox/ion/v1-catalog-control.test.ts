/** Pins docs/platform/ion-api.md §1 (v1 Basic auth), §4.5 (catalog) and the simulator's HTTP control API (§9 test hooks). */
import { type IonSimulator, startIonSimulator } from "../../../../sandbox/ion";
import { accessToken, call, exchange, v3 } from "../../../support/ionSimulator";

const basic = (key: string, secret: string) => ({ authorization: `Basic ${Buffer.from(`${key}:${secret}`).toString("base64")}` });

describe("Ion simulator v1, catalog and control API", () => {
  let sim: IonSimulator;
  let token: string;
  beforeAll(async () => {
    sim = await startIonSimulator({ customers: 8, subscriptionsPerCustomer: 2, orderProcessing: { mode: "manual" } });
    token = await accessToken(sim);
  });
  afterAll(async () => {
    await sim.close();
  });

  describe("v1 (§1)", () => {
    it("accepts the API key/secret as HTTP Basic and answers JSON by default", async () => {
      const r = await call(sim, "GET", "/api/v1/customers?limit=1&offset=0", {
        headers: { ...basic(sim.credentials.apiKey, sim.credentials.apiSecret), accept: "application/json" },
      });
      expect(r.status).toBe(200);
      expect(r.body.customers).toHaveLength(1);
      expect(r.body.total).toBe(8);
    });

    it("answers 401 with WWW-Authenticate for a wrong secret, a wrong key, or no credentials; the bearer token is not accepted", async () => {
      for (const headers of [
        basic(sim.credentials.apiKey, "wrong"),
        basic("wrong", sim.credentials.apiSecret),
        {},
        { authorization: `Bearer ${token}` },
      ]) {
        const r = await call(sim, "GET", "/api/v1/customers?limit=1", { headers });
        expect(r.status).toBe(401);
        expect(r.headers.get("www-authenticate")).toMatch(/^Basic/);
      }
    });

    it("answers XML when asked and supports filter[FIELD:modifier]", async () => {
      const xml = await call(sim, "GET", "/api/v1/customers?limit=2", {
        headers: { ...basic(sim.credentials.apiKey, sim.credentials.apiSecret), accept: "application/xml" },
      });
      expect(xml.headers.get("content-type")).toMatch(/xml/);
      expect(xml.body).toMatch(/^<\?xml[^>]*\?><response><customers><customer><id>\d+<\/id>/);
      const c = sim.control.customers()[2]!;
      const filtered = await call(sim, "GET", `/api/v1/customers?filter[email:eq]=${encodeURIComponent(c.customerEmail)}`, {
        headers: basic(sim.credentials.apiKey, sim.credentials.apiSecret),
      });
      expect(filtered.body.customers.map((x: { id: string }) => x.id)).toStrictEqual([c.id]);
    });
  });

  describe("catalog (§4.5)", () => {
    it("lists products with token paging and resolves the ids every subscription uses", async () => {
      const first = await call(sim, "GET", v3(sim, "/products?pageSize=2"), { token });
      expect(first.status).toBe(200);
      const second = await call(sim, "GET", v3(sim, `/products?pageSize=2&pageToken=${first.body.nextPageToken}`), { token });
      const products = [...first.body.products, ...second.body.products];
      expect(second.body.nextPageToken).toBe("");
      expect(products[0]).toMatchObject({
        name: `accounts/${sim.accountId}/products/${products[0].id}`,
        definition: { skus: expect.any(Array) },
      });
      const ids = new Set<string>();
      for (const p of products) for (const s of p.definition.skus) for (const pl of s.plans) ids.add(`${p.id}|${s.id}|${pl.id}`);
      for (const sub of sim.control.subscriptions()) expect(ids.has(`${sub.ccpProductId}|${sub.ccpSkuId}|${sub.ccpPlanId}`)).toBe(true);
      const plan = products[0].definition.skus[0].plans[0];
      expect(plan).toMatchObject({
        billingPeriod: expect.stringMatching(/^(MONTHLY|ANNUAL)$/),
        pricebookCurrency: "USD",
        phases: [expect.objectContaining({ recurringPrice: { USD: expect.any(Number) } })],
      });
      expect((await call(sim, "GET", v3(sim, "/products"), { token })).status).toBe(400);
    });

    it("filters by name and mfgPartNumber; get honours excludeFilter and 404s with 'listing {id} not found'", async () => {
      const byName = await call(sim, "GET", v3(sim, "/products?pageSize=10&filter.name=office"), { token });
      expect(byName.body.products.map((p: { id: string }) => p.id)).toStrictEqual(["Office365NCE--nce"]);
      const byMpn = await call(sim, "GET", v3(sim, "/products?pageSize=10&filter.mfgPartNumber=CFQ7TTC0LH18:0001:P1Y:Y"), { token });
      expect(byMpn.body.products.map((p: { id: string }) => p.id)).toStrictEqual(["Microsoft365NCE--nce"]);
      const bare = await call(
        sim,
        "GET",
        v3(sim, "/products/Microsoft365NCE--nce?excludeFilter.excludePricing=true&excludeFilter.excludeMarketing=true"),
        { token },
      );
      expect(bare.body.marketing).toBeUndefined();
      expect(bare.body.definition.skus[0].pricebookPrice).toBeUndefined();
      const missing = await call(sim, "GET", v3(sim, "/products/NOPE"), { token });
      expect(missing.status).toBe(404);
      expect(missing.body.message).toBe("listing NOPE not found");
    });
  });

  describe("control API over HTTP", () => {
    it("reads state, advances the clock, edits a subscription and reads counters", async () => {
      const state = await call(sim, "GET", "/__control/state");
      expect(state.body).toMatchObject({ customers: 8, subscriptions: sim.control.subscriptions().length, orders: 0 });
      const t0 = sim.control.now();
      const adv = await call(sim, "POST", "/__control/clock/advance", { body: { ms: 3_600_000 } });
      expect(adv.body.nowMs).toBe(t0 + 3_600_000);
      const sub = sim.control.subscriptions()[0]!;
      const edited = await call(sim, "POST", `/__control/subscriptions/${sub.id}`, { body: { patch: { quantity: 42 } } });
      expect(edited.status).toBe(200);
      expect(edited.body.subscriptionTotalLicenses).toBe("42");
      expect(sim.control.getSubscription(sub.id)!.quantity).toBe(42);
      const counters = await call(sim, "GET", "/__control/counters");
      expect(typeof counters.body).toBe("object");
      const bad = await call(sim, "POST", "/__control/clock/advance", { body: { ms: -5 } });
      expect(bad.status).toBe(400);
      expect((await call(sim, "GET", "/__control/nothing")).status).toBe(404);
    });

    it("issues and revokes credentials, injects faults, adds/removes customers and processes orders", async () => {
      const issued = await call(sim, "POST", "/__control/credentials/issue");
      const ok = await exchange(sim, issued.body.refreshToken);
      expect(ok.status).toBe(200);
      await call(sim, "POST", "/__control/credentials/revoke");
      expect((await exchange(sim, ok.body.refresh_token)).status).toBe(400);

      await call(sim, "PUT", "/__control/faults", {
        body: { rules: [{ path: "/products$", requests: [1], kind: "status", status: 503 }] },
      });
      expect((await call(sim, "GET", v3(sim, "/products?pageSize=1"), { token })).status).toBe(503);
      await call(sim, "DELETE", "/__control/faults");

      const added = await call(sim, "POST", "/__control/customers", { body: { customerOrganization: "Zeta Robotics GmbH" } });
      expect(added.body.customerOrganization).toBe("Zeta Robotics GmbH");
      const addedSub = await call(sim, "POST", `/__control/customers/${added.body.id}/subscriptions`, { body: { quantity: 11 } });
      expect(addedSub.body).toMatchObject({ customerId: added.body.id, quantity: 11, status: "active" });
      const listed = await call(sim, "GET", v3(sim, `/subscriptions?customerId=${added.body.id}`), { token });
      expect(listed.body.items.map((s: { id: string }) => s.id)).toStrictEqual([addedSub.body.id]);

      const sub = sim.control.subscriptions().find((s) => s.status === "active" && s.customerId !== added.body.id)!;
      await call(sim, "POST", v3(sim, `/customers/${sub.customerId}/orders`), {
        token,
        body: {
          orderItems: [
            {
              productId: sub.ccpProductId,
              skuId: sub.ccpSkuId,
              planId: sub.ccpPlanId,
              action: "UPDATE",
              quantity: 13,
              resourceId: sub.subscriptionId,
              attributes: [],
            },
          ],
        },
      });
      const processed = await call(sim, "POST", "/__control/orders/process");
      expect(processed.body.changed).toBe(1);
      expect(sim.control.getSubscription(sub.id)!.quantity).toBe(13);

      await call(sim, "DELETE", `/__control/customers/${added.body.id}`);
      expect((await call(sim, "GET", v3(sim, `/customers/${added.body.id}`), { token })).status).toBe(404);
      expect((await call(sim, "GET", v3(sim, `/subscriptions?customerId=${added.body.id}`), { token })).body.items).toStrictEqual([]);
      const other = sim.control.customers()[1]!;
      await call(sim, "DELETE", `/__control/customers/${other.id}?mode=inactive`);
      expect((await call(sim, "GET", v3(sim, `/customers/${other.id}`), { token })).body.customerStatus).toBe("INACTIVE");
    });
  });
});
