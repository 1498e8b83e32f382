/**
 * A scheduled sync whose outbound phase fans out across branch work items, through the local functions host's
 * queue (batches, message ids and dequeue counts, visibility timeout, poison queue, output written on success)
 * against the Dataverse emulator and the Ion simulator. With items killed (their code going on) and delivered
 * twice at random, every request gets exactly one order and the run ends with the rows and totals of the same
 * run without branches.
 */
import { seededRandom } from "../../../src/shared/random";
import { all as rows, createConnection, type FunctionsWorld, ordersFor, startFunctionsWorld } from "../../support/world";
import { mapAll, queueSync, type Row } from "./workItemRuns";

const CUSTOMERS = 8;
const SUBS_PER_CUSTOMER = 2;
const REQUESTS = 12;
const SUBS = "w365_providersubscriptions";

/** Connector, first sync, every customer mapped, second sync (subscriptions arrive), then the requests: the run under test. */
async function scenario(world: FunctionsWorld, beforeRun: () => void = () => undefined): Promise<{ runId: string; chosen: Row[] }> {
  const connectionId = await createConnection(world);
  await world.idle();
  await queueSync(world, connectionId);
  await mapAll(world);
  await queueSync(world, connectionId);
  const subs = await rows<Row>(world.dv, SUBS, undefined, [
    "w365_providersubscriptionid",
    "w365_ionsubscriptionid",
    "w365_quantity",
    "w365_status",
  ]);
  const chosen = subs
    .filter((s) => s.w365_status === "active")
    .sort((a, b) => String(a.w365_ionsubscriptionid).localeCompare(String(b.w365_ionsubscriptionid)))
    .slice(0, REQUESTS);
  expect(chosen).toHaveLength(REQUESTS);
  // Saved as the integration user, whose changes the webhook leaves alone: the requests wait for the scheduled run.
  for (const s of chosen)
    await world.dv.update(SUBS, String(s.w365_providersubscriptionid), { w365_requestedquantity: Number(s.w365_quantity) + 1 });
  await world.idle();
  beforeRun();
  return { runId: await queueSync(world, connectionId), chosen };
}

async function outcome(world: FunctionsWorld, runId: string, chosen: Row[]) {
  const run = await world.dv.retrieve<Row>("w365_syncruns", runId, {
    select: ["w365_status", "w365_created", "w365_updated", "w365_unchanged", "w365_failed", "w365_report"],
  });
  const wanted = new Set(chosen.map((c) => String(c.w365_ionsubscriptionid)));
  const after = (
    await rows<Row>(world.dv, SUBS, undefined, ["w365_ionsubscriptionid", "w365_quantity", "w365_requestedquantity", "w365_syncstate"])
  )
    .filter((r) => wanted.has(String(r.w365_ionsubscriptionid)))
    .map((r) => [r.w365_ionsubscriptionid, r.w365_quantity, r.w365_requestedquantity ?? null, r.w365_syncstate])
    .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
  const counts = (JSON.parse(String(run.w365_report)) as { counts: Record<string, number> }).counts;
  return {
    status: run.w365_status,
    totals: { created: run.w365_created, updated: run.w365_updated, unchanged: run.w365_unchanged, failed: run.w365_failed },
    completed: counts["order-completed"],
    rows: after,
    orders: chosen.map((c) => ordersFor(world, String(c.w365_ionsubscriptionid)).length),
  };
}

function logs(world: FunctionsWorld, message: string): Row[] {
  return world.logLines.map((l) => JSON.parse(l) as Row).filter((l) => l.message === message);
}

describe("a sync's outbound phase fanned out across branch items of the local functions host", () => {
  let baseline: Awaited<ReturnType<typeof outcome>>;

  beforeAll(async () => {
    // One branch: no fan-out. The same requests, the same run otherwise.
    const world = await startFunctionsWorld({
      customers: CUSTOMERS,
      subscriptionsPerCustomer: SUBS_PER_CUSTOMER,
      host: { settings: { SYNC_OUTBOUND_BRANCH_ROWS: "3", SYNC_OUTBOUND_BRANCHES: "1" } },
    });
    try {
      const { runId, chosen } = await scenario(world);
      baseline = await outcome(world, runId, chosen);
      expect(baseline).toMatchObject({ status: "succeeded", completed: REQUESTS, orders: chosen.map(() => 1) });
      expect(logs(world, "sync branch item finished")).toHaveLength(0);
    } finally {
      await world.close();
    }
  }, 240_000);

  it("ends with one order per request and the rows and totals of the run without branches", async () => {
    const world = await startFunctionsWorld({
      customers: CUSTOMERS,
      subscriptionsPerCustomer: SUBS_PER_CUSTOMER,
      host: { settings: { SYNC_OUTBOUND_BRANCH_ROWS: "3", SYNC_OUTBOUND_BRANCHES: "4" } },
    });
    try {
      const { runId, chosen } = await scenario(world);
      expect(await outcome(world, runId, chosen)).toStrictEqual(baseline);
      const branches = logs(world, "sync branch item finished").filter((l) => l.runId === runId);
      expect(new Set(branches.map((l) => l.branch))).toStrictEqual(new Set(["0", "1", "2", "3"]));
      // One finishing item: exactly one branch handed the run on.
      expect(branches.filter((l) => l.next !== undefined)).toHaveLength(1);
    } finally {
      await world.close();
    }
  }, 240_000);

  it("ends the same when items are killed (their code going on) and delivered twice at random", async () => {
    const random = seededRandom(20261207);
    let faults = false;
    const world = await startFunctionsWorld({
      customers: CUSTOMERS,
      subscriptionsPerCustomer: SUBS_PER_CUSTOMER,
      host: {
        settings: { SYNC_OUTBOUND_BRANCH_ROWS: "3", SYNC_OUTBOUND_BRANCHES: "4" },
        queue: {
          // Only in the run under test; killed on the first two deliveries only, so nothing is poisoned by chance.
          killAfterMs: (d) => (faults && d.dequeueCount <= 2 && random() < 0.35 ? Math.floor(random() * 400) : undefined),
          duplicate: () => faults && random() < 0.3,
        },
      },
    });
    try {
      const { runId, chosen } = await scenario(world, () => (faults = true));
      const result = await outcome(world, runId, chosen);
      // Every request applied once, one order each, the rows as without branches.
      expect({ ...result, totals: undefined, completed: undefined }).toStrictEqual({
        ...baseline,
        totals: undefined,
        completed: undefined,
      });
      // A killed delivery's code goes on: a row it finished after the next delivery took its branch over is counted
      // by neither (never by both), so the counts may fall short by the rows of killed deliveries, never exceed.
      expect(result.totals.failed).toBe(0);
      expect(result.totals.updated).toBeLessThanOrEqual(baseline.totals.updated as number);
      expect(result.completed).toBeLessThanOrEqual(REQUESTS);
      expect(result.completed).toBeGreaterThanOrEqual(REQUESTS - (world.host.stats().killed ?? 0));
      const stats = world.host.stats();
      expect((stats.killed ?? 0) + (stats.duplicated ?? 0)).toBeGreaterThan(0);
      expect(stats.poisoned).toBe(0);
      expect(logs(world, "sync branch item finished").filter((l) => l.runId === runId).length).toBeGreaterThanOrEqual(4);
    } finally {
      await world.close();
    }
  }, 300_000);
});
