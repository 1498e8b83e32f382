/**
 * Asynchronous step on Update of w365_providersubscription filtered to the requested-change columns.
 * Places the admin's change in Ion through the work queue (order placement and tracking can outlast
 * the 60 s webhook budget). Echo-loop guards: changes made by the connector's own application user
 * (it clears the requested columns once Ion applied them) and updates that only clear requests are
 * ignored with a 200, so Dataverse records the system job as succeeded and nothing is sent.
 */
import { DataverseConcurrencyError, DataverseNotFoundError } from "../src/dataverse/errors";
import { SETS, SyncState } from "../src/sync/schema";
import { causedByIntegration, requireTargetId } from "./common";
import type { SdkValue, WebhookContext } from "./context";
import type { HandlerOutcome, PluginDeps } from "./types";

export const REQUESTED_COLUMNS = ["w365_requestedquantity", "w365_requestedstatus", "w365_requestedautorenew"] as const;

function isCleared(value: SdkValue | undefined): boolean {
  return value === null || value === undefined || value === "";
}

/** True when the update sets at least one requested column; undefined when the payload carries no Target (oversized message). */
export function requestsAChange(ctx: WebhookContext): boolean | undefined {
  if (!ctx.target || ctx.target.kind !== "entity") return undefined;
  const attributes = ctx.target.attributes;
  const present = REQUESTED_COLUMNS.filter((c) => c in attributes);
  if (present.length === 0) return false;
  return present.some((c) => !isCleared(attributes[c]));
}

export async function subscriptionChanged(ctx: WebhookContext, deps: PluginDeps): Promise<HandlerOutcome> {
  const subscriptionId = requireTargetId(ctx, "subscription");
  if (await causedByIntegration(ctx, deps)) {
    return { status: 200, body: { ignored: true, reason: "The change was made by the connector itself." } };
  }
  // Without a Target (x-ms-dynamics-msg-size-exceeded) the engine reads the row and decides.
  if (requestsAChange(ctx) === false) {
    // Cleared after a Conflict or Error: the engine resets the row to Ion's values; otherwise nothing to do.
    if (!(await waitsForAdmin(deps, subscriptionId)))
      return { status: 200, body: { ignored: true, reason: "No requested change is set (requests were cleared)." } };
    await deps.queue.enqueue({ type: "outbound", subscriptionId, trigger: "webhook" });
    return { status: 202, body: { message: "The cleared request resets the subscription.", subscriptionId } };
  }
  // Show the admin at once that the change is waiting for Ion. Written by the integration user and
  // outside the step's filtering attributes, so it never triggers this step again.
  const marked = await markChangeRequested(deps, subscriptionId);
  if (marked === "gone") return { status: 200, body: { ignored: true, reason: "The subscription no longer exists." } };
  await deps.queue.enqueue({ type: "outbound", subscriptionId, trigger: "webhook" });
  deps.logger.info("outbound change queued", { subscriptionId });
  return { status: 202, body: { message: "The change is queued for StreamOne Ion.", subscriptionId } };
}

/**
 * "Change requested", unless an order for the row is already out ("Sent to Ion" stays: the worker finds
 * that order and compares the request with it). Conditional on the row as read, so a worker's claim made
 * in between is never overwritten; a row that keeps changing is left as it is (the queued job decides).
 */
async function markChangeRequested(deps: PluginDeps, subscriptionId: string): Promise<"marked" | "left" | "gone"> {
  for (let attempt = 1; attempt <= 3; attempt++) {
    const row = await deps.dataverse.tryRetrieve<{ w365_syncstate?: number | null; "@odata.etag"?: string }>(
      SETS.providerSubscription,
      subscriptionId,
      { select: ["w365_syncstate"] },
    );
    // Deleted since the admin's change: there is nothing left to send.
    if (!row) return "gone";
    if (row.w365_syncstate === SyncState.SentToIon) return "left";
    try {
      await deps.dataverse.update(
        SETS.providerSubscription,
        subscriptionId,
        { w365_syncstate: SyncState.ChangeRequested, w365_syncmessage: "Change requested: waiting to be placed in StreamOne Ion." },
        { ifMatch: row["@odata.etag"] ?? "*" },
      );
      return "marked";
    } catch (caught) {
      if (caught instanceof DataverseNotFoundError) return "gone";
      if (!(caught instanceof DataverseConcurrencyError)) throw caught;
    }
  }
  return "left";
}

async function waitsForAdmin(deps: PluginDeps, subscriptionId: string): Promise<boolean> {
  const row = await deps.dataverse.tryRetrieve<{ w365_syncstate?: number | null }>(SETS.providerSubscription, subscriptionId, {
    select: ["w365_syncstate"],
  });
  return row?.w365_syncstate === SyncState.Conflict || row?.w365_syncstate === SyncState.Error;
}
