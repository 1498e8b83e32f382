import { parseBenchArgs } from "../../../bench/args";
import { percentile, spread, throttledIndexes } from "../../../bench/connectors";
import { ValidationError } from "../../../src/shared/errors";

describe("many-connectors bench", () => {
  it("reads --connectors with small connectors by default, and refuses its options without it", () => {
    expect(parseBenchArgs(["--connectors", "200", "--latency", "cloud"])).toMatchObject({
      connectors: 200,
      customers: 20,
      subscriptionsPerCustomer: 3,
      workerConcurrency: 6,
      throttleConnectors: 2,
    });
    expect(parseBenchArgs(["--connectors=5", "--customers=7", "--worker-concurrency=3", "--throttle-connectors=0"])).toMatchObject({
      connectors: 5,
      customers: 7,
      subscriptionsPerCustomer: 3,
      workerConcurrency: 3,
      throttleConnectors: 0,
    });
    expect(() => parseBenchArgs(["--worker-concurrency", "3"])).toThrow(/add --connectors N/);
    expect(() => parseBenchArgs(["--connectors", "5", "--throttled"])).toThrow(ValidationError);
    expect(() => parseBenchArgs(["--connectors", "5", "--no-service-protection"])).toThrow(ValidationError);
  });

  it("takes nearest-rank percentiles", () => {
    const values = Array.from({ length: 20 }, (_, i) => 20 - i); // 20..1, unsorted on purpose
    expect(percentile(values, 50)).toBe(10);
    expect(percentile(values, 95)).toBe(19);
    expect(percentile(values, 100)).toBe(20);
    expect(percentile([], 95)).toBe(0);
    expect(spread([3, 1, 2])).toStrictEqual({ p50: 2, p95: 3, max: 3 });
  });

  it("spreads the throttled connectors evenly, Dataverse's next to Ion's, never more than a third", () => {
    expect(throttledIndexes(200, 2)).toStrictEqual({ ion: [0, 100], dataverse: [1, 101] });
    expect(throttledIndexes(12, 2)).toStrictEqual({ ion: [0, 6], dataverse: [1, 7] });
    expect(throttledIndexes(3, 5)).toStrictEqual({ ion: [0], dataverse: [1] });
    expect(throttledIndexes(2, 1)).toStrictEqual({ ion: [], dataverse: [] });
    expect(throttledIndexes(10, 0)).toStrictEqual({ ion: [], dataverse: [] });
  });
});
