/**
 * The sync engine's public API: the functions app, the CLI, the demo and the bench call these.
 * See README.md in this folder for the flows, matching rules, conflict policy and checkpoint rule.
 */
import type { BatchOperation, BatchResult } from "../dataverse";
import { IonTokenSaveError } from "../ion";
import { systemClock } from "../shared/clock";
import { ConnectorError, ensureError } from "../shared/errors";
import { isRefreshTokenRejected, recoveredConnectorStatus, refreshTokenRejectedStatus } from "../tokens";
import { canceledMessage, CancelWatch, RunCanceledError } from "./cancellation";
import {
  DEFAULT_STALE_RUN_MS,
  initialState,
  type ItemClaim,
  type OutboundBranch,
  parseCheckpoint,
  positionText,
  remainingPhases,
} from "./checkpoint";
import {
  CHECKPOINT_WRITE_ATTEMPTS,
  mergeConnectorCheckpoint,
  parseConnectorCheckpoint,
  readConnectorCheckpoint,
} from "./connectorCheckpoint";
import { loadConnection, makeContext, SyncContext, SyncDeps, tokenSaveFailureStatusMessage } from "./context";
import { RecordNotFoundError } from "./errors";
import { ItemClaimLostError, RunFanOut, RunYield } from "./itemClaim";
import { runMessage } from "./messages";
import type { IdRange } from "./outbound/partition";
import { hasRequest, pendingAutoRenew } from "./outbound/policy";
import { OutboundResult, OutboundRow, processOutboundRow } from "./outbound/runner";
import { type PhaseContext, PHASES, type RunState } from "./phases";
import { prefetchRun } from "./prefetch";
import { createQueuedRun, pickStaleRun, RunRecorder, RunStatus } from "./runs";
import { ConnectionStatus, OUTBOUND_COLUMNS, SETS, SyncState } from "./schema";
import { isFullScope, scopeOf } from "./scope";
import { type Overlap, runSideBySide, runsSideBySide, speculateOpeningReads } from "./sideBySide";
import { DryRunSink, updateIfUnchanged, type WriteSink } from "./sink";
import { loadExistingSubscriptions } from "./subscriptions";
import type { SyncKind, SyncProgress, SyncRunSummary, Trigger } from "./types";
import { BatchWriter } from "./writer";

export { DataverseTokenStore } from "../tokens";
export type { KeepAliveEntry, KeepAliveReport } from "../tokens/keepAlive";
export { runKeepAlive } from "../tokens/keepAlive";
export type { AccountDeletedResult, ReopenedProviderAccount } from "./accountDeleted";
export { reopenMatchingForDeletedAccount } from "./accountDeleted";
export { resolveConnection, statusLabel } from "./connection";
export type { ConnectionRecord, SyncDeps, SyncHooks } from "./context";
export {
  ConnectionConfigError,
  ConnectionNotFoundError,
  RecordNotFoundError,
  RunStateError,
  SyncError,
  TokenLeaseLostError,
  TokenLeaseTimeoutError,
} from "./errors";
export type { MapAction, MapResult } from "./mapActions";
export { mapProviderAccount } from "./mapActions";
export type { OutboundResult } from "./outbound/runner";
export { ConnectionStatus, MappingStatus, SETS, SyncState } from "./schema";
export type { SyncKind, SyncProgress, SyncRunSummary, Trigger } from "./types";
export type { VerifyCheck, VerifyResult } from "./verify";
export { runVerify } from "./verify";

export interface RunSyncOptions {
  connectionId: string;
  kind: SyncKind;
  trigger: Trigger;
  dryRun?: boolean;
  requestId?: string;
  providerAccountId?: string;
  /** Continue this run row (queued by a webhook, or interrupted). */
  runId?: string;
  onProgress?: (p: SyncProgress) => void;
  /** A run of the same connector and kind still "running" with no heartbeat for this long is taken over. */
  staleRunMs?: number;
  /**
   * This call is one work item of a run split across invocations (./workItems.ts): its claim fences every
   * write of the run row, and at the first page boundary past `deadline` (clock ms) or after `maxPages`
   * pages the run hands off to step `claim.step + 1` and returns with status "running".
   */
  workItem?: { claim: ItemClaim; deadline: number; maxPages?: number; fanOut?: { rows: number; branches: number } };
}

/** Marks the connector when its credentials stop working mid-run, so the admin sees it on the list. */
async function flagConnectionFailure(ctx: SyncContext, error: unknown): Promise<void> {
  if (isRefreshTokenRejected(error)) {
    await ctx.dv.update(SETS.connection, ctx.connection.id, refreshTokenRejectedStatus());
  } else if (error instanceof IonTokenSaveError) {
    // The marker lets the run that later saves this token recognise the failure and clear it (runSync); it redacts.
    await ctx.dv.update(SETS.connection, ctx.connection.id, {
      w365_status: ConnectionStatus.Failed,
      w365_statusmessage: tokenSaveFailureStatusMessage(error.message),
    });
  }
}

/**
 * One sync run. Creates (or continues) its w365_syncrun row, runs the phases of `kind` from the
 * checkpoint, and always finishes the row: succeeded, partial (some records failed) or failed.
 */
export async function runSync(deps: SyncDeps, o: RunSyncOptions): Promise<SyncRunSummary> {
  const dryRun = o.dryRun ?? false;
  const scope = scopeOf(o.connectionId, o.providerAccountId);
  const lookForDeadRuns = !o.runId && !dryRun && isFullScope(scope);
  const pre = await prefetchRun(deps.dataverse, o.connectionId, o.kind, {
    wantRuns: lookForDeadRuns,
    wantAccountsVersion: o.kind === "accounts" || o.kind === "all",
  });
  const connection = pre.connection;
  const item = o.workItem;
  let pagesThisItem = 0;
  const clockNow = () => (deps.clock ?? systemClock).now();
  const shouldYield = item
    ? () => clockNow() >= item.deadline || (item.maxPages !== undefined && pagesThisItem >= item.maxPages)
    : undefined;
  const overlap: Overlap = { active: false, yieldWanted: false };
  // A work item stops at a page boundary once its budget is spent: pages are where the checkpoint moves.
  const runDeps: SyncDeps = shouldYield
    ? {
        ...deps,
        hooks: {
          ...deps.hooks,
          afterPage: async (info) => {
            await deps.hooks?.afterPage?.(info);
            pagesThisItem++;
            if (!shouldYield()) return;
            if (overlap.active) overlap.yieldWanted = true;
            else throw new RunYield();
          },
        },
      }
    : deps;
  const ctx = makeContext(runDeps, connection);
  let runId = o.runId;
  if (lookForDeadRuns) {
    // A run split into work items is left to the fenced takeover of the next item (./workItems.ts): taken over
    // here, without its claim, it would share its row with a redelivered item still holding that claim.
    const unsplit = pre.runningRuns.filter((row) => !parseCheckpoint(row.w365_checkpoint)?.item);
    const stale = pickStaleRun(unsplit, ctx.clock.now(), o.staleRunMs ?? DEFAULT_STALE_RUN_MS);
    if (stale) {
      runId = stale.w365_syncrunid;
      ctx.logger.warn("taking over a run whose process stopped", { runId });
    }
  }
  // One sink per run: small changes of accounts and subscriptions share $batch requests; a dry run's records them.
  const sink: WriteSink = dryRun ? new DryRunSink() : new BatchWriter(ctx.dv, { batchSize: deps.writes?.batchSize });
  // A fresh run that will run its phases side by side asks Ion for its first pages now, while its row is written.
  if (!runId && connection.active && o.kind === "all" && runsSideBySide(scope, sink, initialState(o.kind, ctx.clock.now())))
    speculateOpeningReads(ctx);
  const run = await RunRecorder.begin(ctx.dv, ctx.clock, {
    connectionId: connection.id,
    connectionName: connection.name,
    kind: o.kind,
    trigger: o.trigger,
    dryRun,
    requestId: o.requestId,
    runId,
    holderId: ctx.holderId,
    ...(item ? { claim: item.claim } : {}),
  });
  const progress = (phase: string, message: string) =>
    o.onProgress?.({ runId: run.runId, phase, message, counts: { ...run.report.counts } });
  run.onProgress = progress;
  run.watch = new CancelWatch(ctx.clock, {
    runId: run.runId,
    connectionId: connection.id,
    connectionName: connection.name,
    intervalMs: deps.cancelCheckMs,
    row: run.row,
  });
  let status: RunStatus = "succeeded";
  let message = "";
  const state: RunState = {
    connectorCheckpoint: parseConnectorCheckpoint(connection.checkpoint),
    accountsMaxVersion: pre.accountsMaxVersion,
    ionCustomersSeenUntil: pre.ionCustomersSeenUntil,
    checkpointChanges: {},
    shouldYield,
    ...(item?.fanOut ? { fanOut: item.fanOut } : {}),
  };
  const phaseTimes: Record<string, number> = {};
  const planned = remainingPhases(run.checkpoint);
  const sideBySide = runsSideBySide(scope, sink, run.checkpoint);
  // Phases one after the other: the stored subscription rows do not depend on the accounts phase and are
  // read while it runs (beside it, the subscriptions phase starts at once and reads only what its digests do not spare).
  if (!sideBySide && isFullScope(scope) && planned.includes("accounts") && planned.includes("subscriptions")) {
    state.storedSubscriptions = loadExistingSubscriptions(ctx.dv, connection.id);
    state.storedSubscriptions.catch(() => undefined); // awaited by the subscriptions phase; a failed run never gets there
  }
  const phaseContext: PhaseContext = { sync: ctx, run, state };
  try {
    // A deactivated connector syncs nothing; a queued run may have been canceled before a worker took it.
    if (!connection.active) throw new RunCanceledError("deactivated", canceledMessage("deactivated", connection.name));
    if (runId && !dryRun) await run.watch.check(true);
    for (const phase of remainingPhases(run.checkpoint)) {
      await run.watch.check();
      if (sideBySide && phase === "accounts") {
        await runSideBySide(scope, sink, phaseContext, { overlap, progress, phaseTimes });
        continue;
      }
      if (sideBySide && phase === "subscriptions") continue;
      const phaseStart = ctx.clock.now();
      progress(phase, `${phase}: started`);
      const counts = await PHASES[phase].run(scope, sink, phaseContext);
      phaseTimes[phase] = ctx.clock.now() - phaseStart;
      ctx.logger.info("sync phase done", { runId: run.runId, phase, counts, durationMs: phaseTimes[phase] });
      progress(phase, `${phase}: done`);
    }
    const failed = run.report.n("failed");
    status = failed > 0 ? "partial" : "succeeded";
    message = runMessage({
      dryRun,
      totals: run.counts(),
      counts: run.report.counts,
      phases: run.checkpoint.phases,
      mapping: state.mappingTotals,
    });
  } catch (error) {
    // Deferred writes of a finished phase are kept (idempotent upserts), then its checkpoint.
    await sink.drain().catch(() => undefined);
    await state.accountsDone?.catch(() => undefined);
    // Another delivery of this item carries the run now: no final write from here.
    if (error instanceof ItemClaimLostError) throw error;
    if (error instanceof RunYield && item) return handOff(run, o, item.claim.step + 1);
    if (error instanceof RunFanOut && item) return fanOut(run, o, item.claim.step + 1, error.branches);
    if (error instanceof RunCanceledError) {
      status = "canceled";
      message = error.message;
      ctx.logger.info("sync run canceled", { runId: run.runId, reason: error.reason });
    } else {
      status = "failed";
      const e = ensureError(error);
      message = e instanceof ConnectorError ? e.userMessage : e.message;
      run.report.error(message);
      await flagConnectionFailure(ctx, error).catch(() => undefined);
      ctx.logger.error("sync run failed", { runId: run.runId, error: message });
    }
  }
  run.report.phase("durationsMs", phaseTimes);
  if (sink instanceof DryRunSink) run.report.phase("wouldWrite", sink.tally);
  // The connector's last-sync stamp goes out in the same $batch as the run row's final write.
  const stamp = dryRun ? undefined : lastSyncStamp(ctx, status, state, pre.connectionEtag);
  const [stamped] = await run.finish(status, message, stamp ? [stamp.operation] : []);
  if (stamp && stamped && !stamped.ok) {
    // Another writer changed the connector row since this run read it: merge the checkpoint into what it holds now.
    const saved = stamp.retryable(stamped) ? await stamp.retry().catch((error: unknown) => ensureError(error)) : stamped.error;
    if (saved !== true) ctx.logger.warn("could not record the last sync on the connector", { error: saved.message });
  }
  progress("done", message);
  return runSummary(run, { connectionId: connection.id, kind: o.kind, dryRun }, status, message);
}

/** What a run (or one work item of it) answers: its status and message, the run's counts and report so far. */
function runSummary(
  run: RunRecorder,
  o: { connectionId: string; kind: SyncKind; dryRun?: boolean },
  status: SyncRunSummary["status"],
  message: string,
  continuation?: SyncRunSummary["continuation"],
): SyncRunSummary {
  return {
    runId: run.runId,
    connectionId: o.connectionId,
    kind: o.kind,
    status,
    dryRun: o.dryRun ?? false,
    ...run.counts(),
    counts: { ...run.report.counts },
    message,
    durationMs: run.durationMs,
    resumed: run.resumed,
    report: run.report.toJson(),
    ...(continuation ? { continuation } : {}),
  };
}

/**
 * The connector's last-sync stamp: status, time, the checkpoint's marks this run changed. With marks, it is
 * written onto the row version the run read (If-Match) and, when another writer came first, merged into
 * the row as read again (./connectorCheckpoint.ts); without, it carries nothing another run could lose.
 */
function lastSyncStamp(ctx: SyncContext, status: RunStatus, state: RunState, etag: string | undefined) {
  const body: Record<string, unknown> = { w365_lastsyncstatus: status };
  const changes = state.checkpointChanges;
  const withMarks = (status === "succeeded" || status === "partial") && Object.keys(changes).length > 0;
  if (status === "succeeded" || status === "partial") {
    body.w365_lastsyncon = new Date(ctx.clock.now()).toISOString();
    if (withMarks)
      body.w365_checkpoint = JSON.stringify(mergeConnectorCheckpoint(state.connectorCheckpoint, changes, state.connectorCheckpoint));
    // This run saved the rotated token an earlier run of this process could not: the connector works again.
    Object.assign(body, recoveredConnectorStatus(ctx.connection, ctx.tokens.recoveredUnsaved));
  }
  const operation: BatchOperation = {
    method: "PATCH",
    entitySet: SETS.connection,
    key: ctx.connection.id,
    body,
    ifMatch: withMarks && etag ? etag : "*",
  };
  return {
    operation,
    retryable: (result: BatchResult) => withMarks && !result.ok && result.status === 412,
    /** Re-read, merge, write again onto the version read; true once written. */
    retry: async (): Promise<true> => {
      for (let attempt = 2; ; attempt++) {
        const now = await readConnectorCheckpoint(ctx.dv, ctx.connection.id);
        const merged = mergeConnectorCheckpoint(state.connectorCheckpoint, changes, now.checkpoint);
        const written = await updateIfUnchanged(
          ctx.dv,
          SETS.connection,
          ctx.connection.id,
          { ...body, w365_checkpoint: JSON.stringify(merged) },
          { ifMatch: now.etag ?? "*" },
        );
        if (written) return true;
        if (attempt >= CHECKPOINT_WRITE_ATTEMPTS) throw new Error("the connector row kept changing while its checkpoint was written");
      }
    },
  };
}

/** The item's budget is spent: the checkpoint goes to the row with the next step, which the caller enqueues. */
async function handOff(run: RunRecorder, o: RunSyncOptions, nextStep: number): Promise<SyncRunSummary> {
  const cp = run.checkpoint;
  const where = positionText(cp);
  await run.handOff(nextStep, `continuing in the next work item (${where})`);
  return runSummary(run, o, "running", `Continuing in the next work item (${where}).`, {
    step: nextStep,
    ...(cp.current ? { phase: cp.current } : {}),
    pagesDone: cp.pagesDone,
  });
}

/**
 * The outbound phase has more pending rows than one item should take: one fenced write records the branches
 * (each a range of row ids, not started, not done) with the step they share, unclaimed; the caller enqueues one
 * branch item per key (./branches.ts). The run stays "running".
 */
async function fanOut(run: RunRecorder, o: RunSyncOptions, nextStep: number, ranges: IdRange[]): Promise<SyncRunSummary> {
  const branches: Record<string, OutboundBranch> = {};
  ranges.forEach((range, k) => {
    branches[String(k)] = { ...range, done: false, counts: {}, rows: 0, outcomes: {}, item: { step: 0 } };
  });
  const keys = Object.keys(branches);
  await run.handOff(nextStep, `outbound: continuing in ${keys.length} branch work items`, branches);
  return runSummary(run, o, "running", `The outbound phase continues in ${keys.length} branch work items.`, {
    step: nextStep,
    phase: "outbound",
    pagesDone: 0,
    branches: keys,
  });
}

/** Creates a queued w365_syncrun row (the webhook answers fast; a worker then calls runSync with runId). */
export async function startQueuedRun(
  deps: SyncDeps,
  o: { connectionId: string; kind: SyncKind; trigger: Trigger; dryRun?: boolean; requestId?: string; providerAccountId?: string },
): Promise<{ runId: string }> {
  const connection = await loadConnection(deps.dataverse, o.connectionId);
  const now = (deps.clock ?? systemClock).now();
  const runId = await createQueuedRun(
    deps.dataverse,
    {
      connectionId: connection.id,
      connectionName: connection.name,
      kind: o.kind,
      trigger: o.trigger,
      dryRun: o.dryRun ?? false,
      requestId: o.requestId,
    },
    now,
  );
  return { runId };
}

/** The webhook path for one subscription an admin changed: places and tracks its order. */
export async function runOutboundForSubscription(
  deps: SyncDeps,
  o: { subscriptionId: string; trigger: Trigger; dryRun?: boolean },
): Promise<OutboundResult> {
  const row = await deps.dataverse.tryRetrieve<OutboundRow>(SETS.providerSubscription, o.subscriptionId, { select: [...OUTBOUND_COLUMNS] });
  if (!row) throw new RecordNotFoundError(`Provider subscription ${o.subscriptionId} was not found.`);
  const pending = hasRequest({ quantity: row.w365_requestedquantity, status: row.w365_requestedstatus, autoRenew: pendingAutoRenew(row) });
  // Nothing requested and nothing in flight: the connector's own clears land here; no run, no order.
  // Any other state with nothing pending is reset below: an auto-renew request toggled back ("Change
  // requested"), a request cleared after a Conflict or Error.
  if (!pending && (row.w365_syncstate ?? SyncState.InSync) === SyncState.InSync) {
    return { subscriptionId: row.w365_providersubscriptionid, outcome: "none", message: "Nothing requested." };
  }
  if (!row._w365_connection_value) throw new RecordNotFoundError(`Provider subscription ${o.subscriptionId} has no connector.`);
  // The rest is this connector's work: on its own Dataverse client when the application keeps one per connector.
  const own = deps.dataverseFor ? { ...deps, dataverse: deps.dataverseFor(row._w365_connection_value) } : deps;
  const connection = await loadConnection(own.dataverse, row._w365_connection_value);
  const ctx = makeContext(own, connection);
  const dryRun = o.dryRun ?? false;
  const run = await RunRecorder.begin(ctx.dv, ctx.clock, {
    connectionId: connection.id,
    connectionName: connection.name,
    kind: "outbound",
    trigger: o.trigger,
    dryRun,
    holderId: ctx.holderId,
  });
  let result: OutboundResult;
  try {
    const sink: WriteSink = dryRun ? new DryRunSink() : new BatchWriter(ctx.dv);
    result = await processOutboundRow(ctx, row, run.report, { sink, adminEdit: true });
  } catch (error) {
    await flagConnectionFailure(ctx, error).catch(() => undefined);
    run.report.count("failed");
    result = { subscriptionId: row.w365_providersubscriptionid, outcome: "failed", message: ensureError(error).message };
  }
  if (result.outcome === "applied" || result.outcome === "already-applied") run.report.count("updated");
  await run.finish(result.outcome === "failed" ? "failed" : "succeeded", result.message);
  return { ...result, runId: run.runId };
}
