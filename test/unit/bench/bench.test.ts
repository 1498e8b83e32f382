import { readFileSync } from "node:fs";
import * as path from "node:path";

import { DEFAULT_CUSTOMERS, DEFAULT_SUBSCRIPTIONS_PER_CUSTOMER, parseBenchArgs } from "../../../bench/args";
import { entitySetOfPath, ownPeakRssMb, recordedLine, residentByKind } from "../../../bench/child";
import { computeFloor, pagesFor, requiredReads } from "../../../bench/floor";
import { toLoaderOperation } from "../../../bench/loader";
import { type BenchResults, contractProblems, evaluateTargets, renderMarkdown, RUN_NAMES, type RunResult } from "../../../bench/result";
import { changedRows, childExecArgv, contentOf, pickEvenly } from "../../../bench/run";
import { THROTTLED_LIMITS } from "../../../bench/throttled";
import { ValidationError } from "../../../src/shared/errors";

const CONNECTION = "11111111-1111-1111-1111-111111111111";
const LOADER = "22222222-2222-2222-2222-222222222222";

function run(overrides: Partial<RunResult> = {}): RunResult {
  return {
    wallMs: 1000,
    ionRequests: 10,
    dataverseRequests: 15,
    dataverseBatchItems: 0,
    dataverseWrites: 0,
    rowsChanged: 0,
    floorRequests: 15,
    loaderMs: 0,
    peakRssMb: 120,
    throttled: 0,
    status: "succeeded",
    recordingMs: 0,
    ionRequestsByEndpoint: {},
    cloudProfileReads: 0,
    dataverseRequestsByOperation: {},
    dataverseBatchRequests: 0,
    bookkeepingWrites: 2,
    dataverseWritesByTable: {},
    rowsChangedByTable: {},
    floor: computeFloor({ reads: { a: 1 }, changedRows: 0 }),
    requestsPerFloor: 1,
    loader: { rows: 0, requests: 0, failed: 0 },
    syncPerLoader: null,
    readerMs: 500,
    reader: { dataverseRows: 0, ionRequests: 0 },
    syncPerLoaderAndReader: 1,
    syncCounts: {},
    emulator: { requests: 15, batchItems: 0, throttled: 0, writes: 2 },
    webhooks: { sent: 0, failed: 0, otherDataverseRequests: 0, drainMs: 0 },
    throttledByDataverse: 0,
    throttledByIon: 0,
    processMs: 1200,
    ...overrides,
  };
}

function results(runs: Partial<Record<(typeof RUN_NAMES)[number], RunResult>> = {}): BenchResults {
  const all = { first: run(), noChange: run(), onePercent: run(), ...runs };
  return {
    scenario: { customers: 10, subscriptionsPerCustomer: 5, seed: 1, serviceProtection: true, changeFraction: 0.01, syncNodeOptions: [] },
    runs: all,
    setup: {},
    checks: evaluateTargets(all),
    machine: { cpus: 2, node: "v20", platform: "linux x64", totalMemGb: 24 },
    measuredAt: "2026-11-27T00:00:00.000Z",
  };
}

describe("bench arguments", () => {
  it("defaults to scenario L with service protection on", () => {
    expect(parseBenchArgs([])).toStrictEqual({
      customers: DEFAULT_CUSTOMERS,
      subscriptionsPerCustomer: DEFAULT_SUBSCRIPTIONS_PER_CUSTOMER,
      seed: 8,
      changeFraction: 0.01,
      serviceProtection: true,
      throttled: false,
      throttleLimits: THROTTLED_LIMITS,
      workerConcurrency: 6,
      throttleConnectors: 2,
      help: false,
    });
    expect(DEFAULT_CUSTOMERS).toBe(10_000);
    expect(DEFAULT_SUBSCRIPTIONS_PER_CUSTOMER).toBe(5);
  });

  it("reads both --name value and --name=value forms", () => {
    const a = parseBenchArgs([
      "--customers",
      "1000",
      "--subscriptions-per-customer=3",
      "--out",
      "/tmp/x",
      "--no-service-protection",
      "--change-fraction=0.05",
      "--sync-heap-mb",
      "192",
    ]);
    expect(a).toMatchObject({
      customers: 1000,
      subscriptionsPerCustomer: 3,
      outDir: "/tmp/x",
      serviceProtection: false,
      changeFraction: 0.05,
      syncHeapMb: 192,
    });
    expect(childExecArgv(192, "--cpu-prof  --cpu-prof-dir=/tmp/p")).toStrictEqual([
      "--max-old-space-size=192",
      "--cpu-prof",
      "--cpu-prof-dir=/tmp/p",
    ]);
    expect(childExecArgv(undefined, "")).toStrictEqual([]);
  });

  it.each([
    [["--customers", "0"]],
    [["--customers", "1.5"]],
    [["--sync-heap-mb", "10"]],
    [["--customers"]],
    [["--subscriptions-per-customer", "-1"]],
    [["--change-fraction", "2"]],
    [["--bogus"]],
  ])("rejects %j with a ValidationError", (argv) => {
    expect(() => parseBenchArgs(argv)).toThrow(ValidationError);
  });
});

describe("floor", () => {
  it("pages reads at 5,000 (an empty set still costs one request)", () => {
    expect(pagesFor(0)).toBe(1);
    expect(pagesFor(5000)).toBe(1);
    expect(pagesFor(5001)).toBe(2);
    expect(pagesFor(50_000)).toBe(10);
  });

  it("adds changed rows at 1,000 per $batch and the run's three bookkeeping requests", () => {
    // Scenario L, no change: 10,000 provider accounts (2 pages) + 50,000 subscriptions (10 pages) + 3.
    expect(
      computeFloor({
        reads: requiredReads({ providerAccounts: 10_000, providerSubscriptions: 50_000, accounts: 11_000, matchingNeeded: false }),
        changedRows: 0,
      }),
    ).toStrictEqual({
      requests: 15,
      readRequests: 12,
      writeRequests: 0,
      bookkeepingRequests: 3,
      pages: { w365_provideraccounts: 2, w365_providersubscriptions: 10 },
    });
    // First run: nothing stored yet, accounts read for matching, 60,000 new rows.
    const first = computeFloor({
      reads: requiredReads({ providerAccounts: 0, providerSubscriptions: 0, accounts: 11_000, matchingNeeded: true }),
      changedRows: 60_000,
    });
    expect(first.requests).toBe(1 + 1 + 3 + 60 + 3);
    expect(computeFloor({ reads: {}, changedRows: 1001, bookkeeping: 0 }).requests).toBe(2);
  });
});

describe("loader operations", () => {
  const noIds = () => undefined;

  it("re-keys an alternate-key upsert onto the loader's connector", () => {
    const op = toLoaderOperation(
      {
        entitySet: "w365_providersubscriptions",
        key: { _w365_connection_value: CONNECTION, w365_ionsubscriptionid: "s-1" },
        body: { w365_quantity: 3, "w365_connection@odata.bind": `/w365_providerconnections(${CONNECTION})` },
      },
      LOADER,
      noIds,
    );
    expect(op).toStrictEqual({
      method: "PATCH",
      entitySet: "w365_providersubscriptions",
      key: { _w365_connection_value: LOADER, w365_ionsubscriptionid: "s-1" },
      body: { w365_quantity: 3, "w365_connection@odata.bind": `/w365_providerconnections(${LOADER})` },
    });
  });

  it("resolves a row addressed by GUID through its Ion id", () => {
    const op = toLoaderOperation(
      { entitySet: "w365_provideraccounts", key: "33333333-3333-3333-3333-333333333333", body: { w365_contactname: "A" } },
      LOADER,
      (set, id) => (set === "w365_provideraccounts" && id.startsWith("3333") ? "c-9" : undefined),
    );
    expect(op.key).toStrictEqual({ _w365_connection_value: LOADER, w365_ioncustomerid: "c-9" });
    expect(op.body).toStrictEqual({ w365_contactname: "A" });
  });

  it("refuses rows it cannot place and tables that are not data", () => {
    expect(() => toLoaderOperation({ entitySet: "w365_provideraccounts", key: "x", body: {} }, LOADER, noIds)).toThrow(/Ion id/);
    expect(() => toLoaderOperation({ entitySet: "w365_syncruns", key: "x", body: {} }, LOADER, noIds)).toThrow(/only writes/);
  });
});

describe("measurement helpers", () => {
  it("names the entity set of a request path", () => {
    expect(entitySetOfPath("w365_syncruns(0b4c…)?$select=a")).toBe("w365_syncruns");
    expect(entitySetOfPath("$batch")).toBe("$batch");
    expect(entitySetOfPath("http://127.0.0.1:1/api/data/v9.2/accounts?$skiptoken=x")).toBe("accounts");
  });

  it("reads resident memory by kind from /proc/self/status", () => {
    expect(
      residentByKind("Name:\tnode\nVmHWM:\t  409600 kB\nVmRSS:\t  204800 kB\nRssAnon:\t  153600 kB\nRssFile:\t   51200 kB\n"),
    ).toStrictEqual({ VmRSSMb: 200, RssAnonMb: 150, RssFileMb: 50, VmHWMMb: 400 });
    expect(residentByKind("")).toStrictEqual({});
    // The peak is this process's own high-water mark, not getrusage's (which keeps the forking parent's RSS).
    expect(ownPeakRssMb("Name:\tnode\nVmHWM:\t  219648 kB\nVmRSS:\t  204800 kB\n")).toBe(214.5);
    if (process.platform === "linux") expect(ownPeakRssMb()).toBeGreaterThan(0);
  });

  it("records a written operation as the same JSON line whether its body is an object or pre-serialized", () => {
    const key = { _w365_connection_value: "c", w365_ionsubscriptionid: "s1" };
    const body = { w365_name: 'Seat "A"', w365_quantity: 2 };
    const fromObject = recordedLine({ method: "PATCH", entitySet: "w365_providersubscriptions", key, body });
    const fromJson = recordedLine({ method: "PATCH", entitySet: "w365_providersubscriptions", key, bodyJson: JSON.stringify(body) });
    expect(fromJson).toBe(fromObject);
    expect(JSON.parse(fromJson)).toStrictEqual({ entitySet: "w365_providersubscriptions", key, body });
    expect(JSON.parse(recordedLine({ method: "PATCH", entitySet: "x", bodyJson: "{}" }))).toStrictEqual({ entitySet: "x", body: {} });
  });

  it("compares content without system columns or annotations", () => {
    const a = { w365_name: "A", modifiedon: "2026-01-01", versionnumber: 1, "@odata.etag": 'W/"1"' };
    const b = { modifiedon: "2026-02-02", w365_name: "A", versionnumber: 2, "@odata.etag": 'W/"2"' };
    expect(contentOf(a)).toBe(contentOf(b));
    expect(contentOf({ ...a, w365_name: "B" })).not.toBe(contentOf(a));
    const before = new Map([["1", { ionId: "c1", hash: contentOf(a) }]]);
    const after = new Map([
      ["1", { ionId: "c1", hash: contentOf(b) }],
      ["2", { ionId: "c2", hash: "x" }],
    ]);
    expect(changedRows(before, after)).toBe(1);
  });

  it("picks the changed share evenly and deterministically", () => {
    const items = Array.from({ length: 1000 }, (_, i) => i);
    const picked = pickEvenly(items, 0.01);
    expect(picked).toHaveLength(10);
    expect(new Set(picked).size).toBe(10);
    expect(picked).toStrictEqual(pickEvenly(items, 0.01));
    expect(pickEvenly([1, 2, 3], 0.01)).toHaveLength(1);
  });
});

describe("results", () => {
  it("meets the targets only when every figure is within them", () => {
    const good = results();
    expect(good.checks.every((c) => c.met)).toBe(true);
    const bad = results({
      noChange: run({ dataverseWrites: 3, rowsChanged: 0, dataverseRequests: 20, requestsPerFloor: 20 / 15, peakRssMb: 310 }),
    });
    const failed = bad.checks.filter((c) => !c.met).map((c) => `${c.run}: ${c.target}`);
    expect(failed).toStrictEqual([
      "noChange: Dataverse requests <= 1.1 x floor",
      "noChange: peak RSS < 300 MB",
      "noChange: writes exactly the changed rows",
      "noChange: zero Dataverse writes when nothing changed",
    ]);
  });

  it("flags a run that ended partial or read profiles of unchanged customers", () => {
    const r = results({
      first: run({ status: "partial", throttled: 4 }),
      onePercent: run({ cloudProfileReads: 50, expectedChangedCustomers: 10 }),
    });
    expect(r.checks.filter((c) => !c.met).map((c) => `${c.run}: ${c.target}`)).toStrictEqual([
      "first: no 429 reaches the admin as a failure",
      "onePercent: cloud-profile reads only for new or changed customers",
    ]);
  });

  it("has the contract keys (the latest.json keys bench/README.md lists) and renders a table per run", () => {
    const r = results({ first: run({ loaderMs: 500, wallMs: 700, syncPerLoader: 1.4 }) });
    expect(contractProblems(JSON.parse(JSON.stringify(r)) as BenchResults)).toStrictEqual([]);
    expect(contractProblems({ scenario: { customers: 1 }, runs: { first: { wallMs: "1" } } })).toEqual(
      expect.arrayContaining([
        "scenario.customers / scenario.subscriptionsPerCustomer missing",
        "runs.first.wallMs is not a number",
        "runs.noChange missing",
      ]),
    );
    const md = renderMarkdown(r);
    expect(md).toContain("| figure | first | noChange | onePercent |");
    expect(md).toContain("| sync / loader | 1.4 | n/a | n/a |");
  });

  it.each(["latest.json"])("the committed bench/results/%s carries every contract key", (file) => {
    const committed = JSON.parse(readFileSync(path.join(__dirname, "..", "..", "..", "bench", "results", file), "utf8")) as BenchResults;
    expect(contractProblems(committed)).toStrictEqual([]);
    expect(Object.keys(committed.runs).sort()).toStrictEqual([...RUN_NAMES].sort());
  });
});

describe("bench targets under the latency model", () => {
  it("checks wall time against 1.5 x the bound and that nothing was refused for concurrency", () => {
    const latency = (ratio: number, refused: number) => ({
      boundMs: 1000,
      ratio,
      limitedBy: "ion busy / 8",
      boundParts: {},
      dataverse: { requests: 1, busyMs: 1, byKey: {} },
      ion: { requests: 1, busyMs: 1, refusedForConcurrency: refused, byKey: {} },
      dataverse429: 0,
    });
    const base = run();
    const checks = evaluateTargets({
      first: { ...base, wallMs: 1400, latency: latency(1.4, 0) },
      noChange: { ...base, wallMs: 1600, latency: latency(1.6, 0) },
      onePercent: { ...base, wallMs: 1000, latency: latency(1, 2) },
    });
    const bound = checks.filter((c) => c.target === "sync time <= 1.5 x lower bound").map((c) => c.met);
    const refused = checks.filter((c) => c.target === "0 requests refused for concurrency").map((c) => c.met);
    expect(bound).toStrictEqual([true, false, true]);
    expect(refused).toStrictEqual([true, true, false]);
    expect(checks.some((c) => c.target.includes("bare loader + bare reader"))).toBe(false);
  });
});
