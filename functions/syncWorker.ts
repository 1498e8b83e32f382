/**
 * Queue-triggered worker: runs the syncs the webhook and timer handlers queued, and outbound changes.
 * A transient failure is rethrown so the queue retries it (the run resumes from its checkpoint);
 * a permanent one is already recorded by the engine on the run row, so the message completes.
 * After MAX_DEQUEUE_COUNT attempts Azure moves the message to `streamone-sync-poison`.
 */
import { app, type InvocationContext } from "@azure/functions";

import { QUEUE_CONNECTION_SETTING, SYNC_QUEUE_NAME } from "./config";
import { getDefaultRuntime } from "./runtime";
import { createSyncWorker } from "./workItems";

export { createSyncWorker } from "./workItems";

export async function syncWorker(queueEntry: unknown, context: InvocationContext): Promise<void> {
  return createSyncWorker(getDefaultRuntime())(queueEntry, context);
}

app.storageQueue("syncWorker", { queueName: SYNC_QUEUE_NAME, connection: QUEUE_CONNECTION_SETTING, handler: syncWorker });
