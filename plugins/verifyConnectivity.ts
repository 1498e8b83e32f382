/**
 * w365_VerifyConnectivity (custom API bound to w365_providerconnection, synchronous step).
 * Verify is quick (one token exchange and two small reads), so it runs inline within the 60 s
 * webhook budget; its outcome is written by the engine to the connector row and a w365_syncrun.
 * A failed verification is still a successful call: the admin reads the status the engine wrote.
 */
import { requireActiveConnection, requireTargetId, triggerFor } from "./common";
import type { WebhookContext } from "./context";
import { getString } from "./context";
import type { HandlerOutcome, PluginDeps } from "./types";

export async function verifyConnectivity(ctx: WebhookContext, deps: PluginDeps): Promise<HandlerOutcome> {
  const connectionId = requireTargetId(ctx, "connector");
  await requireActiveConnection(deps, connectionId);
  const requestId = getString(ctx.inputParameters, "RequestId") ?? ctx.requestId;
  const result = await deps.engine.runVerify({
    connectionId,
    trigger: triggerFor(ctx),
    ...(requestId ? { requestId } : {}),
  });
  return {
    status: 200,
    body: { message: "Verification finished.", connectionId, ok: result.ok, status: result.status, statusLabel: result.statusLabel },
  };
}
