/**
 * Asynchronous step on Create of w365_providerconnection and on Update of w365_refreshtoken: an
 * admin pasted new credentials, so verify them at once and show the result on the connector.
 * The connector rotates the single-use refresh token itself on every exchange; those writes come
 * from its application user and are ignored, or every verify would trigger the next one.
 */
import { causedByIntegration, requireActiveConnection, requireTargetId } from "./common";
import type { WebhookContext } from "./context";
import { getString } from "./context";
import type { HandlerOutcome, PluginDeps } from "./types";

export async function connectionChanged(ctx: WebhookContext, deps: PluginDeps): Promise<HandlerOutcome> {
  const connectionId = requireTargetId(ctx, "connector");
  if (await causedByIntegration(ctx, deps)) {
    return { status: 200, body: { ignored: true, reason: "The change was made by the connector itself (token rotation)." } };
  }
  if (
    ctx.target?.kind === "entity" &&
    "w365_refreshtoken" in ctx.target.attributes &&
    !getString(ctx.target.attributes, "w365_refreshtoken")
  ) {
    return { status: 200, body: { ignored: true, reason: "The refresh token was cleared; nothing to verify." } };
  }
  if (ctx.messageName === "Create" && ctx.target?.kind === "entity" && !("w365_refreshtoken" in ctx.target.attributes)) {
    return { status: 200, body: { ignored: true, reason: "The connector was created without a refresh token." } };
  }
  await requireActiveConnection(deps, connectionId);
  await deps.engine.runVerify({ connectionId, trigger: "webhook", ...(ctx.requestId ? { requestId: ctx.requestId } : {}) });
  return { status: 200, body: { message: "New credentials verified.", connectionId } };
}
