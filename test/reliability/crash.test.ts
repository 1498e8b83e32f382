/**
 * Crash recovery (npm test variant: 8 kill points incl. every order placement; the soak runs 20):
 * SIGKILL the sync process, run it again, and end exactly where a clean run ends.
 */
import { chooseKillPoints, cleanReference, crashAt, type CrashPointResult } from "./support/crashScenario";
import { recordArtifact, recordFigures } from "./support/figures";

const SEED = 33;
const SIZE = { customers: 10, subscriptionsPerCustomer: 2 };
const POINTS = Number(process.env.RELIABILITY_CRASH_POINTS ?? 8);

describe("sync killed with SIGKILL and run again", () => {
  it(`ends in the clean state at ${POINTS} seeded kill points, with no duplicate rows or Ion orders`, async () => {
    const clean = await cleanReference(SEED, SIZE);
    const points = chooseKillPoints(clean.requests, POINTS, SEED);
    expect(points).toHaveLength(POINTS);
    const orderPosts = clean.requests.filter((r) => r.method === "POST" && /\/orders$/.test(r.path)).map((r) => r.index);
    expect(orderPosts.length).toBe(3);
    const logs: string[] = [];
    const results: CrashPointResult[] = [];
    for (const point of points) results.push(await crashAt(SEED, SIZE, point, clean, logs));
    recordArtifact("crash-children.log", logs.join("\n"));
    recordFigures("crash", { seed: SEED, requestsInRun: clean.requests.length, cleanOrders: clean.orders, points: results });
    for (const r of results) {
      expect({
        point: r.point,
        killed: r.killed,
        same: r.sameAsClean,
        dupRows: r.duplicateRows,
        dupOrders: r.duplicateOrders,
        orders: r.orders,
      }).toStrictEqual({ point: r.point, killed: true, same: true, dupRows: 0, dupOrders: 0, orders: clean.orders });
    }
    // The kills right after Ion accepted an order, before the connector recorded it, were among them.
    expect(results.filter((r) => / POST .*\/orders$/.test(r.request))).toHaveLength(3);
  });
});
