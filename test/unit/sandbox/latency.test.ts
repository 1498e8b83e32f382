/** The latency model's pure parts: options, costs, the work read from a request and its answer. */
import {
  charge,
  CLOUD_LATENCY,
  dataverseCostMs,
  dataverseKey,
  DataverseLatencyLayer,
  dataverseWork,
  emptyLedger,
  ionCostMs,
  ionItems,
  IonLatencyLayer,
  latencyModel,
  parseLatencyMode,
} from "../../../sandbox/latency";
import { ValidationError } from "../../../src/shared/errors";

describe("latency model", () => {
  it("is off unless asked; cloud is the documented model; bad modes say which are accepted", () => {
    expect(parseLatencyMode(undefined)).toBe("off");
    expect(latencyModel("off")).toBeUndefined();
    expect(latencyModel(parseLatencyMode("Cloud"))).toEqual({ ...CLOUD_LATENCY });
    expect(() => parseLatencyMode("fast")).toThrow(/--latency must be one of off, cloud \(got 'fast'\)/);
    expect(() => parseLatencyMode("fast")).toThrow(ValidationError);
  });

  it("applies overrides without changing the shared defaults, and refuses unknown or invalid ones", () => {
    const model = latencyModel("cloud", "dataverse.writeRowMs=2, ion.maxConcurrent=3,dataverse.readRowMs=0.05")!;
    expect(model.dataverse.writeRowMs).toBe(2);
    expect(model.dataverse.readRowMs).toBe(0.05);
    expect(model.ion.maxConcurrent).toBe(3);
    expect(CLOUD_LATENCY.dataverse.writeRowMs).toBe(4);
    expect(() => latencyModel("cloud", "dataverse.speed=1")).toThrow(/not understood.*dataverse\.baseMs/);
    expect(() => latencyModel("cloud", "ion.maxConcurrent=0")).toThrow(/at least 1/);
    expect(() => latencyModel("off", "ion.serverMs=1")).toThrow(/needs --latency cloud/);
  });

  it("charges a base per request, per row written and per row read", () => {
    const m = { baseMs: 10, writeRowMs: 2, readRowMs: 0.5, dopHint: 4 };
    expect(dataverseCostMs(m, { rowsWritten: 0, rowsRead: 0 })).toBe(10);
    expect(dataverseCostMs(m, { rowsWritten: 1000, rowsRead: 0 })).toBe(2010);
    expect(dataverseCostMs(m, { rowsWritten: 0, rowsRead: 5000 })).toBe(2510);
    expect(ionCostMs({ roundTripMs: 40, serverMs: 20, itemMs: 0.5, maxConcurrent: 2, retryAfterSeconds: 1 }, 100)).toBe(110);
  });

  it("reads the rows a $batch writes from its request lines and the rows a read returns from its answer", () => {
    const batch = [
      "--b",
      "Content-Type: application/http",
      "",
      "PATCH w365_providersubscriptions(w365_ionid='1') HTTP/1.1",
      "",
      "{}",
      "--b",
      "Content-Type: application/http",
      "",
      "POST w365_provideraccounts HTTP/1.1",
      "",
      "{}",
      "--b",
      "",
      "GET accounts?$select=name HTTP/1.1",
      "--b--",
    ].join("\r\n");
    const answer = '{"value":[{"@odata.etag":"W/\\"1\\"","name":"a"},{"@odata.etag":"W/\\"2\\"","name":"b"}]}';
    expect(dataverseWork("POST", "/api/data/v9.2/$batch", batch, 200, answer)).toEqual({ rowsWritten: 2, rowsRead: 2 });
    expect(dataverseWork("GET", "/api/data/v9.2/accounts", "", 200, answer)).toEqual({ rowsWritten: 0, rowsRead: 2 });
    expect(dataverseWork("GET", "/api/data/v9.2/accounts", "", 404, answer)).toEqual({ rowsWritten: 0, rowsRead: 0 });
    expect(dataverseWork("PATCH", "/api/data/v9.2/accounts(1)", "{}", 204, undefined)).toEqual({ rowsWritten: 1, rowsRead: 0 });
    expect(dataverseWork("PATCH", "/api/data/v9.2/accounts(1)", "{}", 412, undefined)).toEqual({ rowsWritten: 0, rowsRead: 0 });
  });

  it("counts the items of an Ion list answer and keys the ledger by endpoint", () => {
    expect(ionItems({ items: [1, 2, 3], totalCount: "3" })).toBe(3);
    expect(ionItems({ customers: [1], nextPageToken: "x" })).toBe(1);
    expect(ionItems({ id: "1" })).toBe(0);
    expect(ionItems(undefined)).toBe(0);
    const ledger = emptyLedger();
    charge(ledger, "GET /c", 5);
    charge(ledger, "GET /c", 7);
    charge(ledger, "POST $batch", 1);
    expect(ledger).toEqual({
      requests: 3,
      busyMs: 13,
      refused: 0,
      byKey: { "GET /c": { requests: 2, busyMs: 12 }, "POST $batch": { requests: 1, busyMs: 1 } },
    });
    expect(dataverseKey("get", "/api/data/v9.2/w365_providersubscriptions(w365_ionid='1')")).toBe("GET w365_providersubscriptions");
    expect(dataverseKey("POST", "/api/data/v9.2/$batch")).toBe("POST $batch");
  });

  it("links read pages into chains by their skip tokens: two reads of one set side by side are two chains", async () => {
    const layer = new DataverseLatencyLayer({ baseMs: 1, writeRowMs: 0, readRowMs: 0, dopHint: 8 });
    const base = "http://127.0.0.1:1/api/data/v9.2/w365_providersubscriptions";
    const page = (next?: string) =>
      JSON.stringify({ value: [], ...(next ? { "@odata.nextLink": `${base}?%24select=a&%24skiptoken=${encodeURIComponent(next)}` } : {}) });
    const get = (url: string, body: string) => layer.charge({ method: "GET", url, body: "" }, { status: 200, body });
    await get("/api/data/v9.2/w365_providersubscriptions?$select=a", page("<a1/>"));
    await get("/api/data/v9.2/w365_providersubscriptions?$select=b", page("b1"));
    await get(`/api/data/v9.2/w365_providersubscriptions?$select=a&$skiptoken=${encodeURIComponent("<a1/>")}`, page("a2"));
    await get("/api/data/v9.2/w365_providersubscriptions?$select=a&$skiptoken=a2", page());
    await get("/api/data/v9.2/w365_providersubscriptions?$select=b&$skiptoken=b1", page());
    expect(layer.ledger.byKey["GET w365_providersubscriptions"]).toEqual({ requests: 5, busyMs: 5 });
    expect(layer.ledger.chains).toEqual({ "GET w365_providersubscriptions": 3 });
    layer.resetLedger();
    expect(layer.ledger.chains).toEqual({});
  });

  describe("a charge covers the stand-in's own work on the answer", () => {
    beforeEach(() => jest.useFakeTimers());
    afterEach(() => jest.useRealTimers());

    /** Whether `p` has settled once `ms` of (fake) time passed. */
    async function settledAfter(p: Promise<void>, ms: number): Promise<boolean> {
      let settled = false;
      void p.then(() => (settled = true));
      await jest.advanceTimersByTimeAsync(ms);
      return settled;
    }

    it("Ion: waits only what is left of the call's cost once the simulator built the answer; the ledger keeps the whole cost", async () => {
      const model = { roundTripMs: 40, serverMs: 25, itemMs: 0, maxConcurrent: 8, retryAfterSeconds: 1 };
      const layer = new IonLatencyLayer(model);
      const cost = ionCostMs(model, 0);
      expect(await settledAfter(layer.charge("GET /c", 0, 20), cost - 21)).toBe(false);
      const p = layer.charge("GET /c", 0, 20);
      expect(await settledAfter(p, cost - 20)).toBe(true);
      // Work longer than the cost: no wait at all.
      expect(await settledAfter(layer.charge("GET /c", 0, cost + 5), 0)).toBe(true);
      expect(layer.ledger.byKey["GET /c"]).toEqual({ requests: 3, busyMs: 3 * cost });
    });

    it("Dataverse: the worker is held only for what is left of the request's cost", async () => {
      const layer = new DataverseLatencyLayer({ baseMs: 50, writeRowMs: 0, readRowMs: 0, dopHint: 1 });
      const get = (spentMs: number) =>
        layer.charge({ method: "GET", url: "/api/data/v9.2/accounts", body: "" }, { status: 200, body: "{}" }, spentMs);
      expect(await settledAfter(get(30), 19)).toBe(false);
      expect(await settledAfter(get(30), 21)).toBe(true);
      expect(layer.ledger.byKey["GET accounts"]).toEqual({ requests: 2, busyMs: 100 });
    });
  });
});
