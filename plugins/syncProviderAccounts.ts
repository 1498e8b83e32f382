/** w365_SyncProviderAccounts (bound to w365_providerconnection; DryRun, RequestId): queues an accounts sync. */
import type { WebhookContext } from "./context";
import { startSync } from "./startSync";
import type { HandlerOutcome, PluginDeps } from "./types";

export function syncProviderAccounts(ctx: WebhookContext, deps: PluginDeps): Promise<HandlerOutcome> {
  return startSync(ctx, deps, "accounts", false);
}
