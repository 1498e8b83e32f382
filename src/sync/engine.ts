/**
 * The sync engine as one object bound to its dependencies: what an application holding one Dataverse
 * client and one logger (the functions app, the local host) hands to its handlers, so they call
 * `engine.runSync({...})` with the engine's own answer types instead of threading SyncDeps through.
 * A test binds the real engine over the emulator and the simulator, or writes a typed double of this
 * interface.
 */
import { type KeepAliveReport, runKeepAlive } from "../tokens/keepAlive";
import { type AccountDeletedResult, reopenMatchingForDeletedAccount } from "./accountDeleted";
import type { SyncDeps } from "./context";
import { runOutboundForSubscription, runSync, type RunSyncOptions, startQueuedRun } from "./index";
import { type MapAction, mapProviderAccount, type MapResult } from "./mapActions";
import type { OutboundResult } from "./outbound/runner";
import type { SyncRunSummary, Trigger } from "./types";
import { runVerify, type VerifyResult } from "./verify";
import type { SyncRequest } from "./vocabulary";
import {
  type Delivery,
  type ItemBudget,
  recordPoisonedItem,
  runSyncWorkItem,
  type SyncWorkItem,
  type WorkItemOptions,
  type WorkItemOutcome,
} from "./workItems";

export interface Engine {
  runVerify(o: { connectionId: string; trigger: Trigger; requestId?: string }): Promise<VerifyResult>;
  /** Creates the run row as queued (no work yet); a worker later runs it with `runSync({ ...request, runId })`. */
  startQueuedRun(o: SyncRequest): Promise<{ runId: string }>;
  runSync(o: RunSyncOptions): Promise<SyncRunSummary>;
  /** One work item of a run split across invocations; returns the next item to enqueue, if any (./workItems.ts). */
  runSyncWorkItem(item: SyncWorkItem, delivery: Delivery, budget?: ItemBudget, o?: WorkItemOptions): Promise<WorkItemOutcome>;
  /** A work item reached the poison queue: marks its run failed unless the run moved on. */
  recordPoisonedItem(item: SyncWorkItem, o?: { attempts?: number }): Promise<boolean>;
  mapProviderAccount(o: { providerAccountId: string; action: MapAction; accountId?: string; force?: boolean }): Promise<MapResult>;
  runOutboundForSubscription(o: { subscriptionId: string; trigger: Trigger; dryRun?: boolean }): Promise<OutboundResult>;
  runKeepAlive(o?: { now?: number; maxTokenAgeMs?: number; staleSyncMs?: number; warnExpiryMs?: number }): Promise<KeepAliveReport>;
  /** A Work 365 account was deleted: its mapped and suggested provider accounts go back to matching. */
  reopenMatchingForDeletedAccount(o: { accountId: string; accountName?: string }): Promise<AccountDeletedResult>;
}

/** The real engine (src/sync) with `deps` bound once. */
export function bindEngine(deps: SyncDeps): Engine {
  return {
    runVerify: (o) => runVerify(deps, o),
    startQueuedRun: (o) => startQueuedRun(deps, o),
    runSync: (o) => runSync(deps, o),
    runSyncWorkItem: (item, delivery, budget, o) => runSyncWorkItem(deps, item, delivery, budget, o),
    recordPoisonedItem: (item, o) => recordPoisonedItem(deps, item, o),
    mapProviderAccount: (o) => mapProviderAccount(deps, o),
    runOutboundForSubscription: (o) => runOutboundForSubscription(deps, o),
    runKeepAlive: (o) => runKeepAlive(deps, o),
    reopenMatchingForDeletedAccount: (o) => reopenMatchingForDeletedAccount(deps, o),
  };
}
