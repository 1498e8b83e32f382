/**
 * Faults (npm test variant: one seed; the soak runs several, larger): full syncs under about
 * 10% injected Ion faults and Dataverse throttling/conflicts end in exactly the state of a clean run.
 */
import { runCleanStory, runFaultedStory } from "./support/faultScenario";
import { recordFigures } from "./support/figures";
import { scanForSecrets } from "./support/secrets";

const SIZE = { customers: Number(process.env.RELIABILITY_FAULT_CUSTOMERS ?? 14), subscriptionsPerCustomer: 3 };
const SEEDS = (process.env.RELIABILITY_FAULT_SEEDS ?? "21").split(",").map(Number);
const scenarios: unknown[] = [];

afterAll(() => recordFigures("faults", { size: SIZE, scenarios }));

describe("full syncs under injected faults", () => {
  it.each(SEEDS)("end with exactly the same Dataverse state as a clean run, no duplicate rows or orders (seed %i)", async (seed) => {
    const clean = await runCleanStory(seed, SIZE);
    const { result, figures, secrets } = await runFaultedStory(seed, SIZE);
    expect(result.dump).toStrictEqual(clean.dump);
    expect(result.orders).toBe(clean.orders);
    expect(result.duplicateOrders).toStrictEqual([]);
    expect(figures.duplicateRows).toBe(0);
    // The faults really happened, on both sides.
    const ionFaults = Object.values(figures.ion.faults).reduce((a, b) => a + b, 0);
    expect(ionFaults / figures.ion.requests).toBeGreaterThan(0.05);
    expect(figures.dataverse.throttled429).toBeGreaterThan(0);
    expect(figures.dataverse.conflicts412).toBeGreaterThan(0);
    // No secret in what the engine logged or reported.
    expect(
      scanForSecrets(secrets, {
        "fault-logs": result.logLines.join("\n"),
        reports: result.runs.map((r) => JSON.stringify(r.report)).join("\n"),
      }),
    ).toStrictEqual([]);
    scenarios.push({ ...figures, sameAsClean: true });
  });
});
