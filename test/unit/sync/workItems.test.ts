import { type CheckpointState, initialState, parseCheckpoint } from "../../../src/sync/checkpoint";
import { decideDelivery } from "../../../src/sync/workItems";

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
