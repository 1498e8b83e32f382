/**
 * The fence of a run split into work items: a delivery's claim stops holding the run row once another actor
 * finished the row (a stale-run takeover or the poison handler mark it failed without touching the claim). And
 * the link as branch items use it: their own predicate of what their claim holds, changes re-applied onto the row
 * re-read after a 412, and one link for writes and cancel checks. Each actor is its own client, as separate
 * Functions instances are.
 */
import { branchHeld } from "../../../src/sync/branches";
import { CancelWatch } from "../../../src/sync/cancellation";
import { type CheckpointState, initialState, type ItemClaim, type OutboundBranch } from "../../../src/sync/checkpoint";
import { ItemClaimLostError, RunRowLink, type RunRowView } from "../../../src/sync/itemClaim";
import { fakeClock } from "../../support/httpStubs";
import { integrationClient, startWorld, type World } from "../../support/world";

describe("work item claim on the run row", () => {
  let w: World;
  beforeAll(async () => {
    w = await startWorld({ customers: 1, subscriptionsPerCustomer: 1 });
  });
  afterAll(async () => w?.close());

  const claim = { step: 1, messageId: "message-1", dequeueCount: 1 };
  /** A holder's first write, with no ETag of its own yet: it reads the row, judges the claim, then writes with If-Match. */
  const fencedWrite = (runId: string, body: Record<string, unknown>) => new RunRowLink(w.dv, () => Date.now(), runId, claim).write(body);
  const runWith = (status: string) =>
    w.dv.create("w365_syncruns", {
      w365_name: `claim test ${status}`,
      "w365_connection@odata.bind": `/w365_providerconnections(${w.connectionId})`,
      w365_kind: "accounts",
      w365_trigger: "schedule",
      w365_status: status,
      w365_checkpoint: JSON.stringify({ ...initialState("accounts", Date.now()), item: claim }),
    });

  it("writes while the claim holds a running row", async () => {
    const runId = await runWith("running");
    await fencedWrite(runId, { w365_message: "progress" });
    const row = await w.dv.retrieve<{ w365_message: string }>("w365_syncruns", runId);
    expect(row.w365_message).toBe("progress");
  });

  it("stops when another actor marked the run failed, though the claim is unchanged", async () => {
    const runId = await runWith("failed");
    await expect(fencedWrite(runId, { w365_status: "succeeded" })).rejects.toBeInstanceOf(ItemClaimLostError);
    const row = await w.dv.retrieve<{ w365_status: string }>("w365_syncruns", runId);
    expect(row.w365_status).toBe("failed");
  });

  describe("as branch items use it", () => {
    const claimA: ItemClaim = { step: 0, messageId: "a", dequeueCount: 1 };
    const claimB: ItemClaim = { step: 0, messageId: "b", dequeueCount: 1 };
    const branch = (item: ItemClaim, o: Partial<OutboundBranch> = {}): OutboundBranch => ({
      done: false,
      counts: {},
      rows: 0,
      outcomes: {},
      item,
      ...o,
    });
    const fannedRun = () =>
      w.dv.create("w365_syncruns", {
        w365_name: "claim test branches",
        "w365_connection@odata.bind": `/w365_providerconnections(${w.connectionId})`,
        w365_kind: "outbound",
        w365_trigger: "schedule",
        w365_status: "running",
        w365_checkpoint: JSON.stringify({
          ...initialState("outbound", Date.now()),
          item: { step: 3 },
          branches: { a: branch(claimA), b: branch(claimB) },
        }),
      });
    /** A branch's link: its own client, its claim judged by `branchHeld`. */
    const branchLink = (runId: string, key: string, claim: ItemClaim, clock = { now: () => Date.now() }) =>
      new RunRowLink(integrationClient(w.emu), clock.now, runId, claim, { holds: (row) => branchHeld(row, key, claim) });
    /** A change of branch `key` only, as branch items write: applied to the checkpoint as the link last saw it. */
    const addRow =
      (key: string) =>
      (row: RunRowView): Record<string, unknown> => {
        const cp = row.checkpoint!;
        const b = cp.branches![key]!;
        return { w365_checkpoint: JSON.stringify({ ...cp, branches: { ...cp.branches, [key]: { ...b, rows: b.rows + 1 } } }) };
      };
    const checkpointOf = async (runId: string) =>
      JSON.parse((await w.dv.retrieve<{ w365_checkpoint: string }>("w365_syncruns", runId)).w365_checkpoint) as CheckpointState;

    it("applies a change again onto the row re-read after a 412, so another branch's write in between is kept", async () => {
      const runId = await fannedRun();
      const a = branchLink(runId, "a", claimA);
      const b = branchLink(runId, "b", claimB);
      // Both have read the row; a writes first, so b's write goes under an ETag that is no longer the row's.
      await a.read();
      await b.read();
      await a.write(addRow("a"));
      const written = await b.write(addRow("b"));
      expect(b.requests).toStrictEqual({ reads: 2, writes: 2 });
      const cp = await checkpointOf(runId);
      expect([cp.branches!.a!.rows, cp.branches!.b!.rows]).toStrictEqual([1, 1]);
      expect(written.checkpoint).toEqual(cp);
      // Its answer's ETag is the next write's: no read before it.
      await b.write(addRow("b"));
      expect(b.requests).toStrictEqual({ reads: 2, writes: 3 });
      expect((await checkpointOf(runId)).branches!.b!.rows).toBe(2);
    });

    it("stops without writing once its branch is done, taken over, or the run finished, as judged on the row re-read", async () => {
      const cases: [string, (cp: CheckpointState) => Record<string, unknown>][] = [
        ["done", (cp) => ({ w365_checkpoint: JSON.stringify({ ...cp, branches: { ...cp.branches, a: branch(claimA, { done: true }) } }) })],
        [
          "taken over",
          (cp) => ({ w365_checkpoint: JSON.stringify({ ...cp, branches: { ...cp.branches, a: branch({ ...claimA, dequeueCount: 2 }) } }) }),
        ],
        ["finished", () => ({ w365_status: "failed" })],
      ];
      for (const [what, other] of cases) {
        const runId = await fannedRun();
        const a = branchLink(runId, "a", claimA);
        await a.read();
        // Another actor writes the row under a's feet.
        await w.dv.update("w365_syncruns", runId, other(await checkpointOf(runId)));
        const before = await checkpointOf(runId);
        await expect(a.write(addRow("a"))).rejects.toBeInstanceOf(ItemClaimLostError);
        expect({ what, cp: await checkpointOf(runId) }).toStrictEqual({ what, cp: before });
      }
    });

    it("gives the ETag up after its own write that releases the branch (done, or its turn handed on)", async () => {
      const runId = await fannedRun();
      const a = branchLink(runId, "a", claimA);
      await a.read();
      await a.write((row) => ({
        w365_checkpoint: JSON.stringify({
          ...row.checkpoint,
          branches: { ...row.checkpoint!.branches, a: branch(claimA, { done: true }) },
        }),
      }));
      // Nothing more may go under that write's ETag: the next write reads, finds the branch done, and stops.
      await expect(a.write(addRow("a"))).rejects.toBeInstanceOf(ItemClaimLostError);
      expect(a.requests).toStrictEqual({ reads: 2, writes: 1 });
    });

    it("takes its claim under the ETag of the read it decided on, deciding again when another writer came in between", async () => {
      const runId = await fannedRun();
      const cp0 = await checkpointOf(runId);
      await w.dv.update("w365_syncruns", runId, {
        w365_checkpoint: JSON.stringify({ ...cp0, branches: { a: branch({ step: 0 }), b: branch(claimB) } }),
      });
      // Branch b writes between a's read and a's claim: just before a's first PATCH leaves.
      let patches = 0;
      const interfering: typeof fetch = async (input, init) => {
        if ((init?.method ?? "GET").toUpperCase() === "PATCH" && ++patches === 1) await branchLink(runId, "b", claimB).write(addRow("b"));
        return fetch(input, init);
      };
      const a = new RunRowLink(integrationClient(w.emu, { fetch: interfering }), () => Date.now(), runId, claimA, {
        holds: (row) => branchHeld(row, "a", claimA),
      });
      const decided: number[] = [];
      const claim = (row: RunRowView | undefined): { write: (r: RunRowView) => Record<string, unknown> } | { not: string } => {
        decided.push(row!.checkpoint!.branches!.b!.rows);
        if (row!.checkpoint!.branches!.a!.item.messageId !== undefined) return { not: "held" };
        return {
          write: (r) => ({
            w365_checkpoint: JSON.stringify({ ...r.checkpoint, branches: { ...r.checkpoint!.branches, a: branch(claimA) } }),
          }),
        };
      };
      expect(await a.take(claim)).toBeUndefined();
      // Decided twice: on the first read, and on the row with b's write after the 412.
      expect(decided).toStrictEqual([0, 1]);
      expect(a.requests).toStrictEqual({ reads: 2, writes: 2 });
      const cp = await checkpointOf(runId);
      expect(cp.branches).toMatchObject({ a: { item: claimA }, b: { rows: 1 } });
      // The claim's answer carries the ETag of the first write after it; a second delivery finds the branch held.
      await a.write(addRow("a"));
      expect(a.requests).toStrictEqual({ reads: 2, writes: 3 });
      const copy = branchLink(runId, "a", { ...claimA, messageId: "copy" });
      expect(await copy.take(claim)).toBe("held");
      expect(copy.requests).toStrictEqual({ reads: 1, writes: 0 });
    });

    it("is one link for the writes and the cancel check: each read serves both, and a lost claim stops the check", async () => {
      const runId = await fannedRun();
      const clock = fakeClock(Date.now());
      const a = branchLink(runId, "a", claimA, clock);
      const b = branchLink(runId, "b", claimB);
      const watch = new CancelWatch(clock, { runId, connectionId: w.connectionId, connectionName: "c", intervalMs: 1_000, row: a });
      await a.read();
      await b.write(addRow("b"));
      // The 412's re-read of a's write is a cancel check: past the interval since the watch began, but not since
      // that re-read, the check reads nothing more.
      clock.advance(800);
      await a.write(addRow("a"));
      expect(a.requests).toStrictEqual({ reads: 2, writes: 2 });
      clock.advance(700);
      await watch.check();
      expect(a.requests.reads).toBe(2);
      // Past the interval, the check reads through the same link: the next write goes under that read's ETag.
      await b.write(addRow("b"));
      clock.advance(1_000);
      await watch.check();
      await a.write(addRow("a"));
      expect(a.requests).toStrictEqual({ reads: 3, writes: 3 });
      expect((await checkpointOf(runId)).branches).toMatchObject({ a: { rows: 2 }, b: { rows: 2 } });
      // Another delivery of a's message takes the branch over: a's next check finds its claim gone and stops it.
      const cp = await checkpointOf(runId);
      await w.dv.update("w365_syncruns", runId, {
        w365_checkpoint: JSON.stringify({
          ...cp,
          branches: { ...cp.branches, a: { ...cp.branches!.a!, item: { ...claimA, dequeueCount: 2 } } },
        }),
      });
      clock.advance(1_000);
      await expect(watch.check()).rejects.toBeInstanceOf(ItemClaimLostError);
    });
  });
});
