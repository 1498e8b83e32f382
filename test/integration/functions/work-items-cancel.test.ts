/**
 * Canceling a sync that is split into work items, through the local functions host (queue trigger with message
 * ids and dequeue counts, the Dataverse emulator and the Ion simulator over HTTP):
 *
 * - An admin's cancel stamp mid-run ends the run canceled with its counts; no later item works for it (a
 *   redelivery of the canceling item's message finds the run finished), and the next sync ends with the rows of
 *   an uninterrupted run.
 * - The stamp landing between an item's read of the run row and its fenced PATCH (another writer changed the
 *   ETag) does not cost the item its claim: the run still ends, instead of staying "running" with nobody on it.
 * - A connector deactivated while its run is split across items: the next item stops and the run ends canceled.
 */
import type { DataverseClient } from "../../../src/dataverse";
import { ConnectorError } from "../../../src/shared/errors";
import { bindEngine } from "../../../src/sync/engine";
import type { SyncWorkItem, WorkItemOutcome } from "../../../src/sync/workItems";
import { all as rows, createConnection, type FunctionsWorld, startFunctionsWorld } from "../../support/world";
import { mapAll, queueSync, type Row, snapshot } from "./workItemRuns";

const CUSTOMERS = 20;
const SUBS_PER_CUSTOMER = 3;
const SMALL_PAGES = { customerPageSize: 5, subscriptionPageLimit: 10 };
const WORLD = { customers: CUSTOMERS, subscriptionsPerCustomer: SUBS_PER_CUSTOMER, seed: 23 };

async function runRow(world: FunctionsWorld, runId: string): Promise<Row> {
  return world.dv.retrieve<Row>("w365_syncruns", runId, {
    select: [
      "w365_status",
      "w365_message",
      "w365_progress",
      "w365_finishedon",
      "w365_created",
      "w365_updated",
      "w365_unchanged",
      "w365_checkpoint",
    ],
  });
}

/** One delivery of a work item as the engine answered it. */
interface Delivered {
  runId: string;
  step: number;
  messageId: string;
  dequeueCount: number;
  outcome: WorkItemOutcome["outcome"] | "threw";
  status?: string;
  created?: number;
  updated?: number;
  unchanged?: number;
  reason?: string;
}

/**
 * The engine of the host, recording every work item delivery; `afterItem` may fail a delivery after its work
 * (the instance died before the queue heard of it: the message is delivered again).
 */
function recordingEngine(log: Delivered[], afterItem?: (item: SyncWorkItem, d: Delivered) => void) {
  return (deps: Parameters<typeof bindEngine>[0]) => {
    const engine = bindEngine(deps);
    return {
      ...engine,
      runSyncWorkItem: async (...args: Parameters<typeof engine.runSyncWorkItem>) => {
        const [item, delivery] = args;
        const d: Delivered = { runId: item.runId, step: item.step ?? 0, ...delivery, outcome: "threw" };
        log.push(d);
        const result = await engine.runSyncWorkItem(...args);
        d.outcome = result.outcome;
        if (result.outcome === "ran") {
          const { status, created, updated, unchanged } = result.summary;
          Object.assign(d, { status, created, updated, unchanged });
        } else if (result.outcome === "skipped") d.reason = result.reason;
        afterItem?.(item, d);
        return result;
      },
    };
  };
}

const stamp = (admin: DataverseClient, runId: string) =>
  admin.update("w365_syncruns", runId, { w365_cancelrequestedon: new Date().toISOString() });

/**
 * A first sync, every customer mapped, then a second sync split into one page per item during which `act` runs once
 * (as the admin, from another process) while an item is past its second subscriptions page; `check` then judges the
 * run. `afterItem` may fail a delivery after its work (see recordingEngine).
 */
async function actMidRun(
  act: (admin: DataverseClient, runId: string, connectionId: string) => Promise<unknown>,
  check: (world: FunctionsWorld, run: { connectionId: string; runId: string; log: Delivered[] }) => Promise<void>,
  afterItem?: (item: SyncWorkItem, d: Delivered, target: string | undefined) => void,
): Promise<void> {
  const log: Delivered[] = [];
  let target: string | undefined;
  let connectionId = "";
  let acted = false;
  const world = await startFunctionsWorld({
    ...WORLD,
    host: {
      settings: { SYNC_ITEM_MAX_PAGES: "1" },
      runtime: {
        sync: {
          ion: SMALL_PAGES,
          hooks: {
            afterPage: async ({ phase, page }) => {
              if (target && !acted && phase === "subscriptions" && page >= 2) {
                acted = true;
                await act(admin, target, connectionId);
              }
            },
          },
        },
        engine: recordingEngine(log, afterItem && ((item, d) => afterItem(item, d, target))),
      },
    },
  });
  // The admin acts from another process; the hooks above run only once the world is up.
  const admin = world.admin;
  try {
    connectionId = await createConnection(world);
    await world.idle();
    expect((await runRow(world, await queueSync(world, connectionId))).w365_status).toBe("succeeded");
    await mapAll(world);
    const runId = await queueSync(world, connectionId, (id) => (target = id));
    target = undefined;
    expect(acted).toBe(true);
    await check(world, { connectionId, runId, log });
  } finally {
    await world.close();
  }
}

/**
 * One sync split into items, with the admin's cancel stamp put in (once) just before the Dataverse request that
 * `lands` picks out of the run's; `check` then judges the run.
 */
async function raceStamp(
  lands: (url: string, init: RequestInit | undefined, runId: string) => boolean,
  check: (world: FunctionsWorld, runId: string, log: Delivered[]) => Promise<void>,
): Promise<void> {
  const log: Delivered[] = [];
  let target: string | undefined;
  let raced = 0;
  const racingFetch: typeof fetch = async (input, init) => {
    if (target && raced === 0 && lands(String(input), init, target)) {
      raced++;
      await stamp(admin, target);
    }
    return fetch(input, init);
  };
  const world = await startFunctionsWorld({
    ...WORLD,
    dataverseFetch: racingFetch,
    host: { settings: { SYNC_ITEM_MAX_PAGES: "1" }, runtime: { sync: { ion: SMALL_PAGES }, engine: recordingEngine(log) } },
  });
  // The admin acts from another process; the fetch above runs only once the world is up.
  const admin = world.admin;
  try {
    const connectionId = await createConnection(world);
    await world.idle();
    const runId = await queueSync(world, connectionId, (id) => (target = id));
    expect(raced).toBe(1);
    await check(world, runId, log);
  } finally {
    await world.close();
  }
}

describe("canceling a sync split into work items", () => {
  let baseline: Awaited<ReturnType<typeof snapshot>>;

  beforeAll(async () => {
    // The uninterrupted runs: the default budget runs each sync in one item.
    const world = await startFunctionsWorld({ ...WORLD, host: { runtime: { sync: { ion: SMALL_PAGES } } } });
    try {
      const connectionId = await createConnection(world);
      await world.idle();
      expect((await runRow(world, await queueSync(world, connectionId))).w365_status).toBe("succeeded");
      await mapAll(world);
      expect((await runRow(world, await queueSync(world, connectionId))).w365_status).toBe("succeeded");
      baseline = await snapshot(world);
      expect(baseline.subscriptions).toHaveLength(CUSTOMERS * SUBS_PER_CUSTOMER);
    } finally {
      await world.close();
    }
  }, 240_000);

  it("ends canceled with its counts; a redelivered item finds it finished; the next sync ends with the uninterrupted rows", async () => {
    await actMidRun(
      // The admin's Cancel (another process, over the Web API) while an item of the run is mid-page.
      (admin, runId) => stamp(admin, runId),
      async (world, { connectionId, runId, log }) => {
        const run = await runRow(world, runId);
        expect(run).toMatchObject({ w365_status: "canceled", w365_progress: "canceled" });
        expect(String(run.w365_message)).toMatch(/Canceled by an admin/);
        expect(run.w365_finishedon).toBeTruthy();
        const ofRun = log.filter((d) => d.runId === runId);
        const canceledAt = ofRun.findIndex((d) => d.status === "canceled");
        // The final write carries the counts of the whole run so far (restored from the checkpoint by each item).
        expect(run).toMatchObject({
          w365_created: ofRun[canceledAt]!.created,
          w365_updated: ofRun[canceledAt]!.updated,
          w365_unchanged: ofRun[canceledAt]!.unchanged,
        });
        const written = (await rows(world.dv, "w365_providersubscriptions")).length;
        expect(written).toBeGreaterThan(0);
        expect(written).toBeLessThan(CUSTOMERS * SUBS_PER_CUSTOMER);
        expect(run.w365_created).toBeGreaterThan(0);
        expect(Number(run.w365_created)).toBeLessThanOrEqual(written);

        expect(canceledAt).toBeGreaterThan(1); // the run was split: items ran before the cancel
        const after = ofRun.slice(canceledAt + 1);
        // The canceling item's message came back (same id, next dequeue count) and found the run finished.
        expect(after).toContainEqual(
          expect.objectContaining({ messageId: ofRun[canceledAt]!.messageId, dequeueCount: 2, outcome: "skipped" }),
        );
        for (const d of after) expect(d).toMatchObject({ outcome: "skipped", reason: expect.stringMatching(/already canceled/) });
        expect(ofRun.filter((d) => d.outcome === "ran" && d.step > ofRun[canceledAt]!.step)).toHaveLength(0);
        expect((await runRow(world, runId)).w365_status).toBe("canceled");

        const next = await queueSync(world, connectionId);
        expect((await runRow(world, next)).w365_status).toBe("succeeded");
        expect(log.filter((d) => d.runId === next && d.outcome === "ran").length).toBeGreaterThan(1);
        expect(await snapshot(world)).toStrictEqual(baseline);
      },
      (item, d, target) => {
        // The canceling item's instance dies before its message is completed: the queue delivers it again.
        if (item.runId === target && d.status === "canceled" && d.dequeueCount === 1)
          throw new ConnectorError("DATAVERSE_UNAVAILABLE", "The instance stopped.", { retryable: true });
      },
    );
  }, 300_000);

  it("keeps its claim when the cancel stamp lands between the item's read of the run row and its hand-off write", async () => {
    // Another writer between two requests of the item: the stamp goes in after the item read the row's ETag, before its PATCH.
    await raceStamp(
      (url, init, target) => {
        if (init?.method !== "PATCH" || !url.includes(`w365_syncruns(${target})`)) return false;
        const body = JSON.parse(String(init.body)) as { w365_checkpoint?: string };
        const item = body.w365_checkpoint
          ? (JSON.parse(body.w365_checkpoint) as { item?: { step: number; messageId?: string } }).item
          : undefined;
        // The hand-off of step 0 to step 1 (the next step, not yet claimed).
        return item?.step === 1 && item.messageId === undefined;
      },
      async (world, runId, log) => {
        const run = await runRow(world, runId);
        // Not "running" with nobody carrying it: step 0 handed off, and step 1 saw the stamp.
        expect(run.w365_status).toBe("canceled");
        const ofRun = log.filter((d) => d.runId === runId);
        expect(ofRun.find((d) => d.step === 0)).toMatchObject({ outcome: "ran", status: "running" });
        expect(ofRun.find((d) => d.step === 1)).toMatchObject({ outcome: "ran", status: "canceled" });
      },
    );
  }, 240_000);

  it("finishes the run when the cancel stamp lands between the last item's read of the run row and its final write", async () => {
    await raceStamp(
      (url, init, target) => {
        const body = typeof init?.body === "string" ? init.body : "";
        // The final write: the run row's status in a $batch with the connector's last-sync stamp.
        return url.endsWith("$batch") && body.includes(`w365_syncruns(${target})`) && body.includes('"w365_status":"succeeded"');
      },
      async (world, runId, log) => {
        // The cancel came after the work was done: the run ends as it ran, not "running" with nobody on it.
        expect((await runRow(world, runId)).w365_status).toBe("succeeded");
        expect(log.filter((d) => d.runId === runId && d.outcome === "ran").length).toBeGreaterThan(1);
      },
    );
  }, 240_000);

  it("stops at the next item when the connector is deactivated while its run is split across items", async () => {
    await actMidRun(
      (admin, _runId, connectionId) => admin.update("w365_providerconnections", connectionId, { statecode: 1, statuscode: 2 }),
      async (world, { runId, log }) => {
        const run = await runRow(world, runId);
        expect(run.w365_status).toBe("canceled");
        expect(String(run.w365_message)).toMatch(/is deactivated\. Activate it to sync again/);
        const ran = log.filter((d) => d.runId === runId && d.outcome === "ran");
        // The item that saw the connector inactive was the run's last, right after the one during which it was deactivated.
        expect(ran.length).toBeGreaterThan(2);
        expect(ran.at(-1)).toMatchObject({ status: "canceled" });
        expect(ran.slice(0, -1).every((d) => d.status === "running")).toBe(true);
        expect(log.filter((d) => d.runId === runId && d.step > ran.at(-1)!.step)).toHaveLength(0);
        expect((await rows(world.dv, "w365_providersubscriptions")).length).toBeLessThan(CUSTOMERS * SUBS_PER_CUSTOMER);
      },
    );
  }, 300_000);
});
