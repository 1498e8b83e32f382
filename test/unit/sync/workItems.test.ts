import { branchHeld, decideBranchDelivery } from "../../../src/sync/branches";
import { type CheckpointState, initialState, type OutboundBranch, parseCheckpoint } from "../../../src/sync/checkpoint";
import { claimHolds, type RunRowView } from "../../../src/sync/itemClaim";
import { continuedCheckpoint, decideDelivery, decideRunStep } from "../../../src/sync/workItems";

const at = 1_700_000_000_000;
const running = (item?: CheckpointState["item"]) => ({
  status: "running",
  checkpoint: { ...initialState("all", at), current: "accounts" as const, pagesDone: 3, ...(item ? { item } : {}) },
});
const delivery = (messageId: string, dequeueCount: number) => ({ messageId, dequeueCount });

describe("decideDelivery: what one delivery of a work item does with its run row", () => {
  it("runs a step no delivery holds yet, claiming it for this message and delivery", () => {
    expect(decideDelivery({ status: "queued" }, 0, delivery("m", 1))).toStrictEqual({
      action: "run",
      claim: { step: 0, messageId: "m", dequeueCount: 1 },
    });
    expect(decideDelivery(running({ step: 4 }), 4, delivery("m", 1))).toMatchObject({ action: "run" });
  });

  it("skips a finished run, a vanished row, a step already done and a step never handed off", () => {
    for (const status of ["succeeded", "partial", "failed"])
      expect(decideDelivery({ status }, 0, delivery("m", 1))).toMatchObject({ action: "skip" });
    expect(decideDelivery(undefined, 0, delivery("m", 1))).toMatchObject({ action: "skip" });
    expect(decideDelivery(running({ step: 5, messageId: "n", dequeueCount: 1 }), 4, delivery("m", 1))).toMatchObject({
      action: "skip",
    });
    expect(decideDelivery(running({ step: 2 }), 4, delivery("m", 1))).toMatchObject({ action: "skip" });
  });

  it("skips a copy under another message id while a delivery holds the step (that holder's message comes back if it dies)", () => {
    expect(decideDelivery(running({ step: 4, messageId: "holder", dequeueCount: 1 }), 4, delivery("copy", 3))).toMatchObject({
      action: "skip",
    });
  });

  it("lets a later delivery of the same message take the step over; an earlier one stands down", () => {
    const held = running({ step: 4, messageId: "m", dequeueCount: 2 });
    expect(decideDelivery(held, 4, delivery("m", 3))).toStrictEqual({
      action: "run",
      claim: { step: 4, messageId: "m", dequeueCount: 3 },
    });
    expect(decideDelivery(held, 4, delivery("m", 1))).toMatchObject({ action: "skip" });
    expect(decideDelivery(held, 4, delivery("m", 2))).toMatchObject({ action: "skip" });
  });

  it("repeats a hand-off whose message may be lost: a retry of a step that already handed off to an unclaimed next step", () => {
    expect(decideDelivery(running({ step: 5 }), 4, delivery("m", 2))).toStrictEqual({ action: "repeat-hand-off", step: 5 });
    // A first delivery cannot be a retry: the hand-off came from another delivery whose output will be written.
    expect(decideDelivery(running({ step: 5 }), 4, delivery("m", 1))).toMatchObject({ action: "skip" });
    // Once claimed, the next step is alive: nothing to repeat.
    expect(decideDelivery(running({ step: 5, messageId: "x", dequeueCount: 1 }), 4, delivery("m", 2))).toMatchObject({
      action: "skip",
    });
  });

  it("keeps the claim through the checkpoint's JSON round trip", () => {
    const cp = { ...initialState("all", at), item: { step: 7, messageId: "m", dequeueCount: 2 } };
    expect(parseCheckpoint(JSON.stringify(cp))?.item).toStrictEqual({ step: 7, messageId: "m", dequeueCount: 2 });
  });
});

describe("deliveries of a fanned-out outbound phase", () => {
  const branch = (o: Partial<OutboundBranch> = {}): OutboundBranch => ({
    done: false,
    counts: {},
    rows: 0,
    outcomes: {},
    item: { step: 0 },
    ...o,
  });
  const fanned = (branches: Record<string, OutboundBranch>, item: CheckpointState["item"] = { step: 3 }) => ({
    status: "running",
    checkpoint: { ...initialState("outbound", at), current: "outbound" as const, item, branches },
  });

  it("leaves the branches' step to the branch items: a plain item of that step skips until every branch is done", () => {
    expect(decideDelivery(fanned({ "0": branch({ done: true }), "1": branch() }), 3, delivery("m", 1))).toMatchObject({ action: "skip" });
    expect(
      decideDelivery(fanned({ "0": branch({ done: true }), "1": branch({ done: true }) }, { step: 4 }), 4, delivery("m", 1)),
    ).toMatchObject({
      action: "run",
    });
  });

  it("claims a branch's turn like a step, and skips a done branch or a copy under another message", () => {
    const row = fanned({
      "0": branch(),
      "1": branch({ done: true }),
      "2": branch({ item: { step: 0, messageId: "holder", dequeueCount: 1 } }),
    });
    expect(decideBranchDelivery(row, 3, "0", 0, delivery("m", 1))).toStrictEqual({
      action: "run",
      claim: { step: 0, messageId: "m", dequeueCount: 1 },
    });
    expect(decideBranchDelivery(row, 3, "1", 0, delivery("m", 1))).toMatchObject({ action: "skip" });
    expect(decideBranchDelivery(row, 3, "2", 0, delivery("copy", 1))).toMatchObject({ action: "skip" });
    expect(decideBranchDelivery(row, 3, "2", 0, delivery("holder", 2))).toMatchObject({ action: "run" });
    expect(decideBranchDelivery(row, 3, "9", 0, delivery("m", 1))).toMatchObject({ action: "skip" });
    expect(decideBranchDelivery({ ...row, status: "failed" }, 3, "0", 0, delivery("m", 1))).toMatchObject({ action: "skip" });
  });

  it("repeats a lost hand-off: the next turn of a branch, or the finishing item once every branch is done", () => {
    const turnHanded = fanned({ "0": branch({ item: { step: 2 } }) });
    expect(decideBranchDelivery(turnHanded, 3, "0", 1, delivery("m", 2))).toStrictEqual({ action: "repeat-hand-off", step: 3, turn: 2 });
    expect(decideBranchDelivery(turnHanded, 3, "0", 1, delivery("m", 1))).toMatchObject({ action: "skip" });
    const finished = fanned({ "0": branch({ done: true }) }, { step: 4 });
    // The run's own hand-off (no turn): the finishing item, as a retry of a plain step repeats its hand-off.
    expect(decideBranchDelivery(finished, 3, "0", 0, delivery("m", 2))).toStrictEqual({ action: "repeat-hand-off", step: 4 });
    expect(decideBranchDelivery(finished, 3, "0", 0, delivery("m", 1))).toMatchObject({ action: "skip" });
  });

  it("judges a branch's claim as held only while the run is open, the branch not done, and the same delivery holds its turn", () => {
    const claim = { step: 1, messageId: "m", dequeueCount: 2 };
    const row = fanned({ "0": branch({ item: claim }), "1": branch() });
    expect(branchHeld(row, "0", claim)).toBe(true);
    expect(branchHeld(row, "0", { ...claim, dequeueCount: 3 })).toBe(false);
    expect(branchHeld(row, "0", { ...claim, step: 2 })).toBe(false);
    expect(branchHeld(row, "1", claim)).toBe(false);
    expect(branchHeld(row, "9", claim)).toBe(false);
    expect(branchHeld(undefined, "0", claim)).toBe(false);
    // Done: its last write released it (a retry of that write must not count the branch again).
    expect(branchHeld(fanned({ "0": branch({ item: claim, done: true }) }), "0", claim)).toBe(false);
    // Finished by another actor (the poison handler, a cancel's end), though the branch still names this delivery.
    for (const status of ["failed", "canceled", "succeeded", "partial"]) expect(branchHeld({ ...row, status }, "0", claim)).toBe(false);
    // The run's step claim is another thing: a branch's claim never holds the run's step, nor the other way round.
    expect(claimHolds(row, claim)).toBe(false);
  });

  it("keeps the branches through the checkpoint's JSON", () => {
    const cp = { ...fanned({ "0": branch({ from: "a", last: "b", counts: { updated: 2 } }) }).checkpoint };
    expect(parseCheckpoint(JSON.stringify(cp))?.branches).toStrictEqual(cp.branches);
  });
});

describe("decideRunStep: the run's checks that a step's delivery and a branch's share", () => {
  const branch: OutboundBranch = { done: false, counts: {}, rows: 0, outcomes: {}, item: { step: 0 } };
  /** The same run row with one open branch at the run's step: what a branch delivery of step 3 sees. */
  const withBranches = (row: RunRowView): RunRowView => ({
    ...row,
    ...(row.checkpoint ? { checkpoint: { ...row.checkpoint, branches: { "0": branch } } } : {}),
  });
  const cases: [string, RunRowView | undefined, number, ReturnType<typeof delivery>][] = [
    ["a vanished row", undefined, 3, delivery("m", 1)],
    ["a finished run", { ...running({ step: 3 }), status: "canceled" }, 3, delivery("m", 1)],
    ["a step over", running({ step: 5 }), 3, delivery("m", 2)],
    ["a step never handed off", running({ step: 2 }), 3, delivery("m", 1)],
    ["a retry of the write that handed the run on", running({ step: 4 }), 3, delivery("m", 2)],
    ["a first delivery after the hand-off (not a retry)", running({ step: 4 }), 3, delivery("m", 1)],
    ["a hand-off whose next step is claimed already", running({ step: 4, messageId: "x", dequeueCount: 1 }), 3, delivery("m", 2)],
  ];

  it.each(cases)("decides %s the same way for a step's delivery and a branch's", (_what, row, step, d) => {
    const decided = decideRunStep(row, step, d);
    expect(decided).toBeDefined();
    expect(decideDelivery(row, step, d)).toStrictEqual(decided);
    expect(decideBranchDelivery(row && withBranches(row), step, "0", 0, d)).toStrictEqual(decided);
  });

  it("names the run's own hand-off without a turn, and leaves a run at the step to the caller's checks", () => {
    expect(decideRunStep(running({ step: 4 }), 3, delivery("m", 2))).toStrictEqual({ action: "repeat-hand-off", step: 4 });
    expect(decideRunStep(running({ step: 3, messageId: "x", dequeueCount: 1 }), 3, delivery("m", 1))).toBeUndefined();
    expect(decideRunStep({ status: "queued" }, 0, delivery("m", 1))).toBeUndefined();
  });
});

describe("continuedCheckpoint: a stale run's checkpoint as the run taking it over continues it", () => {
  it("drops the claim, the takeover note and the branches, keeping what unfinished branches counted", () => {
    const branch = (done: boolean, updated: number): OutboundBranch => ({
      done,
      counts: { updated },
      rows: updated,
      outcomes: {},
      item: { step: 7, messageId: "m", dequeueCount: 1 },
    });
    const stale: CheckpointState = {
      ...initialState("all", at),
      current: "outbound",
      done: ["accounts", "subscriptions"],
      // The done branch's 2 are already in the run's counts.
      counts: { created: 5, updated: 2 },
      item: { step: 7, messageId: "m", dequeueCount: 2 },
      takeover: { runId: "r0", etag: 'W/"1"' },
      branches: { a: branch(true, 2), b: branch(false, 3), c: branch(false, 1) },
    };
    const next = continuedCheckpoint(stale);
    expect(next.counts).toStrictEqual({ created: 5, updated: 6 });
    expect(next).not.toHaveProperty("item");
    expect(next).not.toHaveProperty("takeover");
    expect(next).not.toHaveProperty("branches");
    expect(next.done).toStrictEqual(["accounts", "subscriptions"]);
    // Without branches, the counts are the run's.
    expect(continuedCheckpoint({ ...stale, branches: undefined }).counts).toStrictEqual({ created: 5, updated: 2 });
  });
});
