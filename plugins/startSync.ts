/**
 * Shared body of the two sync custom APIs. The steps are synchronous and Dataverse waits at most
 * 60 s, so a sync never runs here: the handler checks the work can start, creates the queued
 * w365_syncrun row (carrying the caller's RequestId, which is how a flow finds its run), hands the
 * run to the work queue and returns. The worker (functions/syncWorker.ts) runs it.
 */
import type { WebhookContext } from "./context";
import { getBoolean, getGuid, getString } from "./context";
import { ensureNoActiveRun, requireActiveConnection, requireTargetId, triggerFor } from "./common";
import type { HandlerOutcome, PluginDeps, SyncKind } from "./types";

export async function startSync<D>(ctx: WebhookContext, deps: PluginDeps<D>, kind: SyncKind, allowProviderAccount: boolean): Promise<HandlerOutcome> {
  const connectionId = requireTargetId(ctx, "connector");
  const dryRun = getBoolean(ctx.inputParameters, "DryRun") ?? false;
  const requestId = getString(ctx.inputParameters, "RequestId") ?? ctx.requestId;
  const providerAccountId = allowProviderAccount ? getGuid(ctx.inputParameters, "ProviderAccountId") : undefined;
  const untyped = deps as PluginDeps<unknown>;
  const trigger = triggerFor(ctx);
  const options = {
    connectionId,
    kind,
    trigger,
    dryRun,
    ...(requestId ? { requestId } : {}),
    ...(providerAccountId ? { providerAccountId } : {}),
  };
  const start = async () => {
    const connection = await requireActiveConnection(untyped, connectionId);
    await ensureNoActiveRun(untyped, connection, kind, dryRun);
    const { runId } = await deps.engine.startQueuedRun(deps.syncDeps, options);
    await deps.queue.enqueue({ type: "sync", runId, ...options });
    return runId;
  };
  // Check and start as one step per connector, so two racing deliveries cannot both pass the check.
  const runId = deps.serialize ? await deps.serialize(`sync:${connectionId}`, start) : await start();
  deps.logger.info("sync queued", { runId, connectionId, kind, dryRun, trigger, requestId });
  return { status: 202, body: { message: `The ${kind} sync is queued.`, runId, connectionId, kind, dryRun, ...(requestId ? { requestId } : {}) } };
}
