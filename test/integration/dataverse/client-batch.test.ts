import { BatchOperation, DataverseClient } from "../../../src/dataverse";
import {
  DataverseAuthError,
  DataverseConcurrencyError,
  DataverseNotExecutedError,
  DataverseThrottledError,
  DataverseValidationError,
} from "../../../src/dataverse/errors";
import { ValidationError } from "../../../src/shared/errors";
import {
  errorReply,
  FakeDataverse,
  fakeTime,
  parseBatchRequest,
  ParsedBatchRequestPart,
  PartReply,
  Reply,
  startFakeDataverse,
  writeBatchResponse,
} from "../../support/httpStubs";

const TOKEN = "batch-test-token-123456";
const guid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;

type OpHandler = (part: ParsedBatchRequestPart, requestIndex: number) => PartReply;

/** Answers $batch like Dataverse (reference 1.7): parts in order, change sets all-or-nothing, stop at the first failure unless continue-on-error. */
function batchService(onPart: OpHandler): (req: { path: string; headers: Record<string, unknown>; body: string }, index: number) => Reply {
  return (req, index) => {
    if (req.path !== "$batch") return errorReply(404, "0x8006088a", "Resource not found");
    const continueOnError = String(req.headers.prefer ?? "").includes("odata.continue-on-error");
    const units = parseBatchRequest(String(req.headers["content-type"]), req.body);
    const out: Parameters<typeof writeBatchResponse>[0] = [];
    let failedStatus: number | undefined;
    for (const unit of units) {
      if (!unit.changeset) {
        const reply = onPart(unit.part, index);
        out.push({ changeset: false, reply });
        if (reply.status >= 400 && !continueOnError) {
          failedStatus = reply.status;
          break;
        }
        continue;
      }
      const replies: Array<PartReply & { contentId?: string }> = [];
      let failing: (PartReply & { contentId?: string }) | undefined;
      for (const part of unit.parts) {
        const reply = { ...onPart(part, index), ...(part.contentId ? { contentId: part.contentId } : {}) };
        if (reply.status >= 400) {
          failing = reply;
          break;
        }
        replies.push(reply);
      }
      if (failing) {
        out.push({ changeset: false, reply: failing }); // a failed change set answers with its one error
        if (!continueOnError) {
          failedStatus = failing.status;
          break;
        }
      } else out.push({ changeset: true, replies });
    }
    const { contentType, body } = writeBatchResponse(out);
    return { status: failedStatus ?? 200, headers: { "Content-Type": contentType }, body };
  };
}

const created = (set: string, n: number): PartReply => ({
  status: 204,
  statusText: "No Content",
  headers: { "OData-EntityId": `https://org.crm.dynamics.com/api/data/v9.2/${set}(${guid(n)})` },
});

let fake: FakeDataverse;
let time: ReturnType<typeof fakeTime>;
beforeEach(async () => {
  time = fakeTime();
  fake = await startFakeDataverse(() => ({ status: 500 }));
});
afterEach(() => fake.close());

function client(): DataverseClient {
  return new DataverseClient({
    url: fake.url,
    auth: { kind: "static", token: TOKEN },
    sleep: time.sleep,
    clock: time.clock,
    random: () => 0,
  });
}

const upserts = (n: number): BatchOperation[] =>
  Array.from({ length: n }, (_, i) => ({
    method: "PATCH",
    entitySet: "w365_provideraccounts",
    key: { _w365_connection_value: guid(0), w365_ioncustomerid: String(i) },
    body: { w365_name: `C${i}` },
  }));

describe("DataverseClient.batch", () => {
  it("splits 2,500 upserts into 1,000 + 1,000 + 500 with continue-on-error, one result per operation in order", async () => {
    const parts: ParsedBatchRequestPart[] = [];
    fake.setHandler(
      batchService((part) => {
        parts.push(part);
        const n = Number(/w365_ioncustomerid='(\d+)'/.exec(part.url)?.[1]);
        return created("w365_provideraccounts", n);
      }),
    );
    const c = client();
    const results = await c.batch(upserts(2500));
    expect(fake.requests.map((r) => parseBatchRequest(String(r.headers["content-type"]), r.body).length)).toStrictEqual([1000, 1000, 500]);
    expect(fake.requests.every((r) => r.headers.prefer === "odata.continue-on-error")).toBe(true);
    expect(results).toHaveLength(2500);
    expect(results.every((r, i) => r.ok && r.id === guid(i))).toBe(true);
    expect(c.stats()).toStrictEqual({ requests: 3, batchItems: 2500, throttled: 0, retries: 0 });
    expect(parts[0]).toMatchObject({
      method: "PATCH",
      url: `/api/data/v9.2/w365_provideraccounts(_w365_connection_value=${guid(0)},w365_ioncustomerid='0')`,
      headers: { "content-type": "application/json; type=entry" },
    });
    expect(JSON.parse(parts[0]!.body)).toStrictEqual({ w365_name: "C0" });
  });

  it("sends a pre-serialized bodyJson as the part's body, byte for byte, with the entry content type", async () => {
    const parts: ParsedBatchRequestPart[] = [];
    fake.setHandler(batchService((part) => (parts.push(part), created("w365_provideraccounts", 1))));
    const json = '{"w365_name":"C\\u00e9","w365_quantity":3}';
    const results = await client().batch([{ method: "PATCH", entitySet: "w365_provideraccounts", key: guid(1), bodyJson: json }]);
    expect(results[0]).toMatchObject({ ok: true, id: guid(1) });
    expect(parts[0]!.body).toBe(json);
    expect(parts[0]!.headers["content-type"]).toBe("application/json; type=entry");
  });

  it("keeps going past a failed operation and reports it with its typed error", async () => {
    fake.setHandler(
      batchService((part) =>
        part.url.includes("'1'")
          ? {
              status: 412,
              statusText: "Precondition Failed",
              body: { error: { code: "", message: "A record with matching key values already exists." } },
            }
          : created("x", 7),
      ),
    );
    const results = await client().batch(upserts(3).map((o) => ({ ...o, ifNoneMatch: "*" })));
    expect(results.map((r) => r.ok)).toStrictEqual([true, false, true]);
    const failed = results[1]!;
    if (failed.ok) throw new Error("expected failure");
    expect(failed.status).toBe(412);
    expect(failed.error).toBeInstanceOf(DataverseConcurrencyError);
    expect(failed.error.message).toContain("already exists");
  });

  it("without continue-on-error stops at the first failure: later operations and requests are not run", async () => {
    fake.setHandler(
      batchService((part) =>
        part.url.includes("'1'")
          ? { status: 400, statusText: "Bad Request", body: { error: { code: "0x80044331", message: "too long" } } }
          : created("x", 1),
      ),
    );
    const results = await client().batch(upserts(5), { continueOnError: false, batchSize: 3 });
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]!.headers.prefer).toBeUndefined();
    expect(results.map((r) => r.status)).toStrictEqual([204, 400, 424, 424, 424]);
    expect(results[1]!.ok === false && results[1]!.error).toBeInstanceOf(DataverseValidationError);
    expect(results[3]!.ok === false && results[3]!.error).toBeInstanceOf(DataverseNotExecutedError);
  });

  it("atomic: sends one change set with Content-IDs so later operations can reference $1", async () => {
    const seen: ParsedBatchRequestPart[] = [];
    fake.setHandler(
      batchService((part) => (seen.push(part), created(part.url.includes("contacts") ? "contacts" : "accounts", seen.length))),
    );
    const results = await client().batch(
      [
        { method: "POST", entitySet: "accounts", body: { name: "A" }, contentId: "1" },
        { method: "POST", entitySet: "contacts", body: { lastname: "B", "parentcustomerid_account@odata.bind": "$1" } },
        { method: "PATCH", entitySet: "$1", body: { description: "patched through the reference" } },
      ],
      { atomic: true },
    );
    const units = parseBatchRequest(String(fake.requests[0]!.headers["content-type"]), fake.requests[0]!.body);
    expect(units).toHaveLength(1);
    expect(units[0]!.changeset).toBe(true);
    expect(seen.map((p) => [p.method, p.url, p.contentId])).toStrictEqual([
      ["POST", "/api/data/v9.2/accounts", "1"],
      ["POST", "/api/data/v9.2/contacts", "2"],
      ["PATCH", "$1", "3"],
    ]);
    expect(results.map((r) => r.ok && r.id)).toStrictEqual([guid(1), guid(2), guid(3)]);
  });

  it("atomic: a failing change set fails the operation that broke it and reports the others as rolled back", async () => {
    fake.setHandler(
      batchService((part) =>
        part.contentId === "2"
          ? { status: 400, statusText: "Bad Request", body: { error: { code: "0x80040265", message: "ISV code aborted the operation." } } }
          : created("accounts", 1),
      ),
    );
    const results = await client().batch(
      [0, 1, 2].map((i) => ({ method: "POST" as const, entitySet: "accounts", body: { name: `A${i}` } })),
      { atomic: true },
    );
    expect(results.map((r) => r.status)).toStrictEqual([424, 400, 424]);
    const [first, second] = results;
    expect(first!.ok === false && first!.error).toBeInstanceOf(DataverseNotExecutedError);
    expect(first!.ok === false && first!.error.message).toContain("rolled back");
    expect(second!.ok === false && second!.error.dataverseCode).toBe("0x80040265");
  });

  it("atomic: GETs travel outside the change set and return their bodies", async () => {
    fake.setHandler(
      batchService((part) =>
        part.method === "GET" ? { status: 200, statusText: "OK", body: { value: [{ name: "A" }] } } : created("accounts", 4),
      ),
    );
    const results = await client().batch(
      [
        { method: "POST", entitySet: "accounts", body: { name: "A" } },
        { method: "GET", entitySet: "accounts", query: "$select=name" },
      ],
      { atomic: true },
    );
    const units = parseBatchRequest(String(fake.requests[0]!.headers["content-type"]), fake.requests[0]!.body);
    expect(units.map((u) => u.changeset)).toStrictEqual([true, false]);
    expect(units[1]!.changeset === false && units[1]!.part.url).toBe("/api/data/v9.2/accounts?$select=name");
    expect(results[1]).toStrictEqual({ ok: true, status: 200, body: { value: [{ name: "A" }] } });
  });

  it("refuses a $n reference outside a change set before sending anything", async () => {
    fake.setHandler(batchService(() => created("x", 1)));
    await expect(client().batch([{ method: "POST", entitySet: "accounts", body: { "x@odata.bind": "$1" } }])).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(client().batch([{ method: "PATCH", entitySet: "$1", body: {} }], { atomic: true })).rejects.toThrow(/references \$1/);
    await expect(client().batch([], { batchSize: 1001 })).rejects.toThrow(/batchSize/);
    expect(fake.requests).toHaveLength(0);
  });

  it("resends a whole batch answered 429 after Retry-After, counted as throttled", async () => {
    const inner = batchService(() => created("x", 1));
    fake.setHandler((req, i) =>
      i === 0 ? errorReply(429, "0x80072321", "Combined execution time exceeded", { "Retry-After": "2" }) : inner(req, i),
    );
    const c = client();
    const results = await c.batch(upserts(4));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(time.sleeps).toStrictEqual([2000]);
    expect(c.stats()).toStrictEqual({ requests: 2, batchItems: 8, throttled: 1, retries: 1 });
  });

  it("resends only the operations answered 429 inside a continue-on-error batch", async () => {
    fake.setHandler(
      batchService((part, requestIndex) =>
        requestIndex === 0 && (part.url.includes("'1'") || part.url.includes("'3'"))
          ? {
              status: 429,
              statusText: "Too Many Requests",
              headers: { "Retry-After": "5" },
              body: { error: { code: "0x80072322", message: "Number of requests exceeded" } },
            }
          : created("x", 1),
      ),
    );
    const c = client();
    const results = await c.batch(upserts(4));
    expect(results.every((r) => r.ok)).toBe(true);
    const second = parseBatchRequest(String(fake.requests[1]!.headers["content-type"]), fake.requests[1]!.body);
    expect(second.map((u) => !u.changeset && u.part.url.match(/'(\d)'/)?.[1])).toStrictEqual(["1", "3"]);
    expect(time.sleeps).toStrictEqual([5000]);
    expect(c.stats()).toMatchObject({ requests: 2, batchItems: 6, throttled: 2, retries: 1 });
  });

  it("after a 429 that stopped the batch, keeps the results before it and resends from the throttled operation", async () => {
    fake.setHandler(
      batchService((part, requestIndex) =>
        requestIndex === 0 && part.url.includes("'2'")
          ? { status: 429, statusText: "Too Many Requests", headers: { "Retry-After": "1" } }
          : created("x", Number(part.url.match(/'(\d)'/)?.[1])),
      ),
    );
    const results = await client().batch(upserts(4), { continueOnError: false });
    const second = parseBatchRequest(String(fake.requests[1]!.headers["content-type"]), fake.requests[1]!.body);
    expect(second.map((u) => !u.changeset && u.part.url.match(/'(\d)'/)?.[1])).toStrictEqual(["2", "3"]);
    expect(results.map((r) => r.ok && r.id)).toStrictEqual([guid(0), guid(1), guid(2), guid(3)]);
  });

  it("gives up on operations throttled on every attempt with DataverseThrottledError results", async () => {
    fake.setHandler(batchService(() => ({ status: 429, statusText: "Too Many Requests", headers: { "Retry-After": "1" } })));
    const c = new DataverseClient({
      url: fake.url,
      auth: { kind: "static", token: TOKEN },
      sleep: time.sleep,
      clock: time.clock,
      retry: { maxAttempts: 3 },
    });
    const results = await c.batch(upserts(2));
    expect(fake.requests).toHaveLength(3);
    expect(results.every((r) => !r.ok && r.error instanceof DataverseThrottledError)).toBe(true);
  });

  it("throws request-level failures such as a rejected token", async () => {
    fake.setHandler(() => errorReply(401, "", "invalid token"));
    await expect(client().batch(upserts(2))).rejects.toBeInstanceOf(DataverseAuthError);
  });

  it("runs chunks in parallel when asked, still returning results in operation order", async () => {
    fake.setHandler(batchService((part) => created("x", Number(/'(\d+)'/.exec(part.url)?.[1]))));
    const results = await client().batch(upserts(10), { batchSize: 2, concurrency: 3 });
    expect(fake.requests).toHaveLength(5);
    expect(results.map((r) => r.ok && r.id)).toStrictEqual(Array.from({ length: 10 }, (_, i) => guid(i)));
  });
});
