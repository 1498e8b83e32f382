/** Pins docs/platform/ion-api.md §6 (throttling, 5xx) and the §9 "Faults and limits" checklist; plus request log and counters. */
import { type IonSimulator, startIonSimulator } from "../../../../sandbox/ion";
import { FaultInjector } from "../../../../sandbox/ion/faults";
import { accessToken, call, exchange, v3 } from "../../../support/ionSimulator";

describe("Ion simulator faults (§6, §9)", () => {
  let sim: IonSimulator;
  let token: string;
  beforeEach(async () => {
    sim = await startIonSimulator({ customers: 5, subscriptionsPerCustomer: 1 });
    token = await accessToken(sim);
  });
  afterEach(async () => {
    await sim.close();
  });

  it("answers 429 with Retry-After on chosen request numbers of a path", async () => {
    sim.control.setFaults({ rules: [{ path: "/customers$", requests: [2, 3], kind: "status", status: 429, retryAfterSeconds: 7 }] });
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 4; i++) {
      const r = await call(sim, "GET", v3(sim, "/customers?pageSize=1"), { token });
      statuses.push(r.status);
      if (r.status === 429) {
        retryAfter = r.headers.get("retry-after");
        expect(r.body).toMatchObject({ error: "RESOURCE_EXHAUSTED", code: 429 });
      }
    }
    expect(statuses).toStrictEqual([200, 429, 429, 200]);
    expect(retryAfter).toBe("7");
  });

  it("injects 500 INTERNAL_ERROR and 503 UNAVAILABLE per endpoint", async () => {
    sim.control.setFaults({
      rules: [
        { endpoint: "GET /api/v3/accounts/{A}/subscriptions", everyNth: 1, times: 1, kind: "status", status: 503 },
        { endpoint: "GET /api/v3/accounts/{A}/customers", everyNth: 1, times: 1, kind: "status", status: 500 },
      ],
    });
    const a = await call(sim, "GET", v3(sim, "/subscriptions"), { token });
    expect(a.status).toBe(503);
    expect(a.body.error).toBe("UNAVAILABLE");
    const b = await call(sim, "GET", v3(sim, "/customers?pageSize=1"), { token });
    expect(b.status).toBe(500);
    expect(b.body.error).toBe("INTERNAL_ERROR");
    expect((await call(sim, "GET", v3(sim, "/subscriptions"), { token })).status).toBe(200);
  });

  it("fires rate faults (429 + Retry-After) from the seeded RNG: the same seed gives the same pattern", () => {
    const decisions = (seed: number) => {
      const f = new FaultInjector({ seed, rules: [{ rate: 0.1, kind: "status", status: 429 }] }, 1, () => 0);
      return Array.from({ length: 500 }, () => f.decide("GET", "/x", "GET /x"));
    };
    const pattern = (seed: number) => decisions(seed).map((d) => d.kind);
    const a = pattern(42);
    expect(pattern(42)).toStrictEqual(a);
    expect(pattern(43)).not.toStrictEqual(a);
    for (const d of decisions(42)) if (d.kind === "status") expect(d).toMatchObject({ status: 429, retryAfterSeconds: 1 });
    const fired = a.filter((k) => k === "status").length;
    expect(fired).toBeGreaterThan(25);
    expect(fired).toBeLessThan(80);
  });

  it("rate limit window: more than `limit` requests per window get 429 with Retry-After", () => {
    let now = 1_000_000;
    const f = new FaultInjector({ rateLimit: { limit: 3, windowMs: 10_000 } }, 1, () => now);
    const kinds = [0, 1, 2, 3].map(() => f.decide("GET", "/x", "GET /x"));
    expect(kinds.map((k) => k.kind)).toStrictEqual(["none", "none", "none", "status"]);
    expect(kinds[3]).toMatchObject({ status: 429, retryAfterSeconds: 10 });
    now += 10_000;
    expect(f.decide("GET", "/x", "GET /x").kind).toBe("none");
  });

  it("token endpoint failures from startup options answer 503 without consuming the refresh token", async () => {
    const flaky = await startIonSimulator({
      customers: 1,
      faults: { rules: [{ path: "^/oauth/token$", requests: [1, 2], kind: "status", status: 503 }] },
    });
    try {
      expect((await exchange(flaky, flaky.credentials.refreshToken)).status).toBe(503);
      expect((await exchange(flaky, flaky.credentials.refreshToken)).status).toBe(503);
      expect((await exchange(flaky, flaky.credentials.refreshToken)).status).toBe(200);
      expect(flaky.control.tokenUsage()).toStrictEqual({ presented: 1, reusedRefreshTokens: 0, rejected: 0 });
    } finally {
      await flaky.close();
    }
  });

  it("drops the connection (socket destroyed before any work)", async () => {
    sim.control.setFaults({ rules: [{ path: "^/oauth/token$", requests: [1], kind: "drop" }] });
    await expect(exchange(sim, sim.credentials.refreshToken)).rejects.toThrow();
    // The dropped request never reached the token logic: only the exchange made in beforeEach was counted.
    expect(sim.control.tokenUsage().presented).toBe(1);
  });

  it("dropAfter on the token endpoint rotates the token and loses the answer (crash between exchange and save)", async () => {
    const held = (await exchange(sim, sim.control.issuePortalCredentials().refreshToken)).body.refresh_token as string;
    sim.control.setFaults({ rules: [{ path: "^/oauth/token$", requests: [1], kind: "dropAfter" }] });
    await expect(exchange(sim, held)).rejects.toThrow();
    const retry = await exchange(sim, held);
    expect(retry.status).toBe(400);
    expect(retry.body.error).toBe("cannot validate token: redis: nil");
    expect(sim.control.tokenUsage().reusedRefreshTokens).toBe(1);
  });

  it("dropAfter on an order POST places the order but loses the answer (the client must look it up by referenceId)", async () => {
    const sub = sim.control.subscriptions()[0]!;
    sim.control.setFaults({
      rules: [{ method: "POST", endpoint: "POST /api/v3/accounts/{A}/customers/{C}/orders", requests: [1], kind: "dropAfter" }],
    });
    const body = {
      referenceId: "w365-intent-1",
      orderItems: [
        {
          productId: sub.ccpProductId,
          skuId: sub.ccpSkuId,
          planId: sub.ccpPlanId,
          action: "UPDATE",
          quantity: sub.quantity,
          resourceId: sub.subscriptionId,
          attributes: [],
        },
      ],
    };
    await expect(call(sim, "POST", v3(sim, `/customers/${sub.customerId}/orders`), { token, body })).rejects.toThrow();
    const listed = await call(sim, "GET", v3(sim, `/customers/${sub.customerId}/orders?pageSize=10`), { token });
    expect(listed.body.orders.map((o: { referenceId: string }) => o.referenceId)).toStrictEqual(["w365-intent-1"]);
    expect(sim.control.requestLog().find((e) => e.method === "POST" && e.endpoint.endsWith("/orders"))).toMatchObject({
      status: 0,
      fault: "rule0:dropAfter",
    });
  });

  it("latency delays and then answers normally", async () => {
    sim.control.setFaults({ rules: [{ everyNth: 1, kind: "latency", latencyMs: 30 }] });
    const r = await call(sim, "GET", v3(sim, "/customers?pageSize=1"), { token });
    expect(r.status).toBe(200);
    expect(sim.control.requestLog().at(-1)).toMatchObject({ status: 200, fault: "rule0:latency" });
  });

  it("rejects fault rules that can never fire or have bad values", () => {
    expect(() => sim.control.setFaults({ rules: [{ kind: "status", status: 503 }] })).toThrow(/rate, requests/);
    expect(() => sim.control.setFaults({ rules: [{ kind: "status", status: 200, everyNth: 1 }] })).toThrow(/4xx or 5xx/);
    expect(() => sim.control.setFaults({ rules: [{ kind: "status", rate: 2 }] })).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT", status: 400 }),
    );
  });

  it("logs requests and counts them by templated endpoint, without secrets and without control calls", async () => {
    sim.control.resetCounters();
    const c = sim.control.customers()[0]!;
    await call(sim, "GET", v3(sim, `/customers/${c.id}/cloudProfiles`), { token });
    await call(sim, "GET", v3(sim, `/customers/${c.id}/cloudProfiles`), { token });
    await call(sim, "GET", v3(sim, "/subscriptions"), { token });
    await exchange(sim, "UNKNOWNTOKEN");
    await call(sim, "GET", "/__control/state");
    expect(sim.control.counters()).toStrictEqual({
      "GET /api/v3/accounts/{A}/customers/{C}/cloudProfiles": 2,
      "GET /api/v3/accounts/{A}/subscriptions": 1,
      "POST /oauth/token": 1,
    });
    const log = sim.control.requestLog();
    expect(log.map((e) => [e.status, e.bearer])).toStrictEqual([
      [200, true],
      [200, true],
      [200, true],
      [400, false],
    ]);
    const text = JSON.stringify(log);
    expect(text).not.toContain(token);
    expect(text).not.toContain(sim.credentials.refreshToken);
  });
});
