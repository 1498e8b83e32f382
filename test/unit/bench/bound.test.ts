/** The lower bound under the latency model (bench/bound.ts). */
import { parseBenchArgs } from "../../../bench/args";
import { boundInput, ION_CUSTOMER_PAGES, lowerBound } from "../../../bench/bound";
import { CLOUD_LATENCY, emptyLedger } from "../../../sandbox/latency";

describe("lower bound", () => {
  it("is the largest of each service's busy time over its concurrency and the sequential chains", () => {
    const bound = lowerBound({
      services: [
        { name: "dataverse", busyMs: 8000, concurrency: 8 },
        { name: "ion", busyMs: 24000, concurrency: 8 },
      ],
      chains: [{ name: "ion customer pages", ms: 2500 }],
    });
    expect(bound).toEqual({
      ms: 3000,
      limitedBy: "ion busy / 8",
      parts: { "dataverse busy / 8": 1000, "ion busy / 8": 3000, "chain: ion customer pages": 2500 },
    });
    expect(lowerBound({ services: [{ name: "ion", busyMs: 100, concurrency: 8 }], chains: [{ name: "c", ms: 900 }] }).limitedBy).toBe(
      "chain: c",
    );
  });

  it("takes the busy time from the ledgers, Ion's customer pages and the longest linked Dataverse read as chains", () => {
    const dv = emptyLedger();
    dv.busyMs = 16000;
    dv.byKey = {
      "GET w365_providersubscriptions": { requests: 12, busyMs: 6000 },
      "GET w365_provideraccounts": { requests: 2, busyMs: 1000 },
      "POST $batch": { requests: 10, busyMs: 10000 },
    };
    // Two reads of the subscriptions: a chain of 10 pages (5,000 ms) and one of 2 beside it; not one of 6,000 ms.
    dv.chains = { "GET w365_providersubscriptions": 5000, "GET w365_provideraccounts": 1000 };
    const ion = emptyLedger();
    ion.busyMs = 8000;
    ion.byKey = {
      [ION_CUSTOMER_PAGES]: { requests: 10, busyMs: 3000 },
      "GET /api/v3/accounts/{A}/subscriptions": { requests: 50, busyMs: 5000 },
    };
    const input = boundInput(CLOUD_LATENCY, dv, ion);
    expect(input.chains).toEqual([
      { name: "ion customer pages", ms: 3000 },
      { name: "dataverse GET w365_providersubscriptions pages", ms: 5000 },
    ]);
    expect(lowerBound(input)).toMatchObject({ ms: 5000, limitedBy: "chain: dataverse GET w365_providersubscriptions pages" });
  });
});

describe("bench under the latency model", () => {
  it("--latency cloud carries the model with --latency-set overrides; bad values and mixes are refused", () => {
    const a = parseBenchArgs(["--latency", "cloud", "--latency-set=dataverse.dopHint=4"]);
    expect(a.latency).toMatchObject({ name: "cloud", dataverse: { ...CLOUD_LATENCY.dataverse, dopHint: 4 }, ion: CLOUD_LATENCY.ion });
    expect(parseBenchArgs([]).latency).toBeUndefined();
    expect(() => parseBenchArgs(["--latency", "slow"])).toThrow(/--latency must be one of off, cloud/);
    expect(() => parseBenchArgs(["--latency-set", "ion.serverMs=1"])).toThrow(/needs --latency cloud/);
    expect(() => parseBenchArgs(["--latency", "cloud", "--throttled"])).toThrow(/separate scenarios/);
  });
});
