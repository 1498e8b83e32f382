/**
 * A sync split into work items through the local functions host, run the way the queue trigger runs them
 * (batches, message ids and dequeue counts, visibility timeout, poison queue, output written on success).
 * The Dataverse emulator and the Ion simulator answer over HTTP as in production.
 *
 * - Items killed at random (their code going on, like a hung instance) and messages delivered twice end
 *   with the same rows as one uninterrupted run, each row once.
 * - A duplicate delivery of an item does the work once: the copy finds the step held and completes.
 * - A run split into items reports the same counts (created, updated, unchanged, failed, skipped) as the
 *   same sync in one item: the admin sees what happened, however the run was split.
 * - An item that fails maxDequeueCount times goes to the poison queue, and its run shows it failed.
 */
import { ConnectorError } from "../../../src/shared/errors";
import { seededRandom } from "../../../src/shared/random";
import { bindEngine } from "../../../src/sync/engine";
import { startAzuriteQueue } from "../../support/azurite";
import { all as rows, createConnection, createStaleRun, type FunctionsWorld, startFunctionsWorld } from "../../support/world";
import { mapAll, queueSync, type Row, snapshot } from "./workItemRuns";

const CUSTOMERS = 40;
const SUBS_PER_CUSTOMER = 3;
/** Small Ion pages so a sync has many pages, and one page per work item: many items. */
const SMALL_PAGES = { customerPageSize: 5, subscriptionPageLimit: 10 };

async function runStatus(world: FunctionsWorld, runId: string): Promise<Row> {
  return world.dv.retrieve<Row>("w365_syncruns", runId, { select: ["w365_status", "w365_message", "w365_checkpoint"] });
}

/** First sync (customers arrive), every customer mapped to a new account, second sync (subscriptions arrive). */
async function syncScript(world: FunctionsWorld): Promise<string[]> {
  const connectionId = await createConnection(world);
  await world.idle();
  const first = await queueSync(world, connectionId);
  await mapAll(world);
  const second = await queueSync(world, connectionId);
  return [first, second];
}

/** The counts a run reports: its count columns and the counts of its report (every action, "skipped-…" too). */
async function runCounts(world: FunctionsWorld, runId: string): Promise<Row> {
  const run = await world.dv.retrieve<Row>("w365_syncruns", runId, {
    select: ["w365_created", "w365_updated", "w365_unchanged", "w365_failed", "w365_report"],
  });
  const report = JSON.parse(String(run.w365_report)) as { counts: Record<string, number> };
  return {
    created: run.w365_created,
    updated: run.w365_updated,
    unchanged: run.w365_unchanged,
    failed: run.w365_failed,
    report: report.counts,
  };
}

function itemLogs(world: FunctionsWorld, message: string): Row[] {
  return world.logLines.map((l) => JSON.parse(l) as Row).filter((l) => l.message === message);
}

describe("a sync split into work items through the local functions host", () => {
  let baseline: Awaited<ReturnType<typeof snapshot>>;
  let baselineCounts: Row[];

  beforeAll(async () => {
    // One uninterrupted run per sync: the default budget is far more than this sync needs.
    const world = await startFunctionsWorld({
      customers: CUSTOMERS,
      subscriptionsPerCustomer: SUBS_PER_CUSTOMER,
      host: { runtime: { sync: { ion: SMALL_PAGES } } },
    });
    try {
      const runs = await syncScript(world);
      for (const runId of runs) expect((await runStatus(world, runId)).w365_status).toBe("succeeded");
      // Each run was one item: small syncs pay no hand-off.
      expect(itemLogs(world, "sync work item finished").map((l) => l.next)).toStrictEqual([undefined, undefined]);
      baseline = await snapshot(world);
      baselineCounts = await Promise.all(runs.map((runId) => runCounts(world, runId)));
      // The second sync creates every subscription while its accounts phase runs: the overlap a split must count right.
      expect(baselineCounts[1]).toMatchObject({ created: CUSTOMERS * SUBS_PER_CUSTOMER });
    } finally {
      await world.close();
    }
  }, 240_000);

  it("ends with the same rows as an uninterrupted run when items are killed and delivered twice at random", async () => {
    const random = seededRandom(20261206);
    const world = await startFunctionsWorld({
      customers: CUSTOMERS,
      subscriptionsPerCustomer: SUBS_PER_CUSTOMER,
      host: {
        settings: { SYNC_ITEM_MAX_PAGES: "1" },
        runtime: { sync: { ion: SMALL_PAGES } },
        queue: {
          // Killed on its first two deliveries only, so no message reaches the poison queue by chance.
          killAfterMs: (d) => (d.dequeueCount <= 2 && random() < 0.3 ? Math.floor(random() * 150) : undefined),
          duplicate: () => random() < 0.15,
        },
      },
    });
    try {
      const runs = await syncScript(world);
      for (const runId of runs) expect((await runStatus(world, runId)).w365_status).toBe("succeeded");
      const after = await snapshot(world);
      expect(after).toStrictEqual(baseline);
      expect(after.subscriptions).toHaveLength(CUSTOMERS * SUBS_PER_CUSTOMER);
      const stats = world.host.stats();
      expect(stats.killed).toBeGreaterThan(0);
      expect(stats.duplicated).toBeGreaterThan(0);
      expect(stats.poisoned).toBe(0);
      // Many items per run: every page was its own item.
      expect(itemLogs(world, "sync work item finished").length).toBeGreaterThan(10);
    } finally {
      await world.close();
    }
  }, 300_000);

  it("reports the same counts as an uninterrupted run when every page is its own item", async () => {
    const world = await startFunctionsWorld({
      customers: CUSTOMERS,
      subscriptionsPerCustomer: SUBS_PER_CUSTOMER,
      host: { settings: { SYNC_ITEM_MAX_PAGES: "1" }, runtime: { sync: { ion: SMALL_PAGES } } },
    });
    try {
      const runs = await syncScript(world);
      for (const runId of runs) expect((await runStatus(world, runId)).w365_status).toBe("succeeded");
      expect(await snapshot(world)).toStrictEqual(baseline);
      expect(await Promise.all(runs.map((runId) => runCounts(world, runId)))).toStrictEqual(baselineCounts);
      expect(itemLogs(world, "sync work item finished").length).toBeGreaterThan(10);
    } finally {
      await world.close();
    }
  }, 300_000);

  it("runs each step once when every message is delivered twice at the same time", async () => {
    const world = await startFunctionsWorld({
      customers: CUSTOMERS,
      subscriptionsPerCustomer: SUBS_PER_CUSTOMER,
      host: { settings: { SYNC_ITEM_MAX_PAGES: "2" }, runtime: { sync: { ion: SMALL_PAGES } }, queue: { duplicate: () => true } },
    });
    try {
      const runs = await syncScript(world);
      for (const runId of runs) expect((await runStatus(world, runId)).w365_status).toBe("succeeded");
      expect(await snapshot(world)).toStrictEqual(baseline);
      // The copies counted nothing: the counts are those of one uninterrupted run.
      expect(await Promise.all(runs.map((runId) => runCounts(world, runId)))).toStrictEqual(baselineCounts);
      // Each (run, step) did its work in exactly one delivery; the copies found the step held.
      const ran = itemLogs(world, "sync work item finished").map((l) => `${String(l.runId)}#${String(l.step ?? 0)}`);
      const started = itemLogs(world, "sync work item starting").filter((l) => runs.includes(String(l.runId)));
      const steps = new Set(started.map((l) => `${String(l.runId)}#${String(l.step)}`));
      expect(ran.length).toBeGreaterThan(2);
      expect(new Set(ran).size).toBe(ran.length);
      expect(ran.length).toBe(steps.size);
      expect(world.host.stats().duplicated).toBe(started.length / 2);
    } finally {
      await world.close();
    }
  }, 300_000);

  it("shows a run failed when its item went to the poison queue after maxDequeueCount deliveries", async () => {
    const world = await startFunctionsWorld({
      customers: 3,
      subscriptionsPerCustomer: 1,
      host: {
        queue: { maxDequeueCount: 3 },
        runtime: {
          // Every delivery of a sync item fails the way a Dataverse outage does (retryable).
          engine: (deps) => ({
            ...bindEngine(deps),
            runSyncWorkItem: async () => {
              throw new ConnectorError("DATAVERSE_UNAVAILABLE", "Dataverse is unavailable.", { retryable: true });
            },
          }),
        },
      },
    });
    try {
      const connectionId = await createConnection(world);
      await world.idle();
      const runId = await queueSync(world, connectionId);
      expect(world.host.stats().poisoned).toBe(1);
      const run = await runStatus(world, runId);
      expect(run.w365_status).toBe("failed");
      expect(String(run.w365_message)).toMatch(/poison queue/);
    } finally {
      await world.close();
    }
  }, 120_000);

  it("continues a run whose chain of items broke from its checkpoint when the next run of its kind starts", async () => {
    const world = await startFunctionsWorld({ customers: 4, subscriptionsPerCustomer: 1 });
    try {
      const connectionId = await createConnection(world);
      await world.idle();
      // A run whose worker stopped for good an hour ago, with its accounts phase done.
      const staleId = await createStaleRun(world.dv, connectionId);
      const runId = await queueSync(world, connectionId);
      const stale = await runStatus(world, staleId);
      expect(stale.w365_status).toBe("failed");
      expect(String(stale.w365_message)).toContain(runId);
      const run = await runStatus(world, runId);
      expect(run.w365_status).toBe("succeeded");
      // The new run went on from the old one's checkpoint: its accounts phase was not run again.
      expect(await rows(world.dv, "w365_provideraccounts")).toHaveLength(0);
    } finally {
      await world.close();
    }
  }, 120_000);

  it("runs the split sync through a real storage queue (Azurite): same rows as an uninterrupted run", async () => {
    const azurite = await startAzuriteQueue();
    let failed = 0;
    const world = await startFunctionsWorld({
      customers: CUSTOMERS,
      subscriptionsPerCustomer: SUBS_PER_CUSTOMER,
      host: {
        settings: { SYNC_ITEM_MAX_PAGES: "2" },
        // One step of each run fails on its first delivery: the message comes back after its visibility timeout.
        runtime: {
          sync: { ion: SMALL_PAGES },
          engine: (deps) => {
            const engine = bindEngine(deps);
            return {
              ...engine,
              runSyncWorkItem: async (item, delivery, budget, o) => {
                if ((item.step ?? 0) === 1 && delivery.dequeueCount === 1) {
                  failed++;
                  throw new ConnectorError("DATAVERSE_UNAVAILABLE", "Dataverse is unavailable.", { retryable: true });
                }
                return engine.runSyncWorkItem(item, delivery, budget, o);
              },
            };
          },
        },
        storageQueue: { connectionString: azurite.connectionString, visibilityTimeoutSeconds: 1, pollMs: 50 },
      },
    });
    try {
      const runs = await syncScript(world);
      for (const runId of runs) expect((await runStatus(world, runId)).w365_status).toBe("succeeded");
      expect(await snapshot(world)).toStrictEqual(baseline);
      expect(failed).toBe(2);
      // Every run was split (a run's first item carries the whole accounts phase while subscriptions overlap it).
      for (const runId of runs)
        expect(itemLogs(world, "sync work item finished").filter((l) => l.runId === runId).length).toBeGreaterThan(1);
    } finally {
      await world.close();
      await azurite.close();
    }
  }, 300_000);
});
