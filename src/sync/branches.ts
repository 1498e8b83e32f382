/**
 * Branches of a fanned-out outbound phase: work items of one run that work at once.
 *
 * When a work item reaches the outbound phase with more pending rows than one item should take, it writes
 * `branches: {k: {from, to, done, counts, …}}` into the run's checkpoint with the next step, unclaimed, in one
 * fenced write (`fanOut` in ./index.ts), and the caller enqueues one branch item per key. Each branch item:
 *   1. reads the run row and decides (`decideBranchDelivery`, pure): the run's step must be the branches' and its
 *      branch not done; its turn is claimed as a step is (`decideClaim`): a copy under another message skips, the
 *      same message delivered again takes it over;
 *   2. claims its branch with If-Match (the other branches write the same row: a 412 re-reads and decides again);
 *   3. processes the pending rows of its range of row ids only, in id order (`runOutboundRows`, ./phases.ts);
 *      each row is claimed by its own If-Match write on the row, so branches never share a row's order;
 *   4. records itself under the row's ETag: `done` with its counts, which the same write adds to the run's counts
 *      (a 412 re-reads and re-applies onto what the others wrote; a branch found done is not counted again), and
 *      the write that makes every branch done also moves the run to the next step, so exactly one delivery (the
 *      one whose write landed) returns the finishing item, which ends the phase and the run with the summed counts.
 *      A branch whose budget is spent with rows left records the last row it finished and hands its next turn on.
 * A branch killed mid-way comes back with its message (higher dequeue count) and takes its turn over from the
 * last row recorded; rows it had finished since are idempotent (the row's claim and reference).
 */
import { DataverseConcurrencyError } from "../dataverse";
import { systemClock } from "../shared/clock";
import { CancelWatch, RunCanceledError } from "./cancellation";
import { addCounts, type CheckpointState, type ItemClaim, type OutboundBranch } from "./checkpoint";
import { loadConnection, makeContext, type SyncDeps } from "./context";
import { FINISHED_RUN_STATUSES, ItemClaimLostError, readRunState, RunRowLink, sameClaim } from "./itemClaim";
import { inRange } from "./outbound/partition";
import { emptyPass, readOutboundRows, runOutboundRows } from "./phases";
import { RunReport } from "./report";
import { countColumnsOf } from "./runs";
import { SETS } from "./schema";
import { scopeOf } from "./scope";
import {
  branchItem,
  decideClaim,
  type Delivery,
  type DeliveryDecision,
  type ItemBudget,
  itemsFor,
  nextItem,
  type SyncWorkItem,
  type WorkItemOutcome,
} from "./workItems";
import { BatchWriter } from "./writer";

/** Writes of the run row a branch makes before it gives up (the others' writes cause its 412s; each lands once). */
export const BRANCH_WRITE_ATTEMPTS = 12;

/** What a delivery of branch `key`, turn `turn`, of step `step` does, given the run row. Pure. */
export function decideBranchDelivery(
  row: { status?: string; checkpoint?: CheckpointState } | undefined,
  step: number,
  key: string,
  turn: number,
  delivery: Delivery,
): DeliveryDecision | { action: "repeat-finish"; step: number } {
  if (!row) return { action: "skip", reason: "the run row no longer exists" };
  if (row.status && FINISHED_RUN_STATUSES.has(row.status)) return { action: "skip", reason: `the run already ${row.status}` };
  const held = row.checkpoint?.item ?? { step: 0 };
  if (held.step > step) {
    // The last branch's done write moved the run on; a retry of it cannot know whether the finishing item got out.
    if (held.step === step + 1 && held.messageId === undefined && delivery.dequeueCount > 1)
      return { action: "repeat-finish", step: held.step };
    return { action: "skip", reason: `the branches' step ${step} is over (the run is at step ${held.step})` };
  }
  if (held.step < step) return { action: "skip", reason: `step ${step} was never handed off (the run is at step ${held.step})` };
  const branch = row.checkpoint?.branches?.[key];
  if (!branch) return { action: "skip", reason: `the run has no outbound branch ${key} at step ${step}` };
  if (branch.done) return { action: "skip", reason: `outbound branch ${key} is done` };
  return decideClaim(branch.item, turn, delivery, `turn of branch ${key}`);
}

/** Whether `claim` still holds branch `key` of a row in this state (not finished, not done, same delivery). */
function branchHeld(state: { status?: string; checkpoint?: CheckpointState } | undefined, key: string, claim: ItemClaim): boolean {
  if (!state || (state.status !== undefined && FINISHED_RUN_STATUSES.has(state.status))) return false;
  const branch = state.checkpoint?.branches?.[key];
  return branch !== undefined && !branch.done && sameClaim(branch.item, claim);
}

/**
 * One branch's writes of the run row: each a change of its own branch (and, for the last done, of the run's step),
 * applied to the checkpoint as read and sent with If-Match. A 412 means another branch (or an admin's cancel, the
 * poison handler, a takeover of this branch) wrote the row: it is read again, the claim judged, the change applied
 * again onto what the others wrote.
 */
class BranchLink {
  constructor(
    private readonly deps: SyncDeps,
    private readonly runId: string,
    private readonly key: string,
    private readonly claim: ItemClaim,
    private etag: string | undefined,
    private checkpoint: CheckpointState,
  ) {}

  /** The branch as this delivery last wrote or read it (its range, the last row an earlier turn finished). */
  branch(): OutboundBranch {
    return this.checkpoint.branches![this.key]!;
  }

  async write(
    change: (cp: CheckpointState, branch: OutboundBranch) => CheckpointState,
    extra: (cp: CheckpointState) => Record<string, unknown> = () => ({}),
  ): Promise<CheckpointState> {
    for (let attempt = 1; ; attempt++) {
      if (!this.etag) {
        const state = await readRunState(this.deps.dataverse, this.runId);
        if (!branchHeld(state, this.key, this.claim)) throw new ItemClaimLostError(this.runId);
        this.etag = state!.etag;
        this.checkpoint = state!.checkpoint!;
      }
      const next = change(this.checkpoint, this.checkpoint.branches![this.key]!);
      try {
        const written = await this.deps.dataverse.updateReturning(
          SETS.syncRun,
          this.runId,
          { w365_checkpoint: JSON.stringify(next), ...extra(next) },
          { ifMatch: this.etag, select: ["w365_status"] },
        );
        // The answer's ETag is the next write's, unless this write released the branch (done, or its turn handed on).
        this.etag = branchHeld({ checkpoint: next }, this.key, this.claim) ? written["@odata.etag"] : undefined;
        this.checkpoint = next;
        return next;
      } catch (error) {
        if (!(error instanceof DataverseConcurrencyError)) throw error;
        this.etag = undefined;
        if (attempt >= BRANCH_WRITE_ATTEMPTS) throw new ItemClaimLostError(this.runId);
      }
    }
  }
}

/** Runs one branch item of a fanned-out outbound phase (see the header); returns what to enqueue next, if anything. */
export async function runOutboundBranch(
  deps: SyncDeps,
  item: SyncWorkItem,
  delivery: Delivery,
  budget: ItemBudget,
): Promise<WorkItemOutcome> {
  const clock = deps.clock ?? systemClock;
  const key = item.branch!;
  const step = item.step ?? 0;
  const turn = item.turn ?? 0;
  let claim: ItemClaim | undefined;
  let link: BranchLink | undefined;
  for (let attempt = 1; !claim; attempt++) {
    const row = await readRunState(deps.dataverse, item.runId);
    const decision = decideBranchDelivery(row, step, key, turn, delivery);
    if (decision.action === "skip") return { outcome: "skipped", reason: decision.reason };
    if (decision.action === "repeat-finish")
      return {
        outcome: "skipped",
        reason: `the branches are done; the finishing item is enqueued again`,
        ...itemsFor(item, decision.step, row!.checkpoint),
      };
    if (decision.action === "repeat-hand-off")
      return {
        outcome: "skipped",
        reason: `turn ${turn} of branch ${key} handed off already; its next turn is enqueued again`,
        next: branchItem(item, step, key, decision.step),
      };
    const cp = row!.checkpoint!;
    const claimed: CheckpointState = {
      ...cp,
      updatedAt: clock.now(),
      branches: { ...cp.branches, [key]: { ...cp.branches![key]!, item: decision.claim } },
    };
    try {
      const written = await deps.dataverse.updateReturning(
        SETS.syncRun,
        item.runId,
        { w365_checkpoint: JSON.stringify(claimed) },
        { ifMatch: row!.etag, select: ["w365_status"] },
      );
      claim = decision.claim;
      link = new BranchLink(deps, item.runId, key, claim, written["@odata.etag"], claimed);
    } catch (error) {
      // Another branch (or a copy of this one) wrote the row between the read and the claim: decide again.
      if (error instanceof DataverseConcurrencyError && attempt < BRANCH_WRITE_ATTEMPTS) continue;
      throw error;
    }
  }
  const branch = link!.branch();
  const connection = await loadConnection(deps.dataverse, item.connectionId);
  const sync = makeContext(deps, connection);
  // Reads for the cancel check only (no claim to judge there: the branch's claim is judged by its own writes).
  const row = new RunRowLink(sync.dv, () => clock.now(), item.runId);
  const watch = new CancelWatch(sync.clock, {
    runId: item.runId,
    connectionId: connection.id,
    connectionName: connection.name,
    intervalMs: deps.cancelCheckMs,
    row,
  });
  const report = new RunReport("outbound", false);
  const sink = new BatchWriter(sync.dv, { batchSize: deps.writes?.batchSize });
  const pass = emptyPass();
  const deadline = clock.now() + budget.ms;
  // What this turn adds to the branch as claimed (only this delivery writes the branch while it holds it).
  const base = branch;
  const recorded = (b: OutboundBranch): OutboundBranch => ({
    ...b,
    ...(pass.last !== undefined ? { last: pass.last } : {}),
    counts: addCounts(base.counts, pass.counts),
    rows: base.rows + pass.rows,
    outcomes: addCounts(base.outcomes, pass.outcomes),
  });
  // After each row the branch records it (the last row and the counts so far) under the row's ETag: a delivery
  // that takes the branch over goes on after it and counts only what it does itself; a delivery that lost the
  // branch stops there (ItemClaimLostError), its rows recorded by nobody twice.
  const recordRow = async () => {
    await link!.write((cp, b) => ({ ...cp, updatedAt: clock.now(), branches: { ...cp.branches, [key]: recorded(b) } }));
  };
  let canceled = !connection.active;
  if (!canceled) {
    const all = await readOutboundRows(sync, scopeOf(item.connectionId, item.providerAccountId));
    const rows = all
      .filter((r) => inRange(r.w365_providersubscriptionid, branch))
      .sort((a, b) => (a.w365_providersubscriptionid.toLowerCase() < b.w365_providersubscriptionid.toLowerCase() ? -1 : 1));
    try {
      await runOutboundRows(sync, rows, { report, sink, watch, afterRow: recordRow, shouldStop: () => clock.now() >= deadline }, pass);
    } catch (error) {
      // A cancel ends this branch with what it did; the finishing item then ends the run as canceled.
      if (!(error instanceof RunCanceledError)) throw error;
      canceled = true;
    } finally {
      await sink.drain();
    }
  }
  if (pass.stopped && !canceled) {
    // The budget is spent with rows left: the next turn of this branch goes on after the last row finished.
    await link!.write((cp, b) => ({
      ...cp,
      updatedAt: clock.now(),
      branches: { ...cp.branches, [key]: { ...recorded(b), item: { step: turn + 1 } } },
    }));
    return { outcome: "branch", branch: key, done: false, counts: pass.counts, next: branchItem(item, step, key, turn + 1) };
  }
  let counts: Record<string, number> = {};
  const written = await link!.write(
    (cp, b) => {
      const finished: OutboundBranch = { ...recorded(b), done: true, item: { step: b.item.step } };
      counts = finished.counts;
      const branches = { ...cp.branches, [key]: finished };
      const allDone = Object.values(branches).every((x) => x.done);
      return {
        ...cp,
        updatedAt: clock.now(),
        branches,
        // Recorded once, by the write that flips this branch to done (a 412 re-applies onto the others' counts).
        counts: addCounts(cp.counts, finished.counts),
        // The write that makes every branch done moves the run on: exactly one delivery enqueues the finishing item.
        ...(allDone ? { item: { step: cp.item!.step + 1 } } : {}),
      };
    },
    (cp) => {
      const done = Object.values(cp.branches ?? {}).filter((b) => b.done).length;
      const total = Object.keys(cp.branches ?? {}).length;
      return { ...countColumnsOf(cp.counts), w365_progress: `outbound: ${done} of ${total} branches done` };
    },
  );
  const allDone = written.item!.step > step;
  return {
    outcome: "branch",
    branch: key,
    done: true,
    counts,
    // This write made every branch done: its delivery alone enqueues the finishing item.
    ...(allDone ? { next: nextItem(item, written.item!.step) } : {}),
  };
}
