/**
 * A sync run split into work items, so that no single Functions invocation runs longer than its budget.
 *
 * A work item names a run and a step: `{ runId, connectionId, kind, …, step }`. The run row is the one
 * source of truth for where the run stands (its checkpoint: phase, pages done, counts) and for which
 * delivery holds the current step (`checkpoint.item`). An item:
 *   1. reads the row with its ETag and decides (`decideDelivery`, pure): run it, skip it (finished run,
 *      stale step, a duplicate of a step another message holds), or repeat a lost hand-off;
 *   2. claims the step with If-Match (two deliveries racing: one wins, the other re-reads and skips);
 *   3. runs the sync from the checkpoint until the budget is spent (time or pages, checked at page
 *      boundaries), every run-row write fenced by the claim (./itemClaim.ts);
 *   4. hands off: writes the checkpoint with step + 1 unclaimed and returns the next item for the caller
 *      to enqueue, or finishes the run as one uninterrupted run would.
 * The queue is at-least-once: a delivery that crashed is delivered again with the same message id and a
 * higher dequeue count, and takes its step over; a copy under another message id finds the step held and
 * completes without work (the holder's own message comes back if the holder dies). Data writes are
 * idempotent upserts guarded by content hashes, so work repeated after a takeover changes no row twice.
 * Small syncs finish inside the first item: no extra message, two extra requests (the claim).
 */
import { DataverseConcurrencyError, DataverseNotFoundError } from "../dataverse";
import { systemClock } from "../shared/clock";
import { runOutboundBranch } from "./branches";
import { addCounts, type CheckpointState, DEFAULT_STALE_RUN_MS, initialState, type ItemClaim, parseCheckpoint } from "./checkpoint";
import type { SyncDeps } from "./context";
import { runSync, type RunSyncOptions } from "./index";
import { readRunState, runOpen, RunRowLink, type RunRowView } from "./itemClaim";
import { staleRunsFilter } from "./prefetch";
import { endOfRunColumns, pickStaleRun, RUN_COLUMNS, type RunRow } from "./runs";
import { SETS } from "./schema";
import type { SyncRunSummary } from "./types";
import type { SyncRequest } from "./vocabulary";

export interface SyncWorkItem extends SyncRequest {
  runId: string;
  /** 0 for the run's first item; each hand-off adds one. */
  step?: number;
  /** Where the step starts, as the item that enqueued it saw it (for logs; the row's checkpoint decides). */
  phase?: "accounts" | "subscriptions" | "outbound";
  page?: number;
  /** A branch of a fanned-out outbound phase (./branches.ts): its key in the checkpoint's `branches`, and its turn. */
  branch?: string;
  turn?: number;
}

/** Which delivery of which queue message this is (Azure: triggerMetadata id and dequeueCount). */
export interface Delivery {
  messageId: string;
  dequeueCount: number;
}

export interface ItemBudget {
  /** Stop at the first page boundary after this long. */
  ms: number;
  /** And after this many pages (0 or absent: no page limit). */
  pages?: number;
}

/** Default budget: well inside the Consumption plan's 5-minute timeout (a page and the hand-off finish after it). */
export const DEFAULT_ITEM_BUDGET: ItemBudget = { ms: 120_000 };

export type DeliveryDecision =
  | { action: "run"; claim: ItemClaim }
  | { action: "skip"; reason: string }
  /**
   * The step after this one (or, with `turn`, the next turn of a branch at step `step`) was handed off but its
   * message may be lost (this delivery is a retry): enqueue it again.
   */
  | { action: "repeat-hand-off"; step: number; turn?: number };

/**
 * The checks every delivery of step `step` makes on the run row, a branch item's too: the row is there, the run
 * not finished, and at step `step` (a retry of the step that handed the run on repeats that hand-off). Returns
 * the decision when they decide, undefined when the run is at step `step`. Pure.
 */
export function decideRunStep(row: RunRowView | undefined, step: number, delivery: Delivery): DeliveryDecision | undefined {
  if (!row) return { action: "skip", reason: "the run row no longer exists" };
  if (!runOpen(row)) return { action: "skip", reason: `the run already ${row.status}` };
  return decideTurn(row.checkpoint?.item ?? { step: 0 }, step, delivery, "step");
}

/** What a delivery of step `step` does, given the run row's status and checkpoint. Pure. */
export function decideDelivery(row: RunRowView | undefined, step: number, delivery: Delivery): DeliveryDecision {
  const decided = decideRunStep(row, step, delivery);
  if (decided) return decided;
  // The step the branches share is theirs: the write that records the last of them done moves the run on.
  const branches = row!.checkpoint?.branches;
  if (branches && Object.values(branches).some((b) => !b.done))
    return { action: "skip", reason: `step ${step} runs in the outbound branch items` };
  return claimTurn(row!.checkpoint?.item ?? { step: 0 }, step, delivery, "step");
}

/**
 * Whether a delivery of turn `step` takes a claim held as `held` (the run's step, or a branch's turn). Pure.
 * A delivery of the step before an unclaimed one, delivered again, repeats the hand-off: its output may be lost.
 */
export function decideClaim(held: ItemClaim, step: number, delivery: Delivery, what: string): DeliveryDecision {
  return decideTurn(held, step, delivery, what) ?? claimTurn(held, step, delivery, what);
}

/** The claim a delivery of turn `step` writes. */
export function claimOf(step: number, delivery: Delivery): ItemClaim {
  return { step, messageId: delivery.messageId, dequeueCount: delivery.dequeueCount };
}

/** The turn comparison of `decideClaim`: undefined when the claim is at turn `step`. */
function decideTurn(held: ItemClaim, step: number, delivery: Delivery, what: string): DeliveryDecision | undefined {
  if (held.step > step) {
    // The hand-off to the next step happened; a retry of this step cannot know whether its message got out.
    if (held.step === step + 1 && held.messageId === undefined && delivery.dequeueCount > 1)
      return { action: "repeat-hand-off", step: held.step };
    return { action: "skip", reason: `${what} ${step} is done (now at ${held.step})` };
  }
  if (held.step < step) return { action: "skip", reason: `${what} ${step} was never handed off (now at ${held.step})` };
  return undefined;
}

/** Which delivery of turn `step` (held as `held`) runs it: a claim no delivery holds, or the same message delivered again. */
function claimTurn(held: ItemClaim, step: number, delivery: Delivery, what: string): DeliveryDecision {
  const claim = claimOf(step, delivery);
  if (held.messageId === undefined) return { action: "run", claim };
  if (held.messageId !== delivery.messageId)
    return {
      action: "skip",
      reason: `a copy of ${what} ${step} under another message holds it (that message returns if its delivery dies)`,
    };
  // The same message again: the queue delivers it anew only once the earlier delivery failed or its lease lapsed.
  if ((held.dequeueCount ?? 0) < delivery.dequeueCount) return { action: "run", claim };
  return { action: "skip", reason: `a later delivery of this message holds ${what} ${step}` };
}

/**
 * What an item did, and what the caller enqueues: `next` (the next step), or `branches` (one item per branch of a
 * fanned-out outbound phase, all at once).
 */
export type WorkItemOutcome =
  | { outcome: "ran"; summary: SyncRunSummary; next?: SyncWorkItem; branches?: SyncWorkItem[] }
  | { outcome: "branch"; branch: string; done: boolean; counts: Record<string, number>; next?: SyncWorkItem }
  | { outcome: "skipped"; reason: string; next?: SyncWorkItem; branches?: SyncWorkItem[] };

/** Options of a work item beyond its budget. */
export interface WorkItemOptions {
  staleRunMs?: number;
  /** Fan the outbound phase out above `rows` pending rows, into at most `branches` items (./branches.ts); absent: never. */
  fanOut?: { rows: number; branches: number };
}

/** The items that carry step `step` on: one per branch not done when the step runs in branches, else one. */
export function itemsFor(
  item: SyncWorkItem,
  step: number,
  checkpoint: CheckpointState | undefined,
): { next?: SyncWorkItem; branches?: SyncWorkItem[] } {
  const branches = checkpoint?.branches;
  const held = checkpoint?.item?.step;
  if (branches && held === step && Object.values(branches).some((b) => !b.done))
    return {
      branches: Object.entries(branches)
        .filter(([, b]) => !b.done)
        .map(([key, b]) => branchItem(item, step, key, b.item.step)),
    };
  return { next: nextItem(item, step) };
}

export function branchItem(item: SyncWorkItem, step: number, branch: string, turn: number): SyncWorkItem {
  const { page: _page, branch: _branch, turn: _turn, ...rest } = item;
  return { ...rest, step, phase: "outbound", branch, turn };
}

/** The item of step `step` of the run (not a branch), starting where `summary` says, if given. */
export function nextItem(item: SyncWorkItem, step: number, summary?: SyncRunSummary): SyncWorkItem {
  const c = summary?.continuation;
  const { branch: _branch, turn: _turn, ...rest } = item;
  return {
    ...rest,
    step,
    ...(c?.phase ? { phase: c.phase } : {}),
    ...(c ? { page: c.pagesDone } : {}),
  };
}

/**
 * Runs one work item of a sync run; returns the next item to enqueue, if the run continues. Throws only
 * what the queue should retry (a transient Dataverse failure before or while claiming).
 */
export async function runSyncWorkItem(
  deps: SyncDeps,
  item: SyncWorkItem,
  delivery: Delivery,
  budget: ItemBudget = DEFAULT_ITEM_BUDGET,
  o: WorkItemOptions = {},
): Promise<WorkItemOutcome> {
  if (item.branch !== undefined) return runOutboundBranch(deps, item, delivery, budget);
  const step = item.step ?? 0;
  const clock = deps.clock ?? systemClock;
  let stale: StaleRun | undefined;
  let lookedForStaleRun = false;
  for (let attempt = 0; ; attempt++) {
    const row = await readRunState(deps.dataverse, item.runId);
    const decision = decideDelivery(row, step, delivery);
    if (decision.action === "skip") return { outcome: "skipped", reason: decision.reason };
    if (decision.action === "repeat-hand-off")
      return {
        outcome: "skipped",
        reason: `step ${step} handed off already; its next item is enqueued again`,
        ...itemsFor(item, decision.step, row!.checkpoint),
      };
    // The first item of a fresh run continues a run of the same kind whose worker stopped (its chain of
    // items broke: a message lost or poisoned past its run, an instance gone for good), from its checkpoint.
    if (step === 0 && !hasProgress(row!.checkpoint) && !item.dryRun && !item.providerAccountId && !lookedForStaleRun) {
      lookedForStaleRun = true;
      stale = await findStaleRun(deps, item, o.staleRunMs ?? DEFAULT_STALE_RUN_MS);
    }
    // Claim first, with the stale run's checkpoint and a note of it: a delivery that loses this claim has taken
    // nothing over, and the winner marks the old run (below) under the ETag it read.
    const base: CheckpointState = stale
      ? { ...stale.checkpoint, updatedAt: clock.now(), takeover: { runId: stale.runId, etag: stale.etag } }
      : (row!.checkpoint ?? initialState(item.kind, clock.now()));
    const checkpoint: CheckpointState = { ...base, item: decision.claim };
    let claimedEtag: string | undefined;
    try {
      const written = await deps.dataverse.updateReturning<{ w365_status?: string }>(
        SETS.syncRun,
        item.runId,
        { w365_checkpoint: JSON.stringify(checkpoint) },
        { ifMatch: row!.etag, select: ["w365_status"] },
      );
      claimedEtag = written["@odata.etag"];
    } catch (error) {
      // Another delivery wrote the row between the read and the claim: decide again on what it wrote.
      if (error instanceof DataverseConcurrencyError && attempt < 3) continue;
      throw error;
    }
    // A takeover noted in the checkpoint (now, or by an earlier delivery of this message that stopped before
    // marking the old run) is completed before the run goes on from that checkpoint.
    if (checkpoint.takeover) await completeTakeover(deps, item, decision.claim, checkpoint, claimedEtag);
    const options: RunSyncOptions = {
      connectionId: item.connectionId,
      kind: item.kind,
      trigger: item.trigger,
      runId: item.runId,
      ...(item.dryRun !== undefined ? { dryRun: item.dryRun } : {}),
      ...(item.requestId !== undefined ? { requestId: item.requestId } : {}),
      ...(item.providerAccountId !== undefined ? { providerAccountId: item.providerAccountId } : {}),
      // A dry run keeps no checkpoint between items (it writes nothing): it runs in one item.
      ...(item.dryRun
        ? {}
        : {
            workItem: {
              claim: decision.claim,
              deadline: clock.now() + budget.ms,
              ...(budget.pages ? { maxPages: budget.pages } : {}),
              ...(o.fanOut ? { fanOut: o.fanOut } : {}),
            },
          }),
    };
    const summary = await runSync(deps, options);
    const c = summary.continuation;
    if (summary.status === "running" && c?.branches)
      return { outcome: "ran", summary, branches: c.branches.map((key) => branchItem(item, c.step, key, 0)) };
    if (summary.status === "running" && c) return { outcome: "ran", summary, next: nextItem(item, c.step, summary) };
    return { outcome: "ran", summary };
  }
}

function hasProgress(cp: CheckpointState | undefined): boolean {
  return cp !== undefined && (cp.done.length > 0 || cp.current !== undefined);
}

interface StaleRun {
  runId: string;
  etag: string;
  checkpoint: CheckpointState;
}

/**
 * The newest run of the same connector and kind still "running" whose heartbeat is older than `staleMs`, with
 * progress to continue. The query's rows carry their checkpoint and ETag: the takeover goes under that ETag.
 */
async function findStaleRun(deps: SyncDeps, item: SyncWorkItem, staleMs: number): Promise<StaleRun | undefined> {
  const clock = deps.clock ?? systemClock;
  const rows = await deps.dataverse.queryAll<RunRow & { "@odata.etag"?: string }>(SETS.syncRun, {
    select: RUN_COLUMNS,
    filter: staleRunsFilter(item.connectionId, item.kind),
    // pickStaleRun takes the first stale row: the newest, whose checkpoint is the furthest on. As in the
    // prefetch, a few are enough: more than this many dead runs of one kind means the newest are the ones to look at.
    orderby: "w365_startedon desc",
    top: 5,
  });
  const found = pickStaleRun(
    rows.filter((r) => r.w365_syncrunid.toLowerCase() !== item.runId.toLowerCase()),
    clock.now(),
    staleMs,
  );
  const etag = found?.["@odata.etag"];
  const cp = parseCheckpoint(found?.w365_checkpoint);
  if (!found || !etag || !cp || !hasProgress(cp)) return undefined;
  return { runId: found.w365_syncrunid, etag, checkpoint: continuedCheckpoint(cp) };
}

/**
 * Pure: the stale run's checkpoint as the run taking it over continues it: no claim, no takeover note, no branches.
 * Branches of its outbound phase are its own items' (dead with it): that phase is done anew. What an unfinished
 * branch did is only in its own counts (a done one's are in the run's): they are kept, since the rows it finished
 * are no longer pending and the new pass will not count them.
 */
export function continuedCheckpoint(cp: CheckpointState): CheckpointState {
  const { item: _claim, takeover: _takeover, branches, ...rest } = cp;
  const unfinished = Object.values(branches ?? {}).filter((b) => !b.done);
  return { ...rest, counts: unfinished.reduce((sum, b) => addCounts(sum, b.counts), rest.counts) };
}

/**
 * The second half of a takeover: this run's row already carries the stale run's checkpoint under this item's
 * claim; the stale row is now marked failed under the ETag read before the claim. If that row changed since
 * (its worker was alive after all, or another run took it over first), this run gives the checkpoint back and
 * starts fresh, so exactly one run continues it. A delivery that stopped between the two writes leaves the note
 * in the checkpoint, and its next delivery completes it: a stale row already marked with this run's id was
 * marked by that delivery. Either way the note is removed with a write fenced by the claim.
 */
async function completeTakeover(
  deps: SyncDeps,
  item: SyncWorkItem,
  claim: ItemClaim,
  checkpoint: CheckpointState,
  etag: string | undefined,
): Promise<void> {
  const clock = deps.clock ?? systemClock;
  const from = checkpoint.takeover!;
  const message = `This run stopped (its worker no longer answered); run ${item.runId} continued it from its checkpoint.`;
  let took: boolean;
  try {
    await deps.dataverse.update(SETS.syncRun, from.runId, endOfRunColumns("failed", message, clock.now()), { ifMatch: from.etag });
    took = true;
  } catch (error) {
    if (!(error instanceof DataverseConcurrencyError || error instanceof DataverseNotFoundError)) throw error;
    const now = await deps.dataverse.tryRetrieve<{ w365_status?: string; w365_message?: string | null }>(SETS.syncRun, from.runId, {
      select: ["w365_status", "w365_message"],
    });
    // Gone, or marked by an earlier delivery of this item: the checkpoint is this run's. Otherwise it is not.
    took = !now || (now.w365_status === "failed" && (now.w365_message ?? "").includes(item.runId));
  }
  const { takeover: _done, ...rest } = checkpoint;
  const next: CheckpointState = took ? rest : { ...initialState(item.kind, clock.now()), item: claim };
  await new RunRowLink(deps.dataverse, () => clock.now(), item.runId, claim, { etag }).write({ w365_checkpoint: JSON.stringify(next) });
  if (took) deps.logger?.warn("took over a run whose worker stopped", { runId: item.runId, from: from.runId });
  else
    deps.logger?.info("a stale run was continued by another run or came back; this run starts fresh", {
      runId: item.runId,
      from: from.runId,
    });
}

/**
 * A work item went to the poison queue (the queue gave up after its maxDequeueCount deliveries): the run
 * is marked failed with a message saying so, unless it has moved past that step or finished. Returns
 * whether the run was marked.
 */
export async function recordPoisonedItem(deps: SyncDeps, item: SyncWorkItem, o: { attempts?: number } = {}): Promise<boolean> {
  const clock = deps.clock ?? systemClock;
  for (let attempt = 0; attempt < 3; attempt++) {
    const row = await readRunState(deps.dataverse, item.runId);
    if (!row || !runOpen(row)) return false;
    const held = row.checkpoint?.item?.step ?? 0;
    if (held > (item.step ?? 0)) return false;
    // A branch item: only while its branch is not done and still at that turn (a copy of a finished turn changes nothing).
    if (item.branch !== undefined) {
      const branch = row.checkpoint?.branches?.[item.branch];
      if (!branch || branch.done || branch.item.step > (item.turn ?? 0)) return false;
    }
    const tries = o.attempts ? `${o.attempts} attempts` : "every attempt";
    const which = item.branch !== undefined ? `step ${item.step ?? 0}, outbound branch ${item.branch}` : `step ${item.step ?? 0}`;
    const message = `A work item of this sync (${which}) failed ${tries} and was moved to the poison queue; the run stopped. The next sync starts again and repeats no change (writes are idempotent).`;
    try {
      await deps.dataverse.update(SETS.syncRun, item.runId, endOfRunColumns("failed", message, clock.now()), { ifMatch: row.etag });
      return true;
    } catch (error) {
      if (!(error instanceof DataverseConcurrencyError)) throw error;
    }
  }
  return false;
}
