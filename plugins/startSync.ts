/**
 * Shared body of the two sync custom APIs. The steps are synchronous and Dataverse waits at most
 * 60 s, so a sync never runs here: the handler checks the work can start, creates the queued
 * w365_syncrun row (carrying the caller's RequestId, which is how a flow finds its run), hands the
 * run to the work queue and returns. The worker (functions/syncWorker.ts) runs it.
 */
import { type ConnectionSummary, ensureNoActiveRun, requireActiveConnection, requireTargetId, triggerFor } from "./common";
import type { WebhookContext } from "./context";
import { getBoolean, getGuid, getString } from "./context";
import type { HandlerOutcome, PluginDeps, SyncKind, SyncRequest } from "./types";

/**
 * Checks that no identical run is in flight, creates the queued run and hands it to the worker, as one
 * step per connector so two racing starts (deliveries, timer ticks) cannot both pass the check.
 * `connection` is read inside that step. Shared by the sync custom APIs and the scheduled sync.
 */
export async function queueSyncRun(deps: PluginDeps, connection: () => Promise<ConnectionSummary>, request: SyncRequest): Promise<string> {
  const start = async () => {
    await ensureNoActiveRun(deps, await connection(), request.kind, request.dryRun ?? false);
    const { runId } = await deps.engine.startQueuedRun(request);
    await deps.queue.enqueue({ type: "sync", runId, ...request });
    return runId;
  };
  return deps.serialize ? deps.serialize(`sync:${request.connectionId}`, start) : start();
}

export async function startSync(
  ctx: WebhookContext,
  deps: PluginDeps,
  kind: SyncKind,
  allowProviderAccount: boolean,
): Promise<HandlerOutcome> {
  const connectionId = requireTargetId(ctx, "connector");
  const dryRun = getBoolean(ctx.inputParameters, "DryRun") ?? false;
  const requestId = getString(ctx.inputParameters, "RequestId") ?? ctx.requestId;
  const providerAccountId = allowProviderAccount ? getGuid(ctx.inputParameters, "ProviderAccountId") : undefined;
  const trigger = triggerFor(ctx);
  const options = {
    connectionId,
    kind,
    trigger,
    dryRun,
    ...(requestId ? { requestId } : {}),
    ...(providerAccountId ? { providerAccountId } : {}),
  };
  const runId = await queueSyncRun(deps, () => requireActiveConnection(deps, connectionId), options);
  deps.logger.info("sync queued", { runId, connectionId, kind, dryRun, trigger, requestId });
  return {
    status: 202,
    body: { message: `The ${kind} sync is queued.`, runId, connectionId, kind, dryRun, ...(requestId ? { requestId } : {}) },
  };
}
