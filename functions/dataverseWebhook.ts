/**
 * HTTP function receiving Dataverse webhooks: POST /api/dataverse/webhook. authLevel "function"
 * makes Azure check the key (?code= or x-functions-key) first; the handler checks it again in
 * constant time (the local host and defense in depth). Pipeline: functions/webhookHandler.ts.
 */
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from "@azure/functions";

import { getDefaultRuntime } from "./runtime";
import { createWebhookHandler } from "./webhookHandler";
import { syncQueueOutput } from "./workQueue";

export const WEBHOOK_ROUTE = "dataverse/webhook";
let handler: ReturnType<typeof createWebhookHandler> | undefined;

export async function dataverseWebhook(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  handler ??= createWebhookHandler(getDefaultRuntime());
  return handler(request, context);
}

app.http("dataverseWebhook", {
  route: WEBHOOK_ROUTE,
  methods: ["POST"],
  authLevel: "function",
  extraOutputs: [syncQueueOutput],
  handler: dataverseWebhook,
});
