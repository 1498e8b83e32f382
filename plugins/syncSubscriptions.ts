/** w365_SyncSubscriptions (bound to w365_providerconnection; DryRun, RequestId, ProviderAccountId): queues a subscriptions sync. */
import type { WebhookContext } from "./context";
import { startSync } from "./startSync";
import type { HandlerOutcome, PluginDeps } from "./types";

export function syncSubscriptions(ctx: WebhookContext, deps: PluginDeps): Promise<HandlerOutcome> {
  return startSync(ctx, deps, "subscriptions", true);
}
