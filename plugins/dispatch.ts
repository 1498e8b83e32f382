/**
 * Message name + table → handler. Anything not registered here is refused with a 400 before any
 * work, so a misregistered step shows up as a failed system job with a clear reason.
 */
import { customApiNames, logicalNames } from "../src/schema";
import { accountDeleted } from "./accountDeleted";
import { connectionChanged } from "./connectionChanged";
import type { WebhookContext } from "./context";
import { mapProviderAccount } from "./mapProviderAccount";
import { subscriptionChanged } from "./subscriptionChanged";
import { syncProviderAccounts } from "./syncProviderAccounts";
import { syncSubscriptions } from "./syncSubscriptions";
import { type HandlerOutcome, type PluginDeps, type WebhookHandler, WebhookRefusedError } from "./types";
import { verifyConnectivity } from "./verifyConnectivity";

interface Route {
  message: string;
  entity: string;
  handler: WebhookHandler;
}

export const ROUTES: readonly Route[] = [
  { message: customApiNames.w365_VerifyConnectivity, entity: logicalNames.w365_providerconnection, handler: verifyConnectivity },
  { message: customApiNames.w365_SyncProviderAccounts, entity: logicalNames.w365_providerconnection, handler: syncProviderAccounts },
  { message: customApiNames.w365_SyncSubscriptions, entity: logicalNames.w365_providerconnection, handler: syncSubscriptions },
  { message: customApiNames.w365_MapProviderAccount, entity: logicalNames.w365_provideraccount, handler: mapProviderAccount },
  { message: "Update", entity: logicalNames.w365_providersubscription, handler: subscriptionChanged },
  { message: "Create", entity: logicalNames.w365_providerconnection, handler: connectionChanged },
  { message: "Update", entity: logicalNames.w365_providerconnection, handler: connectionChanged },
  { message: "Delete", entity: logicalNames.account, handler: accountDeleted },
];

/** Finds the handler for a context (message names compare case-insensitively, as Dataverse's do). */
export function findRoute(messageName: string, entityName: string): Route | undefined {
  const m = messageName.toLowerCase();
  const e = entityName.toLowerCase();
  return ROUTES.find((r) => r.message.toLowerCase() === m && r.entity === e);
}

export function dispatch(ctx: WebhookContext, deps: PluginDeps): Promise<HandlerOutcome> {
  const route = findRoute(ctx.messageName, ctx.primaryEntityName);
  if (!route) {
    return Promise.reject(
      new WebhookRefusedError(
        "WEBHOOK_UNKNOWN_MESSAGE",
        `This endpoint does not handle ${ctx.messageName} on ${ctx.primaryEntityName || "(no table)"}.`,
        400,
        "Remove the step from the StreamOne Ion Functions service endpoint or update the functions app.",
      ),
    );
  }
  return route.handler(ctx, deps);
}
