/**
 * Timer (KEEPALIVE_SCHEDULE, default 01:30 UTC daily): rotates every connector's single-use refresh
 * token so the 32-day token never lapses, and flags connectors that have not synced successfully
 * for STALE_SYNC_HOURS. The engine serialises each rotation through the connector's token lease.
 */
import { app, type InvocationContext, type Timer } from "@azure/functions";

import { DEFAULT_KEEPALIVE_SCHEDULE } from "./config";
import { getDefaultRuntime } from "./runtime";
import { createTokenKeepAlive } from "./timers";

export async function tokenKeepAlive(timer: Timer, context: InvocationContext): Promise<void> {
  await createTokenKeepAlive(getDefaultRuntime())(timer, context);
}

app.timer("tokenKeepAlive", {
  schedule: process.env.KEEPALIVE_SCHEDULE?.trim() || DEFAULT_KEEPALIVE_SCHEDULE,
  retry: { strategy: "exponentialBackoff", maxRetryCount: 3, minimumInterval: { minutes: 1 }, maximumInterval: { minutes: 15 } },
  handler: tokenKeepAlive,
});
