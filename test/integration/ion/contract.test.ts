/**
 * Contract tests: the Ion client against the StreamOne Ion simulator (sandbox/ion), every endpoint the
 * connector uses, plus a run with 10% injected 429/503 that must still read every customer and
 * subscription exactly once, and a token check that no refresh token is ever presented twice.
 */
import { startIonSimulator } from "../../../sandbox/ion";
import {
  buildSubscriptionUpdateOrder,
  IonClient,
  IonCustomer,
  IonNotFoundError,
  IonPermissionError,
  IonSubscription,
  IonTransport,
  IonV1AuthError,
  IonValidationError,
  TERMINAL_ORDER_STATUSES,
} from "../../../src/ion";
import { memoryLogger } from "../../../src/shared/logger";
import { MemoryTokenStore, TokenManager } from "../../../src/tokens";
import { all } from "../../support/httpStubs";

type Sim = Awaited<ReturnType<typeof startIonSimulator>>;

const CUSTOMERS = 23;
const SUBS_PER_CUSTOMER = 3;

function makeClient(sim: Sim, options: { accountId?: string; store?: MemoryTokenStore; logger?: ReturnType<typeof memoryLogger> } = {}) {
  const store = options.store ?? new MemoryTokenStore({ refreshToken: sim.credentials.refreshToken });
  const tokens = new TokenManager({ baseUrl: sim.url, store, transport: new IonTransport({ sleep: async () => undefined }) });
  const client = new IonClient({
    baseUrl: sim.url,
    accountId: options.accountId ?? sim.accountId,
    tokens,
    apiKey: sim.credentials.apiKey,
    apiSecret: sim.credentials.apiSecret,
    sleep: async () => undefined,
    logger: options.logger,
  });
  return { client, tokens, store };
}

describe("IonClient against the Ion simulator", () => {
  let sim: Sim;
  let client: IonClient;
  let store: MemoryTokenStore;
  let tokens: TokenManager;
  let customers: IonCustomer[];
  let subscriptions: IonSubscription[];

  beforeAll(async () => {
    sim = await startIonSimulator({
      customers: CUSTOMERS,
      subscriptionsPerCustomer: SUBS_PER_CUSTOMER,
      seed: 7,
      orderProcessing: { mode: "manual" },
    });
    ({ client, store, tokens } = makeClient(sim));
    customers = await all(client.customers.list({ pageSize: 5 }));
    subscriptions = await all(client.subscriptions.list({ limit: 10 }));
  });
  afterAll(async () => {
    await sim?.close();
  });

  describe("customers", () => {
    it("lists every customer once across token pages", () => {
      expect(customers).toHaveLength(CUSTOMERS);
      expect(new Set(customers.map((c) => c.id)).size).toBe(CUSTOMERS);
      for (const c of customers) {
        expect(c.id).toMatch(/^\d+$/);
        expect(c.name).toBe(`accounts/${sim.accountId}/customers/${c.id}`);
        expect(c.organization).not.toBe("");
        expect(["active", "inactive"]).toContain(c.status);
      }
    });

    it("gets one customer", async () => {
      const first = customers[0]!;
      const got = await client.customers.get(first.id);
      expect(got.id).toBe(first.id);
      expect(got.organization).toBe(first.organization);
      await expect(client.customers.get("999999999")).rejects.toBeInstanceOf(IonNotFoundError);
    });

    it("filters by email", async () => {
      const withEmail = customers.find((c) => c.email)!;
      const found = await all(client.customers.list({ email: withEmail.email }));
      expect(found.map((c) => c.id)).toContain(withEmail.id);
    });

    it("creates, rejects a duplicate email with CUS-CR-001, and updates with a full PUT", async () => {
      const input = {
        organization: "Contract Test Ltd",
        contactName: "Casey Contract",
        email: "casey@contract-test.example",
        languageCode: "EN",
        phone: "8135550100",
        address: { street: "1 Test Way", city: "Tampa", state: "FL", zip: "33606", country: "US" },
      };
      const created = await client.customers.create(input);
      expect(created).toMatchObject({ organization: "Contract Test Ltd", email: "casey@contract-test.example", status: "active" });
      expect(JSON.stringify(created.raw)).not.toMatch(/"password":"(?!\[REDACTED\])/);

      const duplicate = (await client.customers.create({ ...input, organization: "Other" }).catch((e: unknown) => e)) as IonValidationError;
      expect(duplicate).toBeInstanceOf(IonValidationError);
      expect(duplicate.hasErrorCode("CUS-CR-001")).toBe(true);

      const updated = await client.customers.update(created.id, { ...input, organization: "Contract Test Group" });
      expect(updated.organization).toBe("Contract Test Group");
      expect((await client.customers.get(created.id)).organization).toBe("Contract Test Group");
    });

    it("reads cloud profiles and the Microsoft tenant for customers that have one", async () => {
      let withTenant = 0;
      for (const c of customers.slice(0, 8)) {
        const profiles = await client.customers.cloudProfiles(c.id);
        expect(Array.isArray(profiles)).toBe(true);
        const ms = await client.customers.microsoftProfile(c.id);
        if (ms?.tenantId) {
          withTenant++;
          expect(ms.tenantId).toMatch(/^[0-9a-f-]{36}$/);
        }
      }
      expect(withTenant).toBeGreaterThan(0);
    });
  });

  describe("subscriptions", () => {
    it("lists every subscription once across offset pages", () => {
      expect(subscriptions.length).toBeGreaterThan(0);
      expect(new Set(subscriptions.map((s) => s.id)).size).toBe(subscriptions.length);
      const customerIds = new Set(customers.map((c) => c.id));
      for (const s of subscriptions) {
        expect(customerIds.has(s.customerId)).toBe(true);
        expect(Number.isInteger(s.quantity)).toBe(true);
        expect(s.status).toBe(s.status.toLowerCase());
      }
    });

    it("filters by customer", async () => {
      const customerId = subscriptions[0]!.customerId;
      const mine = await all(client.subscriptions.list({ customerId }));
      expect(mine.map((s) => s.id).sort()).toStrictEqual(
        subscriptions
          .filter((s) => s.customerId === customerId)
          .map((s) => s.id)
          .sort(),
      );
    });

    it("gets one by internal id and by provider id", async () => {
      const s = subscriptions.find((x) => x.subscriptionId)!;
      expect((await client.subscriptions.get(s.customerId, s.id)).id).toBe(s.id);
      expect((await client.subscriptions.get(s.customerId, s.subscriptionId!)).id).toBe(s.id);
      await expect(client.subscriptions.get(s.customerId, "no-such-subscription")).rejects.toBeInstanceOf(IonNotFoundError);
    });
  });

  describe("orders", () => {
    it("places an UPDATE order, finds it by referenceId, and sees the change once Ion completes it", async () => {
      const sub = subscriptions.find((s) => s.status === "active" && s.ccpProductId && s.subscriptionId)!;
      const referenceId = `w365-contract-${sub.id}`;
      const request = buildSubscriptionUpdateOrder(sub, { quantity: sub.quantity + 2, autoRenew: !sub.autoRenew }, referenceId);
      const placed = await client.orders.create(sub.customerId, request);
      expect(placed.orderId).not.toBe("");
      expect(["NEW", "IN_PROGRESS", "CONFIRMED"]).toContain(placed.status);

      const found = await client.orders.findByReferenceId(sub.customerId, referenceId);
      expect(found?.orderId).toBe(placed.orderId);
      expect(await client.orders.findByReferenceId(sub.customerId, "w365-never-placed")).toBeUndefined();

      sim.control.processOrders();
      const done = await client.orders.get(sub.customerId, placed.orderId);
      expect(TERMINAL_ORDER_STATUSES.has(done.status)).toBe(true);
      expect(done.status).toBe("COMPLETED");
      const after = await client.subscriptions.get(sub.customerId, sub.id);
      expect(after.quantity).toBe(sub.quantity + 2);
      expect(after.autoRenew).toBe(!sub.autoRenew);

      const completed = await all(client.orders.list({ customerId: sub.customerId, status: "COMPLETED" }));
      expect(completed.map((o) => o.orderId)).toContain(placed.orderId);
      const accountWide = await all(client.orders.list({ pageSize: 2 }));
      expect(accountWide.map((o) => o.orderId)).toContain(placed.orderId);
    });

    it("surfaces Ion's order validation errors (COMM-VL-003 without resourceId)", async () => {
      const sub = subscriptions.find((s) => s.ccpProductId && s.subscriptionId)!;
      const request = buildSubscriptionUpdateOrder(sub, { quantity: sub.quantity + 1 }, "w365-contract-invalid");
      delete request.orderItems[0]!.resourceId;
      const error = (await client.orders.create(sub.customerId, request).catch((e: unknown) => e)) as IonValidationError;
      expect(error).toBeInstanceOf(IonValidationError);
      expect(error.hasErrorCode("COMM-VL-003")).toBe(true);
    });

    it("suspends and reactivates through statusUpdate", async () => {
      const sub = subscriptions.find((s) => s.status === "active" && s.ccpProductId && s.subscriptionId && s.id !== subscriptions[0]!.id)!;
      const o1 = await client.orders.create(
        sub.customerId,
        buildSubscriptionUpdateOrder(sub, { status: "suspended" }, `w365-suspend-${sub.id}`),
      );
      sim.control.processOrders();
      expect((await client.orders.get(sub.customerId, o1.orderId)).status).toBe("COMPLETED");
      const suspended = await client.subscriptions.get(sub.customerId, sub.id);
      expect(suspended.status).toBe("suspended");
      await client.orders.create(
        sub.customerId,
        buildSubscriptionUpdateOrder(suspended, { status: "active" }, `w365-reactivate-${sub.id}`),
      );
      sim.control.processOrders();
      expect((await client.subscriptions.get(sub.customerId, sub.id)).status).toBe("active");
    });
  });

  describe("auth", () => {
    it("validateAccess reports lifetimes near 2 hours and 32 days", async () => {
      const v = await client.validateAccess();
      expect(v.accessExpiresInS).toBeGreaterThan(7000);
      expect(v.accessExpiresInS).toBeLessThanOrEqual(7200);
      expect(v.refreshExpiresInS).toBeGreaterThan(31 * 86400);
    });

    it("checkV1 accepts the simulator's API key/secret and refuses a wrong secret", async () => {
      await expect(client.checkV1()).resolves.toBeUndefined();
      await expect(client.checkV1(sim.credentials.apiKey, "definitely-wrong-secret")).rejects.toBeInstanceOf(IonV1AuthError);
    });

    it("a wrong Account ID gives IonPermissionError after exactly one session refresh (a 403 may be a dead session)", async () => {
      const other = new IonClient({ baseUrl: sim.url, accountId: "424242", tokens: client.tokens, sleep: async () => undefined });
      const before = sim.control.tokenUsage();
      const error = (await other.customers.get(customers[0]!.id).catch((e: unknown) => e)) as IonPermissionError;
      expect(error).toBeInstanceOf(IonPermissionError);
      expect(error.message).toContain("Account ID 424242 does not match these credentials");
      expect(error.message).toContain("even with a newly issued access token");
      expect(sim.control.tokenUsage().presented).toBe(before.presented + 1);
      expect(sim.control.tokenUsage().reusedRefreshTokens).toBe(before.reusedRefreshTokens);
    });

    it("rotation after expiry saves each new refresh token and never presents one twice", async () => {
      for (let i = 0; i < 3; i++) {
        sim.control.advanceClock(2 * 3600_000);
        await Promise.all(Array.from({ length: 12 }, () => client.customers.get(customers[0]!.id)));
      }
      const rotated = await tokens.rotate();
      expect(store.current().refreshToken).toBe(rotated.refreshToken);
      expect(sim.control.tokenUsage().reusedRefreshTokens).toBe(0);
      expect(sim.control.tokenUsage().rejected).toBe(0);
    });
  });

  it("with 10% injected 429/503, still reads every customer and subscription exactly once", async () => {
    const logger = memoryLogger();
    const { client: faulty } = makeClient(sim, { store, logger });
    // Take the token first: the token endpoint is deliberately never retried once a request reached Ion.
    await faulty.tokens.getAccessToken();
    const expectedCustomers = (await all(client.customers.list())).map((c) => c.id);
    const expectedSubs = (await all(client.subscriptions.list())).map((s) => s.id);
    sim.control.setFaults({
      seed: 11,
      rules: [
        { path: "^/api/v3/", rate: 0.05, kind: "status", status: 429, retryAfterSeconds: 1 },
        { path: "^/api/v3/", rate: 0.05, kind: "status", status: 503 },
      ],
    });
    try {
      const gotCustomers = await all(faulty.customers.list({ pageSize: 3 }));
      const gotSubs = await all(faulty.subscriptions.list({ limit: 4 }));
      // Exactly once: same ids, same count, no duplicates.
      expect(gotCustomers.map((c) => c.id).sort()).toStrictEqual([...expectedCustomers].sort());
      expect(gotSubs.map((s) => s.id).sort()).toStrictEqual([...expectedSubs].sort());
      const faults = sim.control.requestLog().filter((e: { fault?: string }) => e.fault);
      expect(faults.length).toBeGreaterThan(0);
      expect(logger.lines.some((l) => /attempt \d of \d/.test(l))).toBe(true);
    } finally {
      sim.control.setFaults({ rules: [] });
    }
  });

  it("survives dropped connections and revoked access tokens on reads", async () => {
    const { client: c } = makeClient(sim, { store });
    await c.tokens.getAccessToken();
    const expected = (await all(client.subscriptions.list())).map((x) => x.id);
    sim.control.revokeAccessTokens();
    sim.control.setFaults({ seed: 5, rules: [{ path: "^/api/v3/", rate: 0.1, kind: "drop" }] });
    try {
      const got = await all(c.subscriptions.list({ limit: 5 }));
      expect(got.map((x) => x.id).sort()).toStrictEqual([...expected].sort());
      expect(sim.control.requestLog().some((e: { fault?: string }) => e.fault)).toBe(true);
    } finally {
      sim.control.setFaults({ rules: [] });
    }
    expect(sim.control.tokenUsage().reusedRefreshTokens).toBe(0);
  });
});

describe("token response lost between Ion's rotation and the save (simulator)", () => {
  it("keeps the old token in the store, and the next attempt says exactly what to do", async () => {
    const sim = await startIonSimulator({ customers: 2, subscriptionsPerCustomer: 1, seed: 3 });
    try {
      const { client, store } = makeClient(sim);
      // Ion rotates the token, then the answer never arrives (process crash / connection lost).
      sim.control.setFaults({ rules: [{ path: "^/oauth/token$", kind: "dropAfter", requests: [1] }] });
      const lost = await client.tokens.getAccessToken().catch((e: unknown) => e);
      expect(lost).toMatchObject({ code: "ION_NETWORK" });
      expect((lost as Error).message).toContain("Request New Credentials");
      expect(store.current().refreshToken).toBe(sim.credentials.refreshToken);

      const { client: restarted } = makeClient(sim, { store });
      const error = (await all(restarted.customers.list()).catch((e: unknown) => e)) as { code?: string; message: string };
      expect(error.code).toBe("ION_REFRESH_TOKEN_REJECTED");
      expect(error.message).toContain("Ion portal → Settings → Users → the integration user → Request New Credentials");
      expect(error.message).not.toContain(sim.credentials.refreshToken);

      // The admin pastes new portal credentials: the connector works again.
      const fresh = sim.control.issuePortalCredentials();
      const { client: repaired } = makeClient(sim, { store: new MemoryTokenStore({ refreshToken: fresh.refreshToken }) });
      expect((await all(repaired.customers.list())).length).toBe(2);
    } finally {
      await sim.close();
    }
  });
});

describe("Ion's documented answers (simulator configured as the v3 reference describes)", () => {
  it("a dead session answered 403 PERMISSION_DENIED is refreshed once and the read succeeds", async () => {
    const sim = await startIonSimulator({ customers: 2, subscriptionsPerCustomer: 1, seed: 5, unauthorizedStatus: 403 });
    try {
      const { client } = makeClient(sim);
      const first = (await all(client.customers.list())).length;
      sim.control.revokeAccessTokens(); // the session dies; Ion answers 403, not 401
      expect((await all(client.customers.list())).length).toBe(first);
      expect(sim.control.tokenUsage()).toMatchObject({ presented: 2, reusedRefreshTokens: 0, rejected: 0 });
    } finally {
      await sim.close();
    }
  });

  it("subscription details read right after an order are stale unless the read sends refresh=true", async () => {
    const sim = await startIonSimulator({
      customers: 1,
      subscriptionsPerCustomer: 1,
      seed: 6,
      orderProcessing: { mode: "manual" },
      staleSubscriptionDetails: true,
    });
    try {
      const { client } = makeClient(sim);
      const [sub] = await all(client.subscriptions.list());
      const before = await client.subscriptions.get(sub!.customerId, sub!.id);
      const order = await client.orders.create(
        sub!.customerId,
        buildSubscriptionUpdateOrder(before, { quantity: before.quantity + 3 }, "stale-details-1"),
      );
      sim.control.processOrders();
      expect(TERMINAL_ORDER_STATUSES.has(String((await client.orders.get(sub!.customerId, order.orderId)).status).toUpperCase())).toBe(
        true,
      );
      expect((await client.subscriptions.get(sub!.customerId, sub!.id)).quantity).toBe(before.quantity);
      expect((await client.subscriptions.get(sub!.customerId, sub!.id, { refresh: true })).quantity).toBe(before.quantity + 3);
    } finally {
      await sim.close();
    }
  });
});
