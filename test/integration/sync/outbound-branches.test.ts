/**
 * A run's outbound phase fanned out across branch work items that run at once (src/sync/branches.ts), each
 * delivery its own actor (own Dataverse client, own Ion client and limiter) against the Dataverse emulator and
 * the Ion simulator, as the queue would deliver them: at once, twice, killed and delivered again, poisoned.
 * Whatever happens, each request gets exactly one order, and the run ends with the rows and counts of the same
 * run in one item.
 */
import { randomUUID } from "node:crypto";

import { startQueuedRun } from "../../../src/sync";
import type { SyncDeps } from "../../../src/sync/context";
import { ItemClaimLostError } from "../../../src/sync/itemClaim";
import {
  type Delivery,
  type ItemBudget,
  recordPoisonedItem,
  runSyncWorkItem,
  type SyncWorkItem,
  type WorkItemOutcome,
} from "../../../src/sync/workItems";
import { fakeClock } from "../../support/httpStubs";
import { all, integrationClient, ordersFor, type OutboundWorld, startOutboundWorld } from "../../support/world";

jest.setTimeout(120_000);

type Row = Record<string, unknown>;
const SUBS = "w365_providersubscriptions";
/** Requests pending when the run starts; with branches above 3 rows, up to 3 branches: 3 branches of 3 or 4. */
const REQUESTS = 10;
const FAN_OUT = { rows: 3, branches: 3 };
const WHOLE: ItemBudget = { ms: Number.POSITIVE_INFINITY };
const COMPLETE_AT_ONCE = { orderProcessing: { mode: "auto" as const, delayMs: 0 } };

async function world(): Promise<OutboundWorld> {
  return startOutboundWorld({ customers: 6, seed: 11, ion: COMPLETE_AT_ONCE });
}

/** The first REQUESTS subscriptions (by Ion id, the same in two worlds of one seed) get a quantity request, as an admin saves it. */
async function request(w: OutboundWorld): Promise<{ id: string; ionId: string }[]> {
  const chosen = [...w.subscriptions].sort((a, b) => a.ionId.localeCompare(b.ionId)).slice(0, REQUESTS);
  for (const s of chosen) await w.admin.update(SUBS, s.id, { w365_requestedquantity: s.quantity + 2 });
  return chosen;
}

async function queueRun(w: OutboundWorld): Promise<SyncWorkItem> {
  const { runId } = await startQueuedRun(w.engine("queue"), { connectionId: w.connectionId, kind: "outbound", trigger: "schedule" });
  return { runId, connectionId: w.connectionId, kind: "outbound", trigger: "schedule" };
}

const delivery = (dequeueCount = 1, messageId = randomUUID()): Delivery => ({ messageId, dequeueCount });

/** What an outcome asks the caller to enqueue. */
function enqueued(o: WorkItemOutcome): SyncWorkItem[] {
  return [...(o.next ? [o.next] : []), ...(o.outcome !== "branch" && o.branches ? o.branches : [])];
}

/**
 * Delivers the items wave by wave, every item of a wave at once as its own actor, until nothing is enqueued.
 * `actor` may give one delivery its own hooks; returns every outcome (an item that threw: its error).
 */
async function deliverAll(
  w: OutboundWorld,
  first: SyncWorkItem[],
  o: { fanOut?: typeof FAN_OUT; actor?: (item: SyncWorkItem) => SyncDeps; budget?: ItemBudget } = {},
): Promise<(WorkItemOutcome | Error)[]> {
  const outcomes: (WorkItemOutcome | Error)[] = [];
  let wave = first;
  let n = 0;
  while (wave.length > 0) {
    const results = await Promise.all(
      wave.map((item) =>
        runSyncWorkItem(
          o.actor?.(item) ?? w.engine(`worker-${++n}`),
          item,
          delivery(),
          o.budget ?? WHOLE,
          o.fanOut ? { fanOut: o.fanOut } : {},
        ).catch((e: unknown) => e as Error),
      ),
    );
    outcomes.push(...results);
    wave = results.flatMap((r) => (r instanceof Error ? [] : enqueued(r)));
  }
  return outcomes;
}

/** What the run leaves on the requested rows, by Ion id (ids differ between two worlds). */
async function requestedRows(w: OutboundWorld, chosen: { ionId: string }[]): Promise<Row[]> {
  const rows = await all<Row>(w.dv, SUBS, undefined, [
    "w365_ionsubscriptionid",
    "w365_quantity",
    "w365_requestedquantity",
    "w365_lastsyncedquantity",
    "w365_syncstate",
  ]);
  const wanted = new Set(chosen.map((c) => c.ionId));
  return rows
    .filter((r) => wanted.has(String(r.w365_ionsubscriptionid)))
    .map((r) => ({
      w365_ionsubscriptionid: r.w365_ionsubscriptionid,
      w365_quantity: r.w365_quantity,
      w365_requestedquantity: r.w365_requestedquantity,
      w365_lastsyncedquantity: r.w365_lastsyncedquantity,
      w365_syncstate: r.w365_syncstate,
    }))
    .sort((a, b) => String(a.w365_ionsubscriptionid).localeCompare(String(b.w365_ionsubscriptionid)));
}

async function runResult(w: OutboundWorld, runId: string): Promise<Row> {
  const run = await w.dv.retrieve<Row>("w365_syncruns", runId, {
    select: [
      "w365_status",
      "w365_message",
      "w365_created",
      "w365_updated",
      "w365_unchanged",
      "w365_failed",
      "w365_report",
      "w365_checkpoint",
    ],
  });
  const report = JSON.parse(String(run.w365_report ?? "{}")) as { counts?: Record<string, number> };
  return {
    status: run.w365_status,
    created: run.w365_created,
    updated: run.w365_updated,
    unchanged: run.w365_unchanged,
    failed: run.w365_failed,
    counts: report.counts,
  };
}

function checkpointOf(row: Row): { branches?: Record<string, { done: boolean; rows: number; counts: Record<string, number> }> } {
  return JSON.parse(String(row.w365_checkpoint)) as ReturnType<typeof checkpointOf>;
}

function expectOneOrderPerRequest(w: OutboundWorld, chosen: { ionId: string }[]): void {
  expect(chosen.map((c) => ordersFor(w, c.ionId).length)).toStrictEqual(chosen.map(() => 1));
}

/** Holds each party until all arrived; says whether they all did (the branches really worked at once). */
function barrier(parties: number) {
  let arrived = 0;
  let met = false;
  const waiters: (() => void)[] = [];
  return {
    wait: async () => {
      arrived++;
      if (arrived >= parties) {
        met = true;
        waiters.splice(0).forEach((r) => r());
      } else await Promise.race([new Promise<void>((r) => waiters.push(r)), new Promise<void>((r) => setTimeout(r, 5_000))]);
    },
    met: () => met,
  };
}

describe("the outbound phase fanned out across branch work items", () => {
  let baseline: { rows: Row[]; run: Row };

  beforeAll(async () => {
    // The same requests in a world of the same seed, run in one item: what the fanned-out run must end with.
    const w = await world();
    try {
      const chosen = await request(w);
      const outcomes = await deliverAll(w, [await queueRun(w)]);
      expect(outcomes).toHaveLength(1);
      const [only] = outcomes as WorkItemOutcome[];
      expect(only!.outcome).toBe("ran");
      expectOneOrderPerRequest(w, chosen);
      baseline = { rows: await requestedRows(w, chosen), run: await runResult(w, (only as { summary: { runId: string } }).summary.runId) };
      expect(baseline.run).toMatchObject({ status: "succeeded", updated: REQUESTS, failed: 0 });
    } finally {
      await w.close();
    }
  });

  let w: OutboundWorld;
  beforeEach(async () => {
    w = await world();
  });
  afterEach(async () => w?.close());

  it("fans out into branches that work at once and ends with one order per request, the rows and the counts of one item", async () => {
    const chosen = await request(w);
    const first = await queueRun(w);
    const together = barrier(FAN_OUT.branches);
    const firstOrder = new Set<string>();
    const outcomes = await deliverAll(w, [first], {
      fanOut: FAN_OUT,
      // Each branch's first order waits for the others' first: all three are inside their rows at once.
      actor: (item) =>
        w.engine(`worker-${item.branch ?? "main"}-${randomUUID()}`, {
          hooks: {
            beforeOrder: async () => {
              if (item.branch === undefined || firstOrder.has(item.branch)) return;
              firstOrder.add(item.branch);
              await together.wait();
            },
          },
        }),
    });
    expect(outcomes.filter((o) => o instanceof Error)).toStrictEqual([]);
    const done = outcomes as WorkItemOutcome[];
    // The parent hands off to three branches; each branch records itself done; exactly one finishing item.
    expect(done[0]).toMatchObject({ outcome: "ran", summary: { status: "running" } });
    expect(
      done
        .filter((o) => o.outcome === "branch")
        .map((o) => (o as { branch: string }).branch)
        .sort(),
    ).toStrictEqual(["0", "1", "2"]);
    // Only the write that made the last branch done hands the run on: one finishing item enqueued, and it ran.
    expect(done.filter((o) => o.outcome === "branch" && o.next)).toHaveLength(1);
    const finishers = done.filter((o) => o.outcome === "ran").slice(1);
    expect(finishers).toHaveLength(1);
    expect(together.met()).toBe(true);
    expectOneOrderPerRequest(w, chosen);
    expect(await requestedRows(w, chosen)).toStrictEqual(baseline.rows);
    expect(await runResult(w, first.runId)).toStrictEqual(baseline.run);
    const cp = checkpointOf(await w.dv.retrieve<Row>("w365_syncruns", first.runId, { select: ["w365_checkpoint"] }));
    expect(Object.values(cp.branches ?? {}).map((b) => b.done)).toStrictEqual([true, true, true]);
    expect(Object.values(cp.branches ?? {}).reduce((n, b) => n + b.rows, 0)).toBe(REQUESTS);

    // The finishing item and the last branch's message delivered again: nothing more happens.
    const finishing = (done.find((o) => o.outcome === "branch" && o.next) as { next: SyncWorkItem }).next;
    const again = await Promise.all([
      runSyncWorkItem(w.engine("late-1"), finishing, delivery(), WHOLE, { fanOut: FAN_OUT }),
      runSyncWorkItem(w.engine("late-2"), { ...finishing, step: finishing.step! - 1, branch: "2", turn: 0 }, delivery(2), WHOLE, {
        fanOut: FAN_OUT,
      }),
    ]);
    expect(again.map((o) => o.outcome)).toStrictEqual(["skipped", "skipped"]);
    expect(await runResult(w, first.runId)).toStrictEqual(baseline.run);
  });

  it("hands a branch's next turn on when its budget is spent, and a retried turn enqueues it again", async () => {
    const chosen = await request(w);
    const first = await queueRun(w);
    const parent = await runSyncWorkItem(w.engine("parent"), first, delivery(), WHOLE, { fanOut: FAN_OUT });
    const [b0, ...others] = enqueued(parent);
    // A spent budget: one row per turn.
    const messageId = randomUUID();
    const turn0 = await runSyncWorkItem(w.engine("b0-turn0"), b0!, delivery(1, messageId), { ms: 0 }, { fanOut: FAN_OUT });
    expect(turn0).toMatchObject({ outcome: "branch", done: false, next: { branch: "0", turn: 1 } });
    // Its output lost (the invocation failed after the write): the message's retry enqueues the next turn again.
    const retried = await runSyncWorkItem(w.engine("b0-retry"), b0!, delivery(2, messageId), { ms: 0 }, { fanOut: FAN_OUT });
    expect(retried).toMatchObject({ outcome: "skipped", next: { branch: "0", turn: 1 } });
    const outcomes = await deliverAll(w, [turn0.next!, ...others], { fanOut: FAN_OUT, budget: { ms: 0 } });
    expect(outcomes.filter((o) => o instanceof Error)).toStrictEqual([]);
    expect(outcomes.filter((o) => !(o instanceof Error) && o.outcome === "branch").length).toBeGreaterThan(FAN_OUT.branches);
    expectOneOrderPerRequest(w, chosen);
    expect(await requestedRows(w, chosen)).toStrictEqual(baseline.rows);
    expect(await runResult(w, first.runId)).toStrictEqual(baseline.run);
  });

  it("without fan-out, a phase handed from item to item between rows reports the counts of one item", async () => {
    const chosen = await request(w);
    const first = await queueRun(w);
    const outcomes = await deliverAll(w, [first], { budget: { ms: 0 } });
    expect(outcomes.length).toBeGreaterThan(2);
    // Each hand-off says how many requests the run has handled so far (rows, not pages), one more per item.
    const handOffs = outcomes.flatMap((o) => (o instanceof Error || o.outcome !== "ran" || !o.next ? [] : [o.summary.message]));
    expect(handOffs).toStrictEqual(
      Array.from({ length: REQUESTS - 1 }, (_, i) => `Continuing in the next work item (outbound, ${i + 1} request(s) handled).`),
    );
    expectOneOrderPerRequest(w, chosen);
    expect(await requestedRows(w, chosen)).toStrictEqual(baseline.rows);
    expect(await runResult(w, first.runId)).toStrictEqual(baseline.run);
  });

  it("runs the finishing item once when it is delivered twice at the same time", async () => {
    const chosen = await request(w);
    const first = await queueRun(w);
    const parent = await runSyncWorkItem(w.engine("parent"), first, delivery(), WHOLE, { fanOut: FAN_OUT });
    const branchOutcomes = await Promise.all(
      enqueued(parent).map((b) => runSyncWorkItem(w.engine(`branch-${b.branch}`), b, delivery(), WHOLE, { fanOut: FAN_OUT })),
    );
    const finishing = branchOutcomes.flatMap(enqueued);
    expect(finishing).toHaveLength(1);
    const twice = await Promise.all([
      runSyncWorkItem(w.engine("finish-a"), finishing[0]!, delivery(), WHOLE, { fanOut: FAN_OUT }),
      runSyncWorkItem(w.engine("finish-b"), finishing[0]!, delivery(), WHOLE, { fanOut: FAN_OUT }),
    ]);
    expect(twice.map((o) => o.outcome).sort()).toStrictEqual(["ran", "skipped"]);
    expectOneOrderPerRequest(w, chosen);
    expect(await runResult(w, first.runId)).toStrictEqual(baseline.run);
  });

  it("goes on from where a killed branch stopped when its message comes back, and counts its rows once", async () => {
    const chosen = await request(w);
    const first = await queueRun(w);
    const parent = await runSyncWorkItem(w.engine("parent"), first, delivery(), WHOLE, { fanOut: FAN_OUT });
    const [b0, ...others] = enqueued(parent);
    // The first delivery of branch 0 dies at its second order (a killed instance: its code never goes on).
    const messageId = randomUUID();
    let orders = 0;
    let reached!: () => void;
    const reachedKill = new Promise<void>((r) => (reached = r));
    const killed = w.engine("killed", {
      hooks: {
        beforeOrder: async () => {
          if (++orders < 2) return;
          reached();
          await new Promise<never>(() => undefined);
        },
      },
    });
    void runSyncWorkItem(killed, b0!, delivery(1, messageId), WHOLE, { fanOut: FAN_OUT });
    await reachedKill;
    // The queue delivers its message again once the visibility timeout passes.
    const results = await Promise.all([
      runSyncWorkItem(w.engine("redelivered"), b0!, delivery(2, messageId), WHOLE, { fanOut: FAN_OUT }),
      ...others.map((b) => runSyncWorkItem(w.engine(`branch-${b.branch}`), b, delivery(), WHOLE, { fanOut: FAN_OUT })),
    ]);
    expect(results.map((r) => r.outcome)).toStrictEqual(["branch", "branch", "branch"]);
    const finishing = results.flatMap(enqueued);
    expect(finishing).toHaveLength(1);
    await deliverAll(w, finishing, { fanOut: FAN_OUT });
    expectOneOrderPerRequest(w, chosen);
    expect(await requestedRows(w, chosen)).toStrictEqual(baseline.rows);
    expect(await runResult(w, first.runId)).toStrictEqual(baseline.run);
  });

  it("counts a branch once when its message runs twice at once (a lapsed lease) and ignores a copy under another id", async () => {
    const chosen = await request(w);
    const first = await queueRun(w);
    const parent = await runSyncWorkItem(w.engine("parent"), first, delivery(), WHOLE, { fanOut: FAN_OUT });
    const [b0, ...others] = enqueued(parent);
    const messageId = randomUUID();
    // The first delivery is inside its rows when the queue hands the same message to a second one.
    let started!: () => void;
    const inside = new Promise<void>((r) => (started = r));
    const firstDelivery = runSyncWorkItem(
      w.engine("lease-lapsed", { hooks: { beforeOrder: () => started() } }),
      b0!,
      delivery(1, messageId),
      WHOLE,
      { fanOut: FAN_OUT },
    ).catch((e: unknown) => e as Error);
    await inside;
    const [second, copy, ...rest] = await Promise.all([
      runSyncWorkItem(w.engine("second"), b0!, delivery(2, messageId), WHOLE, { fanOut: FAN_OUT }),
      runSyncWorkItem(w.engine("copy"), b0!, delivery(), WHOLE, { fanOut: FAN_OUT }),
      ...others.map((b) => runSyncWorkItem(w.engine(`branch-${b.branch}`), b, delivery(), WHOLE, { fanOut: FAN_OUT })),
    ]);
    const older = await firstDelivery;
    // The older delivery lost its claim to the newer: it stops without recording anything.
    expect(older).toBeInstanceOf(ItemClaimLostError);
    expect(second!.outcome).toBe("branch");
    expect(copy!.outcome).toBe("skipped");
    const finishing = [second!, ...rest].flatMap(enqueued);
    expect(finishing).toHaveLength(1);
    await deliverAll(w, finishing, { fanOut: FAN_OUT });
    expectOneOrderPerRequest(w, chosen);
    expect(await requestedRows(w, chosen)).toStrictEqual(baseline.rows);
    // Each request counted once as applied. The row the older delivery was in when it lost the branch is counted by
    // the newer one, which found its order placed and tracked it: so "order-placed" may say one less.
    const run = await runResult(w, first.runId);
    const { counts, ...totals } = run as { counts: Record<string, number> };
    const { counts: baseCounts, ...baseTotals } = baseline.run as { counts: Record<string, number> };
    expect(totals).toStrictEqual(baseTotals);
    expect(counts.updated).toBe(REQUESTS);
    expect(counts["order-completed"]).toBe(baseCounts["order-completed"]);
    expect(counts["order-placed"]).toBeGreaterThanOrEqual(REQUESTS - 1);
    expect(counts["order-placed"]).toBeLessThanOrEqual(REQUESTS);
  });

  it("checks for a cancel through the link its writes go through: the check's read is the ETag its next write goes under", async () => {
    await request(w);
    const first = await queueRun(w);
    const parent = await runSyncWorkItem(w.engine("parent"), first, delivery(), WHOLE, { fanOut: FAN_OUT });
    const [b0] = enqueued(parent);
    // Time moves past the cancel interval at each order, so every row's check but the first reads the run row; and
    // just before each of those reads another writer (another branch, an admin) writes the row.
    const clock = fakeClock(Date.now());
    const runRow = `w365_syncruns(${first.runId})`;
    const seen = { GET: 0, PATCH: 0, conflicts: 0 };
    const counting: typeof fetch = async (input, init) => {
      const url = decodeURIComponent(typeof input === "string" ? input : input instanceof URL ? input.href : input.url);
      const method = (init?.method ?? "GET").toUpperCase();
      if (!url.includes(runRow) || (method !== "GET" && method !== "PATCH")) return fetch(input, init);
      seen[method as "GET" | "PATCH"]++;
      if (method === "GET" && seen.GET > 1) await w.dv.update("w365_syncruns", first.runId, { w365_message: `another writer ${seen.GET}` });
      const res = await fetch(input, init);
      if (res.status === 412) seen.conflicts++;
      return res;
    };
    const deps: SyncDeps = {
      ...w.engine("b0"),
      dataverse: integrationClient(w.emu, { fetch: counting }),
      clock,
      hooks: { beforeOrder: async () => clock.advance(10_000) },
    };
    const outcome = await runSyncWorkItem(deps, b0!, delivery(), WHOLE, { fanOut: FAN_OUT });
    expect(outcome).toMatchObject({ outcome: "branch", done: true });
    const rows = (outcome as { counts: Record<string, number> }).counts.updated!;
    expect(rows).toBeGreaterThan(1);
    // One read to claim (it is the first check too), one per later check; the claim, a record per row and the done
    // write, none refused: each check's read refreshed the ETag the branch's next write went under.
    expect(seen).toStrictEqual({ GET: rows, PATCH: rows + 2, conflicts: 0 });
  });

  it("marks the run failed when a branch goes to the poison queue, and the other branches stop there", async () => {
    await request(w);
    const first = await queueRun(w);
    const parent = await runSyncWorkItem(w.engine("parent"), first, delivery(), WHOLE, { fanOut: FAN_OUT });
    const [b0, b1, b2] = enqueued(parent);
    // Branch 0 finishes; branch 1's every delivery failed (the queue moved it to the poison queue); branch 2 is working.
    expect((await runSyncWorkItem(w.engine("b0"), b0!, delivery(), WHOLE, { fanOut: FAN_OUT })).outcome).toBe("branch");
    let poisoned!: () => void;
    const afterPoison = new Promise<void>((r) => (poisoned = r));
    let held = false;
    const working = runSyncWorkItem(
      w.engine("b2", {
        hooks: {
          beforeOrder: async () => {
            if (held) return;
            held = true;
            await afterPoison;
          },
        },
      }),
      b2!,
      delivery(),
      WHOLE,
      { fanOut: FAN_OUT },
    ).catch((e: unknown) => e as Error);
    // A poisoned copy of the finished branch 0 changes nothing; branch 1's poison fails the run.
    expect(await recordPoisonedItem(w.engine("poison-0"), b0!, { attempts: 5 })).toBe(false);
    expect(await recordPoisonedItem(w.engine("poison-1"), b1!, { attempts: 5 })).toBe(true);
    poisoned();
    expect(await working).toBeInstanceOf(ItemClaimLostError);
    const run = await w.dv.retrieve<Row>("w365_syncruns", first.runId, { select: ["w365_status", "w365_message"] });
    expect(run.w365_status).toBe("failed");
    expect(String(run.w365_message)).toContain("outbound branch 1");
    // Branch 1's message, had it come back once more, and any late item find the run finished.
    expect((await runSyncWorkItem(w.engine("late"), b1!, delivery(6), WHOLE, { fanOut: FAN_OUT })).outcome).toBe("skipped");
  });
});
