import { DEFAULT_CUSTOMERS, parseBenchArgs } from "../../../bench/args";
import {
  renderThrottledMarkdown,
  THROTTLED_DEFAULT_CUSTOMERS,
  THROTTLED_LIMITS,
  throttledChecks,
  type ThrottledResults,
  type ThrottledRun,
  throttledTotals,
} from "../../../bench/throttled";
import { ValidationError } from "../../../src/shared/errors";

function run(overrides: Partial<ThrottledRun> = {}): ThrottledRun {
  return {
    status: "succeeded",
    message: "",
    wallMs: 1000,
    dataverseRequests: 10,
    dataverseRetries: 0,
    throttledByDataverse: 0,
    throttledByIon: 0,
    emulatorThrottled: 0,
    dataverseWrites: 0,
    rowsChanged: 0,
    ...overrides,
  };
}

describe("bench --throttled arguments", () => {
  it("is off by default; on, it runs 1,000 customers under the lowered limits", () => {
    const plain = parseBenchArgs([]);
    expect(plain.throttled).toBe(false);
    expect(plain.customers).toBe(DEFAULT_CUSTOMERS);
    const t = parseBenchArgs(["--throttled"]);
    expect(t).toMatchObject({
      throttled: true,
      customers: THROTTLED_DEFAULT_CUSTOMERS,
      serviceProtection: true,
      throttleLimits: THROTTLED_LIMITS,
    });
  });

  it("keeps an explicit size and takes limit overrides in any order", () => {
    const t = parseBenchArgs([
      "--customers",
      "200",
      "--throttled",
      "--throttle-requests=4",
      "--throttle-window-ms",
      "2000",
      "--throttle-execution-ms",
      "300",
      "--throttle-concurrent",
      "1",
    ]);
    expect(t.customers).toBe(200);
    expect(t.throttleLimits).toStrictEqual({ requestsPerWindow: 4, windowMs: 2000, executionMsPerWindow: 300, maxConcurrent: 1 });
    // The defaults object is not shared between parses.
    expect(parseBenchArgs(["--throttled"]).throttleLimits).toStrictEqual(THROTTLED_LIMITS);
  });

  it("refuses a limit without --throttled, --throttled without service protection, and bad numbers", () => {
    expect(() => parseBenchArgs(["--throttle-requests", "5"])).toThrow(
      "--throttle-requests applies to the throttled scenario: add --throttled",
    );
    expect(() => parseBenchArgs(["--throttled", "--no-service-protection"])).toThrow(ValidationError);
    expect(() => parseBenchArgs(["--throttled", "--throttle-window-ms", "10"])).toThrow(
      /--throttle-window-ms must be a whole number >= 1000/,
    );
    expect(() => parseBenchArgs(["--throttled", "--throttle-concurrent", "0"])).toThrow(/>= 1/);
  });
});

describe("throttled scenario checks", () => {
  const ok = {
    first: run({ throttledByDataverse: 3, dataverseRetries: 3, emulatorThrottled: 4, dataverseWrites: 5804, rowsChanged: 5804 }),
    noChange: run(),
    onePercent: run({ throttledByDataverse: 2, dataverseRetries: 2, dataverseWrites: 59, rowsChanged: 59, expectedChangedRows: 59 }),
  };

  it("totals what the sync absorbed over the runs", () => {
    expect(throttledTotals(ok)).toStrictEqual({ throttledByDataverse: 5, dataverseRetries: 5, emulatorThrottled: 4 });
  });

  it("all met when every run succeeds with exactly the changed rows and the limits bit", () => {
    const checks = throttledChecks(ok);
    expect(checks).toHaveLength(7);
    expect(checks.filter((c) => !c.met)).toStrictEqual([]);
  });

  it("flags a failed run, a wrong write count and limits that never bit", () => {
    const bad = throttledChecks({
      first: run({ status: "failed" }),
      noChange: run({ dataverseWrites: 2 }),
      onePercent: run({ dataverseWrites: 50, rowsChanged: 50, expectedChangedRows: 59 }),
    });
    expect(bad.filter((c) => !c.met).map((c) => `${c.run}: ${c.target}`)).toStrictEqual([
      "first: the run succeeds despite the 429s",
      "noChange: writes exactly the changed rows",
      "onePercent: writes exactly the changed rows",
      "first: the lowered limits really throttled the sync (at least one 429)",
    ]);
  });

  it("renders the limits, one column per run and the checks", () => {
    const results: ThrottledResults = {
      scenario: { customers: 1000, subscriptionsPerCustomer: 5, seed: 8, changeFraction: 0.01, limits: THROTTLED_LIMITS },
      runs: ok,
      totals: throttledTotals(ok),
      checks: throttledChecks(ok),
      setup: {},
      machine: { cpus: 2, node: "v20", platform: "linux x64", totalMemGb: 8 },
      measuredAt: "2026-01-01T00:00:00.000Z",
    };
    const md = renderThrottledMarkdown(results);
    expect(md).toContain("# Throttled benchmark: 1,000 customers x 5 subscriptions");
    expect(md).toContain("lowered to 10 requests and 1,000 ms of execution time per 5,000 ms window, 2 concurrent requests");
    expect(md).toContain("| 429s absorbed (Dataverse) | 3 | 0 | 2 |");
    expect(md).toContain("| data rows written | 5,804 | 0 | 59 |");
    expect(md).not.toContain("**no**");
  });
});
