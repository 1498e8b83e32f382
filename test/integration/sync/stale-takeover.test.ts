/**
 * A fresh run's first work item continues a stale run (its chain of items broke) from that run's checkpoint.
 * Two deliveries of that first item, under two message ids (the queue is at-least-once), run at once as
 * separate actors, each with its own Dataverse client, against the emulator; their requests are ordered the
 * unlucky way: the delivery that would mark the old run loses the claim of the new run's row to the other one.
 * Whatever the order, exactly one run goes on from the old checkpoint and the old run is marked once.
 */
import { randomUUID } from "node:crypto";

import { startQueuedRun } from "../../../src/sync";
import type { SyncDeps } from "../../../src/sync/context";
import { runSyncWorkItem, type SyncWorkItem } from "../../../src/sync/workItems";
import { all, createStaleRun, integrationClient, startWorld, type World } from "../../support/world";

type Row = Record<string, unknown>;

/** A promise and its resolver: one point in the choreography of the two actors' requests. */
function signal(): { promise: Promise<void>; fire: () => void } {
  let fire!: () => void;
  const promise = new Promise<void>((r) => (fire = r));
  return { promise, fire };
}

function urlOf(input: Parameters<typeof fetch>[0]): string {
  return decodeURIComponent(typeof input === "string" ? input : input instanceof URL ? input.href : input.url);
}

describe("taking over a stale run from the first work item of a fresh run", () => {
  let w: World;
  beforeAll(async () => {
    w = await startWorld({ customers: 4, subscriptionsPerCustomer: 1, crmAccounts: false });
  }, 60_000);
  afterAll(async () => w?.close());

  const staleRun = (): Promise<string> => createStaleRun(w.dv, w.connectionId);

  it("goes on from the old checkpoint when the delivery that found the stale run loses the claim to a copy", async () => {
    const staleId = await staleRun();
    const { runId } = await startQueuedRun(w.deps, { connectionId: w.connectionId, kind: "all", trigger: "schedule" });
    const item: SyncWorkItem = { runId, connectionId: w.connectionId, kind: "all", trigger: "schedule" };
    const isPatchOf = (id: string, input: Parameters<typeof fetch>[0], init?: RequestInit) =>
      (init?.method ?? "GET").toUpperCase() === "PATCH" && urlOf(input).includes(`w365_syncruns(${id})`);

    // X's first write of the new run's row waits until Y's has been answered (Y claims first). Y's write of the
    // old run's row waits until X has written it (the old order) or X's claim has been answered (X lost).
    const yClaimed = signal();
    const xStaleWritten = signal();
    const xClaimAnswered = signal();
    let xClaimSent = false;
    let yClaimSent = false;
    const xFetch: typeof fetch = async (input, init) => {
      if (isPatchOf(runId, input, init) && !xClaimSent) {
        xClaimSent = true;
        await yClaimed.promise;
        const res = await fetch(input, init);
        xClaimAnswered.fire();
        return res;
      }
      if (isPatchOf(staleId, input, init)) {
        const res = await fetch(input, init);
        xStaleWritten.fire();
        return res;
      }
      return fetch(input, init);
    };
    const yFetch: typeof fetch = async (input, init) => {
      if (isPatchOf(runId, input, init) && !yClaimSent) {
        yClaimSent = true;
        const res = await fetch(input, init);
        yClaimed.fire();
        return res;
      }
      if (isPatchOf(staleId, input, init)) await Promise.race([xStaleWritten.promise, xClaimAnswered.promise]);
      return fetch(input, init);
    };
    const actor = (f: typeof fetch): SyncDeps => ({ ...w.deps, dataverse: integrationClient(w.emu, { fetch: f }) });
    const [x, y] = await Promise.all([
      runSyncWorkItem(actor(xFetch), item, { messageId: randomUUID(), dequeueCount: 1 }),
      runSyncWorkItem(actor(yFetch), item, { messageId: randomUUID(), dequeueCount: 1 }),
    ]);
    expect(x.outcome).toBe("skipped");
    expect(y.outcome).toBe("ran");

    const [stale] = await all<Row>(w.dv, "w365_syncruns", `w365_syncrunid eq ${staleId}`, ["w365_status", "w365_message"]);
    expect(stale).toMatchObject({ w365_status: "failed" });
    expect(String(stale!.w365_message)).toContain(runId);
    const [run] = await all<Row>(w.dv, "w365_syncruns", `w365_syncrunid eq ${runId}`, ["w365_status", "w365_checkpoint"]);
    expect(run).toMatchObject({ w365_status: "succeeded" });
    expect(JSON.parse(String(run!.w365_checkpoint))).not.toHaveProperty("takeover");
    // The new run went on from the old checkpoint: its accounts phase (done there) was not run again.
    expect((await all(w.dv, "w365_provideraccounts")).length).toBe(0);
  }, 60_000);

  it("completes the takeover in the message's next delivery when the first one died with the old run's write unanswered", async () => {
    const staleId = await staleRun();
    const { runId } = await startQueuedRun(w.deps, { connectionId: w.connectionId, kind: "all", trigger: "schedule" });
    const item: SyncWorkItem = { runId, connectionId: w.connectionId, kind: "all", trigger: "schedule" };
    // The first delivery's write of the old run's row reaches Dataverse, and its instance dies before the answer.
    const dying: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if ((init?.method ?? "GET").toUpperCase() === "PATCH" && urlOf(input).includes(`w365_syncruns(${staleId})`))
        throw new Error("the instance died");
      return res;
    };
    const messageId = randomUUID();
    await expect(
      runSyncWorkItem({ ...w.deps, dataverse: integrationClient(w.emu, { fetch: dying, retry: { maxAttempts: 1 } }) }, item, {
        messageId,
        dequeueCount: 1,
      }),
    ).rejects.toThrow();
    const again = await runSyncWorkItem(w.deps, item, { messageId, dequeueCount: 2 });
    expect(again.outcome).toBe("ran");

    const [stale] = await all<Row>(w.dv, "w365_syncruns", `w365_syncrunid eq ${staleId}`, ["w365_status", "w365_message"]);
    expect(stale).toMatchObject({ w365_status: "failed" });
    expect(String(stale!.w365_message)).toContain(runId);
    const [run] = await all<Row>(w.dv, "w365_syncruns", `w365_syncrunid eq ${runId}`, ["w365_status", "w365_checkpoint"]);
    expect(run).toMatchObject({ w365_status: "succeeded" });
    expect((await all(w.dv, "w365_provideraccounts")).length).toBe(0);
  }, 60_000);

  it("lets exactly one of two fresh runs continue a stale run they both claimed", async () => {
    const staleId = await staleRun();
    const a = await startQueuedRun(w.deps, { connectionId: w.connectionId, kind: "all", trigger: "schedule" });
    const b = await startQueuedRun(w.deps, { connectionId: w.connectionId, kind: "all", trigger: "manual" });
    // Each run's write of the old row waits until the other run has claimed its own row (or written the old one).
    const claimed = { [a.runId]: signal(), [b.runId]: signal() };
    const staleWritten = { [a.runId]: signal(), [b.runId]: signal() };
    const actorFor = (own: string, other: string): SyncDeps => {
      let claimSent = false;
      const f: typeof fetch = async (input, init) => {
        const patch = (init?.method ?? "GET").toUpperCase() === "PATCH";
        if (patch && !claimSent && urlOf(input).includes(`w365_syncruns(${own})`)) {
          claimSent = true;
          const res = await fetch(input, init);
          claimed[own]!.fire();
          return res;
        }
        if (patch && urlOf(input).includes(`w365_syncruns(${staleId})`)) {
          await Promise.race([claimed[other]!.promise, staleWritten[other]!.promise]);
          const res = await fetch(input, init);
          staleWritten[own]!.fire();
          return res;
        }
        return fetch(input, init);
      };
      return { ...w.deps, dataverse: integrationClient(w.emu, { fetch: f }) };
    };
    const itemOf = (runId: string, trigger: "schedule" | "manual"): SyncWorkItem => ({
      runId,
      connectionId: w.connectionId,
      kind: "all",
      trigger,
    });
    const results = await Promise.all([
      runSyncWorkItem(actorFor(a.runId, b.runId), itemOf(a.runId, "schedule"), { messageId: randomUUID(), dequeueCount: 1 }),
      runSyncWorkItem(actorFor(b.runId, a.runId), itemOf(b.runId, "manual"), { messageId: randomUUID(), dequeueCount: 1 }),
    ]);
    for (const r of results) expect(r.outcome).toBe("ran");
    const [stale] = await all<Row>(w.dv, "w365_syncruns", `w365_syncrunid eq ${staleId}`, ["w365_status", "w365_message"]);
    expect(stale).toMatchObject({ w365_status: "failed" });
    const message = String(stale!.w365_message);
    const continued = [a.runId, b.runId].filter((id) => message.includes(id));
    expect(continued).toHaveLength(1);
    // The other run gave the checkpoint back and ran from the start; the one that continued restored the old counts.
    const runs = await all<Row>(w.dv, "w365_syncruns", `w365_syncrunid eq ${a.runId} or w365_syncrunid eq ${b.runId}`, [
      "w365_syncrunid",
      "w365_status",
      "w365_report",
    ]);
    expect(runs).toHaveLength(2);
    for (const run of runs) {
      expect(run.w365_status).toBe("succeeded");
      const counts = (JSON.parse(String(run.w365_report)) as { counts: Record<string, number> }).counts;
      const phases = (JSON.parse(String(run.w365_report)) as { phases: Record<string, unknown> }).phases;
      if (run.w365_syncrunid === continued[0]) expect(phases).not.toHaveProperty("accounts");
      else expect(phases).toHaveProperty("accounts");
      expect(counts).toBeDefined();
    }
    // Restored counts (the 4 accounts the stale run created) make the continued run's report equal the fresh one's.
    const countsOf = (run: Row | undefined) => (JSON.parse(String(run?.w365_report)) as { counts: Record<string, number> }).counts;
    const [continuedRun, freshRun] = [
      runs.find((r) => r.w365_syncrunid === continued[0]),
      runs.find((r) => r.w365_syncrunid !== continued[0]),
    ];
    expect(countsOf(continuedRun)).toMatchObject({ created: 4 });
    expect(countsOf(continuedRun)).toEqual(countsOf(freshRun));
  }, 60_000);
});
