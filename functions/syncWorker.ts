/**
 * The `syncWorker` function: storage queue `streamone-sync`. Runs the syncs the webhook and timer
 * handlers queued, one work item at a time (src/sync/workItems.ts): an item runs the sync from the run's
 * checkpoint until its budget is spent, then enqueues the next item through the output binding, so no
 * invocation runs long and a run continues on any instance. Also runs outbound changes. A transient
 * failure is rethrown so the queue retries it (the item resumes from the checkpoint); a permanent one is
 * already recorded by the engine on the run row or the subscription, so the message completes. After
 * MAX_DEQUEUE_COUNT attempts Azure moves the message to `streamone-sync-poison`, where `syncPoison`
 * marks its run failed; the local host's in-process queue runs these same handlers.
 */
import type { InvocationContext } from "@azure/functions";

import type { WorkQueue } from "../plugins/types";
import { ConnectorError, ensureError } from "../src/shared/errors";
import type { Logger } from "../src/shared/logger";
import type { Engine } from "../src/sync/engine";
import type { ItemBudget } from "../src/sync/workItems";
import { MAX_DEQUEUE_COUNT, parseWorkMessage } from "./workQueue";

function dequeueCountOf(context: InvocationContext): number {
  const n = Number(context.triggerMetadata?.dequeueCount ?? 1);
  return Number.isFinite(n) && n > 0 ? n : 1;
}

/** The queue message id (the same for every delivery of one message); the invocation id when the host gives none. */
function messageIdOf(context: InvocationContext): string {
  const id = context.triggerMetadata?.id;
  return typeof id === "string" && id ? id : context.invocationId;
}

export interface SyncWorkerRuntime {
  engine: Engine;
  logger: Logger;
  /** Where the next work item goes (the output binding in Azure); without it a run is never split. */
  queueFor?: (context: InvocationContext) => WorkQueue;
  /**
   * The work item's budget (SYNC_ITEM_BUDGET_SECONDS, SYNC_ITEM_MAX_PAGES; default 120 s), and when the outbound
   * phase fans out (SYNC_OUTBOUND_BRANCH_ROWS, SYNC_OUTBOUND_BRANCHES).
   */
  config?: { itemBudget?: ItemBudget; staleRunMinutes?: number; outboundBranches?: { rows: number; branches: number } };
}

export function createSyncWorker(runtime: SyncWorkerRuntime) {
  return async function runWorkItem(queueEntry: unknown, context: InvocationContext): Promise<void> {
    const message = parseWorkMessage(queueEntry);
    const dequeueCount = dequeueCountOf(context);
    const log = runtime.logger.child({ invocationId: context.invocationId, function: "syncWorker", type: message.type, dequeueCount });
    try {
      if (message.type === "sync") {
        const { type: _type, ...item } = message;
        const queue = runtime.queueFor?.(context);
        log.info("sync work item starting", {
          runId: item.runId,
          kind: item.kind,
          step: item.step ?? 0,
          phase: item.phase,
          page: item.page,
          ...(item.branch !== undefined ? { branch: item.branch, turn: item.turn ?? 0 } : {}),
        });
        const result = await runtime.engine.runSyncWorkItem(
          item,
          { messageId: messageIdOf(context), dequeueCount },
          // Without a queue to hand off to, the item runs the whole sync.
          queue ? runtime.config?.itemBudget : { ms: Number.POSITIVE_INFINITY },
          // A run of the same kind whose chain of items broke is continued by the next one queued.
          {
            ...(runtime.config?.staleRunMinutes ? { staleRunMs: runtime.config.staleRunMinutes * 60_000 } : {}),
            // Branches need a queue to travel through; without one the item runs the whole phase.
            ...(queue && runtime.config?.outboundBranches ? { fanOut: runtime.config.outboundBranches } : {}),
          },
        );
        if (result.next && queue) await queue.enqueue({ type: "sync", ...result.next });
        // A fanned-out outbound phase: one item per branch, through the same output (written when this invocation succeeds).
        if (result.outcome !== "branch" && result.branches && queue)
          for (const branch of result.branches) await queue.enqueue({ type: "sync", ...branch });
        if (result.outcome === "skipped")
          log.info("sync work item skipped", {
            runId: item.runId,
            reason: result.reason,
            next: result.next?.step,
            branches: result.branches?.map((b) => b.branch),
          });
        else if (result.outcome === "branch")
          log.info("sync branch item finished", {
            runId: item.runId,
            step: item.step ?? 0,
            branch: result.branch,
            turn: item.turn ?? 0,
            done: result.done,
            counts: result.counts,
            next: result.next?.step,
          });
        else
          log.info("sync work item finished", {
            runId: item.runId,
            step: item.step ?? 0,
            status: result.summary.status,
            detail: result.summary.message,
            next: result.next?.step,
            branches: result.branches?.map((b) => b.branch),
          });
      } else {
        log.info("outbound change starting", { subscriptionId: message.subscriptionId });
        const result = await runtime.engine.runOutboundForSubscription({
          subscriptionId: message.subscriptionId,
          trigger: message.trigger,
        });
        log.info("outbound change finished", { subscriptionId: message.subscriptionId, outcome: result.outcome, detail: result.message });
      }
    } catch (caught) {
      const error = ensureError(caught);
      const retryable = caught instanceof ConnectorError ? caught.retryable : true;
      log.error("work item failed", {
        error: error.message,
        code: caught instanceof ConnectorError ? caught.code : "UNEXPECTED",
        retryable,
      });
      if (retryable) throw error;
    }
  };
}

/**
 * The `syncPoison` function: storage queue `streamone-sync-poison`. A sync work item the queue gave up on
 * marks its run failed (unless the run moved past it), so the admin sees the run stop instead of a run
 * "running" forever; outbound messages are already recorded on their subscription by the engine.
 */
export function createSyncPoison(runtime: { engine: Engine; logger: Logger }) {
  return async function recordPoison(queueEntry: unknown, context: InvocationContext): Promise<void> {
    const log = runtime.logger.child({ invocationId: context.invocationId, function: "syncPoison" });
    let message;
    try {
      message = parseWorkMessage(queueEntry);
    } catch (error) {
      log.error("poison message is not a work item", { error: ensureError(error).message });
      return;
    }
    if (message.type !== "sync") {
      log.error("outbound change moved to the poison queue", { subscriptionId: message.subscriptionId });
      return;
    }
    const { type: _type, ...item } = message;
    const marked = await runtime.engine.recordPoisonedItem(item, { attempts: MAX_DEQUEUE_COUNT });
    log.error("sync work item moved to the poison queue", { runId: item.runId, step: item.step ?? 0, runMarkedFailed: marked });
  };
}
