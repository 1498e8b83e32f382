import {
  IonClient,
  IonNetworkError,
  IonNotFoundError,
  IonPermissionError,
  IonRateLimitError,
  IonServerError,
  IonTransport,
  IonV1AuthError,
  IonValidationError,
  RequestInfo,
} from "../../../src/ion";
import { memoryLogger } from "../../../src/shared/logger";
import { MemoryTokenStore, TokenManager } from "../../../src/tokens";
import { all, fakeClock, FakeIon, IonRequest, startFakeIon } from "../../support/httpStubs";
import cloudProfiles from "../../support/ion-fixtures/cloud-profiles.json";
import customerCreated from "../../support/ion-fixtures/customer-created.json";
import duplicateEmail from "../../support/ion-fixtures/customer-duplicate-email.json";
import order from "../../support/ion-fixtures/order.json";
import subscriptionsPage from "../../support/ion-fixtures/subscriptions-page.json";

const A = "10001";
const V3 = `/api/v3/accounts/${A}`;
const CONTOSO = {
  organization: "Contoso",
  contactName: "Jane Doe",
  email: "jane@contoso.example",
  languageCode: "en",
  address: { street: "1 Main St", city: "Tampa", state: "FL", zip: "33606", country: "US" },
};

describe("IonClient", () => {
  let ion: FakeIon;
  let delays: number[];
  let infos: RequestInfo[];
  let logger: ReturnType<typeof memoryLogger>;
  let tokens: TokenManager;

  beforeEach(async () => {
    ion = await startFakeIon({ initialRefreshToken: "PORTALREFRESHTOKEN0001" });
    delays = [];
    infos = [];
    logger = memoryLogger();
  });
  afterEach(async () => {
    await ion.close();
  });

  function client(extra: Partial<ConstructorParameters<typeof IonClient>[0]> = {}): IonClient {
    const clock = fakeClock();
    tokens = new TokenManager({
      baseUrl: ion.url,
      store: new MemoryTokenStore({ refreshToken: "PORTALREFRESHTOKEN0001" }),
      clock,
      transport: new IonTransport({ clock, sleep: async () => undefined }),
    });
    return new IonClient({
      baseUrl: ion.url + "/",
      accountId: A,
      tokens,
      apiKey: "APIKEY-123",
      apiSecret: "APISECRETVALUE-456",
      logger,
      clock,
      sleep: async (ms) => void delays.push(ms),
      random: () => 0.5,
      onRequest: (info) => infos.push(info),
      ...extra,
    });
  }

  const v3 = (r: IonRequest) => r.path.startsWith("/api/");

  describe("customers", () => {
    it("lists every customer across pages with pageSize/pageToken and sends a bearer token", async () => {
      ion.routes.push((r) => {
        if (r.path !== `${V3}/customers`) return undefined;
        const token = r.query.get("pageToken");
        if (!token)
          return {
            status: 200,
            body: { customers: [{ name: `accounts/${A}/customers/1`, customerOrganization: "One" }], nextPageToken: "p2" },
          };
        if (token === "p2")
          return { status: 200, body: { customers: [{ name: `accounts/${A}/customers/2`, customerOrganization: "Two" }] } };
        return { status: 400, body: { error: "INVALID_REQUEST" } };
      });
      const c = client();
      const customers = await all(c.customers.list());
      expect(customers.map((x) => [x.id, x.organization])).toStrictEqual([
        ["1", "One"],
        ["2", "Two"],
      ]);
      const listCalls = ion.requests.filter(v3);
      expect(listCalls.map((r) => r.query.get("pageSize"))).toStrictEqual(["1000", "1000"]);
      expect(listCalls[0]!.query.get("filter.customerStatus")).toBe("CUSTOMER_STATUS_UNSPECIFIED");
      expect(listCalls[0]!.query.has("pageToken")).toBe(false);
      expect(listCalls[1]!.query.get("pageToken")).toBe("p2");
      expect(listCalls[0]!.headers.authorization).toBe("Bearer ACCESSTOKEN0001ISSUED");
      expect(c.counters()).toStrictEqual({ "GET /customers": 2 });
    });

    it("passes filters and page size", async () => {
      ion.routes.push((r) => (r.path === `${V3}/customers` ? { status: 200, body: { customers: [] } } : undefined));
      await all(client().customers.list({ pageSize: 50, status: "ACTIVE", name: "Contoso", email: "a@b.c" }));
      const q = ion.requests.filter(v3)[0]!.query;
      expect([
        q.get("pageSize"),
        q.get("filter.customerStatus"),
        q.get("filter.customerName"),
        q.get("filter.customerEmail"),
      ]).toStrictEqual(["50", "ACTIVE", "Contoso", "a@b.c"]);
    });

    it("creates with a JSON body, updates with a full PUT, and never blindly retries a create", async () => {
      let creates = 0;
      ion.routes.push((r) => {
        if (r.path === `${V3}/customers` && r.method === "POST")
          return ++creates === 1 ? { status: 503, body: { error: "UNAVAILABLE" } } : { status: 200, body: customerCreated };
        if (r.path === `${V3}/customers/306999` && r.method === "PUT")
          return { status: 200, body: { ...JSON.parse(r.body), customerStatus: "ACTIVE" } };
        return undefined;
      });
      const c = client();
      const input = {
        organization: "Acme Ltd",
        contactName: "Jane Doe",
        email: "jane@acme.example",
        languageCode: "EN",
        address: { street: "1 Main St", city: "Tampa", state: "FL", zip: "33606", country: "US" },
      };
      await expect(c.customers.create(input)).rejects.toBeInstanceOf(IonServerError);
      expect(creates).toBe(1);
      const created = await c.customers.create(input);
      expect(created.id).toBe("306999");
      const post = ion.requests.filter((r) => r.method === "POST" && v3(r)).pop()!;
      expect(post.headers["content-type"]).toBe("application/json");
      expect(JSON.parse(post.body)).toMatchObject({ customerOrganization: "Acme Ltd", customerEmail: "jane@acme.example" });
      const updated = await c.customers.update("306999", { ...input, organization: "Acme Group" });
      expect(updated.organization).toBe("Acme Group");
      expect(JSON.parse(ion.requests.filter((r) => r.method === "PUT").pop()!.body).name).toBe(`accounts/${A}/customers/306999`);
    });

    it("reports a duplicate email as a validation error with CUS-CR-001", async () => {
      ion.routes.push((r) => (r.path === `${V3}/customers` && r.method === "POST" ? { status: 412, body: duplicateEmail } : undefined));
      const error = (await client()
        .customers.create({
          organization: "x",
          contactName: "y",
          email: "jane@acme.example",
          languageCode: "EN",
          address: { street: "s", city: "c", state: "FL", zip: "1", country: "US" },
        })
        .catch((e: unknown) => e)) as IonValidationError;
      expect(error).toBeInstanceOf(IonValidationError);
      expect(error.hasErrorCode("CUS-CR-001")).toBe(true);
    });

    it("reads cloud profiles and the Microsoft tenant", async () => {
      ion.routes.push((r) => (r.path === `${V3}/customers/306870/cloudProfiles` ? { status: 200, body: cloudProfiles } : undefined));
      const c = client();
      expect(await c.customers.cloudProfiles("306870")).toHaveLength(2);
      expect(await c.customers.microsoftProfile("306870")).toStrictEqual({
        tenantId: "0f3a2c10-5b7e-4c3d-9a1b-2c3d4e5f6a7b",
        domain: "contoso.onmicrosoft.com",
      });
    });

    it("throws IonNotFoundError for a missing customer", async () => {
      ion.routes.push((r) =>
        r.path === `${V3}/customers/404`
          ? { status: 404, body: { error: "NOT_FOUND", message: "resource 'accounts/10001/customers/404' not found", code: 404 } }
          : undefined,
      );
      await expect(client().customers.get("404")).rejects.toBeInstanceOf(IonNotFoundError);
    });
  });

  describe("subscriptions", () => {
    it("pages account-wide with customerId, pagination.limit and pagination.offset", async () => {
      const all250 = Array.from({ length: 250 }, (_, i) => ({
        id: String(1000 + i),
        customerId: "306870",
        subscriptionTotalLicenses: String(i),
        subscriptionStatus: "ACTIVE",
      }));
      ion.routes.push((r) => {
        if (r.path !== `${V3}/subscriptions`) return undefined;
        const limit = Number(r.query.get("pagination.limit"));
        const offset = Number(r.query.get("pagination.offset"));
        return { status: 200, body: { items: all250.slice(offset, offset + limit), paginationResponse: { totalSize: all250.length } } };
      });
      const subs = await all(client().subscriptions.list({ customerId: "306870", status: "active" }));
      expect(subs.map((s) => s.id)).toStrictEqual(all250.map((s) => s.id));
      expect(subs[7]).toMatchObject({ quantity: 7, status: "active" });
      const calls = ion.requests.filter(v3);
      expect(calls.map((r) => r.query.get("pagination.offset"))).toStrictEqual(["0", "100", "200"]);
      expect(calls[0]!.query.get("pagination.limit")).toBe("100");
      expect(calls[0]!.query.get("customerId")).toBe("306870");
      expect(calls[0]!.query.get("subscriptionStatus")).toBe("ACTIVE");
    });

    it("gets one subscription by internal or provider id", async () => {
      const item = subscriptionsPage.items[0]!;
      ion.routes.push((r) => {
        const m = /\/customers\/306870\/subscriptions\/(.+)$/.exec(r.path);
        if (!m) return undefined;
        return m[1] === item.id || m[1] === item.subscriptionId
          ? { status: 200, body: { ...item, activityLogs: { totalCount: 1, items: [] } } }
          : { status: 404, body: { error: "NOT_FOUND", message: "Subscription * not found" } };
      });
      const c = client();
      expect((await c.subscriptions.get("306870", "2277242")).subscriptionId).toBe(item.subscriptionId);
      expect((await c.subscriptions.get("306870", item.subscriptionId)).id).toBe("2277242");
      await expect(c.subscriptions.get("306870", "nope")).rejects.toBeInstanceOf(IonNotFoundError);
      expect(c.counters()).toStrictEqual({ "GET /customers/{id}/subscriptions/{subscriptionId}": 3 });
    });
  });

  describe("orders", () => {
    it("creates an order once even when Ion answers 503 or 429 (no blind retry)", async () => {
      const replies = [
        { status: 503, body: { error: "UNAVAILABLE" }, headers: { "Retry-After": "1" } },
        { status: 429, body: "" },
      ];
      ion.routes.push((r) =>
        r.method === "POST" && r.path === `${V3}/customers/306870/orders` ? (replies.shift() ?? { status: 200, body: order }) : undefined,
      );
      const c = client();
      const req = { referenceId: "w365-7f1c", orderItems: [] };
      await expect(c.orders.create("306870", req)).rejects.toBeInstanceOf(IonServerError);
      await expect(c.orders.create("306870", req)).rejects.toBeInstanceOf(IonRateLimitError);
      expect(ion.requests.filter((r) => r.method === "POST" && v3(r))).toHaveLength(2);
      expect(delays).toStrictEqual([]);
      const created = await c.orders.create("306870", req);
      expect(created.orderId).toBe("ord-5521");
      expect(JSON.parse(ion.requests.filter((r) => r.method === "POST" && v3(r)).pop()!.body)).toStrictEqual(req);
    });

    it("gets, lists by customer or account with status, and finds an order by referenceId", async () => {
      const orders = Array.from({ length: 5 }, (_, i) => ({
        ...order,
        name: `accounts/${A}/customers/306870/orders/o${i}`,
        orderId: `o${i}`,
        referenceId: `ref-${i}`,
        orderItems: [],
      }));
      ion.routes.push((r) => {
        if (r.path === `${V3}/customers/306870/orders/o3`) return { status: 200, body: orders[3] };
        if (r.path === `${V3}/customers/306870/orders` || r.path === `${V3}/orders`) {
          const start = Number(r.query.get("pageToken") ?? "0");
          const size = Number(r.query.get("pageSize"));
          const next = start + size < orders.length ? String(start + size) : "";
          return { status: 200, body: { orders: orders.slice(start, start + size), nextPageToken: next } };
        }
        return undefined;
      });
      const c = client();
      expect((await c.orders.get("306870", "o3")).referenceId).toBe("ref-3");
      expect((await all(c.orders.list({ customerId: "306870", pageSize: 2, status: "COMPLETED" }))).map((o) => o.orderId)).toStrictEqual([
        "o0",
        "o1",
        "o2",
        "o3",
        "o4",
      ]);
      expect(
        ion.requests
          .filter(v3)
          .slice(1)
          .every((r) => r.query.get("status") === "COMPLETED"),
      ).toBe(true);
      expect(await all(c.orders.list({ pageSize: 10 }))).toHaveLength(5);
      expect((await c.orders.findByReferenceId("306870", "ref-4"))?.orderId).toBe("o4");
      expect(await c.orders.findByReferenceId("306870", "ref-missing")).toBeUndefined();
      expect(c.counters()["GET /orders"]).toBe(1);
    });
  });

  describe("retries", () => {
    it("retries GETs on 429 honouring Retry-After, and on 502/503/504 with backoff, logging attempt N of M", async () => {
      const replies = [
        { status: 429, body: { error: "RESOURCE_EXHAUSTED" }, headers: { "Retry-After": "3" } },
        { status: 503, body: { error: "UNAVAILABLE" } },
        { status: 502, body: "<html>bad gateway</html>" },
        { status: 504, body: "" },
      ];
      ion.routes.push((r) =>
        r.path === `${V3}/customers/1` ? (replies.shift() ?? { status: 200, body: { name: `accounts/${A}/customers/1` } }) : undefined,
      );
      const c = client();
      expect((await c.customers.get("1")).id).toBe("1");
      expect(delays[0]).toBe(3000);
      expect(delays).toHaveLength(4);
      expect(c.counters()["GET /customers/{id}"]).toBe(5);
      expect(infos.filter((i) => i.endpoint === "GET /customers/{id}").map((i) => [i.attempt, i.status])).toStrictEqual([
        [1, 429],
        [2, 503],
        [3, 502],
        [4, 504],
        [5, 200],
      ]);
      expect(logger.lines.some((l) => l.includes("attempt 2 of 6"))).toBe(true);
    });

    it("retries a dropped connection on GET and gives up after maxAttempts with the last error", async () => {
      ion.routes.push((r) => (r.path === `${V3}/customers/1` ? { status: 0, drop: true } : undefined));
      const c = client({ retry: { maxAttempts: 3 } });
      const error = await c.customers.get("1").catch((e: unknown) => e);
      expect(error).toBeInstanceOf(IonNetworkError);
      expect(c.counters()["GET /customers/{id}"]).toBe(3);
    });

    it("retries a dropped connection once on every read and on the full-replacement PUT, counting each under its endpoint", async () => {
      const answers: Record<string, unknown> = {
        [`GET ${V3}/customers`]: { customers: [{ name: `accounts/${A}/customers/1` }] },
        [`PUT ${V3}/customers/1`]: customerCreated,
        [`GET ${V3}/customers/1/cloudProfiles`]: cloudProfiles,
        [`GET ${V3}/subscriptions`]: subscriptionsPage,
        [`GET ${V3}/customers/1/subscriptions/s-1`]: { id: "s-1", customerId: "1" },
      };
      const seen = new Map<string, number>();
      ion.routes.push((r) => {
        const key = `${r.method} ${r.path}`;
        if (!(key in answers)) return undefined;
        seen.set(key, (seen.get(key) ?? 0) + 1);
        return seen.get(key) === 1 ? { status: 0, drop: true } : { status: 200, body: answers[key] };
      });
      const c = client();
      expect(await all(c.customers.list())).toHaveLength(1);
      await c.customers.update("1", CONTOSO);
      expect(await c.customers.cloudProfiles("1")).toHaveLength(2);
      expect((await c.subscriptions.page(0, 10)).items.length).toBeGreaterThan(0);
      expect((await c.subscriptions.get("1", "s-1")).id).toBe("s-1");
      expect([...seen.values()]).toEqual([2, 2, 2, 2, 2]);
      expect(c.counters()).toMatchObject({
        "GET /customers": 2,
        "PUT /customers/{id}": 2,
        "GET /customers/{id}/cloudProfiles": 2,
        "GET /subscriptions": 2,
        "GET /customers/{id}/subscriptions/{subscriptionId}": 2,
      });
    });

    it("sends JSON headers (a Content-Type only with a body) to the base URL without trailing slashes and the trimmed Account ID", async () => {
      ion.routes.push((r) => (r.path === `${V3}/customers/1` ? { status: 200, body: { name: `accounts/${A}/customers/1` } } : undefined));
      ion.routes.push((r) => (r.method === "POST" && r.path === `${V3}/customers` ? { status: 200, body: customerCreated } : undefined));
      const c = client({ baseUrl: ion.url + "//", accountId: ` ${A} ` });
      await c.customers.get("1");
      await c.customers.create(CONTOSO);
      const [get, post] = ion.requests.filter(v3);
      expect(get!.path).toBe(`${V3}/customers/1`);
      expect(get!.headers.accept).toBe("application/json");
      expect(get!.headers["content-type"]).toBeUndefined();
      expect(post!.headers.accept).toBe("application/json");
      expect(post!.headers["content-type"]).toBe("application/json");
    });

    it("retries a GET answered 500 (Ion documents 500 as services down) and then succeeds", async () => {
      let failures = 2;
      ion.routes.push((r) =>
        r.path === `${V3}/customers/1` && failures-- > 0 ? { status: 500, body: { error: "INTERNAL_ERROR", code: 500 } } : undefined,
      );
      ion.routes.push((r) => (r.path === `${V3}/customers/1` ? { status: 200, body: { name: `accounts/${A}/customers/1` } } : undefined));
      const c = client();
      expect((await c.customers.get("1")).id).toBe("1");
      expect(c.counters()["GET /customers/{id}"]).toBe(3);
    });

    it("gives up on a GET that keeps answering 500 after the policy's attempts; never repeats 400/404, nor 500 on a POST", async () => {
      ion.routes.push((r) => (r.path === `${V3}/customers/1` ? { status: 500, body: { error: "INTERNAL_ERROR" } } : undefined));
      ion.routes.push((r) => (r.path === `${V3}/customers/2` ? { status: 404, body: { error: "NOT_FOUND" } } : undefined));
      ion.routes.push((r) =>
        r.path === `${V3}/customers` && r.method === "POST" ? { status: 500, body: { error: "INTERNAL_ERROR" } } : undefined,
      );
      const c = client();
      await expect(c.customers.get("1")).rejects.toBeInstanceOf(IonServerError);
      expect(c.counters()["GET /customers/{id}"]).toBe(6);
      await expect(c.customers.get("2")).rejects.toBeInstanceOf(IonNotFoundError);
      expect(c.counters()["GET /customers/{id}"]).toBe(7);
      await expect(
        c.customers.create({ customerOrganization: "Contoso", customerEmail: "a@contoso.example" } as never),
      ).rejects.toBeInstanceOf(IonServerError);
      expect(c.counters()["POST /customers"]).toBe(1);
    });
  });

  describe("authentication", () => {
    it("on 401 refreshes once and retries with the new token", async () => {
      const c = client();
      ion.routes.push((r) =>
        r.path === `${V3}/customers/1` && r.headers.authorization === "Bearer ACCESSTOKEN0002ISSUED"
          ? { status: 200, body: { name: `accounts/${A}/customers/1` } }
          : undefined,
      );
      ion.routes.push((r) => (r.path === `${V3}/customers/1` ? { status: 401, body: { error: "UNAUTHENTICATED" } } : undefined));
      expect((await c.customers.get("1")).id).toBe("1");
      expect(ion.presented).toStrictEqual(["PORTALREFRESHTOKEN0001", "REFRESHTOKEN0001ROTATED"]);
    });

    it("a persistent 401 fails after one refresh, not in a loop", async () => {
      ion.routes.push((r) => (r.path === `${V3}/customers/1` ? { status: 401, body: { error: "UNAUTHENTICATED" } } : undefined));
      const c = client();
      await expect(c.customers.get("1")).rejects.toMatchObject({ code: "ION_ACCESS_TOKEN_REJECTED" });
      expect(ion.presented).toHaveLength(2);
    });

    it("on 403 (Ion's answer to a dead session) refreshes once and retries with the new token", async () => {
      const c = client();
      ion.routes.push((r) =>
        r.path === `${V3}/customers/1` && r.headers.authorization === "Bearer ACCESSTOKEN0002ISSUED"
          ? { status: 200, body: { name: `accounts/${A}/customers/1` } }
          : undefined,
      );
      ion.routes.push((r) =>
        r.path === `${V3}/customers/1`
          ? { status: 403, body: { error: "PERMISSION_DENIED", message: `permission denied to access accounts/${A}`, code: 403 } }
          : undefined,
      );
      expect((await c.customers.get("1")).id).toBe("1");
      expect(ion.presented).toStrictEqual(["PORTALREFRESHTOKEN0001", "REFRESHTOKEN0001ROTATED"]);
    });

    it("a 403 to a newly issued access token names the Account ID, after exactly one refresh", async () => {
      ion.routes.push((r) =>
        v3(r)
          ? { status: 403, body: { error: "PERMISSION_DENIED", message: `permission denied to access accounts/${A}`, code: 403 } }
          : undefined,
      );
      const error = (await client()
        .customers.get("1")
        .catch((e: unknown) => e)) as IonPermissionError;
      expect(error).toBeInstanceOf(IonPermissionError);
      expect(error.message).toContain(`even with a newly issued access token`);
      expect(error.message).toContain(`Account ID ${A} does not match these credentials`);
      expect(ion.presented).toHaveLength(2);
    });

    it("validateAccess posts the access token form-encoded and returns the lifetimes", async () => {
      ion.routes.push((r) =>
        r.path === "/oauth/validateAccess"
          ? new URLSearchParams(r.body).get("access_token") === "ACCESSTOKEN0001ISSUED"
            ? { status: 200, body: { access_expires_in: 6673, refresh_expires_in: 2764273 } }
            : { status: 400, body: { error: "invalid" } }
          : undefined,
      );
      expect(await client().validateAccess()).toStrictEqual({ accessExpiresInS: 6673, refreshExpiresInS: 2764273 });
    });

    it("checkV1 reads v1 invoices (v1 customers is being retired), sends HTTP Basic with the API Key/Secret and reports a wrong pair as ION_V1_UNAUTHORIZED", async () => {
      const good = "Basic " + Buffer.from("APIKEY-123:APISECRETVALUE-456").toString("base64");
      ion.routes.push((r) =>
        r.path === "/api/v1/invoices/myinvoices"
          ? r.headers.authorization === good
            ? { status: 200, body: [] }
            : { status: 401, body: "Unauthorized" }
          : undefined,
      );
      const c = client();
      await expect(c.checkV1()).resolves.toBeUndefined();
      const call = ion.requests.find((r) => r.path === "/api/v1/invoices/myinvoices")!;
      expect([call.query.get("limit"), call.query.get("offset")]).toStrictEqual(["1", "0"]);
      const error = (await c.checkV1("APIKEY-123", "WRONGSECRET-789").catch((e: unknown) => e)) as IonV1AuthError;
      expect(error).toBeInstanceOf(IonV1AuthError);
      expect(error.code).toBe("ION_V1_UNAUTHORIZED");
      expect(error.message).not.toContain("WRONGSECRET-789");
      await expect(new IonClient({ baseUrl: ion.url, accountId: A, tokens }).checkV1()).rejects.toMatchObject({
        code: "ION_V1_UNAUTHORIZED",
      });
    });
  });

  it("keeps at most maxConcurrency requests in flight", async () => {
    let active = 0;
    let peak = 0;
    ion.routes.push(async (r) => {
      if (!r.path.startsWith(`${V3}/customers/`)) return undefined;
      active++;
      peak = Math.max(peak, active);
      await new Promise((res) => setTimeout(res, 10));
      active--;
      return { status: 200, body: cloudProfiles };
    });
    const c = client({ maxConcurrency: 3 });
    await Promise.all(Array.from({ length: 15 }, (_, i) => c.customers.cloudProfiles(String(i))));
    expect(peak).toBe(3);
    expect(c.peakConcurrency()).toBe(3);
  });

  it("never writes a token or secret to the log", async () => {
    ion.routes.push((r) =>
      r.path === `${V3}/customers/1` ? { status: 503, body: { error: "UNAVAILABLE", message: "echo ACCESSTOKEN0001ISSUED" } } : undefined,
    );
    const c = client({ retry: { maxAttempts: 2 } });
    const error = (await c.customers.get("1").catch((e: unknown) => e)) as Error;
    const everything = logger.lines.join("\n") + error.message + JSON.stringify(error);
    for (const secret of ["ACCESSTOKEN0001ISSUED", "REFRESHTOKEN0001ROTATED", "PORTALREFRESHTOKEN0001", "APISECRETVALUE-456"])
      expect(everything).not.toContain(secret);
    expect(logger.lines.length).toBeGreaterThan(0);
  });
});

describe("retry classification", () => {
  const { classifyIonError, classifyNonIdempotent } = jest.requireActual("../../../src/ion") as typeof import("../../../src/ion");
  const { shouldRetry, DEFAULT_RETRY } = jest.requireActual("../../../src/shared/retry") as typeof import("../../../src/shared/retry");
  it("lets a non-idempotent call retry only when the connection was refused", () => {
    const refused = classifyNonIdempotent(new IonNetworkError("x", "ECONNREFUSED"));
    const reset = classifyNonIdempotent(new IonNetworkError("x", "ECONNRESET"));
    const throttled = classifyNonIdempotent(new IonRateLimitError("x", 1000));
    expect(shouldRetry(refused, 1, DEFAULT_RETRY, false)).toBe(true);
    expect(shouldRetry(reset, 1, DEFAULT_RETRY, false)).toBe(false);
    expect(shouldRetry(throttled, 1, DEFAULT_RETRY, false)).toBe(false);
  });
  it("classifies typed errors for idempotent calls", () => {
    expect(classifyIonError(new IonRateLimitError("x", 1500))).toStrictEqual({ status: 429, retryAfterMs: 1500 });
    expect(classifyIonError(new IonNetworkError("x", "ECONNRESET"))).toStrictEqual({ networkCode: "ECONNRESET" });
    expect(classifyIonError(new Error("bug"))).toStrictEqual({ status: 0 });
  });
});
