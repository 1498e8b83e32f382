/**
 * The `syncWorker` function: storage queue `streamone-sync`. Runs the syncs the webhook and timer
 * handlers queued, and outbound changes. A transient failure is rethrown so the queue retries it (a
 * sync resumes from its checkpoint); a permanent one is already recorded by the engine on the run row
 * or the subscription, so the message completes. After MAX_DEQUEUE_COUNT attempts Azure moves the
 * message to `streamone-sync-poison`; the local host's in-process queue runs this same handler.
 */
import type { InvocationContext } from "@azure/functions";

import { ConnectorError, ensureError } from "../src/shared/errors";
import type { Logger } from "../src/shared/logger";
import type { Engine } from "../src/sync/engine";
import { parseWorkMessage } from "./workQueue";

function dequeueCountOf(context: InvocationContext): number {
  const n = Number(context.triggerMetadata?.dequeueCount ?? 1);
  return Number.isFinite(n) && n > 0 ? n : 1;
}

export function createSyncWorker(runtime: { engine: Engine; logger: Logger }) {
  return async function runWorkItem(queueEntry: unknown, context: InvocationContext): Promise<void> {
    const message = parseWorkMessage(queueEntry);
    const dequeueCount = dequeueCountOf(context);
    const log = runtime.logger.child({ invocationId: context.invocationId, function: "syncWorker", type: message.type, dequeueCount });
    try {
      if (message.type === "sync") {
        const { type: _type, ...options } = message;
        log.info("sync run starting", { runId: message.runId, kind: message.kind, connectionId: message.connectionId });
        const summary = await runtime.engine.runSync(options);
        log.info("sync run finished", { runId: message.runId, status: summary.status, detail: summary.message });
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
