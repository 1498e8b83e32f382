import { DataverseClient, DataverseClientOptions, RequestInfo } from "../../../src/dataverse";
import {
  DataverseAuthError,
  DataverseConcurrencyError,
  DataverseNetworkError,
  DataverseNotFoundError,
  DataverseThrottledError,
  DataverseValidationError,
} from "../../../src/dataverse/errors";
import { memoryLogger } from "../../../src/shared/logger";
import { forgetSecrets } from "../../../src/shared/redact";
import { API, DataverseHandler, errorReply, FakeDataverse, fakeTime, startFakeDataverse } from "../../support/httpStubs";

const TOKEN = "static-token-abcdef-123456";
const ID = "a1b2c3d4-0000-4000-8000-000000000001";
const WHO = { UserId: "u1", BusinessUnitId: "b1", OrganizationId: "o1" };

let fake: FakeDataverse;
let time: ReturnType<typeof fakeTime>;
const seen: RequestInfo[] = [];

function client(extra: Partial<DataverseClientOptions> = {}): DataverseClient {
  return new DataverseClient({
    url: fake.url,
    auth: { kind: "static", token: TOKEN },
    sleep: time.sleep,
    clock: time.clock,
    random: () => 0,
    onRequest: (i) => seen.push(i),
    ...extra,
  });
}

beforeEach(async () => {
  time = fakeTime();
  seen.length = 0;
  fake = await startFakeDataverse(() => ({ status: 500 }));
});
afterEach(async () => {
  await fake.close();
  forgetSecrets();
});

const use = (h: DataverseHandler) => fake.setHandler(h);

describe("DataverseClient basics", () => {
  it("calls WhoAmI under /api/data/v9.2/ with the bearer token and OData headers, whatever the URL form", async () => {
    use(() => ({ status: 200, body: WHO }));
    for (const url of [fake.url, `${fake.url}/`, `${fake.url}/api/data/v9.2/`]) {
      await expect(client({ url }).whoAmI()).resolves.toStrictEqual(WHO);
    }
    expect(fake.requests.map((r) => r.rawUrl)).toStrictEqual([`${API}WhoAmI`, `${API}WhoAmI`, `${API}WhoAmI`]);
    const h = fake.requests[0]!.headers;
    expect(h.authorization).toBe(`Bearer ${TOKEN}`);
    expect(h["odata-version"]).toBe("4.0");
    expect(h["odata-maxversion"]).toBe("4.0");
    expect(h.accept).toBe("application/json");
  });

  it("sends MSCRMCallerID when impersonating", async () => {
    use(() => ({ status: 200, body: WHO }));
    await client({ callerId: ID }).whoAmI();
    expect(fake.requests[0]!.headers.mscrmcallerid).toBe(ID);
  });

  it("retrieves by GUID and by alternate key with $select/$expand, and maps 404 to DataverseNotFoundError", async () => {
    use((req) =>
      req.path.startsWith(`w365_provideraccounts(${ID})`)
        ? { status: 200, body: { w365_name: "Contoso", "@odata.etag": 'W/"5"' } }
        : errorReply(404, "0x80040217", "w365_provideraccount With Id = x Does Not Exist"),
    );
    const c = client();
    await expect(
      c.retrieve("w365_provideraccounts", ID, { select: ["w365_name"], expand: "w365_account($select=name)" }),
    ).resolves.toStrictEqual({ w365_name: "Contoso", "@odata.etag": 'W/"5"' });
    expect(fake.requests[0]!.path).toBe(`w365_provideraccounts(${ID})?$select=w365_name&$expand=w365_account($select=name)`);
    await expect(c.retrieve("w365_provideraccounts", { _w365_connection_value: ID, w365_ioncustomerid: "42" })).rejects.toBeInstanceOf(
      DataverseNotFoundError,
    );
    expect(fake.requests[1]!.path).toBe(`w365_provideraccounts(_w365_connection_value=${ID},w365_ioncustomerid='42')`);
    await expect(c.tryRetrieve("w365_provideraccounts", { w365_ioncustomerid: "43" })).resolves.toBeUndefined();
  });

  it("creates a row and returns the id from OData-EntityId", async () => {
    use(() => ({ status: 204, headers: { "OData-EntityId": `${fake.url}${API}accounts(${ID.toUpperCase()})` } }));
    await expect(client().create("accounts", { name: "Contoso" })).resolves.toBe(ID);
    expect(fake.requests[0]!.method).toBe("POST");
    expect(JSON.parse(fake.requests[0]!.body)).toStrictEqual({ name: "Contoso" });
    expect(fake.requests[0]!.headers["content-type"]).toMatch(/^application\/json/);
  });

  it("updates with If-Match: * by default and with the given ETag; 412 becomes DataverseConcurrencyError", async () => {
    use((req) =>
      req.headers["if-match"] === 'W/"7"'
        ? errorReply(412, "", "The version of the existing record doesn't match the RowVersion property provided.")
        : { status: 204 },
    );
    const c = client();
    await c.update("accounts", ID, { name: "x" });
    expect(fake.requests[0]!.headers["if-match"]).toBe("*");
    expect(fake.requests[0]!.method).toBe("PATCH");
    await expect(c.update("accounts", ID, { name: "y" }, { ifMatch: 'W/"7"' })).rejects.toBeInstanceOf(DataverseConcurrencyError);
  });

  it("upserts by alternate key with the right conditional headers for each mode", async () => {
    use(() => ({ status: 204, headers: { "OData-EntityId": `${fake.url}${API}w365_provideraccounts(${ID})` } }));
    const c = client();
    const key = { _w365_connection_value: ID, w365_ioncustomerid: "9" };
    await expect(c.upsert("w365_provideraccounts", key, { w365_name: "A" })).resolves.toBe(ID);
    await c.upsert("w365_provideraccounts", key, { w365_name: "A" }, { mode: "createOnly" });
    await c.upsert("w365_provideraccounts", key, { w365_name: "A" }, { mode: "updateOnly" });
    const [plain, createOnly, updateOnly] = fake.requests;
    expect(plain!.headers["if-match"]).toBeUndefined();
    expect(plain!.headers["if-none-match"]).toBeUndefined();
    expect(createOnly!.headers["if-none-match"]).toBe("*");
    expect(updateOnly!.headers["if-match"]).toBe("*");
    expect(plain!.path).toBe(`w365_provideraccounts(_w365_connection_value=${ID},w365_ioncustomerid='9')`);
  });

  it("reports createOnly on an existing row as DataverseConcurrencyError", async () => {
    use(() => errorReply(412, "", "A record with matching key values already exists."));
    await expect(client().upsert("accounts", { accountnumber: "A" }, {}, { mode: "createOnly" })).rejects.toBeInstanceOf(
      DataverseConcurrencyError,
    );
  });

  it("deletes, with If-Match when given", async () => {
    use(() => ({ status: 204 }));
    await client().delete("accounts", ID, { ifMatch: 'W/"3"' });
    expect(fake.requests[0]!.method).toBe("DELETE");
    expect(fake.requests[0]!.headers["if-match"]).toBe('W/"3"');
  });

  it("treats a 404 on a retried DELETE as done (the first attempt may have deleted it)", async () => {
    use((_req, i) => (i === 0 ? errorReply(503, "", "Service Unavailable") : errorReply(404, "0x80040217", "gone")));
    await expect(client().delete("accounts", ID)).resolves.toBeUndefined();
    expect(fake.requests).toHaveLength(2);
  });

  it("calls unbound and bound custom APIs", async () => {
    use((req) => (req.path === "w365_Ping" ? { status: 200, body: { Pong: true } } : { status: 204 }));
    const c = client();
    await expect(c.executeAction("w365_Ping", { Text: "hi" })).resolves.toStrictEqual({ Pong: true });
    await expect(
      c.executeAction("w365_SyncProviderAccounts", { DryRun: true }, { entitySet: "w365_providerconnections", id: ID }),
    ).resolves.toStrictEqual({});
    expect(fake.requests[1]!.path).toBe(`w365_providerconnections(${ID})/Microsoft.Dynamics.CRM.w365_SyncProviderAccounts`);
    expect(JSON.parse(fake.requests[1]!.body)).toStrictEqual({ DryRun: true });
    expect(() => c.executeAction("bad name")).rejects.toThrow(/not a valid action name/);
  });

  it("maps 400 with Dataverse's code to DataverseValidationError", async () => {
    use(() => errorReply(400, "0x80060888", "Could not find a property named 'nope' on type 'Microsoft.Dynamics.CRM.account'."));
    const error = await client()
      .create("accounts", { nope: 1 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataverseValidationError);
    expect((error as DataverseValidationError).dataverseCode).toBe("0x80060888");
  });
});

describe("DataverseClient queries", () => {
  it("follows @odata.nextLink, resending the same Prefer page size, until the last page", async () => {
    use((req) => {
      const skip = /\$skiptoken=([^&]+)/.exec(req.rawUrl)?.[1];
      const page = skip ? Number(skip) : 0;
      const rows = [{ n: page * 2 + 1 }, { n: page * 2 + 2 }];
      return {
        status: 200,
        body: {
          value: rows,
          ...(page < 2 ? { "@odata.nextLink": `${fake.url}${req.rawUrl.split("&$skiptoken")[0]}&$skiptoken=${page + 1}` } : {}),
        },
      };
    });
    const c = client();
    const rows: unknown[] = [];
    for await (const row of c.query<{ n: number }>("accounts", {
      select: ["name", "accountid"],
      filter: "statecode eq 0 and name ne 'A&B'",
      orderby: "name asc",
      pageSize: 2,
    }))
      rows.push(row.n);
    expect(rows).toStrictEqual([1, 2, 3, 4, 5, 6]);
    expect(fake.requests).toHaveLength(3);
    for (const r of fake.requests) expect(r.headers.prefer).toBe("odata.maxpagesize=2");
    expect(fake.requests[0]!.path).toBe("accounts?$select=name,accountid&$filter=statecode eq 0 and name ne 'A&B'&$orderby=name asc");
    expect(fake.requests[0]!.rawUrl).toContain("%26B"); // the & inside the literal is encoded
    expect(c.stats().requests).toBe(3);
  });

  it("yields pages, asks 5000 by default, and sends $top without a page preference", async () => {
    use(() => ({ status: 200, body: { value: [{ a: 1 }], "@odata.count": 1 } }));
    const c = client();
    const pages: unknown[][] = [];
    for await (const p of c.queryPages("accounts")) pages.push(p);
    expect(pages).toStrictEqual([[{ a: 1 }]]);
    expect(fake.requests[0]!.headers.prefer).toBe("odata.maxpagesize=5000");
    await c.queryPage("accounts", { top: 3, includeAnnotations: true, count: true });
    expect(fake.requests[1]!.path).toBe("accounts?$top=3&$count=true");
    expect(fake.requests[1]!.headers.prefer).toBe('odata.include-annotations="*"');
    await expect(c.queryPage("accounts", { count: true })).resolves.toMatchObject({ count: 1 });
    await expect(c.queryPage("accounts", { pageSize: 5001 })).rejects.toThrow(/pageSize/);
  });

  it("collects every page with queryAll", async () => {
    use((req) => {
      const page = req.rawUrl.includes("skiptoken") ? 1 : 0;
      return {
        status: 200,
        body: {
          value: [{ n: page * 2 + 1 }, { n: page * 2 + 2 }],
          ...(page === 0 ? { "@odata.nextLink": `${fake.url}${req.rawUrl}&$skiptoken=1` } : {}),
        },
      };
    });
    const rows = await client().queryAll<{ n: number }>("accounts", { select: ["name"], pageSize: 2 });
    expect(rows.map((r) => r.n)).toStrictEqual([1, 2, 3, 4]);
    expect(fake.requests).toHaveLength(2);
  });

  it("reads the first match with one $top=1 request, undefined when nothing matches", async () => {
    use((req) => ({
      status: 200,
      body: { value: req.path.includes("'none'") ? [] : [{ accountid: ID }], "@odata.nextLink": `${fake.url}${API}accounts?$skiptoken=1` },
    }));
    const c = client();
    await expect(c.queryFirst<{ accountid: string }>("accounts", { select: ["accountid"], filter: "name eq 'A'" })).resolves.toStrictEqual({
      accountid: ID,
    });
    await expect(c.queryFirst("accounts", { filter: "name eq 'none'" })).resolves.toBeUndefined();
    expect(fake.requests.map((r) => r.path)).toStrictEqual([
      "accounts?$select=accountid&$filter=name eq 'A'&$top=1",
      "accounts?$filter=name eq 'none'&$top=1",
    ]);
  });

  it("sends a nextLink that names another host to our own API root only", async () => {
    use((req) => ({
      status: 200,
      body: {
        value: [],
        ...(req.rawUrl.includes("skiptoken") ? {} : { "@odata.nextLink": `https://evil.example/api/data/v9.2/accounts?$skiptoken=abc` }),
      },
    }));
    const pages = [];
    for await (const p of client().queryPages("accounts")) pages.push(p);
    expect(pages).toHaveLength(2);
    expect(fake.requests[1]!.rawUrl).toBe(`${API}accounts?$skiptoken=abc`);
  });
});

describe("DataverseClient service protection", () => {
  it("retries a 429 after the Retry-After delay (no wall clock) and counts the throttle", async () => {
    use((_req, i) =>
      i < 2
        ? errorReply(429, "0x80072322", "Number of requests exceeded the limit of 6000 over time window of 300 seconds.", {
            "Retry-After": String(3 + i),
          })
        : { status: 200, body: WHO },
    );
    const c = client();
    await expect(c.whoAmI()).resolves.toStrictEqual(WHO);
    expect(time.sleeps).toStrictEqual([3000, 4000]);
    expect(c.stats()).toStrictEqual({ requests: 3, batchItems: 0, throttled: 2, retries: 2 });
    expect(seen.map((s) => [s.status, s.attempt, s.throttled])).toStrictEqual([
      [429, 1, true],
      [429, 2, true],
      [200, 3, false],
    ]);
  });

  it("retries a 429 even for a create (the server did no work) and only fails once attempts run out", async () => {
    use(() => errorReply(429, "0x80072326", "Number of concurrent requests exceeded the limit of 52.", { "Retry-After": "1" }));
    const c = client({ retry: { maxAttempts: 3 } });
    const error = await c.create("accounts", { name: "A" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataverseThrottledError);
    expect((error as DataverseThrottledError).retryAfterMs).toBe(1000);
    expect(fake.requests).toHaveLength(3);
    expect(time.sleeps).toStrictEqual([1000, 1000]);
  });

  it("holds new requests back while the service said to wait", async () => {
    let now = 1_000_000;
    const sleeps: number[] = [];
    use((_req, i) => (i === 0 ? errorReply(429, "0x80072322", "limit", { "Retry-After": "10" }) : { status: 200, body: WHO }));
    // This sleep does not move the clock, so the second call still finds the service's wait running.
    const c = client({ clock: { now: () => now }, sleep: async (ms) => void sleeps.push(ms) });
    await c.whoAmI();
    expect(sleeps).toStrictEqual([10_000]);
    await c.whoAmI();
    expect(sleeps).toStrictEqual([10_000, 10_000]);
    now += 10_000;
    await c.whoAmI();
    expect(sleeps).toStrictEqual([10_000, 10_000]);
  });

  it("pauses only the lane that was told to wait; other lanes of the same identity go on", async () => {
    const now = 1_000_000;
    const sleeps: string[] = [];
    use((_req, i) => (i === 0 ? errorReply(429, "0x80072322", "limit", { "Retry-After": "10" }) : { status: 200, body: WHO }));
    const root = client({ clock: { now: () => now }, sleep: async (ms) => void sleeps.push(String(ms)) });
    const waits: string[] = [];
    const a = root.lane("connector:a", { onThrottleWait: (w) => waits.push(`${w.lane}:${w.delayMs}`) });
    const b = root.lane("connector:b", { onThrottleWait: (w) => waits.push(`${w.lane}:${w.delayMs}`) });
    await a.whoAmI(); // 429, then its retry after 10 s
    expect(sleeps).toStrictEqual(["10000"]);
    await b.whoAmI(); // another lane: not paused
    await root.whoAmI(); // nor the root
    expect(sleeps).toStrictEqual(["10000"]);
    await a.whoAmI(); // the throttled lane waits out its Retry-After before sending again
    expect(sleeps).toStrictEqual(["10000", "10000"]);
    expect(waits).toStrictEqual(["connector:a:10000"]);
    expect([a.stats().throttled, b.stats().throttled, root.stats().throttled]).toStrictEqual([1, 0, 0]);
  });

  it("shares one capacity between lanes, sized by the environment's dop hint, each lane under its own cap", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    use((_req, i) => (i === 0 ? { status: 200, body: WHO, headers: { "x-ms-dop-hint": "4" } } : { status: 200, body: WHO, hold: gate }));
    const root = client({ maxConcurrency: 3 });
    await root.whoAmI();
    expect(root.dopHint).toBe(4);
    const a = root.lane("a");
    const b = root.lane("b");
    const calls = [...Array.from({ length: 6 }, () => a.whoAmI()), ...Array.from({ length: 6 }, () => b.whoAmI())];
    for (let i = 0; i < 50 && fake.inFlight() < 4; i++) await new Promise((r) => setTimeout(r, 10));
    expect(fake.inFlight()).toBe(4);
    expect(root.identityLoad).toMatchObject({ inFlight: 4, capacity: 4 });
    // Lane a stops at its own cap (3), so lane b still gets the fourth slot.
    expect([a.peakConcurrency, b.peakConcurrency]).toStrictEqual([3, 1]);
    release();
    await Promise.all(calls);
    expect(root.identityLoad.peakInFlight).toBe(4);
  });

  it("never has more requests in flight than maxConcurrency", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    use(() => ({ status: 200, body: WHO, hold: gate }));
    const c = client({ maxConcurrency: 3 });
    const calls = Array.from({ length: 10 }, () => c.whoAmI());
    await new Promise((r) => setTimeout(r, 50));
    expect(fake.inFlight()).toBe(3);
    release();
    await Promise.all(calls);
    expect(fake.peakInFlight()).toBe(3);
    expect(c.peakConcurrency).toBe(3);
  });

  it("retries 503 for reads with backoff but does not retry a non-idempotent action on 502", async () => {
    use((_req, i) => (i === 0 ? errorReply(503, "", "busy") : { status: 200, body: WHO }));
    const c = client({ retry: { baseDelayMs: 100 } });
    await c.whoAmI();
    expect(time.sleeps).toStrictEqual([100]);
    use(() => errorReply(502, "", "bad gateway"));
    await expect(c.executeAction("w365_Ping")).rejects.toMatchObject({ code: "DATAVERSE_SERVER", statusCode: 502 });
    expect(fake.requests).toHaveLength(3);
  });
});

describe("DataverseClient failures", () => {
  it("turns a refused connection into DataverseNetworkError after retrying (request never reached the server)", async () => {
    await fake.close();
    const c = client({ retry: { maxAttempts: 2 } });
    const error = await c.whoAmI().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataverseNetworkError);
    expect((error as DataverseNetworkError).networkCode).toBe("ECONNREFUSED");
    expect(c.stats().requests).toBe(2);
    fake = await startFakeDataverse(() => ({ status: 200 }));
  });

  it("times out a hanging request with ETIMEDOUT", async () => {
    use(() => ({ status: 200, body: WHO, hold: new Promise(() => undefined) }));
    const error = await client({ timeoutMs: 100, retry: { maxAttempts: 1 } })
      .whoAmI()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataverseNetworkError);
    expect((error as DataverseNetworkError).networkCode).toBe("ETIMEDOUT");
  });

  it("reports a rejected static token as DataverseAuthError without the token in message, JSON or logs", async () => {
    use(() => errorReply(401, "", `Bearer ${TOKEN} is not valid`, { "x-ms-service-request-id": "rq-9" }));
    const logger = memoryLogger();
    const error = (await client({ logger })
      .whoAmI()
      .catch((e: unknown) => e)) as DataverseAuthError;
    expect(error).toBeInstanceOf(DataverseAuthError);
    expect(error.requestId).toBe("rq-9");
    expect(fake.requests).toHaveLength(1);
    const everything = [error.message, error.userMessage, JSON.stringify(error.toJSON()), JSON.stringify(error.raw), ...logger.lines].join(
      "\n",
    );
    expect(everything).not.toContain(TOKEN);
    expect(logger.lines.some((l) => l.includes("rejected the token"))).toBe(true);
  });

  it("gets a fresh token from a provider once after a 401", async () => {
    const tokens = ["provider-token-old-1", "provider-token-new-2"];
    let calls = 0;
    use((req) =>
      req.headers.authorization === "Bearer provider-token-new-2" ? { status: 200, body: WHO } : errorReply(401, "", "expired"),
    );
    const c = client({ auth: { kind: "provider", getToken: async () => tokens[Math.min(calls++, 1)]! } });
    await expect(c.whoAmI()).resolves.toStrictEqual(WHO);
    expect(fake.requests.map((r) => r.headers.authorization)).toStrictEqual(["Bearer provider-token-old-1", "Bearer provider-token-new-2"]);
  });

  it("wraps a failing token provider in DataverseAuthError and sends nothing", async () => {
    const error = await client({ auth: { kind: "provider", getToken: async () => Promise.reject(new Error("vault locked")) } })
      .whoAmI()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataverseAuthError);
    expect((error as Error).message).toContain("vault locked");
    expect(fake.requests).toHaveLength(0);
  });

  it("refuses an empty static token and a bad URL at construction", () => {
    expect(() => new DataverseClient({ url: fake.url, auth: { kind: "static", token: "" } })).toThrow(DataverseAuthError);
    expect(() => new DataverseClient({ url: "not a url", auth: { kind: "static", token: TOKEN } })).toThrow(/not a valid URL/);
  });
});
