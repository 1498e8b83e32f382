/** w365_SyncSubscriptions (bound to w365_providerconnection; DryRun, RequestId, ProviderAccountId): queues a subscriptions sync. */
import type { WebhookContext } from "./context";
import { startSync } from "./startSync";
import type { HandlerOutcome, PluginDeps } from "./types";

export function syncSubscriptions<D>(ctx: WebhookContext, deps: PluginDeps<D>): Promise<HandlerOutcome> {
  return startSync(ctx, deps, "subscriptions", true);
}
