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
import { DataverseConcurrencyError } from "../dataverse";
import { systemClock } from "../shared/clock";
import { type CheckpointState, DEFAULT_STALE_RUN_MS, initialState, type ItemClaim } from "./checkpoint";
import type { SyncDeps } from "./context";
import { runSync, type RunSyncOptions } from "./index";
import { FINISHED_RUN_STATUSES, readRunState } from "./itemClaim";
import { staleRunsFilter } from "./prefetch";
import { pickStaleRun, RUN_COLUMNS, type RunRow } from "./runs";
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
  /** The step after this one was handed off but its message may be lost (this delivery is a retry): enqueue it again. */
  | { action: "repeat-hand-off"; step: number };

/** What a delivery of step `step` does, given the run row's status and checkpoint. Pure. */
export function decideDelivery(
  row: { status?: string; checkpoint?: CheckpointState } | undefined,
  step: number,
  delivery: Delivery,
): DeliveryDecision {
  if (!row) return { action: "skip", reason: "the run row no longer exists" };
  if (row.status && FINISHED_RUN_STATUSES.has(row.status)) return { action: "skip", reason: `the run already ${row.status}` };
  const held = row.checkpoint?.item ?? { step: 0 };
  if (held.step > step) {
    // The hand-off to the next step happened; a retry of this step cannot know whether its message got out.
    if (held.step === step + 1 && held.messageId === undefined && delivery.dequeueCount > 1)
      return { action: "repeat-hand-off", step: held.step };
    return { action: "skip", reason: `step ${step} is done (the run is at step ${held.step})` };
  }
  if (held.step < step) return { action: "skip", reason: `step ${step} was never handed off (the run is at step ${held.step})` };
  const claim: ItemClaim = { step, messageId: delivery.messageId, dequeueCount: delivery.dequeueCount };
  if (held.messageId === undefined) return { action: "run", claim };
  if (held.messageId !== delivery.messageId)
    return { action: "skip", reason: `a copy of step ${step} under another message holds it (that message returns if its delivery dies)` };
  // The same message again: the queue delivers it anew only once the earlier delivery failed or its lease lapsed.
  if ((held.dequeueCount ?? 0) < delivery.dequeueCount) return { action: "run", claim };
  return { action: "skip", reason: `a later delivery of this message holds step ${step}` };
}

export type WorkItemOutcome =
  { outcome: "ran"; summary: SyncRunSummary; next?: SyncWorkItem } | { outcome: "skipped"; reason: string; next?: SyncWorkItem };

function nextItem(item: SyncWorkItem, step: number, summary?: SyncRunSummary): SyncWorkItem {
  const c = summary?.continuation;
  return {
    ...item,
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
  o: { staleRunMs?: number } = {},
): Promise<WorkItemOutcome> {
  const step = item.step ?? 0;
  const clock = deps.clock ?? systemClock;
  let takenOver: CheckpointState | undefined;
  let lookedForStaleRun = false;
  for (let attempt = 0; ; attempt++) {
    const row = await readRunState(deps.dataverse, item.runId);
    const decision = decideDelivery(row, step, delivery);
    if (decision.action === "skip") return { outcome: "skipped", reason: decision.reason };
    if (decision.action === "repeat-hand-off")
      return {
        outcome: "skipped",
        reason: `step ${step} handed off already; its next item is enqueued again`,
        next: nextItem(item, decision.step),
      };
    // The first item of a fresh run continues a run of the same kind whose worker stopped (its chain of
    // items broke: a message lost or poisoned past its run, an instance gone for good), from its checkpoint.
    if (step === 0 && !hasProgress(row!.checkpoint) && !item.dryRun && !item.providerAccountId && !lookedForStaleRun) {
      lookedForStaleRun = true;
      takenOver = await takeOverStaleRun(deps, item, o.staleRunMs ?? DEFAULT_STALE_RUN_MS);
    }
    const base = takenOver ?? row!.checkpoint ?? initialState(item.kind, clock.now());
    const checkpoint = { ...base, item: decision.claim };
    try {
      await deps.dataverse.update(SETS.syncRun, item.runId, { w365_checkpoint: JSON.stringify(checkpoint) }, { ifMatch: row!.etag });
    } catch (error) {
      // Another delivery wrote the row between the read and the claim: decide again on what it wrote.
      if (error instanceof DataverseConcurrencyError && attempt < 3) continue;
      throw error;
    }
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
            },
          }),
    };
    const summary = await runSync(deps, options);
    if (summary.status === "running" && summary.continuation)
      return { outcome: "ran", summary, next: nextItem(item, summary.continuation.step, summary) };
    return { outcome: "ran", summary };
  }
}

function hasProgress(cp: CheckpointState | undefined): boolean {
  return cp !== undefined && (cp.done.length > 0 || cp.current !== undefined);
}

/**
 * A run of the same connector and kind still "running" whose heartbeat is older than `staleMs`: marked as
 * taken over (If-Match, so a run that is alive after all keeps its row), and its checkpoint returned for the new run.
 */
async function takeOverStaleRun(deps: SyncDeps, item: SyncWorkItem, staleMs: number): Promise<CheckpointState | undefined> {
  const clock = deps.clock ?? systemClock;
  const rows = await deps.dataverse.queryAll<RunRow>(SETS.syncRun, {
    select: RUN_COLUMNS,
    filter: staleRunsFilter(item.connectionId, item.kind),
    // pickStaleRun takes the first stale row: the newest, whose checkpoint is the furthest on.
    orderby: "w365_startedon desc",
  });
  const stale = pickStaleRun(
    rows.filter((r) => r.w365_syncrunid.toLowerCase() !== item.runId.toLowerCase()),
    clock.now(),
    staleMs,
  );
  if (!stale) return undefined;
  const state = await readRunState(deps.dataverse, stale.w365_syncrunid);
  if (!state?.checkpoint || !hasProgress(state.checkpoint)) return undefined;
  const message = `This run stopped (its worker no longer answered); run ${item.runId} continued it from its checkpoint.`;
  try {
    await deps.dataverse.update(
      SETS.syncRun,
      stale.w365_syncrunid,
      {
        w365_status: "failed",
        w365_finishedon: new Date(clock.now()).toISOString(),
        w365_message: message,
        w365_progress: `failed: ${message}`.slice(0, 400),
      },
      { ifMatch: state.etag },
    );
  } catch (error) {
    if (error instanceof DataverseConcurrencyError) return undefined;
    throw error;
  }
  deps.logger?.warn("took over a run whose worker stopped", { runId: item.runId, from: stale.w365_syncrunid });
  return { ...state.checkpoint, updatedAt: clock.now() };
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
    if (!row || (row.status && FINISHED_RUN_STATUSES.has(row.status))) return false;
    const held = row.checkpoint?.item?.step ?? 0;
    if (held > (item.step ?? 0)) return false;
    const tries = o.attempts ? `${o.attempts} attempts` : "every attempt";
    const message = `A work item of this sync (step ${item.step ?? 0}) failed ${tries} and was moved to the poison queue; the run stopped. The next sync starts again and repeats no change (writes are idempotent).`;
    try {
      await deps.dataverse.update(
        SETS.syncRun,
        item.runId,
        {
          w365_status: "failed",
          w365_finishedon: new Date(clock.now()).toISOString(),
          w365_message: message,
          w365_progress: `failed: ${message}`.slice(0, 400),
        },
        { ifMatch: row.etag },
      );
      return true;
    } catch (error) {
      if (!(error instanceof DataverseConcurrencyError)) throw error;
    }
  }
  return false;
}
