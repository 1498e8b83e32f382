/**
 * Timer (SYNC_SCHEDULE, default 02:00 UTC daily): queues a full sync ("all") for every connector that
 * is due. Due = active, Connected, no identical run in flight, and — when the connector has its own
 * NCRONTAB in w365_syncschedule — an occurrence of it since the connector last synced. The runs
 * themselves go through the work queue, so this invocation stays short. A connector that cannot be
 * queued does not stop the others, and the invocation succeeds whenever one was queued (its output
 * binding carries their messages); only a pass that queued nothing fails and is retried.
 */
import { app, type InvocationContext, type Timer } from "@azure/functions";

import { DEFAULT_SYNC_SCHEDULE } from "./config";
import { getDefaultRuntime } from "./runtime";
import { createScheduledSync } from "./timers";
import { syncQueueOutput } from "./workQueue";

export async function scheduledSync(timer: Timer, context: InvocationContext): Promise<void> {
  await createScheduledSync(getDefaultRuntime())(timer, context);
}

app.timer("scheduledSync", {
  schedule: process.env.SYNC_SCHEDULE?.trim() || DEFAULT_SYNC_SCHEDULE,
  extraOutputs: [syncQueueOutput],
  retry: { strategy: "exponentialBackoff", maxRetryCount: 3, minimumInterval: { seconds: 30 }, maximumInterval: { minutes: 10 } },
  handler: scheduledSync,
});
