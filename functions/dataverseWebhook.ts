/**
 * The `dataverseWebhook` function: HTTP POST /api/dataverse/webhook, receiving Dataverse webhooks.
 * authLevel "function" makes Azure check the key (?code= or x-functions-key) first; the handler checks it
 * again in constant time (the local host, and defense in depth). Order matters: key → method → size →
 * JSON → schema → organization → replay → dispatch to plugins/. Every refusal before dispatch does no
 * Dataverse or Ion work. functions/index.ts registers it; the local host and the tests call it directly.
 */
import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";

import { parseWebhookBody, type WebhookContext, WebhookPayloadError } from "../plugins/context";
import { dispatch } from "../plugins/dispatch";
import { type PluginDeps, WebhookRefusedError } from "../plugins/types";
import { ConnectorError, ensureError } from "../src/shared/errors";
import type { Logger } from "../src/shared/logger";
import { redact } from "../src/shared/redact";
import { type RememberedOutcome, type ReplayGuard, replayKey } from "./replayGuard";
import { authenticate, checkOrganization, type ExpectedOrganization, WebhookAuthError, WebhookOriginError } from "./webhookSecurity";

export const WEBHOOK_ROUTE = "dataverse/webhook";

export interface WebhookRuntime {
  webhookKey: string;
  maxBodyBytes: number;
  /** The organization this app serves (from settings, else the Dataverse it talks to). */
  expectedOrganization(): Promise<ExpectedOrganization>;
  replay: ReplayGuard;
  /** Handler dependencies for one invocation (the queue output binding is per invocation). */
  pluginDeps(context: InvocationContext): PluginDeps;
  logger: Logger;
}

export class PayloadTooLargeError extends ConnectorError {
  constructor(limit: number) {
    super("WEBHOOK_PAYLOAD_TOO_LARGE", `The webhook body is larger than ${limit} bytes.`, { statusCode: 413 });
  }
}

class MethodNotAllowedError extends ConnectorError {
  constructor(method: string) {
    super("WEBHOOK_METHOD_NOT_ALLOWED", `Method ${method} is not allowed; Dataverse webhooks are POSTs.`, { statusCode: 405 });
  }
}

/** The delivery is older than the replay window: answering it could repeat work already done. */
class StaleDeliveryError extends ConnectorError {
  constructor() {
    super("WEBHOOK_STALE", "The delivery is older than the replay window and was not processed.", { statusCode: 400 });
  }
}

class MismatchedHeaderError extends ConnectorError {
  constructor(message: string) {
    super("WEBHOOK_HEADER_MISMATCH", message, { statusCode: 400 });
  }
}

/** Reads at most `limit` bytes; larger bodies are refused without buffering them. */
export async function readBodyLimited(request: HttpRequest, limit: number): Promise<string> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) throw new PayloadTooLargeError(limit);
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const chunk = Buffer.from(value as Uint8Array);
    total += chunk.length;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      throw new PayloadTooLargeError(limit);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export function errorResponse(error: ConnectorError, invocationId: string): HttpResponseInit {
  const message = redact(error.userMessage);
  return {
    status: error.statusCode ?? 500,
    jsonBody: { error: { code: error.code, message }, invocationId },
    headers: { "content-type": "application/json; charset=utf-8" },
  };
}

function outcomeResponse(outcome: RememberedOutcome, replayed: boolean, invocationId: string): HttpResponseInit {
  const body = replayed ? { ...outcome.body, replayed: true } : outcome.body;
  return { status: outcome.status, jsonBody: { ...body, invocationId }, headers: { "content-type": "application/json; charset=utf-8" } };
}

function checkHeaders(request: HttpRequest, ctx: WebhookContext): void {
  const requestName = request.headers.get("x-ms-dynamics-request-name");
  if (requestName && requestName.toLowerCase() !== ctx.messageName.toLowerCase()) {
    throw new MismatchedHeaderError(
      `x-ms-dynamics-request-name "${requestName}" does not match the payload's MessageName "${ctx.messageName}".`,
    );
  }
  const entityName = request.headers.get("x-ms-dynamics-entity-name");
  if (entityName && ctx.primaryEntityName && entityName.toLowerCase() !== ctx.primaryEntityName.toLowerCase()) {
    throw new MismatchedHeaderError(
      `x-ms-dynamics-entity-name "${entityName}" does not match the payload's PrimaryEntityName "${ctx.primaryEntityName}".`,
    );
  }
}

export function createWebhookHandler(
  runtime: WebhookRuntime,
): (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit> {
  return async (request, context) => {
    const log = runtime.logger.child({ invocationId: context.invocationId, function: "dataverseWebhook" });
    try {
      authenticate(request.headers, request.query, runtime.webhookKey);
      if (request.method.toUpperCase() !== "POST") throw new MethodNotAllowedError(request.method);
      const text = await readBodyLimited(request, runtime.maxBodyBytes);
      if (text.trim() === "") throw new WebhookPayloadError("Invalid webhook payload: the body is empty.");
      const ctx = parseWebhookBody(text);
      checkHeaders(request, ctx);
      checkOrganization(request.headers.get("x-ms-dynamics-organization"), ctx, await runtime.expectedOrganization());
      if (runtime.replay.isStale(ctx.operationCreatedOn)) {
        throw new StaleDeliveryError();
      }
      const fields = {
        message: ctx.messageName,
        entity: ctx.primaryEntityName,
        id: ctx.primaryEntityId,
        correlationId: ctx.correlationId,
        mode: ctx.mode,
      };
      const { outcome, replayed } = await runtime.replay.run(replayKey(ctx), () => dispatch(ctx, runtime.pluginDeps(context)));
      if (replayed) log.info("webhook replay answered without a second effect", fields);
      else log.info("webhook handled", { ...fields, status: outcome.status });
      return outcomeResponse(outcome, replayed, context.invocationId);
    } catch (caught) {
      if (isRefusal(caught)) {
        log.warn("webhook refused", { code: caught.code, status: caught.statusCode, reason: caught.message });
        return errorResponse(caught, context.invocationId);
      }
      const error = ensureError(caught);
      const retryable = caught instanceof ConnectorError && caught.retryable;
      log.error("webhook failed", { error: error.message, code: caught instanceof ConnectorError ? caught.code : "UNEXPECTED", retryable });
      // Downstream failures keep their typed message (already free of secrets) so the admin sees why;
      // a transient one answers 503, for which Dataverse makes one more delivery attempt.
      const failure = new ConnectorError(
        caught instanceof ConnectorError ? caught.code : "WEBHOOK_INTERNAL",
        `The functions app could not handle the webhook: ${error.message}`,
        {
          statusCode: retryable ? 503 : 500,
          ...(caught instanceof ConnectorError && caught.hint ? { hint: caught.hint } : {}),
        },
      );
      return errorResponse(failure, context.invocationId);
    }
  };
}

/** Refusals decided by this endpoint (not failures of Dataverse or Ion calls behind it). */
function isRefusal(error: unknown): error is ConnectorError & { statusCode: number } {
  return (
    (error instanceof WebhookAuthError ||
      error instanceof WebhookOriginError ||
      error instanceof WebhookPayloadError ||
      error instanceof WebhookRefusedError ||
      error instanceof PayloadTooLargeError ||
      error instanceof MethodNotAllowedError ||
      error instanceof MismatchedHeaderError ||
      error instanceof StaleDeliveryError) &&
    typeof (error as ConnectorError).statusCode === "number"
  );
}
