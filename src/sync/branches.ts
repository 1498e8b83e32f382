/**
 * Branches of a fanned-out outbound phase: work items of one run that work at once.
 *
 * When a work item reaches the outbound phase with more pending rows than one item should take, it writes
 * `branches: {k: {from, to, done, counts, …}}` into the run's checkpoint with the next step, unclaimed, in one
 * fenced write (`fanOut` in ./index.ts), and the caller enqueues one branch item per key. Each branch item:
 *   1. reads the run row and decides (`decideBranchDelivery`, pure): the run's checks as for a step (`decideRunStep`),
 *      then its branch not done; its turn is claimed as a step is (`decideClaim`): a copy under another message
 *      skips, the same message delivered again takes it over;
 *   2. claims its branch with If-Match (`RunRowLink.take`: the other branches write the same row, a 412 re-reads and
 *      decides again); from then on every write and cancel check goes through that one link, fenced by `branchHeld`;
 *   3. processes the pending rows of its range of row ids only, in id order (`runOutboundRows`, ./phases.ts);
 *      each row is claimed by its own If-Match write on the row, so branches never share a row's order;
 *   4. records itself under the row's ETag: `done` with its counts, which the same write adds to the run's counts
 *      (a 412 re-reads, judges the claim and re-applies the change onto what the others wrote; a branch found done
 *      is not counted again), and
 *      the write that makes every branch done also moves the run to the next step, so exactly one delivery (the
 *      one whose write landed) returns the finishing item, which ends the phase and the run with the summed counts.
 *      A branch whose budget is spent with rows left records the last row it finished and hands its next turn on.
 * A branch killed mid-way comes back with its message (higher dequeue count) and takes its turn over from the
 * last row recorded; rows it had finished since are idempotent (the row's claim and reference).
 */
import { systemClock } from "../shared/clock";
import { CancelWatch, RunCanceledError } from "./cancellation";
import { addCounts, type CheckpointState, type ItemClaim, type OutboundBranch } from "./checkpoint";
import { loadConnection, makeContext, type SyncDeps } from "./context";
import { runOpen, RunRowLink, type RunRowView, sameClaim } from "./itemClaim";
import { inRange } from "./outbound/partition";
import { emptyPass, readOutboundRows, runOutboundRows } from "./phases";
import { RunReport } from "./report";
import { countColumnsOf } from "./runs";
import { scopeOf } from "./scope";
import {
  branchItem,
  claimOf,
  decideClaim,
  decideRunStep,
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

/**
 * What a delivery of branch `key`, turn `turn`, of step `step` does, given the run row: the run's checks first
 * (`decideRunStep`: a retry of the last done write repeats the hand-off to the finishing item), then the branch's,
 * then its turn as a claim (a repeated hand-off of a turn carries `turn`). Pure.
 */
export function decideBranchDelivery(
  row: RunRowView | undefined,
  step: number,
  key: string,
  turn: number,
  delivery: Delivery,
): DeliveryDecision {
  const decided = decideRunStep(row, step, delivery);
  if (decided) return decided;
  const branch = row!.checkpoint?.branches?.[key];
  if (!branch) return { action: "skip", reason: `the run has no outbound branch ${key} at step ${step}` };
  if (branch.done) return { action: "skip", reason: `outbound branch ${key} is done` };
  const decision = decideClaim(branch.item, turn, delivery, `turn of branch ${key}`);
  return decision.action === "repeat-hand-off" ? { ...decision, step, turn: decision.step } : decision;
}

/** Whether `claim` still holds branch `key` of a row in this state (the run not finished, the branch not done, same delivery). */
export function branchHeld(row: RunRowView | undefined, key: string, claim: ItemClaim): boolean {
  const branch = row?.checkpoint?.branches?.[key];
  return runOpen(row) && branch !== undefined && !branch.done && sameClaim(branch.item, claim);
}

/** The checkpoint with branch `key` changed (the rest as read: the other branches' writes are kept). */
function withBranch(cp: CheckpointState, key: string, change: (b: OutboundBranch) => OutboundBranch): CheckpointState {
  return { ...cp, branches: { ...cp.branches, [key]: change(cp.branches![key]!) } };
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
  const claim = claimOf(turn, delivery);
  // One link for the branch's writes and its cancel checks: every read of either refreshes the ETag, judges the
  // branch's claim and counts as a cancel check. Each write changes the branch only, applied onto the row as read.
  const link = new RunRowLink(deps.dataverse, () => clock.now(), item.runId, claim, {
    holds: (row) => branchHeld(row, key, claim),
    attempts: BRANCH_WRITE_ATTEMPTS,
  });
  // A change of the checkpoint as read, applied again onto the row re-read after a 412 (the others' writes kept).
  const change =
    (next: (cp: CheckpointState) => CheckpointState, extra?: (cp: CheckpointState) => Record<string, unknown>) => (row: RunRowView) => {
      const cp = { ...next(row.checkpoint!), updatedAt: clock.now() };
      return { w365_checkpoint: JSON.stringify(cp), ...extra?.(cp) };
    };
  // Another branch (or a copy of this one) writing the row between the read and the claim: read and decide again.
  const skipped = await link.take<WorkItemOutcome>((row) => {
    const decision = decideBranchDelivery(row, step, key, turn, delivery);
    switch (decision.action) {
      case "run":
        return { write: change((cp) => withBranch(cp, key, (b) => ({ ...b, item: claim }))) };
      case "skip":
        return { not: { outcome: "skipped", reason: decision.reason } };
      case "repeat-hand-off":
        return {
          not:
            decision.turn !== undefined
              ? {
                  outcome: "skipped",
                  reason: `turn ${turn} of branch ${key} handed off already; its next turn is enqueued again`,
                  next: branchItem(item, step, key, decision.turn),
                }
              : {
                  outcome: "skipped",
                  reason: `the branches are done; the finishing item is enqueued again`,
                  ...itemsFor(item, decision.step, row!.checkpoint),
                },
        };
    }
  });
  if (skipped) return skipped;
  // The branch as claimed: its range, the last row an earlier turn finished, its counts so far.
  const base = link.seen!.checkpoint!.branches![key]!;
  const connection = await loadConnection(deps.dataverse, item.connectionId);
  const sync = makeContext(deps, connection);
  const watch = new CancelWatch(sync.clock, {
    runId: item.runId,
    connectionId: connection.id,
    connectionName: connection.name,
    intervalMs: deps.cancelCheckMs,
    row: link,
  });
  const report = new RunReport("outbound", false);
  const sink = new BatchWriter(sync.dv, { batchSize: deps.writes?.batchSize });
  const pass = emptyPass();
  const deadline = clock.now() + budget.ms;
  // What this turn adds to the branch as claimed (only this delivery writes the branch while it holds it).
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
    await link.write(change((cp) => withBranch(cp, key, recorded)));
  };
  let canceled = !connection.active;
  if (!canceled) {
    const all = await readOutboundRows(sync, scopeOf(item.connectionId, item.providerAccountId));
    const rows = all
      .filter((r) => inRange(r.w365_providersubscriptionid, base))
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
    await link.write(change((cp) => withBranch(cp, key, (b) => ({ ...recorded(b), item: { step: turn + 1 } }))));
    return { outcome: "branch", branch: key, done: false, counts: pass.counts, next: branchItem(item, step, key, turn + 1) };
  }
  let counts: Record<string, number> = {};
  const written = await link.write(
    change(
      (cp) => {
        const next = withBranch(cp, key, (b) => ({ ...recorded(b), done: true, item: { step: b.item.step } }));
        counts = next.branches![key]!.counts;
        const allDone = Object.values(next.branches!).every((x) => x.done);
        return {
          ...next,
          // Recorded once, by the write that flips this branch to done (a 412 re-applies onto the others' counts).
          counts: addCounts(cp.counts, counts),
          // The write that makes every branch done moves the run on: exactly one delivery enqueues the finishing item.
          ...(allDone ? { item: { step: cp.item!.step + 1 } } : {}),
        };
      },
      (cp) => {
        const done = Object.values(cp.branches ?? {}).filter((b) => b.done).length;
        const total = Object.keys(cp.branches ?? {}).length;
        return { ...countColumnsOf(cp.counts), w365_progress: `outbound: ${done} of ${total} branches done` };
      },
    ),
  );
  const at = written.checkpoint!.item!.step;
  const allDone = at > step;
  return {
    outcome: "branch",
    branch: key,
    done: true,
    counts,
    // This write made every branch done: its delivery alone enqueues the finishing item.
    ...(allDone ? { next: nextItem(item, at) } : {}),
  };
}
