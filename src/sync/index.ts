/**
 * The sync engine's public API: the functions app, the CLI, the demo and the bench call these.
 * See README.md in this folder for the flows, matching rules, conflict policy and checkpoint rule.
 */
import type { BatchOperation } from "../dataverse";
import { IonTokenSaveError } from "../ion";
import { systemClock } from "../shared/clock";
import { ConnectorError, ensureError } from "../shared/errors";
import { isRefreshTokenRejected, recoveredConnectorStatus, refreshTokenRejectedStatus } from "../tokens";
import { MappingSnapshot, runAccountsPhase } from "./accounts";
import { canceledMessage, CancelWatch, RunCanceledError } from "./cancellation";
import { DEFAULT_STALE_RUN_MS, type ItemClaim, pagesToSkip, remainingPhases } from "./checkpoint";
import { loadConnection, makeContext, SyncContext, SyncDeps, tokenSaveFailureStatusMessage } from "./context";
import type { DigestMarks } from "./digest";
import { RecordNotFoundError } from "./errors";
import { ItemClaimLostError, RunYield } from "./itemClaim";
import { CustomerLinks } from "./links";
import { MappingTotals, runMessage } from "./messages";
import { hasRequest, pendingAutoRenew } from "./outbound/policy";
import { outboundFilter, OutboundResult, OutboundRow, processOutboundRow } from "./outbound/runner";
import { prefetchRun } from "./prefetch";
import { createQueuedRun, pickStaleRun, RunRecorder, RunStatus } from "./runs";
import { ConnectionStatus, OUTBOUND_COLUMNS, SETS, SyncState } from "./schema";
import { HeldSubscription, loadExistingSubscriptions, runSubscriptionsPhase } from "./subscriptions";
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
  workItem?: { claim: ItemClaim; deadline: number; maxPages?: number };
}

interface ConnectorCheckpoint {
  /** Highest account row version seen by the last accounts phase. */
  accountsVersion?: string;
  /** Row-version marks of the subscriptions' digests (src/sync/digest.ts). */
  subscriptionDigest?: DigestMarks;
}

function parseConnectorCheckpoint(text: string | undefined): ConnectorCheckpoint {
  if (!text) return {};
  try {
    const v = JSON.parse(text) as ConnectorCheckpoint;
    return v && typeof v === "object" ? v : {};
  } catch {
    return {};
  }
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

async function runOutboundPhase(
  ctx: SyncContext,
  run: RunRecorder,
  o: { dryRun: boolean; providerAccountId?: string; candidates?: OutboundRow[]; shouldYield?: () => boolean },
): Promise<void> {
  await run.event({ type: "phase-start", phase: "outbound", at: ctx.clock.now() }, "outbound: reading requested changes");
  const filter =
    outboundFilter(ctx.connection.id) + (o.providerAccountId ? ` and _w365_provideraccount_value eq ${o.providerAccountId}` : "");
  const rows =
    o.candidates ??
    (await ctx.dv.queryAll<OutboundRow>(SETS.providerSubscription, { select: [...OUTBOUND_COLUMNS], filter, pageSize: 5000 }));
  const outcomes: Record<string, number> = {};
  for (const row of rows) {
    await run.watch?.check();
    const r = await processOutboundRow(ctx, row, run.report, { dryRun: o.dryRun, adminEdit: false });
    outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
    // Failures are counted where they are reported (processOutboundRow).
    if (r.outcome === "applied" || r.outcome === "already-applied") run.report.count("updated");
    await run.progress(`outbound: ${Object.values(outcomes).reduce((a, b) => a + b, 0)} of ${rows.length} requests`);
    // The next item reads the requests still pending again: a handled row no longer matches the filter.
    if (o.shouldYield?.()) throw new RunYield();
  }
  run.report.phase("outbound", { rows: rows.length, outcomes });
  await run.phaseDone("outbound", `outbound: done (${rows.length} rows)`);
}

/**
 * One sync run. Creates (or continues) its w365_syncrun row, runs the phases of `kind` from the
 * checkpoint, and always finishes the row: succeeded, partial (some records failed) or failed.
 */
export async function runSync(deps: SyncDeps, o: RunSyncOptions): Promise<SyncRunSummary> {
  const dryRun = o.dryRun ?? false;
  const lookForDeadRuns = !o.runId && !dryRun && !o.providerAccountId;
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
  /**
   * While the subscriptions phase runs beside the accounts phase, a spent budget does not stop the item at
   * once: the subscription pages already written can be checkpointed (with their counts) only after the
   * accounts phase is recorded done, so the subscriptions stop reading, the accounts phase finishes, and
   * the item hands off after the last subscription page it read, every page it read counted once
   * (README "Work items").
   */
  const overlap = { active: false, yieldWanted: false };
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
    const stale = pickStaleRun(pre.runningRuns, ctx.clock.now(), o.staleRunMs ?? DEFAULT_STALE_RUN_MS);
    if (stale) {
      runId = stale.w365_syncrunid;
      ctx.logger.warn("taking over a run whose process stopped", { runId });
    }
  }
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
  run.watch = new CancelWatch(ctx.dv, ctx.clock, {
    runId: run.runId,
    connectionId: connection.id,
    connectionName: connection.name,
    intervalMs: deps.cancelCheckMs,
    row: run.row,
  });
  let status: RunStatus = "succeeded";
  let message = "";
  const connectorCheckpoint = parseConnectorCheckpoint(connection.checkpoint);
  let mapping: MappingSnapshot | undefined;
  let mappingTotals: MappingTotals | undefined;
  let checkpointChanged = false;
  let outboundCandidates: OutboundRow[] | undefined;
  // One writer per run: small changes of accounts and subscriptions share $batch requests.
  const writer = dryRun ? undefined : new BatchWriter(ctx.dv, { batchSize: deps.writes?.batchSize });
  let accountsDone: Promise<void> | undefined;
  const phaseTimes: Record<string, number> = {};
  // The stored subscription rows do not depend on the accounts phase: read them while it runs
  // (the state read of a large reseller overlaps the customer pages instead of following them).
  const planned = remainingPhases(run.checkpoint);
  // A fresh full run links subscriptions while customers are still being matched (the first sync
  // spends seconds of CPU on matching while Dataverse could already take subscriptions). Dry runs, one
  // provider account and resumed runs keep the phases one after the other.
  const concurrent =
    Boolean(writer) &&
    !o.providerAccountId &&
    planned[0] === "accounts" &&
    planned.includes("subscriptions") &&
    pagesToSkip(run.checkpoint, "accounts") === 0;
  // Phases one after the other: the stored rows are read while the accounts phase runs (beside it, the
  // subscriptions phase starts at once and reads only what its digests do not spare).
  let storedSubscriptions: ReturnType<typeof loadExistingSubscriptions> | undefined;
  if (!concurrent && !o.providerAccountId && planned.includes("accounts") && planned.includes("subscriptions")) {
    storedSubscriptions = loadExistingSubscriptions(ctx.dv, connection.id);
    storedSubscriptions.catch(() => undefined); // awaited by the subscriptions phase; a failed run never gets there
  }
  const keepDigestMarks = (marks: DigestMarks | null | undefined) => {
    if (dryRun || marks === undefined) return;
    connectorCheckpoint.subscriptionDigest = marks ?? undefined;
    checkpointChanged = true;
  };
  try {
    // A deactivated connector syncs nothing; a queued run may have been canceled before a worker took it.
    if (!connection.active) throw new RunCanceledError("deactivated", canceledMessage("deactivated", connection.name));
    if (runId && !dryRun) await run.watch.check(true);
    for (const phase of remainingPhases(run.checkpoint)) {
      await run.watch.check();
      const phaseStart = ctx.clock.now();
      if (concurrent && phase === "accounts") {
        progress("accounts", "accounts: started");
        progress("subscriptions", "subscriptions: started");
        const links = new CustomerLinks<HeldSubscription>();
        const accounts = runAccountsPhase(ctx, run, {
          dryRun,
          accountsVersion: connectorCheckpoint.accountsVersion,
          accountsMaxVersion: pre.accountsMaxVersion,
          writer,
          deferWrites: true,
          links,
        }).then((result) => {
          phaseTimes.accounts = ctx.clock.now() - phaseStart;
          return result;
        });
        // The accounts phase is recorded as done only once its writes are; the subscriptions' checkpoints wait for that.
        const accountsRecorded = accounts.then((result) => result.phaseDone);
        accountsRecorded.catch((error: unknown) => links.fail(error));
        overlap.active = true;
        const subscriptions = runSubscriptionsPhase(ctx, run, {
          dryRun,
          writer,
          existing: storedSubscriptions,
          concurrent: { links, gate: accountsRecorded, stopReading: () => overlap.yieldWanted },
        });
        const [a, b] = await Promise.allSettled([accounts, subscriptions]);
        overlap.active = false;
        if (a.status === "rejected") throw a.reason;
        if (b.status === "rejected") throw b.reason;
        await accountsRecorded;
        mappingTotals = a.value.mappingTotals;
        outboundCandidates = b.value.outbound;
        keepDigestMarks(b.value.digestMarks);
        if (!dryRun && a.value.accountsVersion !== connectorCheckpoint.accountsVersion) {
          connectorCheckpoint.accountsVersion = a.value.accountsVersion;
          checkpointChanged = true;
        }
        phaseTimes.subscriptions = ctx.clock.now() - phaseStart;
        progress("accounts", "accounts: done");
        progress("subscriptions", "subscriptions: done");
        // The budget ran out after the last subscription page was read: hand off at this phase boundary.
        if (overlap.yieldWanted) throw new RunYield();
        continue;
      }
      if (concurrent && phase === "subscriptions") continue;
      progress(phase, `${phase}: started`);
      if (phase === "accounts") {
        const result = await runAccountsPhase(ctx, run, {
          dryRun,
          providerAccountId: o.providerAccountId,
          accountsVersion: connectorCheckpoint.accountsVersion,
          accountsMaxVersion: pre.accountsMaxVersion,
          writer,
          deferWrites: remainingPhases(run.checkpoint).includes("subscriptions"),
        });
        mapping = result.mapping;
        mappingTotals = result.mappingTotals;
        accountsDone = result.phaseDone;
        if (!dryRun && !o.providerAccountId && result.accountsVersion !== connectorCheckpoint.accountsVersion) {
          connectorCheckpoint.accountsVersion = result.accountsVersion;
          checkpointChanged = true;
        }
      } else if (phase === "subscriptions") {
        const result = await runSubscriptionsPhase(ctx, run, {
          dryRun,
          providerAccountId: o.providerAccountId,
          mapping,
          writer,
          existing: storedSubscriptions,
        });
        outboundCandidates = result.outbound;
        keepDigestMarks(result.digestMarks);
        // The accounts phase's deferred writes went out with these; its checkpoint follows them.
        await accountsDone;
        accountsDone = undefined;
      } else {
        await runOutboundPhase(ctx, run, { dryRun, providerAccountId: o.providerAccountId, candidates: outboundCandidates, shouldYield });
      }
      phaseTimes[phase] = ctx.clock.now() - phaseStart;
      progress(phase, `${phase}: done`);
    }
    const failed = run.report.n("failed");
    status = failed > 0 ? "partial" : "succeeded";
    message = runMessage({
      dryRun,
      totals: run.counts(),
      counts: run.report.counts,
      phases: run.checkpoint.phases,
      mapping: mappingTotals,
    });
  } catch (error) {
    // Deferred writes of a finished phase are kept (idempotent upserts), then its checkpoint.
    await writer?.drain().catch(() => undefined);
    await accountsDone?.catch(() => undefined);
    // Another delivery of this item carries the run now: no final write from here.
    if (error instanceof ItemClaimLostError) throw error;
    if (error instanceof RunYield && item) return handOff(run, o, item.claim.step + 1);
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
  // The connector's last-sync stamp goes out in the same $batch as the run row's final write.
  const stamp: BatchOperation[] = [];
  if (!dryRun) {
    const body: Record<string, unknown> = { w365_lastsyncstatus: status };
    if (status === "succeeded" || status === "partial") {
      body.w365_lastsyncon = new Date(ctx.clock.now()).toISOString();
      if (checkpointChanged) body.w365_checkpoint = JSON.stringify(connectorCheckpoint);
      // This run saved the rotated token an earlier run of this process could not: the connector works again.
      Object.assign(body, recoveredConnectorStatus(connection, ctx.tokens.recoveredUnsaved));
    }
    stamp.push({ method: "PATCH", entitySet: SETS.connection, key: connection.id, body, ifMatch: "*" });
  }
  const [stamped] = await run.finish(status, message, stamp);
  if (stamped && !stamped.ok) ctx.logger.warn("could not record the last sync on the connector", { error: stamped.error.message });
  progress("done", message);
  const c = run.counts();
  return {
    runId: run.runId,
    connectionId: connection.id,
    kind: o.kind,
    status,
    dryRun,
    ...c,
    counts: { ...run.report.counts },
    message,
    durationMs: run.durationMs,
    resumed: run.resumed,
    report: run.report.toJson(),
  };
}

/** The item's budget is spent: the checkpoint goes to the row with the next step, which the caller enqueues. */
async function handOff(run: RunRecorder, o: RunSyncOptions, nextStep: number): Promise<SyncRunSummary> {
  const cp = run.checkpoint;
  const where = cp.current ? `${cp.current}, ${cp.pagesDone} page(s) done` : `${cp.done.length} phase(s) done`;
  await run.handOff(nextStep, `continuing in the next work item (${where})`);
  const c = run.counts();
  return {
    runId: run.runId,
    connectionId: o.connectionId,
    kind: o.kind,
    status: "running",
    dryRun: o.dryRun ?? false,
    ...c,
    counts: { ...run.report.counts },
    message: `Continuing in the next work item (${where}).`,
    durationMs: run.durationMs,
    resumed: run.resumed,
    report: run.report.toJson(),
    continuation: { step: nextStep, ...(cp.current ? { phase: cp.current } : {}), pagesDone: cp.pagesDone },
  };
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
    result = await processOutboundRow(ctx, row, run.report, { dryRun, adminEdit: true });
  } catch (error) {
    await flagConnectionFailure(ctx, error).catch(() => undefined);
    run.report.count("failed");
    result = { subscriptionId: row.w365_providersubscriptionid, outcome: "failed", message: ensureError(error).message };
  }
  if (result.outcome === "applied" || result.outcome === "already-applied") run.report.count("updated");
  await run.finish(result.outcome === "failed" ? "failed" : "succeeded", result.message);
  return { ...result, runId: run.runId };
}
