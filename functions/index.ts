/**
 * Entry point of the functions app (package.json "main" is its compiled file, build/functions/index.js),
 * in the shape of Azure's samples: every function is registered here, from one reading of the settings.
 * A missing or bad setting does not stop the functions from being indexed (the operator must still see
 * them, and copy the webhook's key from one): each invocation then fails with the error naming it.
 */
import { app, type HttpRequest, type InvocationContext, type Timer } from "@azure/functions";

import { ConfigError } from "../src/shared/errors";
import { tuneHeapGrowth } from "../src/shared/heap";
import { QUEUE_CONNECTION_SETTING, readSettings, SYNC_QUEUE_NAME } from "./config";
import { createWebhookHandler, errorResponse, WEBHOOK_ROUTE } from "./dataverseWebhook";
import { createRuntime, type FunctionsRuntime } from "./runtime";
import { createScheduledSync } from "./scheduledSync";
import { createSyncPoison, createSyncWorker } from "./syncWorker";
import { createTokenKeepAlive } from "./tokenKeepAlive";
import { SYNC_POISON_QUEUE_NAME, syncQueueOutput } from "./workQueue";

// A sync streams pages of garbage: keep the heap near its live set (src/shared/heap.ts).
tuneHeapGrowth();
app.setup({ enableHttpStream: false });

const settings = readSettings(process.env);
let runtime: FunctionsRuntime | undefined;

/** The runtime every function shares, built on first use; throws the settings' ConfigError while they are invalid. */
function appRuntime(): FunctionsRuntime {
  if (settings.error) throw settings.error;
  runtime ??= createRuntime(settings.config, { holderId: `func-${process.env.WEBSITE_INSTANCE_ID ?? process.pid}` });
  return runtime;
}

function bound<A extends unknown[], R>(build: (runtime: FunctionsRuntime) => (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  let handler: ((...args: A) => Promise<R>) | undefined;
  return async (...args) => {
    handler ??= build(appRuntime());
    return handler(...args);
  };
}

// Start-up: with DATAVERSE_REGISTER_WEBHOOK the app registers its own webhook endpoint and steps (every
// install path ends with working steps); the timers below repeat it, so a failed attempt heals itself.
if (settings.config?.registerWebhook) void appRuntime().ensureWebhookRegistration();
const withRegistration =
  <A extends unknown[]>(run: (...args: A) => Promise<void>) =>
  async (...args: A): Promise<void> => {
    await appRuntime().ensureWebhookRegistration();
    await run(...args);
  };

const webhook = bound(createWebhookHandler);
const worker = bound(createSyncWorker);
const poison = bound(createSyncPoison);
const schedule = bound(createScheduledSync);
const keepAlive = bound(createTokenKeepAlive);

/** The registered handlers, exported so a test can call what Azure calls. */
export const functions = {
  async dataverseWebhook(request: HttpRequest, context: InvocationContext) {
    try {
      return await webhook(request, context);
    } catch (caught) {
      // Dataverse shows this message on the failed system job or to the custom API's caller.
      if (caught instanceof ConfigError) return errorResponse(caught, context.invocationId);
      throw caught;
    }
  },
  syncWorker: (message: unknown, context: InvocationContext): Promise<void> => worker(message, context),
  syncPoison: (message: unknown, context: InvocationContext): Promise<void> => poison(message, context),
  scheduledSync: withRegistration(async (timer: Timer, context: InvocationContext): Promise<void> => void (await schedule(timer, context))),
  tokenKeepAlive: withRegistration(
    async (timer: Timer, context: InvocationContext): Promise<void> => void (await keepAlive(timer, context)),
  ),
};

app.http("dataverseWebhook", {
  route: WEBHOOK_ROUTE,
  methods: ["POST"],
  authLevel: "function",
  extraOutputs: [syncQueueOutput],
  handler: functions.dataverseWebhook,
});
// A sync work item enqueues the next item of its run through the same binding (written when it succeeds).
app.storageQueue("syncWorker", {
  queueName: SYNC_QUEUE_NAME,
  connection: QUEUE_CONNECTION_SETTING,
  extraOutputs: [syncQueueOutput],
  handler: functions.syncWorker,
});
app.storageQueue("syncPoison", { queueName: SYNC_POISON_QUEUE_NAME, connection: QUEUE_CONNECTION_SETTING, handler: functions.syncPoison });
app.timer("scheduledSync", {
  schedule: settings.syncSchedule,
  extraOutputs: [syncQueueOutput],
  retry: { strategy: "exponentialBackoff", maxRetryCount: 3, minimumInterval: { seconds: 30 }, maximumInterval: { minutes: 10 } },
  handler: functions.scheduledSync,
});
app.timer("tokenKeepAlive", {
  schedule: settings.keepAliveSchedule,
  retry: { strategy: "exponentialBackoff", maxRetryCount: 3, minimumInterval: { minutes: 1 }, maximumInterval: { minutes: 15 } },
  handler: functions.tokenKeepAlive,
});
